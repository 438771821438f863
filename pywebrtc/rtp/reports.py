"""RTCP sender and receiver reports, SDES, BYE, and what they tell about the path
(RFC 3550 §6.2, §6.3, §6.4, §6.6, §A.7).

:class:`RtcpReporter` is one interceptor per RTP session. It owns the
:class:`~pywebrtc.rtp.receiver.ReceiveStatistics` of each remote source, sends a compound
SR (when we sent media since the last report) or RR, always followed by SDES CNAME (§6.1), on
the randomised interval of §6.3.1, and reads the peer's reports:

* report blocks about our SSRC give the remote-inbound view (fraction and cumulative lost,
  jitter) and the round-trip time, ``now - LSR - DLSR`` in NTP middle-32 units (§6.4.1);
* SRs give the remote-outbound view and the LSR we echo back;
* BYE marks a source ended (:attr:`RtcpReporter.ended`, and a :class:`RemoteBye` from
  :meth:`RtcpReporter.poll_events`).

Interval (what we chose): the §6.3.1 computation with a minimum of 1 s instead of 5 s (RFC 3550
§6.2 allows scaling the minimum down; libwebrtc uses 1 s for video and 5 s for audio — a voice
agent wants fresh loss and RTT numbers, and at ~100 bytes a compound costs under 1 kbit/s),
halved for the first report, multiplied by a random factor in [0.5, 1.5] and divided by
e - 3/2 (§6.3.1). The RTCP bandwidth is 5% of the session bandwidth given (§6.2). Reconsideration
(§6.3.6) and the member timeout table (§6.3.5) are left out: WebRTC sessions are 1:1 and the
peer's SSRCs come from signaling.

NTP time: ``now`` is the caller's monotonic clock; ``ntp_offset`` (seconds from that clock to
the NTP epoch, computed once by the asyncio layer) makes the SR wallclock. RTT does not depend
on it being exact, since LSR echoes our own timestamp.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Protocol

from .interceptor import Interceptor
from .packet import RtpPacket
from .receiver import ReceiveStatistics
from .rtcp import (
    SDES_CNAME,
    Bye,
    ReceiverReport,
    ReportBlock,
    RtcpPacket,
    SdesChunk,
    SdesItem,
    SenderReport,
    SourceDescription,
    seconds_to_ntp,
)

__all__ = [
    "SenderState",
    "DEFAULT_MIN_INTERVAL",
    "RemoteBye",
    "RemoteInbound",
    "RemoteOutbound",
    "RtcpReporter",
    "rtcp_interval",
]

DEFAULT_MIN_INTERVAL = 1.0  # seconds; see the module docstring
_COMPENSATION = math.e - 1.5  # RFC 3550 §6.3.1
_SENDER_FRACTION = 0.25  # RFC 3550 §6.2
_RTCP_FRACTION = 0.05  # RFC 3550 §6.2: RTCP gets 5% of the session bandwidth
_MAX_REPORT_BLOCKS = 31  # 5-bit count
_UDP_IP_OVERHEAD = 28  # RFC 3550 §6.2: sizes include lower-layer headers


def rtcp_interval(
    *,
    members: int,
    senders: int,
    we_sent: bool,
    rtcp_bandwidth: float,
    avg_rtcp_size: float,
    initial: bool,
    min_interval: float,
    rng: random.Random,
) -> float:
    """The randomised RTCP transmission interval of RFC 3550 §6.3.1 (§A.7) in seconds."""
    t_min = min_interval / 2 if initial else min_interval
    n = members
    bandwidth = rtcp_bandwidth
    if senders <= members * _SENDER_FRACTION:
        if we_sent:
            bandwidth *= _SENDER_FRACTION
            n = senders
        else:
            bandwidth *= 1 - _SENDER_FRACTION
            n -= senders
    t = avg_rtcp_size * n / bandwidth if bandwidth > 0 else t_min
    t = max(t, t_min)
    return t * (rng.random() + 0.5) / _COMPENSATION


class SenderState(Protocol):
    """What an SR reports about our stream; :class:`~pywebrtc.rtp.sender.RtpSender` has it,
    and so can a forwarder that only counts what it relays."""

    clock_rate: int
    packet_count: int
    octet_count: int
    last_rtp_timestamp: int | None
    last_send_time: float | None


@dataclass(frozen=True, slots=True)
class RemoteInbound:
    """What the peer reported about our stream (W3C remote-inbound-rtp)."""

    ssrc: int
    fraction_lost: float
    packets_lost: int
    jitter: float  # seconds
    round_trip_time: float | None
    timestamp: float


@dataclass(frozen=True, slots=True)
class RemoteOutbound:
    """The peer's last SR (W3C remote-outbound-rtp)."""

    ssrc: int
    packets_sent: int
    bytes_sent: int
    remote_timestamp: float  # seconds since the NTP epoch
    timestamp: float


@dataclass(frozen=True, slots=True)
class RemoteBye:
    ssrc: int
    reason: str | None


class RtcpReporter(Interceptor):
    """SR/RR + SDES generation and report bookkeeping for one RTP session."""

    # Slots, not a __dict__: one per audio session, updated per received packet.
    __slots__ = (
        "_avg_rtcp_size", "_events", "_next_report", "_packets_at_last_report", "_sdes",
        "clock_rate", "cname", "ended", "local_ssrc", "min_interval", "ntp_offset",
        "remote_inbound", "remote_outbound", "reports_sent", "rng", "round_trip_time",
        "rtcp_bandwidth", "sender", "sources",
    )  # fmt: skip

    def __init__(
        self,
        local_ssrc: int,
        cname: str,
        *,
        sender: SenderState | None = None,
        clock_rate: int = 48000,
        ntp_offset: float = 0.0,
        min_interval: float = DEFAULT_MIN_INTERVAL,
        session_bandwidth: float = 64_000.0,
        rng: random.Random | None = None,
    ) -> None:
        self.local_ssrc = local_ssrc
        self.cname = cname
        self.sender = sender
        self.clock_rate = clock_rate
        self.ntp_offset = ntp_offset
        self.min_interval = min_interval
        self.rtcp_bandwidth = session_bandwidth * _RTCP_FRACTION / 8  # bytes per second
        self.rng = rng or random.Random()
        self.sources: dict[int, ReceiveStatistics] = {}
        self.remote_inbound: RemoteInbound | None = None
        self.remote_outbound: dict[int, RemoteOutbound] = {}
        self.ended: set[int] = set()
        self.reports_sent = 0
        self.round_trip_time: float | None = None
        self._events: list[RemoteBye] = []
        self._avg_rtcp_size = 100.0
        self._packets_at_last_report = 0
        self._next_report: float | None = None
        self._sdes = SourceDescription(
            (SdesChunk(local_ssrc, (SdesItem(SDES_CNAME, cname.encode()),)),)
        )

    # -- receiving -----------------------------------------------------------------------

    def source(self, ssrc: int, clock_rate: int | None = None) -> ReceiveStatistics:
        stats = self.sources.get(ssrc)
        if stats is None:
            stats = self.sources[ssrc] = ReceiveStatistics(ssrc, clock_rate or self.clock_rate)
        return stats

    def record_rtp(self, ssrc: int, seq: int, timestamp: int, size: int, now: float) -> int:
        """Account one received packet from raw header fields (the forwarding fast path);
        returns its extended sequence number, or -1 for an unconfirmed jump."""
        stats = self.sources.get(ssrc)
        if stats is None:
            stats = self.source(ssrc)
        if self._next_report is None:
            self._schedule(now)
        return stats.update(seq, timestamp, now, size)

    def incoming_rtp(self, packet: RtpPacket, now: float) -> None:
        self.record_rtp(
            packet.ssrc, packet.sequence_number, packet.timestamp, len(packet.payload), now
        )

    def incoming_rtcp(self, packet: RtcpPacket, now: float) -> None:
        if isinstance(packet, SenderReport):
            self.source(packet.ssrc).record_sender_report(packet.ntp_timestamp, now)
            self.remote_outbound[packet.ssrc] = RemoteOutbound(
                packet.ssrc,
                packet.packet_count,
                packet.octet_count,
                packet.ntp_timestamp / (1 << 32),
                now,
            )
            self._read_blocks(packet.reports, now)
        elif isinstance(packet, ReceiverReport):
            self._read_blocks(packet.reports, now)
        elif isinstance(packet, Bye):
            reason = packet.reason.decode(errors="replace") if packet.reason else None
            for ssrc in packet.ssrcs:
                if ssrc not in self.ended and ssrc != self.local_ssrc:
                    self.ended.add(ssrc)
                    self._events.append(RemoteBye(ssrc, reason))

    def _read_blocks(self, blocks: tuple[ReportBlock, ...], now: float) -> None:
        for block in blocks:
            if block.ssrc != self.local_ssrc:
                continue
            rtt: float | None = None
            if block.lsr:
                ntp_mid = (seconds_to_ntp(now + self.ntp_offset) >> 16) & 0xFFFFFFFF
                units = (ntp_mid - block.lsr - block.dlsr) & 0xFFFFFFFF
                if units < 0x80000000:  # negative means clocks or the peer misbehave
                    rtt = units / 65536
                    self.round_trip_time = rtt
            self.remote_inbound = RemoteInbound(
                block.ssrc,
                block.fraction_lost / 256,
                block.cumulative_lost,
                block.jitter / self.clock_rate,
                rtt if rtt is not None else self.round_trip_time,
                now,
            )

    def poll_events(self) -> list[RemoteBye]:
        events, self._events = self._events, []
        return events

    # -- sending -------------------------------------------------------------------------

    def _schedule(self, now: float, *, initial: bool = True) -> None:
        we_sent = self.sender is not None and self.sender.packet_count > 0
        senders = (1 if we_sent else 0) + len(self.remote_outbound)
        self._next_report = now + rtcp_interval(
            members=1 + max(1, len(self.sources)),
            senders=senders,
            we_sent=we_sent,
            rtcp_bandwidth=self.rtcp_bandwidth,
            avg_rtcp_size=self._avg_rtcp_size,
            initial=initial,
            min_interval=self.min_interval,
            rng=self.rng,
        )

    def start(self, now: float) -> None:
        """Schedule the first report (also done on the first packet sent or received)."""
        if self._next_report is None:
            self._schedule(now)

    def outgoing_rtp(self, packet: RtpPacket, now: float) -> RtpPacket:
        if self._next_report is None:
            self._schedule(now)
        return packet

    def deadline(self) -> float | None:
        return self._next_report

    def poll_rtcp(self, now: float) -> list[RtcpPacket]:
        if self._next_report is None or now < self._next_report:
            return []
        packets = self.build_report(now)
        self._schedule(now, initial=False)
        return packets

    def build_report(self, now: float) -> list[RtcpPacket]:
        """A compound SR-or-RR + SDES now (also what a BYE is prefixed with)."""
        blocks = tuple(
            s.report_block(now)
            for s in list(self.sources.values())[:_MAX_REPORT_BLOCKS]
            if s.base_seq >= 0 and s.ssrc not in self.ended
        )
        sender = self.sender
        report: RtcpPacket
        if sender is not None and sender.packet_count > self._packets_at_last_report:
            self._packets_at_last_report = sender.packet_count
            rtp_ts = sender.last_rtp_timestamp or 0
            if sender.last_send_time is not None:
                elapsed = now - sender.last_send_time
                rtp_ts = (rtp_ts + round(elapsed * sender.clock_rate)) & 0xFFFFFFFF
            report = SenderReport(
                self.local_ssrc,
                seconds_to_ntp(now + self.ntp_offset),
                rtp_ts,
                sender.packet_count & 0xFFFFFFFF,
                sender.octet_count & 0xFFFFFFFF,
                blocks,
            )
            size = 28 + 24 * len(blocks)
        else:
            report = ReceiverReport(self.local_ssrc, blocks)
            size = 8 + 24 * len(blocks)
        size += 12 + len(self.cname) + _UDP_IP_OVERHEAD
        # RFC 3550 §6.3.3: avg_rtcp_size = 1/16 * packet_size + 15/16 * avg_rtcp_size
        self._avg_rtcp_size += (size - self._avg_rtcp_size) / 16
        self.reports_sent += 1
        return [report, self._sdes]

    def bye(self, now: float, reason: str | None = None) -> list[RtcpPacket]:
        """The last compound packet of our source: report, SDES and BYE (RFC 3550 §6.6)."""
        packets = self.build_report(now)
        packets.append(Bye((self.local_ssrc,), reason.encode() if reason else None))
        self._next_report = None
        return packets
