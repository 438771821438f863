"""RTP congestion control feedback (RFC 8888 §3.1): transport-layer feedback, FMT 11.

Implements per-SSRC report blocks (begin_seq, num_reports and 16-bit packet metric blocks with
the R bit, 2 ECN bits and a 13-bit arrival time offset in 1/1024 s before the report timestamp),
the zero padding of odd metric counts and the trailing report timestamp (middle 32 bits of NTP).
``num_reports`` is read as the count of metric blocks that follow, as deployed implementations
(libwebrtc, Pion) do. Left out: building feedback from arrival times (a stateful receiver job).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple, Self

from .._fast import fast_constructor
from ..errors import RtcpParseError
from .common import RTPFB, U32, pack_header, split_single

__all__ = [
    "ATO_OVERFLOW",
    "ATO_UNAVAILABLE",
    "CCFB_FMT",
    "CcfbReportBlock",
    "CongestionControlFeedback",
    "PacketMetric",
]

CCFB_FMT = 11  # RFC 8888 §3.1
ATO_UNAVAILABLE = 0x1FFE  # RFC 8888 §3.1: arrival time offset not available
ATO_OVERFLOW = 0x1FFF  # RFC 8888 §3.1: offset of 8189/1024 s or more
_BLOCK_HEAD = struct.Struct("!IHH")


class PacketMetric(NamedTuple):
    """One 16-bit metric block: received flag, ECN bits, arrival time offset (1/1024 s)."""

    received: bool
    ecn: int = 0
    arrival_time_offset: int = 0

    def word(self) -> int:
        if not 0 <= self.ecn <= 3:
            raise ValueError("ECN must be 0-3")
        if not 0 <= self.arrival_time_offset <= 0x1FFF:
            raise ValueError("arrival time offset must fit 13 bits")
        return (0x8000 if self.received else 0) | (self.ecn << 13) | self.arrival_time_offset


def _metric(word: int) -> PacketMetric:
    return PacketMetric(word >= 0x8000, (word >> 13) & 3, word & 0x1FFF)


@dataclass(frozen=True, slots=True)
class CcfbReportBlock:
    """Metrics for packets ``begin_sequence``, ``begin_sequence + 1`` … of stream ``ssrc``."""

    ssrc: int
    begin_sequence: int
    metrics: tuple[PacketMetric, ...] = ()

    def __bytes__(self) -> bytes:
        if len(self.metrics) > 0xFFFF:
            raise ValueError("a CCFB report block has at most 65535 metric blocks")
        try:
            head = _BLOCK_HEAD.pack(self.ssrc, self.begin_sequence, len(self.metrics))
        except struct.error as exc:
            raise ValueError(f"CCFB report block field out of range: {exc}") from exc
        words = [m.word() for m in self.metrics]
        if len(words) % 2:
            words.append(0)
        return head + struct.pack(f"!{len(words)}H", *words)


@dataclass(frozen=True, slots=True)
class CongestionControlFeedback:
    """RFC 8888 feedback from ``sender_ssrc``; ``report_timestamp`` is NTP middle 32 bits."""

    sender_ssrc: int
    reports: tuple[CcfbReportBlock, ...] = ()
    report_timestamp: int = 0

    @classmethod
    def parse(cls, data: bytes) -> Self:
        _, start, end = split_single(data, RTPFB, CCFB_FMT)
        return cls._parse_body(data, start, end, CCFB_FMT)

    @classmethod
    def _parse_body(cls, data: bytes, start: int, end: int, count: int) -> Self:
        if end - start < 8 or (end - start) % 4:
            raise RtcpParseError("CCFB length is invalid")
        (sender,) = U32.unpack_from(data, start)
        blocks_end = end - 4
        (report_timestamp,) = U32.unpack_from(data, blocks_end)
        reports = []
        pos = start + 4
        while pos < blocks_end:
            if pos + 8 > blocks_end:
                raise RtcpParseError("CCFB report block is truncated")
            ssrc, begin, num = _BLOCK_HEAD.unpack_from(data, pos)
            pos += 8
            metrics_end = pos + 2 * (num + num % 2)
            if metrics_end > blocks_end:
                raise RtcpParseError("CCFB report block is shorter than num_reports")
            words = struct.unpack_from(f"!{num}H", data, pos)
            reports.append(CcfbReportBlock(ssrc, begin, tuple(map(_metric, words))))
            pos = metrics_end
        return _make(cls, sender, tuple(reports), report_timestamp)

    def __bytes__(self) -> bytes:
        try:
            head = U32.pack(self.sender_ssrc)
            tail = U32.pack(self.report_timestamp)
        except struct.error as exc:
            raise ValueError(f"CCFB field out of range: {exc}") from exc
        body = b"".join([head, *map(bytes, self.reports), tail])
        return pack_header(CCFB_FMT, RTPFB, len(body)) + body


_make = fast_constructor(CongestionControlFeedback)
