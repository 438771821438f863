"""RTCP packets of types this package does not decode, kept raw (RFC 3550 §6.1 lets
receivers ignore packet types they do not know; keeping them lets a relay forward them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from ..errors import RtcpParseError
from .common import pack_header, packet_bounds

__all__ = ["UnknownRtcp"]


@dataclass(frozen=True, slots=True)
class UnknownRtcp:
    """``packet_type``, the 5-bit count/FMT field and the body after the 4-byte header
    (padding removed)."""

    packet_type: int
    count: int
    body: bytes = b""

    @classmethod
    def parse(cls, data: bytes) -> Self:
        count, packet_type, start, end, next_start = packet_bounds(data, 0)
        if next_start != len(data):
            raise RtcpParseError("trailing bytes after the RTCP packet")
        return cls(packet_type, count, data[start:end])

    def __bytes__(self) -> bytes:
        if not 0 <= self.packet_type <= 0xFF:
            raise ValueError("RTCP packet type must be 0-255")
        return pack_header(self.count, self.packet_type, len(self.body)) + self.body
