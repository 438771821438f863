"""Video frame assembly on the receive side (sans-IO): RTP packets in any order, whole decodable
frames out, and a request for a keyframe when that is the only way on.

:meth:`FrameAssembler.receive` takes one RTP packet's sequence number, timestamp, marker and
payload; the codec's depacketizer (:func:`~pywebrtc.rtp.video.depacketize_vp8` or
``depacketize_vp9``) reads the payload descriptor. Frames leave in sequence order through
:meth:`FrameAssembler.poll` as :class:`AssembledFrame` once every packet from the start packet
(VP8 S=1 PID=0, VP9 B=1) to the marker is here.

Loss: a missing packet is waited for (a NACK may bring it) for ``max_wait`` seconds after a
later packet arrived, or until ``capacity`` packets are held, or until a later keyframe is
complete; then it is given up. Frames are decoded against earlier frames, and the descriptor
does not say which ones in VP8's default mode, so after a loss (and before the first frame)
nothing is delivered until a keyframe: a :class:`KeyframeNeeded` event is raised at once and
again every ``keyframe_interval`` seconds while none comes (the session turns it into a PLI,
RFC 4585 §6.3.1). Frames whose references are intact after a loss are not detected: everything
waits for the keyframe. Duplicates and packets older than what was delivered or given up are
dropped and counted. Frames of several spatial layers under one marker are not supported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ..receiver import SequenceUnwrapper
from .payload import PayloadChunk

__all__ = ["AssembledFrame", "AssemblerStats", "FrameAssembler", "KeyframeNeeded"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AssembledFrame:
    """One complete encoded frame, ready for the decoder."""

    data: bytes
    timestamp: int  # RTP timestamp
    keyframe: bool
    picture_id: int | None
    first_sequence: int  # extended sequence numbers
    last_sequence: int


@dataclass(frozen=True, slots=True)
class KeyframeNeeded:
    """Frames were lost (or none decodable came yet): ask the sender for a keyframe."""

    reason: str


@dataclass(slots=True)
class AssemblerStats:
    packets_received: int = 0
    duplicates: int = 0
    late: int = 0  # older than what was already delivered or given up
    malformed: int = 0
    frames_assembled: int = 0
    keyframes_assembled: int = 0
    frames_dropped: int = 0  # complete frames dropped while waiting for a keyframe
    packets_lost: int = 0  # sequence numbers given up
    keyframe_requests: int = 0


@dataclass(frozen=True, slots=True)
class _Packet:
    timestamp: int
    marker: bool
    chunk: PayloadChunk
    arrival: float


class FrameAssembler:
    def __init__(
        self,
        depacketize: Callable[[bytes], PayloadChunk],
        *,
        max_wait: float = 0.2,
        keyframe_interval: float = 1.0,
        capacity: int = 2000,
    ) -> None:
        self._depacketize = depacketize
        self.max_wait = max_wait
        self.keyframe_interval = keyframe_interval
        self.capacity = capacity
        self.stats = AssemblerStats()
        self._unwrapper = SequenceUnwrapper()
        self._packets: dict[int, _Packet] = {}
        self._key_starts: set[int] = set()  # held packets that start a keyframe
        self._next: int | None = None  # first sequence number not yet delivered or given up
        self._need_keyframe = True
        self._keyframe_asked: float | None = None  # when we last asked
        self._first_arrival: float | None = None
        self._out: list[AssembledFrame | KeyframeNeeded] = []

    def receive(self, sequence_number: int, timestamp: int, marker: bool, payload: bytes,
                now: float) -> None:  # fmt: skip
        """Take one RTP packet (its 16-bit sequence number, timestamp, marker bit, payload).
        A payload whose descriptor is malformed is counted and dropped."""
        seq = self._unwrapper.unwrap(sequence_number)
        self.stats.packets_received += 1
        if self._next is not None and seq < self._next:
            self.stats.late += 1
            return
        if seq in self._packets:
            self.stats.duplicates += 1
            return
        try:
            chunk = self._depacketize(payload)
        except ValueError as exc:
            self.stats.malformed += 1
            logger.debug("dropping video packet %d: %s", seq, exc)
            return
        self._packets[seq] = _Packet(timestamp, marker, chunk, now)
        if chunk.start and chunk.keyframe:
            self._key_starts.add(seq)
        if self._first_arrival is None:
            self._first_arrival = now
        if len(self._packets) > self.capacity:
            self._give_up(now, "jitter buffer full")
        self._advance(now)

    def tick(self, now: float) -> None:
        """Give up packets waited for too long, and ask for a keyframe when none came (at
        first) or the last request went unanswered."""
        deadline = self._loss_deadline()
        if deadline is not None and now >= deadline:
            self._give_up(now, "packet loss")
            self._advance(now)
        retry = self._retry_deadline()
        if retry is not None and now >= retry:
            self._ask_keyframe(now, "no keyframe yet" if self._keyframe_asked is None
                               else "keyframe request unanswered")  # fmt: skip

    def poll(self) -> AssembledFrame | KeyframeNeeded | None:
        return self._out.pop(0) if self._out else None

    def deadline(self) -> float | None:
        times = [t for t in (self._loss_deadline(), self._retry_deadline()) if t is not None]
        return min(times) if times else None

    def _retry_deadline(self) -> float | None:
        if not self._need_keyframe:
            return None
        if self._keyframe_asked is not None:
            return self._keyframe_asked + self.keyframe_interval
        if self._next is None and self._first_arrival is not None:
            return self._first_arrival + self.max_wait  # the stream began without a keyframe
        return None

    def _loss_deadline(self) -> float | None:
        """``max_wait`` after the first packet held beyond a hole arrived. Packets held up to
        the newest with no hole are a frame still being sent: no deadline."""
        packets = self._packets
        if not packets:
            return None
        seq = self._next if self._next is not None else min(packets)
        while seq in packets:
            seq += 1
        beyond = [p.arrival for s, p in packets.items() if s > seq]
        return min(beyond) + self.max_wait if beyond else None

    def _ask_keyframe(self, now: float, reason: str) -> None:
        self._need_keyframe = True
        self._keyframe_asked = now
        self.stats.keyframe_requests += 1
        self._out.append(KeyframeNeeded(reason))

    def _give_up(self, now: float, reason: str) -> None:
        """Skip to the next frame start held after the head (a keyframe one when waiting for
        one), dropping what is before it."""
        if not self._packets:
            return
        held = sorted(self._packets)
        after = self._next if self._next is not None else held[0]
        if self._need_keyframe:
            usable = sorted(s for s in self._key_starts if s > after)
        else:
            usable = [s for s in held if s > after and self._packets[s].chunk.start]
        self._skip_to(usable[0] if usable else held[-1] + 1, now, reason)

    def _skip_to(self, target: int, now: float, reason: str, *, ask: bool = True) -> None:
        """Drop every packet before ``target`` and wait for a keyframe (asking for one unless
        ``ask`` is false or the last request is recent)."""
        first = self._next if self._next is not None else min(self._packets, default=target)
        skipped = [s for s in self._packets if s < target]
        for s in skipped:
            del self._packets[s]
            self._key_starts.discard(s)
        self.stats.packets_lost += max(0, target - first - len(skipped))
        self._next = target
        logger.debug("video %s: gave up %d..%d", reason, first, target - 1)
        asked = self._keyframe_asked
        if ask and (asked is None or now >= asked + self.keyframe_interval):
            self._ask_keyframe(now, reason)
        self._need_keyframe = True

    def _complete_keyframe_after(self, seq: int) -> int | None:
        """The first sequence number after ``seq`` that starts a keyframe whose packets are
        all here: nothing before it matters any more."""
        packets = self._packets
        for start in sorted(s for s in self._key_starts if s > seq):
            ts = packets[start].timestamp
            end = start
            while (p := packets.get(end)) is not None and p.timestamp == ts:
                if p.marker:
                    return start
                end += 1
        return None

    def _advance(self, now: float) -> None:
        """Deliver every frame complete at the head, in order."""
        packets = self._packets
        while True:
            if self._next is None:
                # Before the first frame: start at the first keyframe start packet held.
                if not self._key_starts:
                    return
                self._next = min(self._key_starts)
                for s in [s for s in packets if s < self._next]:
                    del packets[s]
            head = packets.get(self._next)
            if head is None:
                key = self._complete_keyframe_after(self._next)
                if key is None:
                    return
                self._skip_to(key, now, "skipped to a keyframe", ask=False)
                continue
            if not head.chunk.start:
                # The frame's first packets were given up: it cannot be decoded.
                self._give_up(now, "frame start lost")
                continue
            end = self._next
            while True:
                p = packets.get(end)
                if p is None:
                    # Incomplete: wait, unless a whole keyframe is here already.
                    key = self._complete_keyframe_after(end)
                    if key is None:
                        return
                    self._skip_to(key, now, "skipped to a keyframe", ask=False)
                    break
                if end != self._next and (p.chunk.start or p.timestamp != head.timestamp):
                    # The next frame began before this one's marker: its end was lost.
                    self._skip_to(end, now, "frame end lost")
                    break
                if p.marker:
                    self._emit(self._next, end)
                    break
                end += 1

    def _emit(self, first: int, last: int) -> None:
        packets = self._packets
        head = packets[first]
        parts = [packets.pop(s).chunk.data for s in range(first, last + 1)]
        self._key_starts.discard(first)
        self._next = last + 1
        keyframe = head.chunk.keyframe
        if self._need_keyframe and not keyframe:
            self.stats.frames_dropped += 1
            return
        if keyframe:
            self._need_keyframe = False
            self._keyframe_asked = None
            self.stats.keyframes_assembled += 1
        self.stats.frames_assembled += 1
        self._out.append(AssembledFrame(
            data=b"".join(parts), timestamp=head.timestamp, keyframe=keyframe,
            picture_id=head.chunk.picture_id, first_sequence=first, last_sequence=last,
        ))  # fmt: skip
