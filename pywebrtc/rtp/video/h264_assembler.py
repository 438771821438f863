"""Received H.264 RTP packets to complete access units (RFC 6184 §5.1, §5.8; H.264 §7.4.1.2.3).

:class:`H264FrameAssembler` is a sans-IO machine: ``receive(packet, now)`` in any order,
``tick(now)`` at ``deadline()``, and ``poll()`` for :class:`H264AccessUnit` (Annex B, in
sequence order) or :class:`KeyframeRequest` (the caller sends a PLI).

An access unit is the run of consecutive sequence numbers sharing one RTP timestamp, ended by
the marker bit (or by a packet with another timestamp, for senders that forget the marker).
Units go out strictly in sequence order. When the next one has a hole, the assembler waits
``loss_timeout`` for the packet (a NACK retransmission may bring it); after that, or at once if
a unit is malformed (a fragment run broken, an unparsable payload), the frame is dropped, a
:class:`KeyframeRequest` is queued, and every frame is held back until a complete keyframe,
since the decoder cannot use delta frames that reference a lost one. The request repeats every
``keyframe_interval`` while none comes. A complete keyframe behind a hole is taken at once.
Past ``capacity`` buffered packets the oldest quarter goes (a keyframe being received is the
newest), which counts as a loss when in sync.

Without a preceding packet (at start, after loss) a packet starts an access unit when its first
NAL unit is AUD or SPS; when it is another type that may only open one (PPS, SEI, types 14-18)
or the first slice of a picture (``first_mb_in_slice`` = 0, the first bit of the slice header:
WebRTC senders use no arbitrary slice order), the SPS may be in an earlier packet still on its
way, so such a start is taken only after ``loss_timeout``. A keyframe holds an IDR slice (type
5), or SPS and PPS (some encoders send a recovery-point I picture after them, not an IDR).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

from ..packet import RtpPacket
from ..receiver import SequenceUnwrapper
from .h264 import (
    NAL_AUD,
    NAL_IDR,
    NAL_PPS,
    NAL_SLICE,
    NAL_SPS,
    FuFragment,
    H264PayloadError,
    join_annexb,
    parse_payload,
)

__all__ = ["H264AccessUnit", "H264AssemblerStats", "H264FrameAssembler", "KeyframeRequest"]

logger = logging.getLogger(__name__)

_OPENING_TYPES = frozenset({6, 7, 8, 9, 14, 15, 16, 17, 18})  # H.264 §7.4.1.2.3
_CERTAIN = 2  # AUD or SPS: encoders put nothing before them
_LIKELY = 1  # PPS, SEI or a first slice: an SPS may be in a packet not yet here


@dataclass(frozen=True, slots=True)
class H264AccessUnit:
    timestamp: int  # RTP timestamp
    data: bytes  # Annex B, 4-byte start codes
    keyframe: bool
    first_sequence: int  # extended sequence numbers
    last_sequence: int


@dataclass(frozen=True, slots=True)
class KeyframeRequest:
    reason: str  # "loss", "malformed", "overflow" or "no keyframe" (joined mid-stream)


@dataclass(slots=True)
class H264AssemblerStats:
    packets_received: int = 0
    duplicates: int = 0
    late: int = 0  # arrived after their access unit was delivered or dropped
    malformed: int = 0  # payloads parse_payload rejected
    frames_delivered: int = 0
    keyframes_delivered: int = 0
    frames_dropped: int = 0  # incomplete, broken, or delta frames held back after a loss
    keyframe_requests: int = 0


@dataclass(slots=True)
class _Entry:
    timestamp: int
    marker: bool
    units: tuple[bytes, ...] | FuFragment | None  # None: malformed payload
    opens: int  # _CERTAIN, _LIKELY or 0: whether it starts an access unit
    arrival: float


def _opens_access_unit(units: tuple[bytes, ...] | FuFragment | None) -> int:
    if units is None:
        return 0
    if isinstance(units, FuFragment):
        if not units.start:
            return 0
        header, first = units.nal_header, units.data[0]
    else:
        nal = units[0]
        header, first = nal[0], (nal[1] if len(nal) > 1 else 0)
    kind = header & 0x1F
    if kind in (NAL_SPS, NAL_AUD):
        return _CERTAIN
    if kind in _OPENING_TYPES:
        return _LIKELY
    # ue(v) first_mb_in_slice = 0 is a single 1 bit
    return _LIKELY if kind in (NAL_SLICE, NAL_IDR) and first & 0x80 else 0


class H264FrameAssembler:
    def __init__(
        self,
        *,
        loss_timeout: float = 0.25,
        keyframe_interval: float = 1.0,
        capacity: int = 2048,
    ) -> None:
        self.loss_timeout = loss_timeout
        self.keyframe_interval = keyframe_interval
        self.capacity = capacity
        self.stats = H264AssemblerStats()
        self._unwrapper = SequenceUnwrapper()
        self._packets: dict[int, _Entry] = {}
        self._cursor: int | None = None  # first sequence of the next unit; None: want keyframe
        self._floor: int | None = None  # everything below was delivered or dropped
        self._stuck_since: float | None = None
        self._request_at: float | None = None
        self._candidate_at: float | None = None  # when a likely keyframe start becomes usable
        self._out: deque[H264AccessUnit | KeyframeRequest] = deque()

    # -- sans-IO surface -------------------------------------------------------------------

    def receive(self, packet: RtpPacket, now: float) -> None:
        seq = self._unwrapper.unwrap(packet.sequence_number)
        self.stats.packets_received += 1
        if self._floor is not None and seq < self._floor:
            self.stats.late += 1
            return
        if seq in self._packets:
            self.stats.duplicates += 1
            return
        units: tuple[bytes, ...] | FuFragment | None
        try:
            units = parse_payload(packet.payload)
        except H264PayloadError as exc:
            logger.debug("dropping malformed H.264 payload seq=%d: %s", seq, exc)
            self.stats.malformed += 1
            units = None
        opens = _opens_access_unit(units)
        self._packets[seq] = _Entry(packet.timestamp, packet.marker, units, opens, now)
        if len(self._packets) > self.capacity:
            # the oldest go: frames held behind a hole, while a keyframe would be the newest
            keep = sorted(self._packets)[-(self.capacity * 3 // 4) :]
            self._discard_below(keep[0])
            if self._cursor is not None:
                self._lose("overflow", now)
        elif self._cursor is None and self._request_at is None:
            self._request_at = now + self.loss_timeout
        self._advance(now)

    def tick(self, now: float) -> None:
        self._advance(now)

    def poll(self) -> H264AccessUnit | KeyframeRequest | None:
        return self._out.popleft() if self._out else None

    def deadline(self) -> float | None:
        times = [
            t
            for t in (self._request_at, self._stuck_deadline(), self._candidate_at)
            if t is not None
        ]
        return min(times) if times else None

    # -- internals ---------------------------------------------------------------------------

    def _stuck_deadline(self) -> float | None:
        return None if self._stuck_since is None else self._stuck_since + self.loss_timeout

    def _lose(self, reason: str, now: float) -> None:
        self._cursor = None
        self._stuck_since = None
        self.stats.keyframe_requests += 1
        self._out.append(KeyframeRequest(reason))
        self._request_at = now + self.keyframe_interval

    def _unit_at(self, first: int) -> tuple[int, bool] | None:
        """(last sequence, complete) of the unit opening at ``first``; None when ``first`` is
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

    def _assemble(self, first: int, last: int) -> H264AccessUnit | None:
        """The access unit of packets ``first..last``, or None when its content is broken."""
        nals: list[bytes] = []
        fragments: list[bytes] | None = None
        header = 0
        for seq in range(first, last + 1):
            units = self._packets[seq].units
            if units is None:
                return None
            if isinstance(units, FuFragment):
                if units.start:
                    if fragments is not None:
                        return None
                    fragments, header = [bytes([units.nal_header])], units.nal_header
                elif fragments is None or units.nal_header != header:
                    return None
                fragments.append(units.data)
                if units.end:
                    nals.append(b"".join(fragments))
                    fragments = None
            elif fragments is not None:
                return None
            else:
                nals.extend(units)
        if fragments is not None:
            return None
        kinds = {nal[0] & 0x1F for nal in nals}
        keyframe = NAL_IDR in kinds or {NAL_SPS, NAL_PPS} <= kinds
        timestamp = self._packets[first].timestamp
        return H264AccessUnit(timestamp, join_annexb(nals), keyframe, first, last)

    def _discard_below(self, seq: int) -> None:
        dropped = {e.timestamp for s, e in self._packets.items() if s < seq}
        self.stats.frames_dropped += len(dropped)
        for s in [s for s in self._packets if s < seq]:
            del self._packets[s]
        self._floor = seq if self._floor is None else max(self._floor, seq)

    def _deliver(self, unit: H264AccessUnit) -> None:
        for s in range(unit.first_sequence, unit.last_sequence + 1):
            del self._packets[s]
        self._floor = self._cursor = unit.last_sequence + 1
        self._stuck_since = self._request_at = self._candidate_at = None
        self.stats.frames_delivered += 1
        self.stats.keyframes_delivered += unit.keyframe
        self._out.append(unit)

    def _next_keyframe(self, now: float) -> H264AccessUnit | None:
        """The earliest complete keyframe buffered whose first packet surely opens it: the
        packet before it ended another unit, or it starts with AUD or SPS. One that only likely
        opens (a first slice, its SPS perhaps still on the way) is taken ``loss_timeout`` after
        it arrived."""
        self._candidate_at = None
        for seq in sorted(self._packets):
            entry = self._packets[seq]
            before = self._packets.get(seq - 1)
            if before is not None:
                if not (before.marker or before.timestamp != entry.timestamp):
                    continue
            elif not entry.opens:
                continue
            found = self._unit_at(seq)
            if found is None or not found[1]:
                continue
            unit = self._assemble(seq, found[0])
            if unit is None or not unit.keyframe:
                continue
            if before is None and entry.opens != _CERTAIN:
                ripe = entry.arrival + self.loss_timeout
                if now < ripe:
                    self._candidate_at = ripe
                    return None
            return unit
        return None

    def _advance(self, now: float) -> None:
        while True:
            cursor = self._cursor
            if cursor is not None:
                found = self._unit_at(cursor)
                if found is not None and found[1]:
                    unit = self._assemble(cursor, found[0])
                    if unit is None:
                        self._discard_below(found[0] + 1)
                        self._lose("malformed", now)
                        continue
                    self._deliver(unit)
                    continue
                end = cursor - 1 if found is None else found[0]
                if not self._packets or max(self._packets) <= end:
                    # no hole: the rest of this unit is simply not here yet
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
                self.stats.keyframe_requests += 1
                reason = "loss" if self.stats.frames_delivered else "no keyframe"
                self._out.append(KeyframeRequest(reason))
                self._request_at = now + self.keyframe_interval
            return
