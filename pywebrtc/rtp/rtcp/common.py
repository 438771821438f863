"""The RTCP common header (RFC 3550 §6.4.1) and the feedback header (RFC 4585 §6.1).

Every RTCP packet starts with ``V=2 | P | count/FMT (5 bits) | PT (8 bits) | length`` where
length is the packet size in 32-bit words minus one. Each packet module parses its body from a
``(data, start, end, count)`` window so that a compound packet is parsed without slicing; this
module holds the shared header checks and constants.
"""

from __future__ import annotations

import struct

from ..errors import RtcpParseError

__all__ = [
    "APP",
    "BYE",
    "PSFB",
    "RR",
    "RTPFB",
    "SDES",
    "SR",
    "XR",
    "pack_header",
    "split_single",
]

SR = 200  # RFC 3550 §12.1
RR = 201  # RFC 3550 §12.1
SDES = 202  # RFC 3550 §12.1
BYE = 203  # RFC 3550 §12.1
APP = 204  # RFC 3550 §12.1
RTPFB = 205  # RFC 4585 §6.1, transport layer feedback
PSFB = 206  # RFC 4585 §6.1, payload-specific feedback
XR = 207  # RFC 3611 §5

HEADER = struct.Struct("!BBH")
MAX_COUNT = 0x1F  # 5-bit count / FMT field
unpack_header = HEADER.unpack_from
U32 = struct.Struct("!I")
U32X2 = struct.Struct("!II")


class NotThisType(RtcpParseError):
    """A body parser found the packet to be another message sharing its PT and FMT (e.g. an
    application layer feedback message that is not REMB); compound parsing keeps it raw."""


def pack_header(count: int, packet_type: int, body_length: int) -> bytes:
    """The 4-byte common header for a body of ``body_length`` bytes (no padding)."""
    if not 0 <= count <= MAX_COUNT:
        raise ValueError(f"RTCP count/FMT must be 0-31, got {count}")
    if body_length % 4:
        raise ValueError("RTCP packet body must be a multiple of 4 bytes")
    words = body_length // 4
    if words > 0xFFFF:
        raise ValueError("RTCP packet is too long")
    return HEADER.pack(0x80 | count, packet_type, words)


def packet_bounds(data: bytes, pos: int) -> tuple[int, int, int, int, int]:
    """Read the header at ``pos``; return ``(count, packet_type, body_start, body_end, end)``.

    ``body_end`` excludes padding; ``end`` is where the next packet starts.
    """
    n = len(data)
    if n - pos < 4:
        raise RtcpParseError("RTCP header is truncated")
    b0, packet_type, words = unpack_header(data, pos)
    if b0 & 0xC0 != 0x80:
        raise RtcpParseError(f"RTCP version is {b0 >> 6}, not 2")
    start = pos + 4
    end = start + words * 4
    if end > n:
        raise RtcpParseError("RTCP packet is truncated")
    body_end = end
    if b0 & 0x20:
        if end != n:
            raise RtcpParseError("only the last RTCP packet of a compound may be padded")
        padding = data[end - 1] if end > start else 0
        if padding == 0 or padding > end - start:
            raise RtcpParseError("RTCP padding size is invalid")
        body_end = end - padding
    return b0 & MAX_COUNT, packet_type, start, body_end, end


def split_single(data: bytes, packet_type: int, fmt: int | None = None) -> tuple[int, int, int]:
    """Check that ``data`` is exactly one RTCP packet of ``packet_type`` (and ``fmt``);
    return ``(count, body_start, body_end)``."""
    count, actual_type, start, body_end, end = packet_bounds(data, 0)
    if end != len(data):
        raise RtcpParseError("trailing bytes after the RTCP packet")
    if actual_type != packet_type:
        raise RtcpParseError(f"RTCP packet type is {actual_type}, expected {packet_type}")
    if fmt is not None and count != fmt:
        raise RtcpParseError(f"RTCP feedback FMT is {count}, expected {fmt}")
    return count, start, body_end


def feedback_ssrcs(data: bytes, start: int, end: int) -> tuple[int, int]:
    """SSRC of packet sender and of media source (RFC 4585 §6.1)."""
    if end - start < 8:
        raise RtcpParseError("RTCP feedback packet is shorter than its two SSRCs")
    sender, media = U32X2.unpack_from(data, start)
    return sender, media
