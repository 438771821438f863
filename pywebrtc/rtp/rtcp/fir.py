"""Full intra request, FIR (RFC 5104 §4.3.1): payload-specific feedback, FMT 4.

Each FCI entry names the SSRC asked for a decoder refresh and a command sequence number; the
24 reserved bits are sent as zero and ignored on receipt.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple, Self

from .._fast import fast_constructor
from ..errors import RtcpParseError
from .common import PSFB, U32X2, feedback_ssrcs, pack_header, split_single

__all__ = ["FIR_FMT", "Fir", "FirEntry"]

FIR_FMT = 4  # RFC 5104 §4.3.1
_ENTRY = struct.Struct("!IB3x")


class FirEntry(NamedTuple):
    ssrc: int
    sequence_number: int


@dataclass(frozen=True, slots=True)
class Fir:
    """FIR from ``sender_ssrc``; ``media_ssrc`` is 0 by RFC 5104 §4.3.1.2."""

    sender_ssrc: int
    entries: tuple[FirEntry, ...] = ()
    media_ssrc: int = 0

    @classmethod
    def parse(cls, data: bytes) -> Self:
        _, start, end = split_single(data, PSFB, FIR_FMT)
        return cls._parse_body(data, start, end, FIR_FMT)

    @classmethod
    def _parse_body(cls, data: bytes, start: int, end: int, count: int) -> Self:
        sender, media = feedback_ssrcs(data, start, end)
        if (end - start - 8) % 8:
            raise RtcpParseError("FIR FCI is not a multiple of 8 bytes")
        entries = tuple(FirEntry(*e) for e in _ENTRY.iter_unpack(data[start + 8 : end]))
        return _make(cls, sender, entries, media)

    def __bytes__(self) -> bytes:
        try:
            body = U32X2.pack(self.sender_ssrc, self.media_ssrc) + b"".join(
                _ENTRY.pack(ssrc, seq) for ssrc, seq in self.entries
            )
        except struct.error as exc:
            raise ValueError(f"FIR field out of range: {exc}") from exc
        return pack_header(FIR_FMT, PSFB, len(body)) + body


_make = fast_constructor(Fir)
