"""Source description, SDES (RFC 3550 §6.5).

Implements chunks (SSRC/CSRC + items, terminated by null octets up to the next 32-bit boundary)
and items of every type as raw ``(type, value)`` pairs. Item type constants are those of
RFC 3550 §6.5.1-§6.5.8; PRIV items keep their prefix-length + prefix + value in ``value``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple, Self

from .._fast import fast_constructor
from ..errors import RtcpParseError
from .common import MAX_COUNT, SDES, U32, pack_header, split_single

__all__ = [
    "SDES_CNAME",
    "SDES_EMAIL",
    "SDES_LOC",
    "SDES_NAME",
    "SDES_NOTE",
    "SDES_PHONE",
    "SDES_PRIV",
    "SDES_TOOL",
    "SdesChunk",
    "SdesItem",
    "SourceDescription",
]

# RFC 3550 §6.5 / §12.2
SDES_END = 0
SDES_CNAME = 1
SDES_NAME = 2
SDES_EMAIL = 3
SDES_PHONE = 4
SDES_LOC = 5
SDES_TOOL = 6
SDES_NOTE = 7
SDES_PRIV = 8


class SdesItem(NamedTuple):
    """One SDES item: ``item_type`` (1-255) and up to 255 bytes of (UTF-8) text.

    Items and chunks are named tuples rather than dataclasses, like :class:`ReportBlock`:
    parsing builds one per item, and a tuple is built in one C call."""

    item_type: int
    value: bytes

    @property
    def text(self) -> str:
        """The value as text (undecodable bytes replaced)."""
        return self.value.decode(errors="replace")


class SdesChunk(NamedTuple):
    """The items describing one source (a named tuple, like :class:`SdesItem`)."""

    ssrc: int
    items: tuple[SdesItem, ...] = ()

    @property
    def cname(self) -> str | None:
        for item in self.items:
            if item.item_type == SDES_CNAME:
                return item.text
        return None

    def __bytes__(self) -> bytes:
        if not 0 <= self.ssrc <= 0xFFFFFFFF:
            raise ValueError("SSRC must fit 32 bits")
        parts = [U32.pack(self.ssrc)]
        size = 4
        for item in self.items:
            if not 1 <= item.item_type <= 0xFF:
                raise ValueError("SDES item type must be 1-255")
            if len(item.value) > 0xFF:
                raise ValueError("SDES item value is at most 255 bytes")
            parts.append(bytes((item.item_type, len(item.value))))
            parts.append(item.value)
            size += 2 + len(item.value)
        # At least one null octet ends the item list, then pad to 32 bits (§6.5).
        parts.append(bytes(4 - size % 4))
        return b"".join(parts)


_new = tuple.__new__
_unpack_u32 = U32.unpack_from


@dataclass(frozen=True, slots=True)
class SourceDescription:
    """SDES: up to 31 chunks."""

    chunks: tuple[SdesChunk, ...] = ()

    @classmethod
    def parse(cls, data: bytes) -> Self:
        count, start, end = split_single(data, SDES)
        return cls._parse_body(data, start, end, count)

    @classmethod
    def _parse_body(cls, data: bytes, start: int, end: int, count: int) -> Self:
        if count == 1 and end - start >= 8:
            # The usual packet (one chunk holding one item, e.g. Chrome's CNAME), without loops.
            item_type = data[start + 4]
            value_end = start + 6 + data[start + 5]
            if (
                item_type
                and value_end < end
                and not data[value_end]
                and end - value_end == 4 - (value_end - start) % 4
            ):
                item = _new(SdesItem, (item_type, data[start + 6 : value_end]))
                chunk = _new(SdesChunk, (_unpack_u32(data, start)[0], (item,)))
                return _make(cls, (chunk,))
        chunks = []
        pos = start
        # Positions only move forward, so one check at the end catches any item or chunk that
        # overran the packet; reads past the datagram itself raise IndexError/struct.error.
        try:
            for _ in range(count):
                (ssrc,) = _unpack_u32(data, pos)
                pos += 4
                items = []
                item_type = data[pos]
                while item_type:
                    value_start = pos + 2
                    pos = value_start + data[pos + 1]
                    items.append(_new(SdesItem, (item_type, data[value_start:pos])))
                    item_type = data[pos]
                # The null item, then null octets up to the next 32-bit boundary (§6.5).
                pos += 4 - (pos - start) % 4
                chunks.append(_new(SdesChunk, (ssrc, tuple(items))))
        except (IndexError, struct.error) as exc:
            raise RtcpParseError("SDES chunk is truncated") from exc
        if pos != end:
            raise RtcpParseError("SDES chunks do not match the packet length")
        return _make(cls, tuple(chunks))

    def __bytes__(self) -> bytes:
        if len(self.chunks) > MAX_COUNT:
            raise ValueError("an SDES packet carries at most 31 chunks")
        body = b"".join(map(bytes, self.chunks))
        return pack_header(len(self.chunks), SDES, len(body)) + body


_make = fast_constructor(SourceDescription)
