"""The SCTP common header and packet (RFC 9260 §3.1), with the CRC32c checksum (§6.8).

Over DTLS (RFC 8261) there is no IP layer: a packet is exactly one DTLS record's payload.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Self

from pywebrtc.sctp.chunk import Chunk, parse_chunks
from pywebrtc.sctp.crc32c import crc32c
from pywebrtc.sctp.errors import MalformedPacket

_HEADER = struct.Struct("!HHII")
_PORTS_TAG = struct.Struct("!HHI")
_CRC = struct.Struct("<I")  # §6.8: the CRC goes out least significant byte first
_NO_CRC = bytes(4)
HEADER_SIZE = 12


@dataclass(frozen=True, slots=True)
class Packet:
    source_port: int
    destination_port: int
    verification_tag: int
    chunks: tuple[Chunk, ...]

    @classmethod
    def parse(cls, data: bytes, verify_checksum: bool = True) -> Self:
        if len(data) < HEADER_SIZE:
            raise MalformedPacket("packet shorter than the common header")
        src, dst, tag, checksum = _HEADER.unpack_from(data)
        if verify_checksum and checksum_of(data) != checksum:
            raise MalformedPacket("bad CRC32c checksum")
        return cls(src, dst, tag, tuple(parse_chunks(data, HEADER_SIZE)))

    def __bytes__(self) -> bytes:
        return encode_packet(
            self.source_port,
            self.destination_port,
            self.verification_tag,
            b"".join(bytes(c) for c in self.chunks),
        )


def checksum_of(data: bytes) -> int:
    """The CRC32c of a packet computed with its checksum field zeroed, as stored on the wire."""
    value = crc32c(data[:8] + b"\x00\x00\x00\x00" + data[12:])
    # The CRC is transmitted in little-endian byte order inside a big-endian field (§6.8).
    return int.from_bytes(value.to_bytes(4, "little"), "big")


def checksum_matches(data: bytes) -> bool:
    """``checksum_of(data)`` equals the stored checksum (``data`` holds the common header)."""
    return bool(crc32c(data[:8] + _NO_CRC + data[12:]) == _CRC.unpack_from(data, 8)[0])


def encode_packet(src: int, dst: int, tag: int, body: bytes) -> bytes:
    head = _PORTS_TAG.pack(src, dst, tag)
    return head + _CRC.pack(crc32c(head + _NO_CRC + body)) + body
