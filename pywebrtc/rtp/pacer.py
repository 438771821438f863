"""A packet pacer for video: one sans-IO leaky bucket between a video sender and the transport.

An encoder hands over a frame at once; a keyframe is many times the size of a delta frame and,
sent in one burst, overflows a small bottleneck queue: the loss that follows reads as congestion
to the bandwidth estimator (:mod:`pywebrtc.rtp.bwe`). :class:`Pacer` spreads the packets out at
``pacing_rate`` = ``factor`` (2.5 by default, what libwebrtc uses) times the target it is given,
so a keyframe drains over a few tens of milliseconds instead of leaving in one burst.

* :meth:`enqueue` takes one RTP packet (bytes); retransmissions go ahead of new media (they
  repair a picture the receiver already waits for). Audio and RTCP do not come here: they are
  never held behind video.
* :meth:`deadline` is when the next packet may leave; :meth:`tick` moves what may leave by
  ``now`` to the output and :meth:`poll` hands it out, oldest first. No timers of its own: the
  owner's timer calls :meth:`tick` at :meth:`deadline`.
* Retransmissions are limited to the target's rate over any half second (as libwebrtc's
  retransmission rate limiter): after a squeeze the receiver asks again for everything the
  bottleneck dropped, and answering all of it at once is the next flood. Those beyond the
  limit are dropped (:attr:`PacerCounters.retransmissions_dropped`); the receiver asks again
  or for a keyframe.
* The queue is bounded in time, not in size: when what waits would take more than
  ``max_queue_time`` (2 s, libwebrtc's limit) to send at the pacing rate, or its oldest packet
  has waited that long, it is dropped and :attr:`keyframe_needed` set: the sender encodes a
  keyframe at the new target instead. Such a queue builds only when the target collapses (a
  link squeezed 20 times leaves a second of frames encoded at the old rate, and the
  retransmissions the receiver asks for, behind a tenth of the rate). libwebrtc raises the
  pacing rate instead, to drain the queue within the limit; into a squeezed link that floods
  it (several times its rate for a second or two, most of it lost), and the loss takes the
  estimate down to its minimum.
* An idle pacer keeps ``BURST`` (40 ms) of credit: a delta frame smaller than that leaves at
  once, and a keyframe's first 40 ms do. Pacing every packet cost one wake-up of the loop's
  timer per packet (per frame at 500 kbit/s: ~1 % of a core more on each side in
  ``python -m bench video``); the keyframes, retransmission bursts and frames encoded at a
  stale target that overflow a bottleneck are still spread.
* Without a target (:meth:`set_target` with None: no bandwidth estimate for the transport)
  packets leave as they come.

Left out: padding and probe clusters (the estimator ramps up without them, :mod:`.bwe.aimd`),
priorities between several video streams (one pacer per video sender).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = [
    "BURST",
    "DEFAULT_FACTOR",
    "MAX_QUEUE_TIME",
    "RETRANSMISSION_WINDOW",
    "Pacer",
    "PacerCounters",
]

DEFAULT_FACTOR = 2.5
MAX_QUEUE_TIME = 2.0  # s
_SLACK = 0.001  # s: the loop's timer may fire up to a millisecond early (pywebrtc.timer)
BURST = 0.040  # s of credit an idle pacer keeps (libwebrtc's burst interval; the module docstring)
RETRANSMISSION_WINDOW = 0.5  # s: retransmissions in any such window stay within the target


@dataclass(slots=True)
class PacerCounters:
    packets: int = 0  # released
    retransmissions: int = 0  # released from the retransmission queue
    retransmissions_dropped: int = 0  # beyond the retransmission rate limit
    overflows: int = 0  # times the queue-time limit dropped the queue
    dropped: int = 0  # packets those dropped


class Pacer:
    """One video sender's pacer (see the module docstring). Times in seconds on the owner's
    clock, sizes in bytes, rates in bit/s."""

    __slots__ = (
        "_media",
        "_next_send",
        "_out",
        "_queued_bytes",
        "_rate",
        "_resent",
        "_resent_bytes",
        "_retransmissions",
        "_target",
        "burst",
        "counters",
        "keyframe_needed",
        "factor",
        "max_queue_time",
    )

    def __init__(
        self,
        *,
        factor: float = DEFAULT_FACTOR,
        max_queue_time: float = MAX_QUEUE_TIME,
        burst: float = BURST,
    ) -> None:
        if factor <= 0 or max_queue_time <= 0 or burst < 0:
            raise ValueError("the pacing factor and the queue-time limit must be positive")
        self.factor = factor
        self.burst = burst
        self.max_queue_time = max_queue_time
        self._rate: float | None = None
        self._target: float | None = None
        self._resent: deque[tuple[float, int]] = deque()  # (time, bytes) of recent ones
        self._resent_bytes = 0
        self.keyframe_needed = False  # the queue was dropped: the sender should send one
        self._media: deque[tuple[bytes, float]] = deque()
        self._retransmissions: deque[tuple[bytes, float]] = deque()
        self._queued_bytes = 0
        self._next_send = -1e18  # when the bucket lets the next packet go
        self._out: deque[bytes] = deque()
        self.counters = PacerCounters()

    # ------------------------------------------------------------------ inputs

    def set_target(self, bitrate: int | None) -> None:
        """The sender's target (bit/s) the pacing rate follows; None: do not pace."""
        self._target = None if bitrate is None or bitrate <= 0 else float(bitrate)
        self._rate = None if self._target is None else self.factor * self._target
        if self._rate is None:
            self.tick(0.0)  # (unpaced: what waits leaves now, whatever the time)

    @property
    def pacing_rate(self) -> float | None:
        return self._rate

    def enqueue(self, data: bytes, now: float, *, retransmission: bool = False) -> None:
        """One RTP packet to send; it leaves by :meth:`poll` once the bucket allows (a
        retransmission beyond the limit is dropped)."""
        size = len(data)
        if retransmission:
            target = self._target
            if target is not None:
                resent = self._resent
                while resent and resent[0][0] <= now - RETRANSMISSION_WINDOW:
                    self._resent_bytes -= resent.popleft()[1]
                if (self._resent_bytes + size) * 8 > target * RETRANSMISSION_WINDOW:
                    self.counters.retransmissions_dropped += 1
                    return
                resent.append((now, size))
                self._resent_bytes += size
            self._retransmissions.append((data, now))
        else:
            self._media.append((data, now))
        self._queued_bytes += size
        self.tick(now)

    # ------------------------------------------------------------------ queue state

    @property
    def queued_bytes(self) -> int:
        return self._queued_bytes

    def __len__(self) -> int:
        return len(self._media) + len(self._retransmissions)

    def queue_time(self, now: float) -> float:
        """How long the oldest packet waiting has waited (0 when none waits)."""
        oldest = self._oldest()
        return 0.0 if oldest is None else max(0.0, now - oldest)

    def _oldest(self) -> float | None:
        media, rtx = self._media, self._retransmissions
        if media and rtx:
            return min(media[0][1], rtx[0][1])
        if media:
            return media[0][1]
        if rtx:
            return rtx[0][1]
        return None

    # ------------------------------------------------------------------ time and output

    def deadline(self) -> float | None:
        if self._rate is None or not (self._media or self._retransmissions):
            return None  # (unpaced, nothing waits: enqueue and set_target release at once)
        return self._next_send

    def tick(self, now: float) -> None:
        """Release what the bucket lets go by ``now``."""
        media, rtx = self._media, self._retransmissions
        rate = self._rate
        if rate is None:
            self.release_all()
            return
        if self._next_send < now - self.burst:
            self._next_send = now - self.burst
        limit = self.max_queue_time
        if self._queued_bytes * 8 > rate * limit or self.queue_time(now) > limit:
            self._overflow()
            return
        while (media or rtx) and self._next_send <= now + _SLACK:
            retransmission = bool(rtx)
            data = (rtx if retransmission else media).popleft()[0]
            self._release(data, retransmission)
            self._next_send += len(data) * 8 / rate

    def release_all(self) -> None:
        """Let everything waiting go now, retransmissions first (unpaced, or a sender about to
        be reconfigured)."""
        media, rtx = self._media, self._retransmissions
        while rtx:
            self._release(rtx.popleft()[0], True)
        while media:
            self._release(media.popleft()[0], False)

    def _overflow(self) -> None:
        self.counters.overflows += 1
        self.counters.dropped += len(self)
        self.clear()
        self.keyframe_needed = True

    def _release(self, data: bytes, retransmission: bool) -> None:
        self._queued_bytes -= len(data)
        self._out.append(data)
        self.counters.packets += 1
        self.counters.retransmissions += retransmission

    def poll(self) -> bytes | None:
        """The next packet released, oldest first."""
        return self._out.popleft() if self._out else None

    def clear(self) -> None:
        """Forget what waits (the sender stopped or was reconfigured)."""
        self._media.clear()
        self._retransmissions.clear()
        self._queued_bytes = 0
