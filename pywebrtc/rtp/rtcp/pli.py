"""Picture loss indication, PLI (RFC 4585 §6.3.1): payload-specific feedback, FMT 1, no FCI."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Self

from .._fast import fast_constructor
from ..errors import RtcpParseError
from .common import PSFB, U32X2, feedback_ssrcs, pack_header, split_single

__all__ = ["PLI_FMT", "Pli"]

PLI_FMT = 1  # RFC 4585 §6.3.1


@dataclass(frozen=True, slots=True)
class Pli:
    """PLI from ``sender_ssrc`` about ``media_ssrc``."""

    sender_ssrc: int
    media_ssrc: int

    @classmethod
    def parse(cls, data: bytes) -> Self:
        _, start, end = split_single(data, PSFB, PLI_FMT)
        return cls._parse_body(data, start, end, PLI_FMT)

    @classmethod
    def _parse_body(cls, data: bytes, start: int, end: int, count: int) -> Self:
        sender, media = feedback_ssrcs(data, start, end)
        if end - start != 8:
            raise RtcpParseError("PLI carries no FCI (length must be 2)")
        return _make(cls, sender, media)

    def __bytes__(self) -> bytes:
        try:
            body = U32X2.pack(self.sender_ssrc, self.media_ssrc)
        except struct.error as exc:
            raise ValueError(f"PLI SSRC out of range: {exc}") from exc
        return pack_header(PLI_FMT, PSFB, len(body)) + body


_make = fast_constructor(Pli)
