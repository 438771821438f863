"""A scripted bottleneck link on a fake clock for the bandwidth estimator.

The sender sends ``packet_size``-byte packets paced at the estimator's target (or at a fixed
rate: an application-limited sender), or, with ``video``, 30 frames a second as an encoder at
the target makes them (a keyframe, half a second of the target, at the start and after a loss
the feedback shows, at most one a second, as a PLI would ask), handed to the link in one burst
or through a :class:`~pywebrtc.rtp.pacer.Pacer` (``pacer``). Each packet is numbered (as it
leaves) with a 16-bit transport-wide sequence number that starts just below the wrap. The
forward path is :class:`tests.impair.Impairer`: a serialising link of ``capacity`` with a
bounded queue (the excess dropped), propagation delay and random loss. The receiver is
pywebrtc's own :class:`~pywebrtc.rtp.twcc_feedback.TwccFeedback` on a clock of its own (offset
from the sender's), and its feedback crosses the return path as bytes, parsed again at the
sender. Nothing sleeps: the loop jumps from event to event.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from pywebrtc.rtp.bwe import BandwidthEstimator, TargetBitrateChanged
from pywebrtc.rtp.pacer import Pacer
from pywebrtc.rtp.rtcp import TransportCcFeedback
from pywebrtc.rtp.twcc_feedback import TwccFeedback
from tests.impair import Impairer, Impairment

_HEADER = struct.Struct("!Hd")  # transport-wide sequence number, send time
RECEIVER_CLOCK_OFFSET = 1234.5678  # the receiver's clock is not ours
_FIRST_SEQUENCE = 0xFFF0  # wraps within the first second
FRAME_INTERVAL = 1 / 30
KEYFRAME_SECONDS = 0.5  # a keyframe carries this long of the target (~17 KB at 250 kbit/s)
_KEYFRAME_GAP = 1.0  # s between keyframes asked for


@dataclass(frozen=True, slots=True)
class Delivered:
    sequence: int
    sent: float
    arrived: float  # sender clock

    @property
    def one_way(self) -> float:
        return self.arrived - self.sent


@dataclass
class BottleneckSim:
    estimator: BandwidthEstimator
    capacity: float  # bit/s
    delay: float = 0.025  # one way, both directions
    queue: float = 0.3  # seconds of backlog the bottleneck holds
    loss: float = 0.0
    packet_size: int = 1200
    app_rate: float | None = None  # bit/s the application sends; None: the target
    seed: int = 1
    video: bool = False  # frames of an encoder at the target, not a packet stream
    pacer: Pacer | None = None  # (video) frames through a pacer at the target
    now: float = 0.0
    targets: list[tuple[float, int]] = field(default_factory=list)
    delivered: list[Delivered] = field(default_factory=list)
    events: list[TargetBitrateChanged] = field(default_factory=list)
    sent: int = 0
    sent_at: list[float] = field(default_factory=list)
    keyframes: int = 0
    _heap: list[tuple[float, int, Callable[[], None]]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)
    _sequence: int = _FIRST_SEQUENCE
    _feedback_due: float | None = None
    _keyframe_wanted: bool = True
    _keyframe_at: float = -1e9
    _pacer_due: float | None = None
    _arrival_due: float | None = None

    def __post_init__(self) -> None:
        self.link = Impairer(self._impairment(), seed=self.seed)
        self.twcc = TwccFeedback(local_ssrc=2, extension_id=3)
        self.at(0.0, self._frame if self.video else self._send)
        self.at(0.0, self._sample)

    def _impairment(self) -> Impairment:
        return Impairment(loss=self.loss, delay=self.delay, rate=self.capacity / 8,
                          queue=self.queue)  # fmt: skip

    def set_capacity(self, capacity: float) -> None:
        self.capacity = capacity
        self.link.impairment = self._impairment()

    def at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (when, next(self._order), action))

    def run(self, until: float) -> None:
        estimator = self.estimator
        while self._heap and self._heap[0][0] <= until:
            when = self._heap[0][0]
            due = estimator.deadline()
            if due is not None and due < when:
                self.now = max(self.now, due)
                estimator.tick(self.now)
                self._drain()
                continue
            _, _, action = heapq.heappop(self._heap)
            self.now = max(self.now, when)
            action()
        self.now = until

    def _drain(self) -> None:
        while (event := self.estimator.poll()) is not None:
            self.events.append(event)

    # -- sender ---------------------------------------------------------------------------

    def _send(self) -> None:
        size = self.packet_size
        self._transmit(size)
        rate = self.app_rate or self.estimator.target_bitrate
        self.at(self.now + size * 8 / rate, self._send)

    def _transmit(self, size: int) -> None:
        """One packet of ``size`` bytes onto the link now, numbered as it leaves."""
        seq = self._sequence
        self._sequence = (seq + 1) & 0xFFFF
        self.estimator.on_packet_sent(seq, size, self.now)
        self.sent += 1
        self.sent_at.append(self.now)
        packet = _HEADER.pack(seq, self.now).ljust(size, b"\0")
        self.link.push(self.now, packet)
        self._next_arrival()

    def _next_arrival(self) -> None:
        """Be called back when the link's next packet is due (once per time)."""
        due = self.link.next_due()
        if due is not None and due != self._arrival_due:
            self._arrival_due = due
            self.at(due, self._arrive)

    def _frame(self) -> None:
        target = self.estimator.target_bitrate
        seconds = FRAME_INTERVAL
        if self._keyframe_wanted and self.now - self._keyframe_at >= _KEYFRAME_GAP:
            self._keyframe_wanted = False
            self._keyframe_at = self.now
            self.keyframes += 1
            seconds = KEYFRAME_SECONDS
        size = max(1, int(target * seconds / 8))
        count = -(-size // self.packet_size)
        pacer = self.pacer
        if pacer is not None:
            pacer.set_target(target)
        for i in range(count):
            part = size // count + (1 if i < size % count else 0)
            part = max(part, _HEADER.size)
            if pacer is None:
                self._transmit(part)
            else:
                pacer.enqueue(bytes(part), self.now)
        self._pace()
        self.at(self.now + FRAME_INTERVAL, self._frame)

    def _pace(self) -> None:
        pacer = self.pacer
        if pacer is None:
            return
        pacer.tick(self.now)
        while (packet := pacer.poll()) is not None:
            self._transmit(len(packet))
        due = pacer.deadline()
        if due is not None and due != self._pacer_due:
            self._pacer_due = due
            self.at(due, self._pace)

    def _sample(self) -> None:
        self.targets.append((self.now, self.estimator.target_bitrate))
        self.at(self.now + 0.05, self._sample)

    # -- receiver -------------------------------------------------------------------------

    def _arrive(self) -> None:
        for packet in self.link.pop(self.now):
            seq, sent = _HEADER.unpack_from(packet)
            self.delivered.append(Delivered(seq, sent, self.now))
            self.twcc.record(seq, 0x1234, self.now + RECEIVER_CLOCK_OFFSET)
        # packets pushed together (a burst) are due one after the other: each push could only
        # ask for the first one's
        self._next_arrival()
        due = self.twcc.deadline()
        if due is not None and self._feedback_due != due:
            self._feedback_due = due
            self.at(due - RECEIVER_CLOCK_OFFSET, self._feedback)

    def _feedback(self) -> None:
        for feedback in self.twcc.poll_rtcp(self.now + RECEIVER_CLOCK_OFFSET):
            data = bytes(feedback)
            self.at(self.now + self.delay, functools.partial(self._feedback_arrives, data))

    def _feedback_arrives(self, data: bytes) -> None:
        feedback = TransportCcFeedback.parse(data)
        if self.video and any(arrival is None for _, arrival in feedback.packets()):
            self._keyframe_wanted = True  # (a lost packet NACK may not repair: a PLI)
        self.estimator.on_transport_feedback(feedback, self.now)
        self._drain()

    # -- what happened --------------------------------------------------------------------

    def target_between(self, start: float, end: float) -> list[int]:
        return [bps for t, bps in self.targets if start <= t <= end]

    def loss_between(self, start: float, end: float) -> float:
        """Fraction of the packets sent in [start, end] that never arrived."""
        sent = sum(1 for t in self.sent_at if start <= t <= end)
        arrived = sum(1 for d in self.delivered if start <= d.sent <= end)
        return 1 - arrived / sent if sent else 0.0

    def first_within(self, start: float, capacity: float, margin: float = 0.2) -> float | None:
        """Seconds from ``start`` until the target first came within ``margin`` of
        ``capacity`` (and not above it by more), None if it never did."""
        for t, bps in self.targets:
            if t >= start and abs(bps - capacity) <= margin * capacity:
                return t - start
        return None

    def queue_delays_between(self, start: float, end: float) -> list[float]:
        """Queuing delay of the packets sent in [start, end] that arrived (one way minus the
        propagation delay)."""
        return [d.one_way - self.delay for d in self.delivered if start <= d.sent <= end]
