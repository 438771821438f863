"""Receiver report, RR (RFC 3550 §6.4.2), with up to 31 report blocks and the
profile-specific extension kept raw."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Self

from .._fast import fast_constructor
from ..errors import RtcpParseError
from .common import MAX_COUNT, RR, U32, pack_header, split_single
from .report import BLOCK_CODES, REPORT_BLOCK_SIZE, ReportBlock, report_blocks

__all__ = ["ReceiverReport"]

# SSRC and all report blocks in one unpack, by report count.
_unpack_rr = [struct.Struct("!I" + BLOCK_CODES * n).unpack_from for n in range(MAX_COUNT + 1)]


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    """RR: reception report blocks sent by ``ssrc``."""

    ssrc: int
    reports: tuple[ReportBlock, ...] = ()
    profile_extension: bytes = b""

    @classmethod
    def parse(cls, data: bytes) -> Self:
        count, start, end = split_single(data, RR)
        return cls._parse_body(data, start, end, count)

    @classmethod
    def _parse_body(cls, data: bytes, start: int, end: int, count: int) -> Self:
        blocks_end = start + 4 + count * REPORT_BLOCK_SIZE
        if blocks_end > end:
            raise RtcpParseError("RR is shorter than its report count")
        values = _unpack_rr[count](data, start)
        ssrc = values[0]
        if count == 1:  # the usual case, without the loop
            reports: tuple[ReportBlock, ...] = (
                _new(
                    ReportBlock,
                    (
                        values[1], values[2], (values[3] << 16) | values[4], values[5], values[6],
                        values[7], values[8],
                    ),
                ),
            )  # fmt: skip
        else:
            reports = report_blocks(values, 1, count) if count else ()
        extension = b""
        if blocks_end < end:
            if (end - blocks_end) % 4:
                raise RtcpParseError("RR profile extension is not a multiple of 4 bytes")
            extension = data[blocks_end:end]
        return _make(cls, ssrc, reports, extension)

    def __bytes__(self) -> bytes:
        if len(self.reports) > MAX_COUNT:
            raise ValueError("an RR carries at most 31 report blocks")
        if not 0 <= self.ssrc <= 0xFFFFFFFF:
            raise ValueError("SSRC must fit 32 bits")
        body = b"".join([U32.pack(self.ssrc), *map(bytes, self.reports), self.profile_extension])
        return pack_header(len(self.reports), RR, len(body)) + body


_new = tuple.__new__
_make = fast_constructor(ReceiverReport)
