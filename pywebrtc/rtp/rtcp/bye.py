"""Goodbye, BYE (RFC 3550 §6.6): up to 31 SSRC/CSRCs and an optional reason for leaving."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Self

from .._fast import fast_constructor
from ..errors import RtcpParseError
from .common import BYE, MAX_COUNT, pack_header, split_single

__all__ = ["Bye"]


@dataclass(frozen=True, slots=True)
class Bye:
    """BYE: the sources leaving, and ``reason`` (UTF-8 text, at most 255 bytes) if any."""

    ssrcs: tuple[int, ...] = ()
    reason: bytes | None = None

    @classmethod
    def parse(cls, data: bytes) -> Self:
        count, start, end = split_single(data, BYE)
        return cls._parse_body(data, start, end, count)

    @classmethod
    def _parse_body(cls, data: bytes, start: int, end: int, count: int) -> Self:
        pos = start + 4 * count
        if pos > end:
            raise RtcpParseError("BYE is shorter than its source count")
        ssrcs = struct.unpack_from(f"!{count}I", data, start)
        reason = None
        if pos < end:
            reason_end = pos + 1 + data[pos]
            if reason_end > end:
                raise RtcpParseError("BYE reason is truncated")
            reason = data[pos + 1 : reason_end]
            if end - reason_end >= 4:
                raise RtcpParseError("BYE has bytes after its reason")
        return _make(cls, ssrcs, reason)

    def __bytes__(self) -> bytes:
        if len(self.ssrcs) > MAX_COUNT:
            raise ValueError("a BYE carries at most 31 sources")
        try:
            parts = [struct.pack(f"!{len(self.ssrcs)}I", *self.ssrcs)]
        except struct.error as exc:
            raise ValueError(f"BYE SSRC out of range: {exc}") from exc
        if self.reason is not None:
            if len(self.reason) > 0xFF:
                raise ValueError("BYE reason is at most 255 bytes")
            reason = bytes((len(self.reason),)) + self.reason
            parts.append(reason + bytes(-len(reason) % 4))
        body = b"".join(parts)
        return pack_header(len(self.ssrcs), BYE, len(body)) + body


_make = fast_constructor(Bye)
