"""Hello extensions used by WebRTC DTLS 1.2 (RFC 5246 §7.4.1.4).

Implemented: supported_groups and ec_point_formats (RFC 8422 §5.1), signature_algorithms
(RFC 5246 §7.4.1.4.1, code points from RFC 8446 §4.2.3), use_srtp (RFC 5764 §4.1.1),
extended_master_secret (RFC 7627) and renegotiation_info (RFC 5746). Every other extension is
kept as an opaque ``Extension`` and ignored, which is how DTLS 1.3 offers (supported_versions,
key_share, psk_key_exchange_modes, …) pass through a 1.2 server.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Self

from pywebrtc.dtls.codec import Reader, parse_u16_list, u16_list, vec8, vec16
from pywebrtc.dtls.errors import DecodeError


class ExtensionType(IntEnum):
    SERVER_NAME = 0
    SUPPORTED_GROUPS = 10
    EC_POINT_FORMATS = 11
    SIGNATURE_ALGORITHMS = 13
    USE_SRTP = 14
    ALPN = 16
    PADDING = 21
    ENCRYPT_THEN_MAC = 22
    EXTENDED_MASTER_SECRET = 23
    SESSION_TICKET = 35
    SUPPORTED_VERSIONS = 43
    COOKIE = 44
    PSK_KEY_EXCHANGE_MODES = 45
    KEY_SHARE = 51
    RENEGOTIATION_INFO = 0xFF01


class NamedGroup(IntEnum):
    SECP256R1 = 23
    SECP384R1 = 24
    SECP521R1 = 25
    X25519 = 29
    X448 = 30
    X25519MLKEM768 = 0x11EC


class SignatureScheme(IntEnum):
    RSA_PKCS1_SHA256 = 0x0401
    RSA_PKCS1_SHA384 = 0x0501
    RSA_PKCS1_SHA512 = 0x0601
    ECDSA_SECP256R1_SHA256 = 0x0403
    ECDSA_SECP384R1_SHA384 = 0x0503
    ECDSA_SECP521R1_SHA512 = 0x0603
    RSA_PSS_RSAE_SHA256 = 0x0804
    RSA_PSS_RSAE_SHA384 = 0x0805
    RSA_PSS_RSAE_SHA512 = 0x0806
    ED25519 = 0x0807


class SrtpProfile(IntEnum):
    """DTLS-SRTP protection profiles (RFC 5764 §4.1.2, RFC 7714 §14.2)."""

    SRTP_AES128_CM_HMAC_SHA1_80 = 0x0001
    SRTP_AES128_CM_HMAC_SHA1_32 = 0x0002
    SRTP_AEAD_AES_128_GCM = 0x0007
    SRTP_AEAD_AES_256_GCM = 0x0008

    @property
    def keying_material_length(self) -> int:
        """2 × (master key + master salt): what EXTRACTOR-dtls_srtp must export."""
        key, salt = _SRTP_KEY_SALT[self]
        return 2 * (key + salt)

    @property
    def key_length(self) -> int:
        return _SRTP_KEY_SALT[self][0]

    @property
    def salt_length(self) -> int:
        return _SRTP_KEY_SALT[self][1]


_SRTP_KEY_SALT = {
    SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_80: (16, 14),
    SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_32: (16, 14),
    SrtpProfile.SRTP_AEAD_AES_128_GCM: (16, 12),
    SrtpProfile.SRTP_AEAD_AES_256_GCM: (32, 12),
}

_HEAD = struct.Struct("!HH")


@dataclass(frozen=True, slots=True)
class Extension:
    """One extension as it travels: type and opaque extension_data."""

    type: int
    data: bytes

    def __bytes__(self) -> bytes:
        return _HEAD.pack(self.type, len(self.data)) + self.data


def parse_extensions(data: bytes) -> tuple[Extension, ...]:
    """Parse the body of an ``extensions<0..2^16-1>`` vector; duplicates are a decode error."""
    # Inlined rather than through Reader: a browser ClientHello carries 15-20 extensions.
    seen: set[int] = set()
    out: list[Extension] = []
    pos, size = 0, len(data)
    unpack = _HEAD.unpack_from
    while pos < size:
        if size - pos < 4:
            raise DecodeError(f"truncated extension header at offset {pos}")
        ext_type, length = unpack(data, pos)
        start = pos + 4
        pos = start + length
        if pos > size:
            raise DecodeError(f"truncated extension {ext_type}: {length} bytes announced")
        if ext_type in seen:
            raise DecodeError(f"duplicate extension {ext_type}")
        seen.add(ext_type)
        out.append(Extension(ext_type, data[start:pos]))
    return tuple(out)


def serialize_extensions(extensions: Iterable[Extension]) -> bytes:
    return vec16(b"".join(bytes(e) for e in extensions))


def find(extensions: tuple[Extension, ...], ext_type: int) -> bytes | None:
    for ext in extensions:
        if ext.type == ext_type:
            return ext.data
    return None


@dataclass(frozen=True, slots=True)
class SupportedGroups:
    groups: tuple[int, ...]

    @classmethod
    def parse(cls, data: bytes) -> Self:
        reader = Reader(data)
        groups = parse_u16_list(reader.vec16())
        reader.end()
        return cls(groups)

    def __bytes__(self) -> bytes:
        return u16_list(self.groups)


@dataclass(frozen=True, slots=True)
class EcPointFormats:
    formats: tuple[int, ...] = (0,)  # uncompressed only (RFC 8422 §5.1.2)

    @classmethod
    def parse(cls, data: bytes) -> Self:
        reader = Reader(data)
        formats = tuple(reader.vec8())
        reader.end()
        if not formats:
            raise DecodeError("empty ec_point_formats")
        return cls(formats)

    def __bytes__(self) -> bytes:
        return vec8(bytes(self.formats))


@dataclass(frozen=True, slots=True)
class SignatureAlgorithms:
    schemes: tuple[int, ...]

    @classmethod
    def parse(cls, data: bytes) -> Self:
        reader = Reader(data)
        schemes = parse_u16_list(reader.vec16())
        reader.end()
        return cls(schemes)

    def __bytes__(self) -> bytes:
        return u16_list(self.schemes)


@dataclass(frozen=True, slots=True)
class UseSrtp:
    profiles: tuple[int, ...]
    mki: bytes = b""

    @classmethod
    def parse(cls, data: bytes) -> Self:
        reader = Reader(data)
        profiles = parse_u16_list(reader.vec16())
        mki = reader.vec8()
        reader.end()
        return cls(profiles, mki)

    def __bytes__(self) -> bytes:
        return u16_list(self.profiles) + vec8(self.mki)


@dataclass(frozen=True, slots=True)
class RenegotiationInfo:
    renegotiated_connection: bytes = b""

    @classmethod
    def parse(cls, data: bytes) -> Self:
        reader = Reader(data)
        value = reader.vec8()
        reader.end()
        return cls(value)

    def __bytes__(self) -> bytes:
        return vec8(self.renegotiated_connection)


EMPTY_RENEGOTIATION_INFO = bytes(RenegotiationInfo())


def renegotiated(renegotiation_info: bytes) -> bool:
    """Whether a renegotiation_info extension carries a previous Finished (RFC 5746 §3.2)."""
    if renegotiation_info == EMPTY_RENEGOTIATION_INFO:
        return False
    return bool(RenegotiationInfo.parse(renegotiation_info).renegotiated_connection)
