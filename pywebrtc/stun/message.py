"""The STUN message: header, attribute framing, integrity and fingerprint (RFC 8489).

Implements RFC 8489 §5 (header: method and class bits, length, magic cookie, 96-bit transaction
id), §6 (transaction ids from a CSPRNG), §14 (attribute TLVs padded to 4 bytes), §14.5/§14.6
(MESSAGE-INTEGRITY and MESSAGE-INTEGRITY-SHA256, including the truncated forms, computed over the
message up to the attribute with the header length patched to end after it), §14.7
(FINGERPRINT) and the §6.3/§14 rule that attributes after MESSAGE-INTEGRITY other than
MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, and after MESSAGE-INTEGRITY-SHA256 other than
FINGERPRINT, are ignored because they are not authenticated.

Left out, on purpose:

* RFC 3489 messages (no magic cookie) are rejected with :class:`StunParseError`: WebRTC peers
  all speak RFC 5389 or later, and accepting cookie-less messages only widens what the relay
  mistakes for STUN.
* A message must fill its datagram exactly (RFC 8489 §5 length, a multiple of 4); attributes
  after FINGERPRINT are an error.
* Parsing checks framing and the lengths of fixed-size attributes (integrity, fingerprint,
  PRIORITY, ICE-CONTROLL*, USE-CANDIDATE); other values are decoded lazily by the accessors,
  which raise :class:`StunParseError` for a bad value. Catch it around accessor use too.

Speed: ``Message.parse`` walks the attributes once, checking the framing, recording where the
integrity and fingerprint attributes are and keeping the first value of each attribute type in
a dict that the accessors read. The ``attributes`` tuple itself is cut out of the bytes only
when something reads it (see ``_LazyAttributes``): the ICE hot path never does.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from .attributes import (
    KNOWN_ATTRIBUTE_TYPES,
    Address,
    AttributeValue,
    ErrorCode,
    UnknownAttributes,
    decode_address,
    decode_text,
    decode_xor_address,
    encode_tlv,
)
from .constants import (
    DEFAULT_REASONS,
    FINGERPRINT_XOR,
    HEADER_LENGTH,
    MAGIC_COOKIE,
    MAGIC_COOKIE_BYTES,
    AttributeType,
    MessageClass,
    Method,
    message_type,
    split_message_type,
)
from .errors import StunParseError
from .integrity import compare_digest, fingerprint, hmac_sha1, hmac_sha256, sha1_pads

V = TypeVar("V", bound=AttributeValue)

_header = struct.Struct("!HHI")
_unpack_header = _header.unpack_from
_unpack_hh = struct.Struct("!HH").unpack_from
_pack_hh = struct.Struct("!HH").pack
_pack_h = struct.Struct("!H").pack
_pack_i = struct.Struct("!I").pack
_unpack_i = struct.Struct("!I").unpack_from

# Hot-loop copies of the attribute types, as plain ints (enum attribute lookups are slow).
_MESSAGE_INTEGRITY = 0x0008
_MESSAGE_INTEGRITY_SHA256 = 0x001C
_FINGERPRINT = 0x8028
_USERNAME = 0x0006
_PRIORITY = 0x0024
_USE_CANDIDATE = 0x0025
_ICE_CONTROLLED = 0x8029
_ICE_CONTROLLING = 0x802A
_SHA1_LENGTH = 20  # RFC 8489 §14.5
_SHA256_SIZES = frozenset((16, 20, 24, 28, 32))  # RFC 8489 §14.6

# Attributes whose value size is fixed, checked while framing so accessors and the integrity
# code never see a wrong size. The trailers (integrity and fingerprint) are marked -1: they end
# the fast loop in ``parse`` and ``_parse_trailers`` checks their lengths.
_SPECIAL_LENGTH: dict[int, int] = {
    _PRIORITY: 4,  # RFC 8445 §7.1.1
    _USE_CANDIDATE: 0,  # RFC 8445 §7.1.2
    _ICE_CONTROLLED: 8,  # RFC 8445 §7.1.3
    _ICE_CONTROLLING: 8,
    _MESSAGE_INTEGRITY: -1,
    _MESSAGE_INTEGRITY_SHA256: -1,
    _FINGERPRINT: -1,
}
_TRAILERS = frozenset((_MESSAGE_INTEGRITY, _MESSAGE_INTEGRITY_SHA256, _FINGERPRINT))

_CLASSES = tuple(MessageClass)
# (method, class) by message type for the registered methods; others are computed.
_MESSAGE_TYPES: dict[int, tuple[int, MessageClass]] = {
    message_type(m, c): (m, c) for m in Method for c in MessageClass
}
_STRIPPED_BY_ENCODE = _TRAILERS

IntegrityAlgorithm = Literal["sha1", "sha256", "both"]
_Wire = tuple[bytes, int, int, int, dict[int, bytes]]
_FINGERPRINT_HEADER = b"\x80\x28\x00\x04"


def new_transaction_id() -> bytes:
    """96 random bits from the OS CSPRNG (RFC 8489 §5 wants them uniform and unpredictable)."""
    return os.urandom(12)


@dataclass(frozen=True, slots=True)
class Message:
    """A STUN message.

    ``bytes(message)`` serialises it: a parsed message gives back exactly the bytes it was
    parsed from; a constructed one is encoded with zero padding, attributes as given.
    :meth:`encode` instead appends fresh MESSAGE-INTEGRITY and FINGERPRINT attributes.

    ``attributes`` of a parsed message hold only what a receiver may act on: attributes after
    the integrity attribute that the RFC says to ignore are left out (they are still in
    ``bytes(message)``).
    """

    method: int
    message_class: MessageClass
    transaction_id: bytes
    attributes: tuple[tuple[int, bytes], ...] = ()
    # A parsed message's bytes, the offsets of its MESSAGE-INTEGRITY,
    # MESSAGE-INTEGRITY-SHA256 and FINGERPRINT attributes in them (-1 if absent), and the first
    # value of each other attribute type (what the accessors read).
    _wire: _Wire | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if type(self.attributes) is not tuple:
            object.__setattr__(self, "attributes", tuple(self.attributes))
        if len(self.transaction_id) != 12:
            raise ValueError("a STUN transaction id is 12 bytes")
        if not 0 <= self.method <= 0xFFF:
            raise ValueError(f"STUN method out of range: {self.method:#x}")

    # --- construction ------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        method: int,
        message_class: MessageClass,
        attributes: Iterable[AttributeValue | tuple[int, bytes]] = (),
        transaction_id: bytes | None = None,
    ) -> Message:
        """A message from typed or raw attributes; a fresh transaction id unless given."""
        tid = new_transaction_id() if transaction_id is None else transaction_id
        try:
            raw = tuple(
                (a.TYPE, a.encode(tid)) if isinstance(a, AttributeValue) else (a[0], a[1])
                for a in attributes
            )
        except OverflowError as exc:  # an int field too large for its attribute
            raise ValueError(str(exc)) from exc
        return cls(method, message_class, tid, raw)

    def success_response(
        self, attributes: Iterable[AttributeValue | tuple[int, bytes]] = ()
    ) -> Message:
        """A success response to this request: same method and transaction id."""
        return Message.create(
            self.method, MessageClass.SUCCESS_RESPONSE, attributes, self.transaction_id
        )

    def error_response(
        self,
        code: int,
        reason: str = "",
        attributes: Iterable[AttributeValue | tuple[int, bytes]] = (),
    ) -> Message:
        """An error response with ERROR-CODE first (RFC 8489 §6.3.1.1), then ``attributes``.

        For a 420, :meth:`unknown_comprehension_required` gives the types to list in an
        :class:`UnknownAttributes` attribute.
        """
        return Message.create(
            self.method,
            MessageClass.ERROR_RESPONSE,
            (ErrorCode(code, reason or DEFAULT_REASONS.get(code, "")), *attributes),
            self.transaction_id,
        )

    # --- wire format -------------------------------------------------------------------------

    @classmethod
    def parse(cls, data: bytes) -> Message:
        """Parse one STUN message that fills ``data``; raise :class:`StunParseError`."""
        if type(data) is not bytes:
            data = bytes(data)
        size = len(data)
        if size < HEADER_LENGTH:
            raise StunParseError("shorter than a STUN header")
        mtype, length, cookie = _unpack_header(data)
        if mtype & 0xC000 or cookie != MAGIC_COOKIE or length + HEADER_LENGTH != size or length & 3:
            raise StunParseError(_header_problem(mtype, length, cookie, size))

        # One tight loop over the attributes up to the first integrity or fingerprint
        # attribute, noting the first value of each type for the accessors. ``special`` gives
        # the required length of the few fixed-size attributes, a negative number for the
        # integrity and fingerprint attributes and None for all others.
        special = _SPECIAL_LENGTH.get
        index: dict[int, bytes] = {}
        offset = HEADER_LENGTH
        attr_type = attr_length = 0
        while offset < size:
            attr_type, attr_length = _unpack_hh(data, offset)
            end = offset + 4 + attr_length
            if end > size:
                raise StunParseError("attribute runs past the end of the message")
            expected = special(attr_type)
            if expected is not None:
                if expected < 0:
                    break
                if expected != attr_length:
                    raise StunParseError(f"attribute {attr_type:#06x} has a bad length")
            if attr_type not in index:
                index[attr_type] = data[offset + 4 : end]
            offset = end + (-attr_length & 3)

        if offset == size:
            wire = (data, -1, -1, -1, index)
        elif (
            attr_type == _MESSAGE_INTEGRITY
            and attr_length == _SHA1_LENGTH
            and offset + 32 == size
            and data[offset + 24 : offset + 28] == _FINGERPRINT_HEADER
        ):
            # What ICE sends: MESSAGE-INTEGRITY then FINGERPRINT, last.
            wire = (data, offset, -1, offset + 24, index)
        else:
            wire = (data, *_parse_trailers(data, offset), index)

        message = object.__new__(cls)
        kind = _MESSAGE_TYPES.get(mtype)
        if kind is None:
            method, message_class = split_message_type(mtype)
            kind = (method, _CLASSES[message_class])
        _set_method(message, kind[0])
        _set_class(message, kind[1])
        _set_transaction_id(message, data[8:20])
        _set_wire(message, wire)
        # The attributes slot stays empty until read, see _LazyAttributes.
        return message

    def __bytes__(self) -> bytes:
        if self._wire is not None:
            return self._wire[0]
        body = b"".join([encode_tlv(t, v) for t, v in self.attributes])
        return self._header(len(body)) + body

    def _header(self, length: int) -> bytes:
        if length > 0xFFFF:
            raise ValueError("STUN message longer than 65535 bytes")
        return (
            _pack_hh(message_type(self.method, self.message_class), length)
            + MAGIC_COOKIE_BYTES
            + self.transaction_id
        )

    def encode(
        self,
        integrity_key: bytes | None = None,
        *,
        fingerprint: bool = False,
        integrity: IntegrityAlgorithm = "sha1",
        sha256_length: int = 32,
    ) -> bytes:
        """Serialise with MESSAGE-INTEGRITY(-SHA256) under ``integrity_key`` and FINGERPRINT.

        Any integrity or fingerprint attributes already in ``attributes`` are dropped and
        computed afresh. ``integrity`` picks HMAC-SHA1 (what ICE uses, RFC 8445 §7.2.2),
        HMAC-SHA256 truncated to ``sha256_length`` bytes, or both (SHA1 first).
        """
        body = b"".join(
            [encode_tlv(t, v) for t, v in self.attributes if t not in _STRIPPED_BY_ENCODE]
        )
        if integrity_key is not None:
            if integrity != "sha256":
                body += _sign(self, body, integrity_key, _MESSAGE_INTEGRITY, _SHA1_LENGTH)
            if integrity != "sha1":
                if sha256_length not in _SHA256_SIZES:
                    raise ValueError("MESSAGE-INTEGRITY-SHA256 length must be 16..32, step 4")
                body += _sign(self, body, integrity_key, _MESSAGE_INTEGRITY_SHA256, sha256_length)
        if not fingerprint:
            return self._header(len(body)) + body
        data = self._header(len(body) + 8) + body
        return data + _pack_hh(_FINGERPRINT, 4) + _pack_i(_crc(data))

    # --- integrity and fingerprint -----------------------------------------------------------

    def _parsed(self) -> _Wire:
        wire = self._wire
        if wire is None:
            wire = Message.parse(bytes(self))._wire
            assert wire is not None
        return wire

    def verify_integrity(self, key: bytes) -> bool:
        """Check MESSAGE-INTEGRITY-SHA256 if present, else MESSAGE-INTEGRITY, with ``key``.

        False if the message carries neither. The code covers the message up to the attribute,
        with the header length set to end just after it (RFC 8489 §14.5, §14.6), so a
        FINGERPRINT after it does not disturb the check.
        """
        raw, offset, offset_sha256, _, _ = self._wire or self._parsed()
        if offset_sha256 >= 0:
            size = raw[offset_sha256 + 3]
            end = offset_sha256 + 4 + size
            signed = raw[:2] + _pack_h(end - HEADER_LENGTH) + raw[4:offset_sha256]
            mac = raw[offset_sha256 + 4 : end]
            return compare_digest(hmac_sha256(key, signed)[:size], mac)
        if offset < 0:
            return False
        # HMAC-SHA1 inlined (see integrity.py): this is the per-packet check of ICE.
        inner, outer = sha1_pads(key)
        h = inner.copy()
        # offset + 24 - 20: the length field ends just after MESSAGE-INTEGRITY.
        h.update(raw[:2] + _pack_h(offset + 4) + raw[4:offset])
        o = outer.copy()
        o.update(h.digest())
        return compare_digest(o.digest(), raw[offset + 4 : offset + 24])

    def verify_fingerprint(self) -> bool:
        """True if the message ends with a FINGERPRINT that matches (RFC 8489 §14.7)."""
        raw, _, _, offset, _ = self._wire or self._parsed()
        if offset < 0:
            return False
        (sent,) = _unpack_i(raw, offset + 4)
        return bool(_crc32(raw[:offset]) ^ FINGERPRINT_XOR == sent)

    @property
    def has_integrity(self) -> bool:
        """True if MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256 is present."""
        _, offset, offset_sha256, _, _ = self._wire or self._parsed()
        return offset >= 0 or offset_sha256 >= 0

    @property
    def has_fingerprint(self) -> bool:
        return (self._wire or self._parsed())[3] >= 0

    # --- generic attribute access ------------------------------------------------------------

    def get_raw(self, attr_type: int) -> bytes | None:
        """The value of the first attribute of ``attr_type``, or None."""
        wire = self._wire
        if wire is not None:
            value = wire[4].get(attr_type)
            if value is None and attr_type in _TRAILERS:
                return _trailer_value(wire, attr_type)
            return value
        for t, value in self.attributes:
            if t == attr_type:
                return value
        return None

    def get(self, attr_class: type[V]) -> V | None:
        """The first attribute of ``attr_class.TYPE``, decoded; None if absent."""
        value = self.get_raw(attr_class.TYPE)
        return None if value is None else attr_class.decode(value, self.transaction_id)

    def get_all(self, attr_class: type[V]) -> list[V]:
        """Every attribute of ``attr_class.TYPE``, decoded, in order (e.g. XOR-PEER-ADDRESS)."""
        t = attr_class.TYPE
        return [attr_class.decode(a[1], self.transaction_id) for a in self.attributes if a[0] == t]

    def unknown_comprehension_required(
        self, known: Collection[int] = KNOWN_ATTRIBUTE_TYPES
    ) -> tuple[int, ...]:
        """Comprehension-required types (< 0x8000) not in ``known``, for a 420 response's
        UNKNOWN-ATTRIBUTES (RFC 8489 §6.3.1). Empty means the request can be processed."""
        wire = self._wire
        # A parsed message's index has each type once, in order of first appearance.
        types = wire[4] if wire is not None else dict.fromkeys(t for t, _ in self.attributes)
        return tuple(t for t in types if t < 0x8000 and t not in known)

    # --- typed accessors (None when absent, StunParseError when malformed) -------------------

    # The ICE accessors read a parsed message's index directly: they run for every check.

    @property
    def username(self) -> str | None:
        wire = self._wire
        value = wire[4].get(_USERNAME) if wire is not None else self.get_raw(_USERNAME)
        return None if value is None else decode_text(value)

    @property
    def priority(self) -> int | None:
        wire = self._wire
        value = wire[4].get(_PRIORITY) if wire is not None else self.get_raw(_PRIORITY)
        return None if value is None else int.from_bytes(value, "big")

    @property
    def use_candidate(self) -> bool:
        wire = self._wire
        if wire is not None:
            return _USE_CANDIDATE in wire[4]
        return self.get_raw(_USE_CANDIDATE) is not None

    @property
    def ice_controlling(self) -> int | None:
        """The ICE-CONTROLLING tie breaker, or None."""
        wire = self._wire
        value = (
            wire[4].get(_ICE_CONTROLLING) if wire is not None else self.get_raw(_ICE_CONTROLLING)
        )
        return None if value is None else int.from_bytes(value, "big")

    @property
    def ice_controlled(self) -> int | None:
        """The ICE-CONTROLLED tie breaker, or None."""
        wire = self._wire
        value = wire[4].get(_ICE_CONTROLLED) if wire is not None else self.get_raw(_ICE_CONTROLLED)
        return None if value is None else int.from_bytes(value, "big")

    @property
    def xor_mapped_address(self) -> Address | None:
        value = self.get_raw(AttributeType.XOR_MAPPED_ADDRESS)
        return None if value is None else decode_xor_address(value, self.transaction_id)

    @property
    def mapped_address(self) -> Address | None:
        value = self.get_raw(AttributeType.MAPPED_ADDRESS)
        return None if value is None else decode_address(value)

    @property
    def xor_relayed_address(self) -> Address | None:
        value = self.get_raw(AttributeType.XOR_RELAYED_ADDRESS)
        return None if value is None else decode_xor_address(value, self.transaction_id)

    @property
    def xor_peer_addresses(self) -> list[Address]:
        t = AttributeType.XOR_PEER_ADDRESS
        tid = self.transaction_id
        return [decode_xor_address(a[1], tid) for a in self.attributes if a[0] == t]

    @property
    def error_code(self) -> ErrorCode | None:
        return self.get(ErrorCode)

    @property
    def unknown_attributes(self) -> tuple[int, ...] | None:
        found = self.get(UnknownAttributes)
        return None if found is None else found.types

    def _text(self, attr_type: int) -> str | None:
        value = self.get_raw(attr_type)
        return None if value is None else decode_text(value)

    @property
    def realm(self) -> str | None:
        return self._text(AttributeType.REALM)

    @property
    def nonce(self) -> str | None:
        return self._text(AttributeType.NONCE)

    @property
    def software(self) -> str | None:
        return self._text(AttributeType.SOFTWARE)

    @property
    def data(self) -> bytes | None:
        """The DATA attribute of a TURN Send/Data indication (RFC 8656 §14.4)."""
        return self.get_raw(AttributeType.DATA)


_crc = fingerprint
_crc32 = zlib.crc32


def _header_problem(mtype: int, length: int, cookie: int, size: int) -> str:
    if mtype & 0xC000:
        return "first two bits of a STUN message must be zero"
    if cookie != MAGIC_COOKIE:
        return "no magic cookie (RFC 3489 messages are not supported)"
    return "STUN length does not match the datagram"


def _parse_trailers(data: bytes, offset: int) -> tuple[int, int, int]:
    """Walk the attributes from the first integrity or fingerprint attribute at ``offset``.

    After MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count, after
    MESSAGE-INTEGRITY-SHA256 only FINGERPRINT (RFC 8489 §14.5, §14.6); the rest is ignored
    (not added) because the integrity check does not cover it. Nothing may follow FINGERPRINT
    (§14.7). Returns the offsets of the ones that count, -1 for absent.
    """
    size = len(data)
    integrity = integrity_sha256 = fp = -1
    state = 0  # 1: after MESSAGE-INTEGRITY, 2: after MESSAGE-INTEGRITY-SHA256
    while offset < size:
        attr_type, attr_length = _unpack_hh(data, offset)
        end = offset + 4 + attr_length
        if end > size:
            raise StunParseError("attribute runs past the end of the message")
        if fp >= 0:
            raise StunParseError("attribute after FINGERPRINT")
        if attr_type == _FINGERPRINT:
            if attr_length != 4:
                raise StunParseError("FINGERPRINT must be 4 bytes")
            fp = offset
        elif attr_type == _MESSAGE_INTEGRITY_SHA256 and state < 2:
            if attr_length not in _SHA256_SIZES:
                raise StunParseError("bad MESSAGE-INTEGRITY-SHA256 length")
            integrity_sha256 = offset
            state = 2
        elif attr_type == _MESSAGE_INTEGRITY and state < 1:
            if attr_length != _SHA1_LENGTH:
                raise StunParseError("MESSAGE-INTEGRITY must be 20 bytes")
            integrity = offset
            state = 1
        offset = end + (-attr_length & 3)
    return integrity, integrity_sha256, fp


def _trailer_value(wire: _Wire, attr_type: int) -> bytes | None:
    data = wire[0]
    for offset in wire[1:4]:
        if offset >= 0 and _unpack_hh(data, offset)[0] == attr_type:
            return data[offset + 4 : offset + 4 + _unpack_hh(data, offset)[1]]
    return None


def _collect(wire: _Wire) -> tuple[tuple[int, bytes], ...]:
    """The attributes a receiver may act on, cut out of a parsed message's bytes: all up to the
    first integrity or fingerprint attribute, then those three at their recorded offsets (which
    ``_parse_trailers`` only records in ascending order)."""
    data, integrity, integrity_sha256, fp, _ = wire
    trailers = [t for t in (integrity, integrity_sha256, fp) if t >= 0]
    stop = trailers[0] if trailers else len(data)
    attributes: list[tuple[int, bytes]] = []
    append = attributes.append
    offset = HEADER_LENGTH
    while offset < stop:
        attr_type, attr_length = _unpack_hh(data, offset)
        end = offset + 4 + attr_length
        append((attr_type, data[offset + 4 : end]))
        offset = end + (-attr_length & 3)
    for offset in trailers:
        attr_type, attr_length = _unpack_hh(data, offset)
        append((attr_type, data[offset + 4 : offset + 4 + attr_length]))
    return tuple(attributes)


# Slot setters: parse fills a new instance through these, bypassing the frozen __init__ (which
# costs a generic object.__setattr__ per field) for a large share of the parse time.
def _slot_setter(name: str) -> Callable[[Message, object], None]:
    setter: Callable[[Message, object], None] = vars(Message)[name].__set__
    return setter


_set_method = _slot_setter("method")
_set_class = _slot_setter("message_class")
_set_transaction_id = _slot_setter("transaction_id")
_set_wire = _slot_setter("_wire")


class _LazyAttributes:
    """Stands in for the ``attributes`` slot: ``parse`` leaves the slot empty, and the first
    read fills it from the bytes (``_collect``). The generated ``__init__``, ``__eq__``,
    ``__repr__`` and ``__hash__`` all go through here, so they see the attributes as usual."""

    __slots__ = ("get", "set")

    def __init__(self, slot: Any) -> None:
        self.get = slot.__get__
        self.set = slot.__set__

    def __get__(
        self, message: Message | None, owner: type | None = None
    ) -> tuple[tuple[int, bytes], ...]:
        if message is None:
            return ()  # class access: the field default, as dataclasses expect
        try:
            value: tuple[tuple[int, bytes], ...] = self.get(message, owner)
        except AttributeError:
            wire = message._wire
            assert wire is not None
            value = _collect(wire)
            self.set(message, value)
        return value

    def __set__(self, message: Message, value: tuple[tuple[int, bytes], ...]) -> None:
        self.set(message, value)


type.__setattr__(Message, "attributes", _LazyAttributes(vars(Message)["attributes"]))


def _sign(message: Message, body: bytes, key: bytes, attr_type: int, size: int) -> bytes:
    """The integrity TLV for ``body``: HMAC over header (length ending after this attribute)
    and body, truncated to ``size``."""
    signed = message._header(len(body) + 4 + size) + body
    mac = hmac_sha1(key, signed) if attr_type == _MESSAGE_INTEGRITY else hmac_sha256(key, signed)
    return _pack_hh(attr_type, size) + mac[:size]
