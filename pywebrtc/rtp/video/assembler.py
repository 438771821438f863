"""Video frame assembly on the receive side (sans-IO), one machine for every payload format:
RTP packets in any order, whole frames out in sequence order, and a request for a keyframe when
that is the only way on.

:meth:`FrameAssembler.receive` takes one RTP packet's sequence number, timestamp, marker and
payload; ``tick(now)`` at ``deadline()``; ``poll()`` gives :class:`AssembledFrame` (a VP8/VP9
frame, an AV1 temporal unit, an H.264 access unit in Annex B: what a decoder takes) or
:class:`KeyframeNeeded` (the session sends a PLI, RFC 4585 §6.3.1). What differs between
payload formats is the per-codec part, a :class:`PayloadFormat`: how one payload is read
(:data:`VP8`, :data:`VP9` through their payload descriptors, :data:`~.av1.AV1` through its
aggregation header, :data:`~.h264.H264` through its NAL unit headers), whether a packet
surely, likely or not opens a frame, and how a frame's packets join into the frame and whether
it is a keyframe (``pywebrtc.rtp.video.payload_format`` picks one by codec name).

A frame is the run of consecutive sequence numbers sharing one RTP timestamp, ended by the
marker bit (or by a packet with another timestamp, for senders that forget the marker).
Frames go out strictly in sequence order. When the next one has a hole, the assembler waits
``max_wait`` for the packet (a NACK retransmission may bring it); after that, or at once if a
frame is broken (a payload that does not parse, a fragment run cut, a frame not starting at
its first packet), or when the caller says the gap is beyond repair (:meth:`give_up`), the
frame is given up, a :class:`KeyframeNeeded` is queued, and every frame is held back until a
complete keyframe, since the decoder cannot use delta frames that
reference a lost one (VP8's default mode does not say which frames a frame references, so
frames whose references are intact are not told apart). The request repeats every
``keyframe_interval`` while none comes, and is made ``max_wait`` after the first packet when
the stream starts without a keyframe (later while a frame is arriving: it may be the first).
A complete keyframe behind a hole is taken at once. Past ``capacity`` held packets the oldest
quarter goes (a keyframe being received is the newest), which counts as a loss when in sync.

Without a preceding packet (at the start, after a loss) a packet may only surely open a frame
(VP8 S=1 with PID=0, VP9 B=1, H.264 AUD or SPS) or likely open it (H.264: PPS, SEI, or the
first slice of a picture, whose SPS may be in a packet still on its way): a keyframe opened
only likely is taken ``max_wait`` after its first packet arrived. Duplicates, packets older
than what was delivered or given up, and unparsable payloads are counted in
:class:`AssemblerStats`. Frames of several spatial layers under one marker are not supported.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..receiver import SequenceUnwrapper
from .payload import PayloadChunk
from .vp8 import depacketize_vp8
from .vp9 import depacketize_vp9

__all__ = [
    "CERTAIN",
    "LIKELY",
    "VP8",
    "VP9",
    "AssembledFrame",
    "AssemblerStats",
    "FrameAssembler",
    "JoinedFrame",
    "KeyframeNeeded",
    "PayloadFormat",
    "ChunkFormat",
]

logger = logging.getLogger(__name__)

CERTAIN = 2  # the packet opens a frame (VP8 S=1 PID=0, VP9 B=1, H.264 AUD or SPS)
LIKELY = 1  # it may open one, or an earlier packet of the frame may still be on its way

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class AssembledFrame:
    """One complete encoded frame, ready for the decoder (H.264: an access unit in Annex B)."""

    data: bytes
    timestamp: int  # RTP timestamp
    keyframe: bool
    picture_id: int | None  # VP8/VP9
    first_sequence: int  # extended sequence numbers
    last_sequence: int


@dataclass(frozen=True, slots=True)
class KeyframeNeeded:
    """Frames were lost (or none decodable came yet): ask the sender for a keyframe.
    ``reason``: "loss", "malformed", "overflow" or "no keyframe" (joined mid-stream)."""

    reason: str


@dataclass(frozen=True, slots=True)
class JoinedFrame:
    """What a payload format makes of one frame's packets."""

    data: bytes
    keyframe: bool
    picture_id: int | None = None


@dataclass(slots=True)
class AssemblerStats:
    packets_received: int = 0
    duplicates: int = 0
    late: int = 0  # older than what was already delivered or given up
    malformed: int = 0  # payloads the format could not read
    frames_assembled: int = 0
    keyframes_assembled: int = 0
    frames_dropped: int = 0  # broken or incomplete, or delta frames held back after a loss
    packets_lost: int = 0  # sequence numbers given up without having arrived
    keyframe_requests: int = 0


class PayloadFormat(Generic[P]):
    """The per-codec part of :class:`FrameAssembler`. ``parse`` reads one payload (raising
    ValueError when it is malformed), ``opens`` says whether a packet opens a frame (0,
    :data:`LIKELY` or :data:`CERTAIN`), ``join`` makes one frame of its packets' parts, in
    order, or returns None when they do not form one."""

    name = ""

    def parse(self, payload: bytes) -> P:
        raise NotImplementedError

    def opens(self, part: P) -> int:
        raise NotImplementedError

    def join(self, parts: Sequence[P]) -> JoinedFrame | None:
        raise NotImplementedError


class ChunkFormat(PayloadFormat[PayloadChunk]):
    """Formats whose depacketizer gives a :class:`PayloadChunk`, VP8 (RFC 7741) and VP9
    (RFC 9628): the payload descriptor says where a frame starts and whether it is a keyframe;
    the frame is the packets' data joined (AV1 adds a last step: :data:`~.av1.AV1`)."""

    def __init__(self, name: str, depacketize: Callable[[bytes], PayloadChunk]) -> None:
        self.name = name
        self._depacketize = depacketize

    def parse(self, payload: bytes) -> PayloadChunk:
        return self._depacketize(payload)

    def opens(self, part: PayloadChunk) -> int:
        return CERTAIN if part.start else 0

    def join(self, parts: Sequence[PayloadChunk]) -> JoinedFrame | None:
        head = parts[0]
        if not head.start or any(p.start for p in parts[1:]):
            return None  # its first packet was lost, or two frames share a timestamp
        data = b"".join(p.data for p in parts)
        return JoinedFrame(data, head.keyframe, head.picture_id)


VP8 = ChunkFormat("vp8", depacketize_vp8)
VP9 = ChunkFormat("vp9", depacketize_vp9)


@dataclass(slots=True)
class _Entry(Generic[P]):
    timestamp: int
    marker: bool
    part: P | None  # None: malformed payload
    opens: int
    arrival: float


class FrameAssembler(Generic[P]):
    def __init__(
        self,
        payload_format: PayloadFormat[P],
        *,
        max_wait: float = 0.2,
        keyframe_interval: float = 1.0,
        capacity: int = 2048,
    ) -> None:
        self.format = payload_format
        self.max_wait = max_wait
        self.keyframe_interval = keyframe_interval
        self.capacity = capacity
        self.stats = AssemblerStats()
        self._unwrapper = SequenceUnwrapper()
        self._packets: dict[int, _Entry[P]] = {}
        self._cursor: int | None = None  # first sequence of the next frame; None: want keyframe
        self._floor: int | None = None  # everything below was delivered or given up
        self._stuck_since: float | None = None
        self._request_at: float | None = None
        self._candidate_at: float | None = None  # when a likely keyframe start becomes usable
        self._out: deque[AssembledFrame | KeyframeNeeded] = deque()

    # -- sans-IO surface -------------------------------------------------------------------

    def receive(self, sequence_number: int, timestamp: int, marker: bool, payload: bytes,
                now: float) -> None:  # fmt: skip
        """Take one RTP packet (its 16-bit sequence number, timestamp, marker bit, payload).
        A payload the format cannot read is counted and breaks its frame."""
        seq = self._unwrapper.unwrap(sequence_number)
        self.stats.packets_received += 1
        if self._floor is not None and seq < self._floor:
            self.stats.late += 1
            return
        if seq in self._packets:
            self.stats.duplicates += 1
            return
        part: P | None
        try:
            part = self.format.parse(payload)
        except ValueError as exc:
            logger.debug("malformed %s payload seq=%d: %s", self.format.name, seq, exc)
            self.stats.malformed += 1
            part = None
        opens = self.format.opens(part) if part is not None else 0
        self._packets[seq] = _Entry(timestamp, marker, part, opens, now)
        if len(self._packets) > self.capacity:
            # the oldest go: frames held behind a hole, while a keyframe would be the newest
            keep = sorted(self._packets)[-(self.capacity * 3 // 4) :]
            self._discard_below(keep[0])
            if self._cursor is not None:
                self._lose("overflow", now)
        elif self._cursor is None and self._request_at is None:
            self._request_at = now + self.max_wait
        self._advance(now)

    def tick(self, now: float) -> None:
        """Give up holes waited for too long; ask for a keyframe again when none came."""
        self._advance(now)

    def give_up(self, now: float) -> None:
        """The packets missing before the frame being waited for will not come (the caller
        knows the gap is beyond repair by retransmission): stop waiting, ask for a keyframe
        now."""
        cursor = self._cursor
        if cursor is None:
            return
        found = self._frame_at(cursor)
        end = cursor - 1 if found is None else found[0]
        if found is not None and found[1]:
            return  # the next frame is here: no hole before it
        if self._packets and max(self._packets) > end:
            self._lose("loss", now)
            self._advance(now)

    def poll(self) -> AssembledFrame | KeyframeNeeded | None:
        return self._out.popleft() if self._out else None

    def deadline(self) -> float | None:
        best: float | None = None
        for t in (self._request_at, self._stuck_deadline(), self._candidate_at):
            if t is not None and (best is None or t < best):
                best = t
        return best

    # -- internals ---------------------------------------------------------------------------

    def _stuck_deadline(self) -> float | None:
        return None if self._stuck_since is None else self._stuck_since + self.max_wait

    def _lose(self, reason: str, now: float) -> None:
        self._cursor = None
        self._stuck_since = None
        self._ask(reason, now)

    def _ask(self, reason: str, now: float) -> None:
        self.stats.keyframe_requests += 1
        self._out.append(KeyframeNeeded(reason))
        self._request_at = now + self.keyframe_interval

    def _frame_at(self, first: int) -> tuple[int, bool] | None:
        """(last sequence, complete) of the frame opening at ``first``; None when ``first`` is
        missing. Incomplete means a hole before its end is known."""
        entry = self._packets.get(first)
        if entry is None:
            return None
        seq = first
        while True:
            if self._packets[seq].marker:
                return seq, True
            nxt = self._packets.get(seq + 1)
            if nxt is None:
                return seq, False
            if nxt.timestamp != entry.timestamp:
                return seq, True
            seq += 1

    def _assemble(self, first: int, last: int) -> AssembledFrame | None:
        """The frame of packets ``first..last``, or None when its content is broken."""
        parts: list[P] = []
        for seq in range(first, last + 1):
            part = self._packets[seq].part
            if part is None:
                return None
            parts.append(part)
        joined = self.format.join(parts)
        if joined is None:
            return None
        timestamp = self._packets[first].timestamp
        return AssembledFrame(joined.data, timestamp, joined.keyframe, joined.picture_id,
                              first, last)  # fmt: skip

    def _discard_below(self, seq: int) -> None:
        below = [s for s in self._packets if s < seq]
        self.stats.frames_dropped += len({self._packets[s].timestamp for s in below})
        if self._floor is not None and seq > self._floor:
            self.stats.packets_lost += seq - self._floor - len(below)
        for s in below:
            del self._packets[s]
        self._floor = seq if self._floor is None else max(self._floor, seq)
        if below:
            logger.debug("%s: gave up packets below %d", self.format.name, seq)

    def _deliver(self, frame: AssembledFrame) -> None:
        for s in range(frame.first_sequence, frame.last_sequence + 1):
            del self._packets[s]
        self._floor = self._cursor = frame.last_sequence + 1
        self._stuck_since = self._request_at = self._candidate_at = None
        self.stats.frames_assembled += 1
        self.stats.keyframes_assembled += frame.keyframe
        self._out.append(frame)

    def _next_keyframe(self, now: float) -> AssembledFrame | None:
        """The earliest complete keyframe held whose first packet surely opens it: the packet
        before it ended another frame, or the format says so. One that only likely opens (an
        H.264 first slice, its SPS perhaps still on the way) is taken ``max_wait`` after it
        arrived."""
        self._candidate_at = None
        packets = self._packets
        for seq in sorted(packets):
            entry = packets[seq]
            before = packets.get(seq - 1)
            if before is not None:
                if not (before.marker or before.timestamp != entry.timestamp):
                    continue
            elif not entry.opens:
                continue
            found = self._frame_at(seq)
            if found is None or not found[1]:
                continue
            frame = self._assemble(seq, found[0])
            if frame is None or not frame.keyframe:
                continue
            if before is None and entry.opens != CERTAIN:
                ripe = entry.arrival + self.max_wait
                if now < ripe:
                    self._candidate_at = ripe
                    return None
            return frame
        return None

    def _advance(self, now: float) -> None:
        while True:
            cursor = self._cursor
            if cursor is not None:
                found = self._frame_at(cursor)
                if found is not None and found[1]:
                    frame = self._assemble(cursor, found[0])
                    if frame is None:
                        self._discard_below(found[0] + 1)
                        self._lose("malformed", now)
                        continue
                    self._deliver(frame)
                    continue
                end = cursor - 1 if found is None else found[0]
                if not self._packets or max(self._packets) <= end:
                    # no hole: the rest of this frame is simply not here yet
                    self._stuck_since = None
                    return
                if self._stuck_since is None:
                    self._stuck_since = now
            keyframe = self._next_keyframe(now)
            if keyframe is not None:
                self._discard_below(keyframe.first_sequence)
                self._deliver(keyframe)
                continue
            if cursor is not None:
                deadline = self._stuck_deadline()
                if deadline is not None and now >= deadline:
                    self._lose("loss", now)
                    continue
                return
            if self._request_at is not None and now >= self._request_at:
                if self.stats.frames_assembled:
                    self._ask("loss", now)
                elif self._frame_in_progress():
                    self._request_at = now + self.max_wait  # it may be the first keyframe
                else:
                    self._ask("no keyframe", now)
            return

    def _frame_in_progress(self) -> bool:
        """Whether the newest packets are a frame still arriving: a run without a hole and
        without its marker yet, from a packet that opens a frame."""
        packets = self._packets
        if not packets:
            return False
        seq = max(packets)
        entry = packets[seq]
        if entry.marker:
            return False
        while (before := packets.get(seq - 1)) is not None and before.timestamp == entry.timestamp:
            seq -= 1
        return packets[seq].opens > 0 and (before is None or before.marker)
