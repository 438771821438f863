"""Forwarding one audio stream without decoding it: SRTP in, RTCP bookkeeping, SRTP out.

:class:`PassThroughSession` is what a bridge or an echo service runs per session, and what
``bench/media.py`` measures: each packet is unprotected, its header read with one
``struct.unpack_from`` (no packet object), accounted in RFC 3550 reception statistics, given
our SSRC, and protected for the other leg. RTCP: the peer's SR/RR/BYE feed the same
:class:`~pywebrtc.rtp.reports.RtcpReporter`, which sends our SR (packets we relayed) and
reception report on the usual interval. No NACK, jitter buffer or TWCC here.
"""

from __future__ import annotations

import random
import struct

from pywebrtc.rtp import RtcpParseError, parse_rtcp, serialize_rtcp
from pywebrtc.rtp.reports import RtcpReporter
from pywebrtc.srtp import SrtpContext, SrtpError

__all__ = ["PassThroughSession"]

_HEADER = struct.Struct("!BBHII")
_unpack = _HEADER.unpack_from


class _Relayed:
    """The :class:`~pywebrtc.rtp.reports.SenderState` of what we forwarded."""

    __slots__ = ("clock_rate", "last_rtp_timestamp", "last_send_time", "octet_count",
                 "packet_count")  # fmt: skip

    def __init__(self, clock_rate: int) -> None:
        self.clock_rate = clock_rate
        self.packet_count = 0
        self.octet_count = 0
        self.last_rtp_timestamp: int | None = None
        self.last_send_time: float | None = None


class PassThroughSession:
    def __init__(
        self,
        inbound: SrtpContext,
        outbound: SrtpContext,
        *,
        local_ssrc: int,
        cname: str,
        clock_rate: int = 48000,
        ntp_offset: float = 0.0,
        min_rtcp_interval: float = 1.0,
        remote_ssrc: int | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.inbound = inbound
        self.remote_ssrc = remote_ssrc  # None: forward any SSRC the peer's keys authenticate
        self.outbound = outbound
        self.local_ssrc = local_ssrc
        self._ssrc_bytes = local_ssrc.to_bytes(4)
        self.relayed = _Relayed(clock_rate)
        self.reporter = RtcpReporter(
            local_ssrc, cname, sender=self.relayed, clock_rate=clock_rate,
            ntp_offset=ntp_offset, min_interval=min_rtcp_interval, rng=rng,
        )  # fmt: skip
        self.dropped = 0
        self.unknown_ssrc = 0

    def forward_rtp(self, data: bytes, now: float) -> bytes | None:
        """The SRTP packet to send on, or None when ``data`` is dropped (and counted)."""
        try:
            plain = self.inbound.unprotect_rtp(data)
        except SrtpError:
            self.dropped += 1
            return None
        b0, _, seq, timestamp, ssrc = _unpack(plain)
        if b0 & 0xC0 != 0x80:
            self.dropped += 1
            return None
        if self.remote_ssrc is not None and ssrc != self.remote_ssrc:
            self.unknown_ssrc += 1
            return None
        size = len(plain) - 12  # payload octets, ignoring CSRCs/extensions (SR approximation)
        if self.reporter.record_rtp(ssrc, seq, timestamp, size, now) < 0:
            self.dropped += 1
            return None
        relayed = self.relayed
        relayed.packet_count += 1
        relayed.octet_count += size
        relayed.last_rtp_timestamp = timestamp
        relayed.last_send_time = now
        try:
            return self.outbound.protect_rtp(plain[:8] + self._ssrc_bytes + plain[12:])
        except SrtpError:
            self.dropped += 1
            return None

    def receive_rtcp(self, data: bytes, now: float) -> None:
        try:
            packets = parse_rtcp(self.inbound.unprotect_rtcp(data))
        except (SrtpError, RtcpParseError):
            self.dropped += 1
            return
        for packet in packets:
            self.reporter.incoming_rtcp(packet, now)

    def deadline(self) -> float | None:
        return self.reporter.deadline()

    def handle_timeout(self, now: float) -> bytes | None:
        """An SRTCP compound to send when a report is due."""
        packets = self.reporter.poll_rtcp(now)
        if not packets:
            return None
        return self.outbound.protect_rtcp(serialize_rtcp(packets))
