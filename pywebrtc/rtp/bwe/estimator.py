"""Send-side bandwidth estimation, GCC-like (draft-ietf-rmcat-gcc-02), as one sans-IO machine.

:class:`BandwidthEstimator` is told what the transport sends and what comes back, and keeps a
target bitrate for everything the transport sends:

* ``on_packet_sent(transport_seq, size, now)`` for every packet carrying the transport-wide
  sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2);
* ``on_transport_feedback(feedback, now)`` for every
  :class:`~pywebrtc.rtp.rtcp.TransportCcFeedback` (§3.1): packets are matched to what was sent
  (:mod:`.history`), grouped (§5.2, :mod:`.inter_arrival`), their delay trend measured
  (:mod:`.trendline`) and judged (§5.4, :mod:`.overuse`); the judgement drives the delay-based
  rate (§5.5, :mod:`.aimd`) with the acknowledged rate (:mod:`.acked`); the packets reported
  lost feed the loss-based rate (§6, :mod:`.loss`) once enough are counted;
* ``on_loss_report(fraction_lost, rtt, now)`` from RTCP receiver reports (RFC 3550 §6.4.1):
  the RTT paces the decreases, and the loss counts when no transport-wide feedback does;
* ``on_remb(bitrate, now)`` (draft-alvestrand-rmcat-remb-03): the receiver's cap.

``target_bitrate`` is ``min(delay-based, loss-based, REMB)`` within ``min_bitrate`` and
``max_bitrate`` (the loss-based rate never exceeds the delay-based one for long, §6; REMB is
the receiver's own cap). A peer that sends REMB and no transport-wide feedback (no delay-based
estimate here, only its own) gets ``min(loss-based, REMB)``: a clean loss report lifts the
loss-based rate to the REMB. :meth:`poll` returns a :class:`TargetBitrateChanged` when it moved
by more than ``CHANGE_FRACTION`` since the last one (and one at the first feedback).
:meth:`deadline` / :meth:`tick`: when feedback stops while we keep sending (the path or the
peer's feedback died), the target drops by a fifth every ``FEEDBACK_TIMEOUT`` until feedback
returns.

Left out: probing (see :mod:`.aimd` for how the start, and the return of a squeezed link, are
found quickly instead), ALR detection, ECN, the RFC 8888 feedback format. Bad feedback (numbers
never sent or long forgotten, duplicates, reordering, wrapped numbers) is counted in
:attr:`counters`, never raised.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from ..rtcp import TransportCcFeedback
from .acked import AckedBitrate
from .aimd import AimdRateControl
from .history import SentPacket, SentPacketHistory
from .inter_arrival import InterArrival
from .loss import LossBasedControl
from .overuse import BandwidthUsage, OveruseDetector
from .trendline import TrendlineFilter

__all__ = [
    "CHANGE_FRACTION",
    "FEEDBACK_TIMEOUT",
    "BandwidthEstimator",
    "FeedbackCounters",
    "TargetBitrateChanged",
]

logger = logging.getLogger(__name__)

CHANGE_FRACTION = 0.05
FEEDBACK_TIMEOUT = 1.0  # s without feedback while sending
_TIMEOUT_FACTOR = 0.8
_LOSS_MIN_PACKETS = 50  # a loss fraction from fewer is noise (1 packet in 20 is 5 %) ...
_LOSS_MAX_WAIT = 1.0  # ... unless this long passed with at least _LOSS_FEW_PACKETS
_LOSS_FEW_PACKETS = 10
_RR_LOSS_AFTER = 2.0  # s without feedback-counted loss before RR loss is used


@dataclass(frozen=True, slots=True)
class TargetBitrateChanged:
    """The target moved (bit/s); the parts it is the minimum of, for logs and stats."""

    bitrate: int
    delay_based: int
    loss_based: int
    remb: int | None
    fraction_lost: float


@dataclass(slots=True)
class FeedbackCounters:
    feedbacks: int = 0
    malformed: int = 0  # feedback whose statuses and deltas disagree
    unknown: int = 0  # reported numbers we never sent, or sent too long ago
    duplicates: int = 0  # reports of a packet already reported received
    reordered: int = 0  # received packets left out of the delay estimate (sent out of order)


class BandwidthEstimator:
    """One transport's send-side estimator. Times are seconds on the caller's clock, except
    feedback arrival times, which are the receiver's (only their differences matter)."""

    def __init__(
        self,
        *,
        start_bitrate: int = 300_000,
        min_bitrate: int = 10_000,
        max_bitrate: int = 5_000_000,
    ) -> None:
        if not 0 < min_bitrate <= max_bitrate:
            raise ValueError("bitrate limits must satisfy 0 < min <= max")
        self.min_bitrate = min_bitrate
        self.max_bitrate = max_bitrate
        start = min(max(start_bitrate, min_bitrate), max_bitrate)
        self._history = SentPacketHistory()
        self._inter_arrival = InterArrival()
        self._trendline = TrendlineFilter()
        self._detector = OveruseDetector()
        self._acked = AckedBitrate()
        self._delay = AimdRateControl(start, min_bitrate, max_bitrate)
        self._loss = LossBasedControl(start, min_bitrate, max_bitrate)
        self._remb: int | None = None
        self._target = start
        self._announced: int | None = None
        self._events: list[TargetBitrateChanged] = []
        self.rtt: float | None = None
        self.counters = FeedbackCounters()
        self._lost = 0  # feedback-counted loss not yet reported to the loss controller
        self._counted = 0
        self._loss_since: float | None = None
        self._feedback_loss_at: float | None = None
        self._last_feedback: float | None = None
        self._first_unacked_send: float | None = None  # first packet sent since feedback
        self._timeout_at: float | None = None
        self._last_seq: int | None = None  # newest packet used for the delay estimate

    # ------------------------------------------------------------------ inputs

    def on_packet_sent(self, transport_seq: int, size_bytes: int, now: float) -> None:
        """A packet carrying transport-wide sequence number ``transport_seq`` left."""
        if self._history.add(transport_seq, size_bytes, now) is None:
            return
        if self._first_unacked_send is None:
            self._first_unacked_send = now

    def on_transport_feedback(self, feedback: TransportCcFeedback, now: float) -> None:
        """Transport-wide feedback arrived at ``now``."""
        try:
            reports = feedback.packets()
        except (ValueError, StopIteration):
            self.counters.malformed += 1
            return
        self.counters.feedbacks += 1
        history = self._history
        received: list[SentPacket] = []
        for seq, arrival in reports:
            packet = history.lookup(seq)
            if packet is None:
                self.counters.unknown += 1
                continue
            if arrival is None:
                if not packet.reported:
                    history.mark_reported(packet)
                    self._lost += 1
                    self._counted += 1
                continue
            if packet.arrival is not None:
                self.counters.duplicates += 1
                continue
            if not packet.reported:
                history.mark_reported(packet)
                self._counted += 1
            elif self._lost > 0:
                self._lost -= 1  # reported lost, then received: it was late, not lost
            packet.arrival = arrival
            received.append(packet)
        self._last_feedback = now
        self._first_unacked_send = None
        self._timeout_at = None
        if received:
            self._delay_based(received, now)
        self._loss_from_feedback(now)
        self._update_target()

    def on_loss_report(self, fraction_lost: float, rtt: float | None, now: float) -> None:
        """An RTCP report block about our stream: fraction lost (0-1) and the RTT, if known."""
        if rtt is not None and math.isfinite(rtt) and rtt >= 0:
            self.rtt = rtt
            self._delay.rtt = rtt
        fed = self._feedback_loss_at
        if fed is None or now - fed > _RR_LOSS_AFTER:
            self._loss.report(fraction_lost, self._in_use(), self.rtt or 0.1, now)
            self._update_target()

    def on_remb(self, bitrate: int, now: float) -> None:
        """The receiver's estimated maximum bitrate (bit/s) for everything we send it."""
        self._remb = max(0, int(bitrate))
        self._update_target()

    # ------------------------------------------------------------------ the estimates

    def _delay_based(self, received: list[SentPacket], now: float) -> None:
        received.sort(key=lambda p: p.sequence)
        resets = self._inter_arrival.resets
        overuse = False
        for packet in received:
            assert packet.arrival is not None
            self._acked.add(packet.arrival, packet.size)
            if self._last_seq is not None and packet.sequence < self._last_seq:
                self.counters.reordered += 1
                continue
            self._last_seq = packet.sequence
            delta = self._inter_arrival.add(packet.send_time, packet.arrival, packet.size)
            if delta is None:
                continue
            trend = self._trendline.update(delta)
            usage = self._detector.detect(
                trend, delta.send_delta, self._trendline.groups, delta.arrival_time
            )
            overuse = overuse or usage is BandwidthUsage.OVERUSE
        if self._inter_arrival.resets != resets:
            self._acked.reset()  # the receiver's clock jumped
        signal = BandwidthUsage.OVERUSE if overuse else self._detector.state
        self._delay.update(signal, self._acked.bitrate, now)

    def _loss_from_feedback(self, now: float) -> None:
        if self._loss_since is None:
            self._loss_since = now
        counted = self._counted
        waited = now - self._loss_since
        if counted < _LOSS_MIN_PACKETS and not (
            waited >= _LOSS_MAX_WAIT and counted >= _LOSS_FEW_PACKETS
        ):
            return
        fraction = self._lost / counted
        self._lost = self._counted = 0
        self._loss_since = now
        self._feedback_loss_at = now
        self._loss.report(fraction, self._in_use(), self.rtt or 0.1, now)

    def _delay_or_none(self) -> float:
        """The delay-based rate; with REMB and no transport-wide feedback yet, none (inf)."""
        if self._remb is not None and self.counters.feedbacks == 0:
            return math.inf
        return self._delay.bitrate

    def _in_use(self) -> float:
        delay = self._delay_or_none()
        return min(delay, float(self._remb)) if self._remb else delay

    def _update_target(self) -> None:
        target = min(self._delay_or_none(), self._loss.bitrate)
        if self._remb is not None:
            target = min(target, float(self._remb))
        self._target = int(min(max(target, self.min_bitrate), self.max_bitrate))
        announced = self._announced
        if announced is None or abs(self._target - announced) > CHANGE_FRACTION * announced:
            self._announced = self._target
            self._events.append(
                TargetBitrateChanged(
                    self._target,
                    int(self._delay.bitrate),
                    int(self._loss.bitrate),
                    self._remb,
                    self._loss.fraction_lost,
                )  # fmt: skip
            )
            logger.debug("target bitrate %d bit/s", self._target)

    @property
    def target_bitrate(self) -> int:
        """What the transport may send, bit/s (everything: media, headers, retransmissions)."""
        return self._target

    @property
    def delay_based_bitrate(self) -> int:
        return int(self._delay.bitrate)

    @property
    def loss_based_bitrate(self) -> int:
        return int(self._loss.bitrate)

    @property
    def remb_bitrate(self) -> int | None:
        return self._remb

    @property
    def acked_bitrate(self) -> int | None:
        return self._acked.bitrate

    @property
    def usage(self) -> BandwidthUsage:
        """The over-use detector's last judgement."""
        return self._detector.state

    # ------------------------------------------------------------------ time and output

    def deadline(self) -> float | None:
        if self._last_feedback is None or self._first_unacked_send is None:
            return None
        if self._timeout_at is None:
            return max(self._last_feedback, self._first_unacked_send) + FEEDBACK_TIMEOUT
        return self._timeout_at

    def tick(self, now: float) -> None:
        due = self.deadline()
        if due is None or now < due:
            return
        delay = self._delay
        delay.bitrate = max(float(self.min_bitrate), _TIMEOUT_FACTOR * self._target)
        self._timeout_at = now + FEEDBACK_TIMEOUT
        logger.debug("no transport feedback for %.1f s", FEEDBACK_TIMEOUT)
        self._update_target()

    def poll(self) -> TargetBitrateChanged | None:
        return self._events.pop(0) if self._events else None
