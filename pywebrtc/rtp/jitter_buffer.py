"""An adaptive jitter buffer for audio (pull model, one frame per playout tick).

Packets go in with :meth:`JitterBuffer.push` in any order; the playout clock takes one item per
frame period with :meth:`JitterBuffer.pop`: the next packet in sequence order
(:class:`JitterFrame`), or a :class:`JitterLoss` when that packet is missing at its playout time
— the decoder then conceals it, and ``JitterLoss.next_payload`` is the following packet when it
is already here, so an Opus decoder can use its in-band FEC copy. Duplicates and packets that
arrive after their turn are dropped and counted.

Target delay: each packet's relative delay ``arrival - timestamp / clock_rate`` is compared with
the smallest seen over the last ``window`` packets; the target is the 95th percentile of that
variation over the window plus one frame, clamped to [min_delay, max_delay]. Playout starts
once the first packet has waited the target; afterwards, when more than the target plus two
frames is buffered (a burst, or the target went down), one frame is dropped (counted as
``discarded``, at most one every five ticks) until the level is back, and an underrun raises
the target by a frame. With ``discard=False`` nothing is dropped: the caller sees
:meth:`JitterBuffer.behind` and pops faster instead, down to ``min_delay`` (speech recognition
wants every frame, not real-time playout). This is a deliberately simple relative of NetEQ:
no time stretching.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from .receiver import SequenceUnwrapper

__all__ = ["JitterBuffer", "JitterBufferStats", "JitterFrame", "JitterLoss"]

_DISCARD_SPACING = 5  # ticks between two catch-up drops: at most 20% faster than real time


@dataclass(frozen=True, slots=True)
class JitterFrame:
    sequence: int  # extended sequence number
    timestamp: int  # RTP timestamp
    payload: bytes
    arrival: float
    payload_type: int = -1


@dataclass(frozen=True, slots=True)
class JitterLoss:
    sequence: int
    timestamp: int  # estimated from the frame duration
    next_payload: bytes | None  # the following packet, when already buffered (for FEC)


@dataclass(slots=True)
class JitterBufferStats:
    """Counters with the W3C inbound-rtp meaning where one exists."""

    packets_received: int = 0
    frames_played: int = 0
    concealed: int = 0  # JitterLoss returned (concealment events)
    duplicates: int = 0
    late: int = 0  # arrived after their playout turn
    discarded: int = 0  # dropped to bring the level back to target
    underruns: int = 0
    overflows: int = 0


class JitterBuffer:
    def __init__(
        self,
        clock_rate: int = 48000,
        *,
        frame_duration: float = 0.02,
        min_delay: float = 0.02,
        max_delay: float = 0.5,
        initial_delay: float = 0.06,
        window: int = 200,
        capacity: int = 500,
        max_loss_run: int = 10,
        discard: bool = True,
    ) -> None:
        self.clock_rate = clock_rate
        self.frame_duration = frame_duration
        self.min_delay = min_delay
        self.max_delay = max_delay
        self.target_delay = max(min_delay, min(initial_delay, max_delay))
        self.capacity = capacity
        self.max_loss_run = max_loss_run
        self.discard = discard
        self.stats = JitterBufferStats()
        self._unwrap = SequenceUnwrapper()
        self._packets: dict[int, JitterFrame] = {}
        self._next: int | None = None  # next sequence to play
        self._start_at: float | None = None
        self._samples = round(clock_rate * frame_duration)
        self._last_timestamp: int | None = None
        self._delays: deque[float] = deque(maxlen=window)
        self._timestamp_ext: int | None = None
        self._since_adapt = 0
        self._since_discard = 0
        self._loss_run = 0

    @property
    def level(self) -> float:
        """Seconds of audio buffered contiguously from the next frame to play."""
        if self._next is None:
            return len(self._packets) * self.frame_duration
        n = 0
        seq = self._next
        while seq + n in self._packets:
            n += 1
        return n * self.frame_duration

    def behind(self) -> bool:
        """More than the target delay plus two frames is buffered: playout lags behind. Without
        ``discard``, the floor is ``min_delay`` instead: a consumer that does not play out in
        real time wants frames as soon as they are in order, however jittery the path was."""
        floor = self.target_delay if self.discard else self.min_delay
        return self._next is not None and self.level > floor + 2 * self.frame_duration + 1e-9

    def __len__(self) -> int:
        return len(self._packets)

    def push(
        self,
        seq: int,
        timestamp: int,
        payload: bytes,
        arrival: float,
        payload_type: int = -1,
        *,
        timing: bool = True,
    ) -> bool:
        """Buffer one packet; ``False`` when it is a duplicate, late, or the buffer is full.

        ``timing=False`` keeps a packet out of the delay estimate: RFC 4733 telephone-events
        repeat the event's start timestamp for its whole duration, which would read as jitter.
        """
        ext = self._unwrap.unwrap(seq)
        if self._next is not None and ext < self._next:
            self.stats.late += 1
            return False
        if ext in self._packets:
            self.stats.duplicates += 1
            return False
        if len(self._packets) >= self.capacity:
            self.stats.overflows += 1
            return False
        self._packets[ext] = JitterFrame(ext, timestamp, payload, arrival, payload_type)
        self.stats.packets_received += 1
        if timing:
            self._delays.append(arrival - self._unwrap_timestamp(timestamp) / self.clock_rate)
            self._since_adapt += 1
            if self._since_adapt >= 10:
                self._adapt()
        if self._start_at is None:
            self._start_at = arrival + self.target_delay
        return True

    def _unwrap_timestamp(self, timestamp: int) -> int:
        last = self._timestamp_ext
        if last is None:
            self._timestamp_ext = timestamp
            return timestamp
        delta = (timestamp - last) & 0xFFFFFFFF
        if delta >= 0x80000000:
            delta -= 0x100000000
        value = last + delta
        if value > last:
            self._timestamp_ext = value
        return value

    def _adapt(self) -> None:
        self._since_adapt = 0
        delays = self._delays
        if len(delays) < 10:
            return
        base = min(delays)
        variation = sorted(d - base for d in delays)
        p95 = variation[min(len(variation) - 1, int(len(variation) * 0.95))]
        target = p95 + self.frame_duration
        self.target_delay = max(self.min_delay, min(target, self.max_delay))

    def pop(self, now: float) -> JitterFrame | JitterLoss | None:
        """The item to play at ``now`` (call once per frame period); ``None``: nothing yet."""
        if self._next is None:
            if self._start_at is None or now < self._start_at or not self._packets:
                return None
            self._next = min(self._packets)
        packets = self._packets
        if not packets:
            self.stats.underruns += 1
            self._raise_target()
            return None
        # Too much buffered: drop one frame to catch up, at most one every few ticks so that
        # catching up after a burst is spread out.
        self._since_discard += 1
        if (
            self.discard
            and self._since_discard >= _DISCARD_SPACING
            and self._next in packets
            and self.behind()
        ):
            del packets[self._next]
            self._next += 1
            self._since_discard = 0
            self.stats.discarded += 1
        frame = packets.pop(self._next, None)
        if frame is not None:
            self._next += 1
            self._last_timestamp = frame.timestamp
            self._loss_run = 0
            self.stats.frames_played += 1
            return frame
        # The next packet is missing while later ones are here: lost (or too late).
        self._loss_run += 1
        if self._loss_run > self.max_loss_run:
            # A long outage: skip to what we have instead of concealing the whole gap.
            self._next = min(packets)
            self._loss_run = 0
            frame = packets.pop(self._next)
            self._next += 1
            self._last_timestamp = frame.timestamp
            self.stats.frames_played += 1
            return frame
        seq = self._next
        self._next += 1
        following = packets.get(seq + 1)
        if self._last_timestamp is not None:
            timestamp = (self._last_timestamp + self._samples) & 0xFFFFFFFF
        elif following is not None:
            timestamp = (following.timestamp - self._samples) & 0xFFFFFFFF
        else:
            timestamp = 0
        self._last_timestamp = timestamp
        self.stats.concealed += 1
        return JitterLoss(seq, timestamp, following.payload if following is not None else None)

    def _raise_target(self) -> None:
        self.target_delay = min(self.max_delay, self.target_delay + self.frame_duration)

    def set_clock_rate(self, clock_rate: int) -> None:
        """The stream switched to a payload format with another RTP clock."""
        if clock_rate != self.clock_rate:
            self.clock_rate = clock_rate
            self._samples = round(clock_rate * self.frame_duration)
            self._delays.clear()
            self._timestamp_ext = None

    def reset(self) -> None:
        """Forget the stream (a new source): packets, sequence and timing state; the target
        delay is kept as a starting point."""
        self._packets.clear()
        self._next = None
        self._start_at = None
        self._unwrap = SequenceUnwrapper()
        self._last_timestamp = None
        self._timestamp_ext = None
        self._delays.clear()
        self._loss_run = 0
