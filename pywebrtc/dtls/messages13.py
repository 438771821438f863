"""TLS 1.3 handshake message bodies and extensions as DTLS 1.3 carries them (RFC 8446 §4,
RFC 9147 §5).

Extensions: supported_versions (§4.2.1, both forms), key_share (§4.2.8: the ClientHello list,
the ServerHello entry, the HelloRetryRequest's selected group), cookie (§4.2.2). Messages:
EncryptedExtensions, CertificateRequest, Certificate (with per-entry extensions, which we
neither send nor read), Finished (hash-sized), KeyUpdate; the CertificateVerify signed content
(§4.4.3), the HelloRetryRequest random and the downgrade sentinels (§4.1.3). ServerHello,
ClientHello and CertificateVerify keep their DTLS 1.2 framing (:mod:`pywebrtc.dtls.handshake`).
Left out: PSK, early data, tickets (a NewSessionTicket is acknowledged and ignored),
certificate compression, post-handshake authentication.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Self

from pywebrtc.dtls.codec import Reader, parse_u16_list, u16_list, vec8, vec16, vec24
from pywebrtc.dtls.errors import DecodeError, IllegalParameter
from pywebrtc.dtls.extensions import Extension, parse_extensions, serialize_extensions

DTLS_1_3 = 0xFEFC
# RFC 8446 §4.1.3: SHA-256("HelloRetryRequest") as a ServerHello's random marks an HRR.
HELLO_RETRY_REQUEST_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()
# RFC 8446 §4.1.3: the last 8 bytes of a 1.3-capable server's random when it answers 1.2.
DOWNGRADE_TLS12 = bytes.fromhex("444f574e47524401")
DOWNGRADE_TLS11 = bytes.fromhex("444f574e47524400")
MAX_KEY_SHARES = 8  # more is an attack on our CPU, not a client we want to talk to
_TLS_HEADER = struct.Struct("!I")


def tls_message(msg_type: int, body: bytes) -> bytes:
    """A handshake message as the DTLS 1.3 transcript hashes it: the TLS 1.3 header, without
    message_seq and fragment fields (RFC 9147 §5.2)."""
    return _TLS_HEADER.pack((msg_type << 24) | len(body)) + body


def message_hash(hash_name: str, client_hello: bytes) -> bytes:
    """The synthetic message that stands for ClientHello1 after a HelloRetryRequest
    (RFC 8446 §4.4.1); ``client_hello`` is in :func:`tls_message` form."""
    return tls_message(254, hashlib.new(hash_name, client_hello).digest())


def certificate_verify_content(transcript_hash: bytes, server: bool) -> bytes:
    """What a TLS 1.3 CertificateVerify signs (RFC 8446 §4.4.3)."""
    context = (
        b"TLS 1.3, server CertificateVerify" if server else b"TLS 1.3, client CertificateVerify"
    )
    return b" " * 64 + context + b"\x00" + transcript_hash


def client_supported_versions(data: bytes) -> tuple[int, ...]:
    reader = Reader(data)
    body = reader.vec8()
    reader.end()
    if not body or len(body) % 2:
        raise DecodeError("malformed supported_versions")
    return parse_u16_list(vec16(body))


def encode_client_supported_versions(versions: tuple[int, ...]) -> bytes:
    return vec8(b"".join(struct.pack("!H", v) for v in versions))


def server_supported_version(data: bytes) -> int:
    reader = Reader(data)
    version = reader.u16()
    reader.end()
    return version


@dataclass(frozen=True, slots=True)
class KeyShareEntry:
    group: int
    key_exchange: bytes

    def __bytes__(self) -> bytes:
        return struct.pack("!H", self.group) + vec16(self.key_exchange)


def parse_client_shares(data: bytes) -> tuple[KeyShareEntry, ...]:
    """The ClientHello key_share list; empty keys, duplicate groups (RFC 8446 §4.2.8) and more
    than :data:`MAX_KEY_SHARES` entries are refused."""
    reader = Reader(data)
    entries = Reader(reader.vec16())
    reader.end()
    out: list[KeyShareEntry] = []
    while entries.remaining:
        group = entries.u16()
        key = entries.vec16()
        if not key:
            raise DecodeError("empty key share")
        if any(e.group == group for e in out):
            raise IllegalParameter("two key shares for one group")
        out.append(KeyShareEntry(group, key))
        if len(out) > MAX_KEY_SHARES:
            raise IllegalParameter("too many key shares")
    return tuple(out)


def encode_client_shares(entries: tuple[KeyShareEntry, ...]) -> bytes:
    return vec16(b"".join(bytes(e) for e in entries))


def parse_server_share(data: bytes) -> KeyShareEntry:
    reader = Reader(data)
    group = reader.u16()
    key = reader.vec16()
    reader.end()
    if not key:
        raise DecodeError("empty key share")
    return KeyShareEntry(group, key)


def parse_selected_group(data: bytes) -> int:
    """The HelloRetryRequest form of key_share."""
    reader = Reader(data)
    group = reader.u16()
    reader.end()
    return group


def parse_cookie(data: bytes) -> bytes:
    reader = Reader(data)
    cookie = reader.vec16()
    reader.end()
    if not cookie:
        raise DecodeError("empty cookie")
    return cookie


@dataclass(frozen=True, slots=True)
class EncryptedExtensions:
    extensions: tuple[Extension, ...] = ()

    @classmethod
    def parse(cls, data: bytes) -> Self:
        reader = Reader(data)
        body = reader.vec16()
        reader.end()
        return cls(parse_extensions(body))

    def __bytes__(self) -> bytes:
        return serialize_extensions(self.extensions)


@dataclass(frozen=True, slots=True)
class CertificateRequest13:
    context: bytes
    extensions: tuple[Extension, ...]

    @classmethod
    def parse(cls, data: bytes) -> Self:
        reader = Reader(data)
        context = reader.vec8()
        body = reader.vec16()
        reader.end()
        return cls(context, parse_extensions(body))

    def __bytes__(self) -> bytes:
        return vec8(self.context) + serialize_extensions(self.extensions)


@dataclass(frozen=True, slots=True)
class Certificate13:
    """A TLS 1.3 Certificate: request context and DER certificates, leaf first (§4.4.2)."""

    context: bytes
    certificates: tuple[bytes, ...]

    @classmethod
    def parse(cls, data: bytes) -> Self:
        reader = Reader(data)
        context = reader.vec8()
        entries = Reader(reader.vec24())
        reader.end()
        certs: list[bytes] = []
        while entries.remaining:
            cert = entries.vec24()
            if not cert:
                raise DecodeError("empty certificate in chain")
            parse_extensions(entries.vec16())
            certs.append(cert)
        return cls(context, tuple(certs))

    def __bytes__(self) -> bytes:
        entries = b"".join(vec24(c) + vec16(b"") for c in self.certificates)
        return vec8(self.context) + vec24(entries)


def parse_key_update(data: bytes) -> bool:
    """KeyUpdate (§4.6.3): whether the peer asks us to update too."""
    if len(data) != 1 or data[0] > 1:
        raise DecodeError("malformed KeyUpdate")
    return data[0] == 1


def encode_schemes(schemes: tuple[int, ...]) -> bytes:
    return u16_list(schemes)
