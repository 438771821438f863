"""Typed STUN attribute values: decode from and encode to the bytes inside one attribute.

Implements the value formats of RFC 8489 §14.1–14.16 (MAPPED-ADDRESS, XOR-MAPPED-ADDRESS,
USERNAME, USERHASH, MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256, FINGERPRINT, ERROR-CODE, REALM,
NONCE, PASSWORD-ALGORITHMS, PASSWORD-ALGORITHM, UNKNOWN-ATTRIBUTES, SOFTWARE, ALTERNATE-SERVER,
ALTERNATE-DOMAIN), RFC 8445 §7.1.1–7.1.3 (PRIORITY, USE-CANDIDATE, ICE-CONTROLLED,
ICE-CONTROLLING) and RFC 8656 §14 (CHANNEL-NUMBER, LIFETIME, XOR-PEER-ADDRESS, DATA,
XOR-RELAYED-ADDRESS, REQUESTED-ADDRESS-FAMILY, EVEN-PORT, REQUESTED-TRANSPORT, DONT-FRAGMENT,
RESERVATION-TOKEN, ADDITIONAL-ADDRESS-FAMILY, ADDRESS-ERROR-CODE).

Unlike the other wire formats in this repo, a value class has ``decode(value, transaction_id)``
and ``encode(transaction_id)`` rather than ``parse``/``__bytes__``: the XOR address attributes
cannot be read without the transaction id of the message that carries them, and one signature
for all keeps :meth:`Message.get` generic. ``RawAttribute`` is the TLV itself.

Left out: the length limits on USERNAME/REALM/NONCE/SOFTWARE (RFC 8489 §14.3 and friends) are
not enforced on receive (we accept what browsers and servers send); OpaqueString/SASLprep
profiling of strings is not applied (see ``credentials``); the TURN ICMP attribute (0x8004)
is kept raw.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import ClassVar, NamedTuple, Self

from .constants import (
    MAGIC_COOKIE,
    MAGIC_COOKIE_BYTES,
    AttributeType,
    PasswordAlgorithmId,
)
from .errors import StunParseError

Address = tuple[str, int]
"""A transport address as asyncio and ``socket`` use it: ``(host, port)``."""

_pack_hh = struct.Struct("!HH").pack
_unpack_hh = struct.Struct("!HH").unpack_from

# RFC 8489 §14: values are padded to a multiple of 4 bytes; index by ``length & 3``.
_PADDING = (b"", b"\x00\x00\x00", b"\x00\x00", b"\x00")


def encode_tlv(attr_type: int, value: bytes) -> bytes:
    """Header, value and zero padding of one attribute (RFC 8489 §14)."""
    length = len(value)
    if not 0 <= attr_type <= 0xFFFF or length > 0xFFFF:
        raise ValueError(f"attribute {attr_type:#x} of {length} bytes does not fit a STUN TLV")
    return _pack_hh(attr_type, length) + value + _PADDING[length & 3]


class RawAttribute(NamedTuple):
    """One attribute as it sits in a message: its type and its unpadded value.

    A NamedTuple rather than a frozen dataclass: it is a ``(type, value)`` pair, equal to the
    plain pairs in ``Message.attributes`` and usable wherever one is expected.
    """

    type: int
    value: bytes

    @classmethod
    def parse(cls, data: bytes) -> RawAttribute:
        """Parse one TLV (header, value and optional padding) that fills ``data``."""
        if len(data) < 4:
            raise StunParseError("attribute shorter than its 4-byte header")
        attr_type, length = _unpack_hh(data)
        if not length <= len(data) - 4 <= length + 3:
            raise StunParseError("attribute length does not match its data")
        return cls(attr_type, bytes(data[4 : 4 + length]))

    def __bytes__(self) -> bytes:
        return encode_tlv(self.type, self.value)

    @property
    def comprehension_required(self) -> bool:
        """RFC 8489 §14: types 0x0000–0x7FFF must be understood or the request refused."""
        return self.type < 0x8000


class AttributeValue:
    """Base of the typed attribute values; ``TYPE`` is the attribute type they decode."""

    __slots__ = ()
    TYPE: ClassVar[int]

    @classmethod
    def decode(cls, value: bytes, transaction_id: bytes) -> Self:
        """Decode an attribute value (without header and padding); raise StunParseError."""
        raise NotImplementedError

    def encode(self, transaction_id: bytes) -> bytes:
        """The attribute value, unpadded."""
        raise NotImplementedError

    def to_raw(self, transaction_id: bytes) -> RawAttribute:
        return RawAttribute(self.TYPE, self.encode(transaction_id))


# --- addresses (RFC 8489 §14.1, §14.2) ------------------------------------------------------

# RFC 8489 §14.1: address family codes.
_FAMILY_IPV4 = 0x01
_FAMILY_IPV6 = 0x02
_XOR_PORT = MAGIC_COOKIE >> 16


def _host_bytes(host: str) -> tuple[int, bytes]:
    """``(family code, packed address)``; ValueError for anything but an IP literal."""
    try:
        if ":" in host:
            # A scope id ("fe80::1%eth0") is local to this host and not sent on the wire.
            return _FAMILY_IPV6, socket.inet_pton(socket.AF_INET6, host.partition("%")[0])
        return _FAMILY_IPV4, socket.inet_pton(socket.AF_INET, host)
    except (OSError, UnicodeError) as exc:
        raise ValueError(f"not an IP address: {host!r}") from exc


def encode_address(address: Address) -> bytes:
    """MAPPED-ADDRESS / ALTERNATE-SERVER value (RFC 8489 §14.1)."""
    host, port = address
    family, packed = _host_bytes(host)
    if not 0 <= port <= 0xFFFF:
        raise ValueError(f"port out of range: {port}")
    return bytes((0, family)) + port.to_bytes(2, "big") + packed


def decode_address(value: bytes) -> Address:
    length = len(value)
    if length == 8 and value[1] == _FAMILY_IPV4:
        host = socket.inet_ntop(socket.AF_INET, value[4:8])
    elif length == 20 and value[1] == _FAMILY_IPV6:
        host = socket.inet_ntop(socket.AF_INET6, value[4:20])
    else:
        raise StunParseError("malformed address attribute")
    return host, (value[2] << 8) | value[3]


def encode_xor_address(address: Address, transaction_id: bytes) -> bytes:
    """XOR-MAPPED-ADDRESS style value (RFC 8489 §14.2): port and address XORed with the
    magic cookie (and, for IPv6, the transaction id) so NATs that rewrite addresses in
    payloads leave it alone."""
    host, port = address
    family, packed = _host_bytes(host)
    if not 0 <= port <= 0xFFFF:
        raise ValueError(f"port out of range: {port}")
    mask = MAGIC_COOKIE_BYTES if family == _FAMILY_IPV4 else MAGIC_COOKIE_BYTES + transaction_id
    size = len(packed)
    xored = (int.from_bytes(packed, "big") ^ int.from_bytes(mask, "big")).to_bytes(size, "big")
    return bytes((0, family)) + (port ^ _XOR_PORT).to_bytes(2, "big") + xored


def decode_xor_address(value: bytes, transaction_id: bytes) -> Address:
    length = len(value)
    if length == 8 and value[1] == _FAMILY_IPV4:
        raw = (int.from_bytes(value[4:8], "big") ^ MAGIC_COOKIE).to_bytes(4, "big")
        host = socket.inet_ntop(socket.AF_INET, raw)
    elif length == 20 and value[1] == _FAMILY_IPV6 and len(transaction_id) == 12:
        mask = int.from_bytes(MAGIC_COOKIE_BYTES + transaction_id, "big")
        raw = (int.from_bytes(value[4:20], "big") ^ mask).to_bytes(16, "big")
        host = socket.inet_ntop(socket.AF_INET6, raw)
    else:
        raise StunParseError("malformed XOR address attribute")
    return host, ((value[2] << 8) | value[3]) ^ _XOR_PORT


@dataclass(frozen=True, slots=True)
class _PlainAddress(AttributeValue):
    host: str
    port: int

    @property
    def address(self) -> Address:
        return self.host, self.port

    @classmethod
    def decode(cls, value: bytes, transaction_id: bytes) -> Self:
        return cls(*decode_address(value))

    def encode(self, transaction_id: bytes) -> bytes:
        return encode_address((self.host, self.port))


@dataclass(frozen=True, slots=True)
class _XorAddress(AttributeValue):
    host: str
    port: int

    @property
    def address(self) -> Address:
        return self.host, self.port

    @classmethod
    def decode(cls, value: bytes, transaction_id: bytes) -> Self:
        return cls(*decode_xor_address(value, transaction_id))

    def encode(self, transaction_id: bytes) -> bytes:
        return encode_xor_address((self.host, self.port), transaction_id)


@dataclass(frozen=True, slots=True)
class MappedAddress(_PlainAddress):
    TYPE: ClassVar[int] = AttributeType.MAPPED_ADDRESS


@dataclass(frozen=True, slots=True)
class AlternateServer(_PlainAddress):
    TYPE: ClassVar[int] = AttributeType.ALTERNATE_SERVER


@dataclass(frozen=True, slots=True)
class XorMappedAddress(_XorAddress):
    TYPE: ClassVar[int] = AttributeType.XOR_MAPPED_ADDRESS


@dataclass(frozen=True, slots=True)
class XorPeerAddress(_XorAddress):
    TYPE: ClassVar[int] = AttributeType.XOR_PEER_ADDRESS


@dataclass(frozen=True, slots=True)
class XorRelayedAddress(_XorAddress):
    TYPE: ClassVar[int] = AttributeType.XOR_RELAYED_ADDRESS


# --- text and opaque values ------------------------------------------------------------------


def decode_text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StunParseError("attribute text is not UTF-8") from exc


@dataclass(frozen=True, slots=True)
class _Text(AttributeValue):
    value: str

    @classmethod
    def decode(cls, value: bytes, transaction_id: bytes) -> Self:
        return cls(decode_text(value))

    def encode(self, transaction_id: bytes) -> bytes:
        return self.value.encode("utf-8")


@dataclass(frozen=True, slots=True)
class Username(_Text):
    """RFC 8489 §14.3; for ICE "remote-ufrag:local-ufrag" (RFC 8445 §7.2.2)."""

    TYPE: ClassVar[int] = AttributeType.USERNAME


@dataclass(frozen=True, slots=True)
class Realm(_Text):
    TYPE: ClassVar[int] = AttributeType.REALM


@dataclass(frozen=True, slots=True)
class Nonce(_Text):
    TYPE: ClassVar[int] = AttributeType.NONCE


@dataclass(frozen=True, slots=True)
class Software(_Text):
    TYPE: ClassVar[int] = AttributeType.SOFTWARE


@dataclass(frozen=True, slots=True)
class AlternateDomain(_Text):
    TYPE: ClassVar[int] = AttributeType.ALTERNATE_DOMAIN


@dataclass(frozen=True, slots=True)
class _Opaque(AttributeValue):
    value: bytes

    @classmethod
    def decode(cls, value: bytes, transaction_id: bytes) -> Self:
        return cls(bytes(value))

    def encode(self, transaction_id: bytes) -> bytes:
        return self.value


@dataclass(frozen=True, slots=True)
class _FixedOpaque(_Opaque):
    SIZES: ClassVar[tuple[int, ...]] = ()

    @classmethod
    def decode(cls, value: bytes, transaction_id: bytes) -> Self:
        if len(value) not in cls.SIZES:
            raise StunParseError(f"attribute {cls.TYPE:#06x} has bad length {len(value)}")
        return cls(bytes(value))

    def encode(self, transaction_id: bytes) -> bytes:
        if len(self.value) not in self.SIZES:
            raise ValueError(f"attribute {self.TYPE:#06x} must be {self.SIZES} bytes")
        return self.value


@dataclass(frozen=True, slots=True)
class Data(_Opaque):
    """RFC 8656 §14.4: the application payload of a Send or Data indication."""

    TYPE: ClassVar[int] = AttributeType.DATA


@dataclass(frozen=True, slots=True)
class Userhash(_FixedOpaque):
    """RFC 8489 §14.4: SHA-256(username ":" realm), see ``credentials.userhash``."""

    TYPE: ClassVar[int] = AttributeType.USERHASH
    SIZES: ClassVar[tuple[int, ...]] = (32,)


@dataclass(frozen=True, slots=True)
class ReservationToken(_FixedOpaque):
    TYPE: ClassVar[int] = AttributeType.RESERVATION_TOKEN
    SIZES: ClassVar[tuple[int, ...]] = (8,)  # RFC 8656 §14.9


@dataclass(frozen=True, slots=True)
class MessageIntegrity(_FixedOpaque):
    """RFC 8489 §14.5: HMAC-SHA1, always 20 bytes. Checked by ``Message.verify_integrity``."""

    TYPE: ClassVar[int] = AttributeType.MESSAGE_INTEGRITY
    SIZES: ClassVar[tuple[int, ...]] = (20,)


@dataclass(frozen=True, slots=True)
class MessageIntegritySha256(_FixedOpaque):
    """RFC 8489 §14.6: HMAC-SHA256 truncated to 16–32 bytes in steps of 4."""

    TYPE: ClassVar[int] = AttributeType.MESSAGE_INTEGRITY_SHA256
    SIZES: ClassVar[tuple[int, ...]] = (16, 20, 24, 28, 32)


# --- empty values ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Flag(AttributeValue):
    @classmethod
    def decode(cls, value: bytes, transaction_id: bytes) -> Self:
        if value:
            raise StunParseError(f"attribute {cls.TYPE:#06x} must be empty")
        return cls()

    def encode(self, transaction_id: bytes) -> bytes:
        return b""


@dataclass(frozen=True, slots=True)
class UseCandidate(_Flag):
    """RFC 8445 §7.1.2: the controlling agent nominates this pair."""

    TYPE: ClassVar[int] = AttributeType.USE_CANDIDATE


@dataclass(frozen=True, slots=True)
class DontFragment(_Flag):
    TYPE: ClassVar[int] = AttributeType.DONT_FRAGMENT


# --- integers --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Priority(AttributeValue):
    """RFC 8445 §7.1.1: the priority a peer-reflexive candidate learned from this check gets."""

    TYPE: ClassVar[int] = AttributeType.PRIORITY
    priority: int

    @classmethod
    def decode(cls, value: bytes, transaction_id: bytes) -> Self:
        if len(value) != 4:
            raise StunParseError("PRIORITY must be 4 bytes")
        return cls(int.from_bytes(value, "big"))

    def encode(self, transaction_id: bytes) -> bytes:
        return self.priority.to_bytes(4, "big")


@dataclass(frozen=True, slots=True)
class _TieBreaker(AttributeValue):
    tie_breaker: int

    @classmethod
    def decode(cls, value: bytes, transaction_id: bytes) -> Self:
        if len(value) != 8:
            raise StunParseError("ICE-CONTROLLED/ICE-CONTROLLING must be 8 bytes")
        return cls(int.from_bytes(value, "big"))

    def encode(self, transaction_id: bytes) -> bytes:
        return self.tie_breaker.to_bytes(8, "big")


@dataclass(frozen=True, slots=True)
class IceControlled(_TieBreaker):
    """RFC 8445 §7.1.3: the sender thinks it is controlled; 64-bit tie breaker."""

    TYPE: ClassVar[int] = AttributeType.ICE_CONTROLLED


@dataclass(frozen=True, slots=True)
class IceControlling(_TieBreaker):
    """RFC 8445 §7.1.3: the sender thinks it is controlling; 64-bit tie breaker."""

    TYPE: ClassVar[int] = AttributeType.ICE_CONTROLLING


@dataclass(frozen=True, slots=True)
class Fingerprint(AttributeValue):
    """RFC 8489 §14.7: CRC-32 XOR 0x5354554E. Checked by ``Message.verify_fingerprint``."""

    TYPE: ClassVar[int] = AttributeType.FINGERPRINT
    crc: int

    @classmethod
    def decode(cls, value: bytes, transaction_id: bytes) -> Self:
        if len(value) != 4:
            raise StunParseError("FINGERPRINT must be 4 bytes")
        return cls(int.from_bytes(value, "big"))

    def encode(self, transaction_id: bytes) -> bytes:
        return self.crc.to_bytes(4, "big")


@dataclass(frozen=True, slots=True)
class Lifetime(AttributeValue):
    """RFC 8656 §14.2: seconds until the allocation expires."""

    TYPE: ClassVar[int] = AttributeType.LIFETIME
    seconds: int

    @classmethod
    def decode(cls, value: bytes, transaction_id: bytes) -> Self:
        if len(value) != 4:
            raise StunParseError("LIFETIME must be 4 bytes")
        return cls(int.from_bytes(value, "big"))

    def encode(self, transaction_id: bytes) -> bytes:
        return self.seconds.to_bytes(4, "big")


@dataclass(frozen=True, slots=True)
class ChannelNumber(AttributeValue):
    """RFC 8656 §14.1: 16-bit channel number then 16 bits RFFU (sent as zero, ignored)."""

    TYPE: ClassVar[int] = AttributeType.CHANNEL_NUMBER
    number: int

    @classmethod
    def decode(cls, value: bytes, transaction_id: bytes) -> Self:
        if len(value) != 4:
            raise StunParseError("CHANNEL-NUMBER must be 4 bytes")
        return cls((value[0] << 8) | value[1])

    def encode(self, transaction_id: bytes) -> bytes:
        return self.number.to_bytes(2, "big") + b"\x00\x00"


# RFC 8656 §14.7: protocol numbers from the IANA registry; TURN defines UDP, RFC 6062 adds TCP.
TRANSPORT_UDP = 17
TRANSPORT_TCP = 6


@dataclass(frozen=True, slots=True)
class RequestedTransport(AttributeValue):
    """RFC 8656 §14.7: one protocol number byte then 24 bits RFFU."""

    TYPE: ClassVar[int] = AttributeType.REQUESTED_TRANSPORT
    protocol: int = TRANSPORT_UDP

    @classmethod
    def decode(cls, value: bytes, transaction_id: bytes) -> Self:
        if len(value) != 4:
            raise StunParseError("REQUESTED-TRANSPORT must be 4 bytes")
        return cls(value[0])

    def encode(self, transaction_id: bytes) -> bytes:
        return bytes((self.protocol, 0, 0, 0))


@dataclass(frozen=True, slots=True)
class EvenPort(AttributeValue):
    """RFC 8656 §14.6: one byte whose top bit R asks to reserve the next port too."""

    TYPE: ClassVar[int] = AttributeType.EVEN_PORT
    reserve: bool = False

    @classmethod
    def decode(cls, value: bytes, transaction_id: bytes) -> Self:
        if len(value) != 1:
            raise StunParseError("EVEN-PORT must be 1 byte")
        return cls(bool(value[0] & 0x80))

    def encode(self, transaction_id: bytes) -> bytes:
        return b"\x80" if self.reserve else b"\x00"


# RFC 8656 §14.8: address family codes as in RFC 8489 §14.1.
FAMILY_IPV4 = _FAMILY_IPV4
FAMILY_IPV6 = _FAMILY_IPV6


@dataclass(frozen=True, slots=True)
class _Family(AttributeValue):
    family: int

    @classmethod
    def decode(cls, value: bytes, transaction_id: bytes) -> Self:
        if len(value) != 4:
            raise StunParseError("address family attribute must be 4 bytes")
        return cls(value[0])

    def encode(self, transaction_id: bytes) -> bytes:
        return bytes((self.family, 0, 0, 0))


@dataclass(frozen=True, slots=True)
class RequestedAddressFamily(_Family):
    TYPE: ClassVar[int] = AttributeType.REQUESTED_ADDRESS_FAMILY


@dataclass(frozen=True, slots=True)
class AdditionalAddressFamily(_Family):
    TYPE: ClassVar[int] = AttributeType.ADDITIONAL_ADDRESS_FAMILY


# --- error codes -----------------------------------------------------------------------------


def _split_code(value: bytes, name: str) -> tuple[int, str]:
    if len(value) < 4:
        raise StunParseError(f"{name} shorter than 4 bytes")
    error_class = value[2] & 0x07
    number = value[3]
    # RFC 8489 §14.8: class 3–6, number 0–99.
    if not 3 <= error_class <= 6 or number > 99:
        raise StunParseError(f"{name} value out of range")
    return error_class * 100 + number, decode_text(value[4:])


def _join_code(code: int, reason: str, prefix: int) -> bytes:
    if not 300 <= code <= 699:
        raise ValueError(f"error code out of range: {code}")
    return bytes((prefix, 0, code // 100, code % 100)) + reason.encode("utf-8")


@dataclass(frozen=True, slots=True)
class ErrorCode(AttributeValue):
    """RFC 8489 §14.8: 21 reserved bits, class (hundreds digit), number (0–99), UTF-8 reason.

    The reason is sent as given; ``Message.error_response`` and ``binding_error`` fill in the
    RFC's suggested phrase (``DEFAULT_REASONS``) when none is given.
    """

    TYPE: ClassVar[int] = AttributeType.ERROR_CODE
    code: int
    reason: str = ""

    @classmethod
    def decode(cls, value: bytes, transaction_id: bytes) -> Self:
        return cls(*_split_code(value, "ERROR-CODE"))

    def encode(self, transaction_id: bytes) -> bytes:
        return _join_code(self.code, self.reason, 0)


@dataclass(frozen=True, slots=True)
class AddressErrorCode(AttributeValue):
    """RFC 8656 §14.12 (in §18): which address family an error refers to, then as ERROR-CODE."""

    TYPE: ClassVar[int] = AttributeType.ADDRESS_ERROR_CODE
    family: int
    code: int
    reason: str = ""

    @classmethod
    def decode(cls, value: bytes, transaction_id: bytes) -> Self:
        code, reason = _split_code(value, "ADDRESS-ERROR-CODE")
        return cls(value[0], code, reason)

    def encode(self, transaction_id: bytes) -> bytes:
        return _join_code(self.code, self.reason, self.family)


@dataclass(frozen=True, slots=True)
class UnknownAttributes(AttributeValue):
    """RFC 8489 §14.9: the comprehension-required types a 420 response did not understand."""

    TYPE: ClassVar[int] = AttributeType.UNKNOWN_ATTRIBUTES
    types: tuple[int, ...]

    @classmethod
    def decode(cls, value: bytes, transaction_id: bytes) -> Self:
        if len(value) & 1:
            raise StunParseError("UNKNOWN-ATTRIBUTES length must be even")
        return cls(struct.unpack(f"!{len(value) // 2}H", value))

    def encode(self, transaction_id: bytes) -> bytes:
        return struct.pack(f"!{len(self.types)}H", *self.types)


# --- password algorithms (RFC 8489 §14.11, §14.12) -------------------------------------------


@dataclass(frozen=True, slots=True)
class PasswordAlgorithm(AttributeValue):
    """RFC 8489 §14.12: the algorithm a client chose, with its (padded) parameters."""

    TYPE: ClassVar[int] = AttributeType.PASSWORD_ALGORITHM
    algorithm: int = PasswordAlgorithmId.MD5
    parameters: bytes = b""

    @classmethod
    def decode(cls, value: bytes, transaction_id: bytes) -> Self:
        algorithm, end = _read_algorithm(value, 0)
        if end != len(value):
            raise StunParseError("PASSWORD-ALGORITHM has trailing bytes")
        return cls(*algorithm)

    def encode(self, transaction_id: bytes) -> bytes:
        return _write_algorithm(self.algorithm, self.parameters)


def _read_algorithm(value: bytes, offset: int) -> tuple[tuple[int, bytes], int]:
    if offset + 4 > len(value):
        raise StunParseError("password algorithm truncated")
    algorithm, length = _unpack_hh(value, offset)
    start = offset + 4
    end = start + length
    if end > len(value):
        raise StunParseError("password algorithm parameters truncated")
    # Parameters are padded to 4 like attributes; padding at the very end may be absent.
    return (algorithm, bytes(value[start:end])), min(end + (-length & 3), len(value))


def _write_algorithm(algorithm: int, parameters: bytes) -> bytes:
    return _pack_hh(algorithm, len(parameters)) + parameters + _PADDING[len(parameters) & 3]


@dataclass(frozen=True, slots=True)
class PasswordAlgorithms(AttributeValue):
    """RFC 8489 §14.11: the algorithms a server offers, in order of preference."""

    TYPE: ClassVar[int] = AttributeType.PASSWORD_ALGORITHMS
    algorithms: tuple[tuple[int, bytes], ...]

    @classmethod
    def decode(cls, value: bytes, transaction_id: bytes) -> Self:
        algorithms = []
        offset = 0
        while offset < len(value):
            algorithm, offset = _read_algorithm(value, offset)
            algorithms.append(algorithm)
        return cls(tuple(algorithms))

    def encode(self, transaction_id: bytes) -> bytes:
        return b"".join(_write_algorithm(a, p) for a, p in self.algorithms)


ATTRIBUTE_VALUE_TYPES: dict[int, type[AttributeValue]] = {
    cls.TYPE: cls
    for cls in (
        MappedAddress,
        XorMappedAddress,
        XorPeerAddress,
        XorRelayedAddress,
        AlternateServer,
        Username,
        Userhash,
        MessageIntegrity,
        MessageIntegritySha256,
        Fingerprint,
        ErrorCode,
        UnknownAttributes,
        Realm,
        Nonce,
        PasswordAlgorithm,
        PasswordAlgorithms,
        AlternateDomain,
        Software,
        Priority,
        UseCandidate,
        IceControlled,
        IceControlling,
        Lifetime,
        RequestedTransport,
        Data,
        ChannelNumber,
        DontFragment,
        EvenPort,
        ReservationToken,
        RequestedAddressFamily,
        AdditionalAddressFamily,
        AddressErrorCode,
    )
}
"""Attribute type → the class that decodes it: every type this package understands."""

KNOWN_ATTRIBUTE_TYPES: frozenset[int] = frozenset(ATTRIBUTE_VALUE_TYPES)
