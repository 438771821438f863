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
* The queue is bounded in time, not in size: when its oldest packet would wait more than
  ``max_queue_time`` (2 s, as libwebrtc) the rate is raised so that the queue drains by then
  (counted in :attr:`PacerCounters.rate_raised`). The encoder's target falls with the estimate,
  so a long queue only builds after a sudden collapse of the target.
* Without a target (:meth:`set_target` with None: no bandwidth estimate for the transport)
  packets leave as they come.

Left out: padding and probe clusters (the estimator ramps up without them, :mod:`.bwe.aimd`),
priorities between several video streams (one pacer per video sender).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["DEFAULT_FACTOR", "MAX_QUEUE_TIME", "Pacer", "PacerCounters"]

DEFAULT_FACTOR = 2.5
MAX_QUEUE_TIME = 2.0  # s
_SLACK = 0.001  # s: the loop's timer may fire up to a millisecond early (pywebrtc.timer)
_BURST = 0.005  # s of credit an idle pacer keeps: a packet that comes alone leaves at once
_MIN_TIME_LEFT = 0.01  # s: the rate the queue limit asks for, when the oldest is already late


@dataclass(slots=True)
class PacerCounters:
    packets: int = 0  # released
    retransmissions: int = 0  # released from the retransmission queue
    rate_raised: int = 0  # releases at a rate raised by the queue-time limit


class Pacer:
    """One video sender's pacer (see the module docstring). Times in seconds on the owner's
    clock, sizes in bytes, rates in bit/s."""

    __slots__ = (
        "_media",
        "_next_send",
        "_out",
        "_queued_bytes",
        "_rate",
        "_retransmissions",
        "counters",
        "factor",
        "max_queue_time",
    )

    def __init__(
        self, *, factor: float = DEFAULT_FACTOR, max_queue_time: float = MAX_QUEUE_TIME
    ) -> None:
        if factor <= 0 or max_queue_time <= 0:
            raise ValueError("the pacing factor and the queue-time limit must be positive")
        self.factor = factor
        self.max_queue_time = max_queue_time
        self._rate: float | None = None
        self._media: deque[tuple[bytes, float]] = deque()
        self._retransmissions: deque[tuple[bytes, float]] = deque()
        self._queued_bytes = 0
        self._next_send = -1e18  # when the bucket lets the next packet go
        self._out: deque[bytes] = deque()
        self.counters = PacerCounters()

    # ------------------------------------------------------------------ inputs

    def set_target(self, bitrate: int | None) -> None:
        """The sender's target (bit/s) the pacing rate follows; None: do not pace."""
        self._rate = None if bitrate is None or bitrate <= 0 else self.factor * bitrate
        if self._rate is None:
            self.tick(0.0)  # (unpaced: what waits leaves now, whatever the time)

    @property
    def pacing_rate(self) -> float | None:
        return self._rate

    def enqueue(self, data: bytes, now: float, *, retransmission: bool = False) -> None:
        """One RTP packet to send; it leaves by :meth:`poll` once the bucket allows."""
        (self._retransmissions if retransmission else self._media).append((data, now))
        self._queued_bytes += len(data)
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
            while rtx:
                self._release(rtx.popleft()[0], True)
            while media:
                self._release(media.popleft()[0], False)
            return
        if self._next_send < now - _BURST:
            self._next_send = now - _BURST
        while (media or rtx) and self._next_send <= now + _SLACK:
            effective = self._effective_rate(rate, now)
            retransmission = bool(rtx)
            data = (rtx if retransmission else media).popleft()[0]
            self._release(data, retransmission)
            self._next_send += len(data) * 8 / effective

    def _effective_rate(self, rate: float, now: float) -> float:
        """The pacing rate, raised so that the oldest packet waits at most the limit."""
        oldest = self._oldest()
        assert oldest is not None
        time_left = max(_MIN_TIME_LEFT, self.max_queue_time - (now - oldest))
        needed = self._queued_bytes * 8 / time_left
        if needed > rate:
            self.counters.rate_raised += 1
            return needed
        return rate

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
