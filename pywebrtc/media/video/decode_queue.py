"""The frames waiting for a video decoder, and when to give up on them (sans-IO: the caller
runs the decoder and says how long each decode took).

Frames come from the RTP session's assembler in order and complete; the decoder may fall
behind them in two quite different ways:

* a **burst**: after an outage, NACK retransmissions repair a second of frames at once, or a
  process starved of CPU for a few hundred ms reads the frames that arrived meanwhile in one
  go. The decoder catches up in a few ms per frame; dropping them would cost a keyframe round
  trip (PLI, the sender's next frame, its transmission) that on a loaded host takes longer
  than decoding them, and repeats at every scheduling hiccup.
* a **slow decoder**: it cannot keep up with the frame rate at all (a host short of CPU), and
  the queue only grows; the only way back to live pictures is to drop what waits and start
  again at a keyframe.

So the queue is judged by the time its frames will take to decode — their number times the
median of the last decode times (a median, so that one decode stalled by the scheduler does
not count as a slow decoder) — not by their number: beyond :data:`DECODE_BUDGET` the waiting
frames are dropped and a keyframe asked for; :data:`MAX_WAITING` frames bounds what a very
fast decoder would fast-forward through. After a drop (or a frame the decoder rejected) no
delta frame goes to the decoder before a keyframe, since one may reference a dropped frame
(VP8 does not say which it references); each delta frame dropped meanwhile asks for the
keyframe again (the RTP session rate-limits PLIs), so that a lost PLI does not freeze the
picture.
"""

from __future__ import annotations

import statistics
from collections import deque

from . import EncodedVideoFrame

__all__ = ["DECODE_BUDGET", "MAX_WAITING", "DecodeQueue"]

DECODE_BUDGET = 0.2  # seconds of decoding the waiting frames may take before they are dropped
MAX_WAITING = 90  # frames (3 s at 30 frames/s): older repaired frames are not worth showing
_SAMPLES = 15  # decode times the median is taken over
_FIRST_DECODE_TIME = 0.01  # seconds per frame assumed before any decode was measured


class DecodeQueue:
    """Frames for one decoder, in order. :meth:`push` each assembled frame (True: ask the
    sender for a keyframe), :meth:`pop` the next to decode, report each decode's duration
    with :meth:`decoded` and a frame the decoder rejected with :meth:`rejected`."""

    def __init__(self, budget: float = DECODE_BUDGET, max_waiting: int = MAX_WAITING) -> None:
        self.budget = budget
        self.max_waiting = max_waiting
        self.frames: deque[EncodedVideoFrame] = deque()
        self.waiting_for_keyframe = False  # frames were dropped: only a keyframe goes on
        self.dropped = 0  # frames dropped here, never decoded
        self.backlog_drops = 0  # times the waiting frames were dropped for being too many
        self.decode_time = _FIRST_DECODE_TIME  # median seconds per decode, recent
        self._times: deque[float] = deque(maxlen=_SAMPLES)

    def __len__(self) -> int:
        return len(self.frames)

    def backlog(self) -> float:
        """Seconds the waiting frames will take to decode, by the recent decode times."""
        return len(self.frames) * self.decode_time

    def push(self, frame: EncodedVideoFrame) -> bool:
        """Queue an assembled frame, or drop it; True when a keyframe should be asked for."""
        frames = self.frames
        if frame.keyframe:
            # nothing before a keyframe is needed any more
            self.dropped += len(frames)
            frames.clear()
            self.waiting_for_keyframe = False
            frames.append(frame)
            return False
        if self.waiting_for_keyframe:
            self.dropped += 1
            return True  # again: the request or its keyframe may have been lost
        frames.append(frame)
        if len(frames) > self.max_waiting or self.backlog() > self.budget:
            self.backlog_drops += 1
            self._drop()
            return True
        return False

    def pop(self) -> EncodedVideoFrame | None:
        return self.frames.popleft() if self.frames else None

    def decoded(self, seconds: float) -> None:
        """One decode took ``seconds`` (wall time, waiting for the CPU included)."""
        self._times.append(max(seconds, 0.0))
        self.decode_time = statistics.median(self._times)

    def rejected(self) -> bool:
        """The decoder refused a frame: what waits may reference it. True: ask for a
        keyframe."""
        self._drop()
        return True

    def clear(self) -> None:
        self.frames.clear()

    def _drop(self) -> None:
        self.dropped += len(self.frames)
        self.frames.clear()
        self.waiting_for_keyframe = True
