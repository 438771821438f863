"""Sender report, SR (RFC 3550 §6.4.1).

Implements the sender info, up to 31 report blocks and the profile-specific extension (kept
raw). Left out: NTP clock conversion helpers beyond :func:`ntp_to_seconds`/
:func:`seconds_to_ntp`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Self

from .._fast import fast_constructor
from ..errors import RtcpParseError
from .common import MAX_COUNT, SR, pack_header, split_single
from .report import BLOCK_CODES, REPORT_BLOCK_SIZE, ReportBlock, report_blocks

__all__ = ["SenderReport", "ntp_to_seconds", "seconds_to_ntp"]

_SENDER_INFO = struct.Struct("!IQIII")  # SSRC + RFC 3550 §6.4.1 sender info
_SENDER_INFO_SIZE = _SENDER_INFO.size
# Sender info and all report blocks in one unpack, by report count.
_unpack_sr = [struct.Struct("!IQIII" + BLOCK_CODES * n).unpack_from for n in range(MAX_COUNT + 1)]


def ntp_to_seconds(ntp: int) -> float:
    """Seconds since the NTP epoch of a 64-bit NTP timestamp (32.32 fixed point)."""
    return ntp / (1 << 32)


def seconds_to_ntp(seconds: float) -> int:
    """64-bit NTP timestamp of a time in seconds since the NTP epoch (modulo 2**64)."""
    return round(seconds * (1 << 32)) & 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True, slots=True)
class SenderReport:
    """SR: sender info of ``ssrc`` plus reception report blocks."""

    ssrc: int
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()
    profile_extension: bytes = b""

    @classmethod
    def parse(cls, data: bytes) -> Self:
        count, start, end = split_single(data, SR)
        return cls._parse_body(data, start, end, count)

    @classmethod
    def _parse_body(cls, data: bytes, start: int, end: int, count: int) -> Self:
        blocks_end = start + _SENDER_INFO_SIZE + count * REPORT_BLOCK_SIZE
        if blocks_end > end:
            raise RtcpParseError("SR is shorter than its report count")
        values = _unpack_sr[count](data, start)
        ssrc, ntp, rtp, packets, octets = values[:5]
        if count == 1:  # the usual case, without the loop
            reports: tuple[ReportBlock, ...] = (
                _new(
                    ReportBlock,
                    (
                        values[5], values[6], (values[7] << 16) | values[8], values[9], values[10],
                        values[11], values[12],
                    ),
                ),
            )  # fmt: skip
        else:
            reports = report_blocks(values, 5, count) if count else ()
        extension = b""
        if blocks_end < end:
            if (end - blocks_end) % 4:
                raise RtcpParseError("SR profile extension is not a multiple of 4 bytes")
            extension = data[blocks_end:end]
        return _make(cls, ssrc, ntp, rtp, packets, octets, reports, extension)

    def __bytes__(self) -> bytes:
        if len(self.reports) > MAX_COUNT:
            raise ValueError("an SR carries at most 31 report blocks")
        try:
            info = _SENDER_INFO.pack(
                self.ssrc, self.ntp_timestamp, self.rtp_timestamp, self.packet_count,
                self.octet_count,
            )  # fmt: skip
        except struct.error as exc:
            raise ValueError(f"SR field out of range: {exc}") from exc
        body = b"".join([info, *map(bytes, self.reports), self.profile_extension])
        return pack_header(len(self.reports), SR, len(body)) + body


_new = tuple.__new__
_make = fast_constructor(SenderReport)
