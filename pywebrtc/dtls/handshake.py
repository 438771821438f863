"""Handshake messages (RFC 5246 §7.4 with the DTLS header and HelloVerifyRequest, RFC 6347 §4.2).

Every message is a frozen dataclass with ``parse(body)`` and ``__bytes__`` (the body, without
the 12-byte DTLS handshake header). ``HandshakeFragment`` is the header plus one fragment of a
body as it travels in a record; ``encode_message`` frames a whole body as a single fragment,
which is also the form the Finished hash covers (RFC 6347 §4.2.6).

Only the ECDHE key exchange is implemented (RFC 8422 §5.4 and §5.7): no RSA key transport,
no PSK, no session resumption.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Self

from pywebrtc.dtls.codec import Reader, parse_u16_list, u16_list, vec8, vec16, vec24
from pywebrtc.dtls.errors import DecodeError
from pywebrtc.dtls.extensions import Extension, parse_extensions, serialize_extensions

HANDSHAKE_HEADER_SIZE = 12
RANDOM_SIZE = 32
# RFC 8422 §5.4: ECCurveType named_curve.
NAMED_CURVE = 3
# msg_type, length (24 bits as 8 + 16), message_seq, fragment_offset and fragment_length
_HEADER = struct.Struct("!BBHHBHBH")
# The same 12 bytes packed as (msg_type << 24 | length, message_seq, fragment_offset >> 8,
# (fragment_offset & 0xFF) << 24 | fragment_length): four fields instead of eight.
_HEADER4 = struct.Struct("!IHHI")


class HandshakeType(IntEnum):
    HELLO_REQUEST = 0
    CLIENT_HELLO = 1
    SERVER_HELLO = 2
    HELLO_VERIFY_REQUEST = 3
    NEW_SESSION_TICKET = 4  # TLS 1.3 (RFC 8446 §4.6.1)
    ENCRYPTED_EXTENSIONS = 8  # TLS 1.3 (RFC 8446 §4.3.1)
    CERTIFICATE = 11
    SERVER_KEY_EXCHANGE = 12
    CERTIFICATE_REQUEST = 13
    SERVER_HELLO_DONE = 14
    CERTIFICATE_VERIFY = 15
    CLIENT_KEY_EXCHANGE = 16
    FINISHED = 20
    KEY_UPDATE = 24  # TLS 1.3 (RFC 8446 §4.6.3)
    MESSAGE_HASH = 254  # TLS 1.3 (RFC 8446 §4.4.1)


@dataclass(frozen=True, slots=True)
class HandshakeFragment:
    """One DTLS handshake fragment: the 12-byte header (RFC 6347 §4.2.2) and its bytes."""

    msg_type: int
    length: int
    message_seq: int
    fragment_offset: int
    body: bytes

    @classmethod
    def parse(cls, data: bytes) -> Self:
        fragment, end = cls.parse_from(data, 0)
        if end != len(data):
            raise DecodeError("trailing bytes after handshake fragment")
        return fragment

    @classmethod
    def parse_from(cls, data: bytes, offset: int) -> tuple[Self, int]:
        if len(data) - offset < HANDSHAKE_HEADER_SIZE:
            raise DecodeError("truncated handshake header")
        msg_type, len_hi, len_lo, seq, off_hi, off_lo, flen_hi, flen_lo = _HEADER.unpack_from(
            data, offset
        )
        length = (len_hi << 16) | len_lo
        frag_off = (off_hi << 16) | off_lo
        frag_len = (flen_hi << 16) | flen_lo
        start = offset + HANDSHAKE_HEADER_SIZE
        if start + frag_len > len(data):
            raise DecodeError("truncated handshake fragment")
        if frag_off + frag_len > length:
            raise DecodeError("handshake fragment beyond message length")
        return cls(
            msg_type, length, seq, frag_off, data[start : start + frag_len]
        ), start + frag_len

    def __bytes__(self) -> bytes:
        return (
            fragment_header(
                self.msg_type, self.length, self.message_seq, self.fragment_offset, len(self.body)
            )
            + self.body
        )


def fragment_header(msg_type: int, length: int, seq: int, offset: int, frag_len: int) -> bytes:
    return _HEADER4.pack(
        (msg_type << 24) | length, seq, offset >> 8, ((offset & 0xFF) << 24) | frag_len
    )


def encode_message(msg_type: int, message_seq: int, body: bytes) -> bytes:
    """A whole message as one fragment: the wire form of a small message and the hashed form."""
    n = len(body)
    return _HEADER4.pack((msg_type << 24) | n, message_seq, 0, n) + body


def parse_fragments(data: bytes) -> list[HandshakeFragment]:
    """All fragments in one handshake record (a record may carry several, RFC 6347 §4.2.3)."""
    return [HandshakeFragment(*fields) for fields in split_fragments(data)]


# msg_type, length, message_seq, fragment_offset, fragment bytes: a HandshakeFragment's fields.
FragmentFields = tuple[int, int, int, int, bytes]


def split_fragments(data: bytes) -> list[FragmentFields]:
    """``parse_fragments`` as plain tuples: the connection's per-record path builds no objects."""
    out: list[FragmentFields] = []
    offset, size = 0, len(data)
    unpack = _HEADER.unpack_from
    while offset < size:
        if size - offset < HANDSHAKE_HEADER_SIZE:
            raise DecodeError("truncated handshake header")
        msg_type, len_hi, len_lo, seq, off_hi, off_lo, flen_hi, flen_lo = unpack(data, offset)
        length = (len_hi << 16) | len_lo
        frag_off = (off_hi << 16) | off_lo
        start = offset + HANDSHAKE_HEADER_SIZE
        offset = start + ((flen_hi << 16) | flen_lo)
        if offset > size:
            raise DecodeError("truncated handshake fragment")
        if frag_off + offset - start > length:
            raise DecodeError("handshake fragment beyond message length")
        out.append((msg_type, length, seq, frag_off, data[start:offset]))
    return out


def _extensions_tail(reader: Reader) -> tuple[Extension, ...]:
    # RFC 5246 §7.4.1.2: the extensions block may be absent entirely.
    if not reader.remaining:
        return ()
    data = reader.vec16()
    reader.end()
    return parse_extensions(data)


@dataclass(frozen=True, slots=True)
class ClientHello:
    client_version: int
    random: bytes
    session_id: bytes
    cookie: bytes
    cipher_suites: tuple[int, ...]
    compression_methods: bytes = b"\x00"
    extensions: tuple[Extension, ...] = ()

    @classmethod
    def parse(cls, data: bytes) -> Self:
        reader = Reader(data)
        version = reader.u16()
        random = reader.take(RANDOM_SIZE)
        session_id = reader.vec8()
        if len(session_id) > 32:
            raise DecodeError("session_id longer than 32 bytes")
        cookie = reader.vec8()
        suites = reader.vec16()
        if not suites:
            raise DecodeError("empty cipher_suites")
        compression = reader.vec8()
        if not compression:
            raise DecodeError("empty compression_methods")
        extensions = _extensions_tail(reader)
        return cls(
            version, random, session_id, cookie, parse_u16_list(suites), compression, extensions
        )

    def __bytes__(self) -> bytes:
        return (
            struct.pack("!H", self.client_version)
            + self.random
            + vec8(self.session_id)
            + vec8(self.cookie)
            + u16_list(self.cipher_suites)
            + vec8(self.compression_methods)
            + (serialize_extensions(self.extensions) if self.extensions else b"")
        )


@dataclass(frozen=True, slots=True)
class ServerHello:
    server_version: int
    random: bytes
    session_id: bytes
    cipher_suite: int
    compression_method: int = 0
    extensions: tuple[Extension, ...] = ()

    @classmethod
    def parse(cls, data: bytes) -> Self:
        reader = Reader(data)
        version = reader.u16()
        random = reader.take(RANDOM_SIZE)
        session_id = reader.vec8()
        if len(session_id) > 32:
            raise DecodeError("session_id longer than 32 bytes")
        suite = reader.u16()
        compression = reader.u8()
        extensions = _extensions_tail(reader)
        return cls(version, random, session_id, suite, compression, extensions)

    def __bytes__(self) -> bytes:
        return (
            struct.pack("!H", self.server_version)
            + self.random
            + vec8(self.session_id)
            + struct.pack("!HB", self.cipher_suite, self.compression_method)
            + (serialize_extensions(self.extensions) if self.extensions else b"")
        )


@dataclass(frozen=True, slots=True)
class HelloVerifyRequest:
    server_version: int
    cookie: bytes

    @classmethod
    def parse(cls, data: bytes) -> Self:
        reader = Reader(data)
        version = reader.u16()
        cookie = reader.vec8()
        reader.end()
        return cls(version, cookie)

    def __bytes__(self) -> bytes:
        return struct.pack("!H", self.server_version) + vec8(self.cookie)


@dataclass(frozen=True, slots=True)
class CertificateMessage:
    """The Certificate handshake message: a DER chain, leaf first (RFC 5246 §7.4.2)."""

    certificates: tuple[bytes, ...]

    @classmethod
    def parse(cls, data: bytes) -> Self:
        reader = Reader(data)
        chain = Reader(reader.vec24())
        reader.end()
        certs: list[bytes] = []
        while chain.remaining:
            cert = chain.vec24()
            if not cert:
                raise DecodeError("empty certificate in chain")
            certs.append(cert)
        return cls(tuple(certs))

    def __bytes__(self) -> bytes:
        return vec24(b"".join(vec24(c) for c in self.certificates))


@functools.lru_cache(maxsize=16)
def certificate_body(der: bytes) -> bytes:
    """The Certificate message body for our one certificate (the same bytes every handshake)."""
    return bytes(CertificateMessage((der,)))


@dataclass(frozen=True, slots=True)
class ServerKeyExchange:
    """ECDHE ServerKeyExchange: named-curve params and their signature (RFC 8422 §5.4)."""

    named_group: int
    public_key: bytes
    signature_scheme: int
    signature: bytes

    @classmethod
    def parse(cls, data: bytes) -> Self:
        reader = Reader(data)
        if reader.u8() != NAMED_CURVE:
            raise DecodeError("only named_curve ECDHE parameters are supported")
        group = reader.u16()
        public = reader.vec8()
        if not public:
            raise DecodeError("empty ECDH public key")
        scheme = reader.u16()
        signature = reader.vec16()
        reader.end()
        return cls(group, public, scheme, signature)

    @property
    def params(self) -> bytes:
        """ServerECDHParams, the part covered by the signature."""
        return struct.pack("!BH", NAMED_CURVE, self.named_group) + vec8(self.public_key)

    def __bytes__(self) -> bytes:
        return self.params + struct.pack("!H", self.signature_scheme) + vec16(self.signature)


@dataclass(frozen=True, slots=True)
class CertificateRequest:
    certificate_types: bytes
    signature_schemes: tuple[int, ...]
    authorities: bytes = b""

    @classmethod
    def parse(cls, data: bytes) -> Self:
        reader = Reader(data)
        types = reader.vec8()
        if not types:
            raise DecodeError("empty certificate_types")
        schemes = parse_u16_list(reader.vec16())
        authorities = reader.vec16()
        reader.end()
        return cls(types, schemes, authorities)

    def __bytes__(self) -> bytes:
        return (
            vec8(self.certificate_types)
            + u16_list(self.signature_schemes)
            + vec16(self.authorities)
        )


@dataclass(frozen=True, slots=True)
class ServerHelloDone:
    @classmethod
    def parse(cls, data: bytes) -> Self:
        if data:
            raise DecodeError("ServerHelloDone with a body")
        return cls()

    def __bytes__(self) -> bytes:
        return b""


@dataclass(frozen=True, slots=True)
class ClientKeyExchange:
    """ECDHE ClientKeyExchange: the client's ephemeral public value (RFC 8422 §5.7)."""

    public_key: bytes

    @classmethod
    def parse(cls, data: bytes) -> Self:
        reader = Reader(data)
        public = reader.vec8()
        reader.end()
        if not public:
            raise DecodeError("empty ECDH public key")
        return cls(public)

    def __bytes__(self) -> bytes:
        return vec8(self.public_key)


@dataclass(frozen=True, slots=True)
class CertificateVerify:
    signature_scheme: int
    signature: bytes

    @classmethod
    def parse(cls, data: bytes) -> Self:
        reader = Reader(data)
        scheme = reader.u16()
        signature = reader.vec16()
        reader.end()
        return cls(scheme, signature)

    def __bytes__(self) -> bytes:
        return struct.pack("!H", self.signature_scheme) + vec16(self.signature)


@dataclass(frozen=True, slots=True)
class Finished:
    verify_data: bytes = field(default=b"")

    @classmethod
    def parse(cls, data: bytes) -> Self:
        # RFC 5246 §7.4.9: verify_data_length is 12 for every suite we implement.
        if len(data) != 12:
            raise DecodeError(f"Finished of {len(data)} bytes")
        return cls(data)

    def __bytes__(self) -> bytes:
        return self.verify_data
