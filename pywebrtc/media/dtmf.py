"""Sending DTMF as RFC 4733 telephone-events, scheduled as W3C webrtc-pc §7 says (sans-IO).

:class:`DtmfPlayout` is the tone buffer and the packet schedule of one sender: ``insert`` is
``RTCDTMFSender.insertDTMF`` (characters checked, durations clamped, §7.2), and
``handle_timeout(now)`` at :meth:`~DtmfPlayout.deadline` runs the "playout task" (one tone per
task, ``,`` a 2 s pause, a final empty :class:`ToneChange`) and yields the event payloads
(§2.3 of RFC 4733): one every 20 ms while a tone plays, its duration growing, the end packet
(E bit) three times (§2.5.1.4), 20 ms apart unless the next tone starts first. Events longer
than the 16-bit duration field are cut into segments (§2.5.1.3). The owner
(:class:`~pywebrtc.media.AudioSession`) puts them on its RTP stream: same SSRC and sequence
space, the timestamp of the event's start, the marker on its first packet.

Left out: the non-final end of a long event's segment is sent once, not three times.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

from pywebrtc.exceptions import InvalidCharacterError

__all__ = [
    "DTMF_EVENTS",
    "DtmfPacket",
    "DtmfPlayout",
    "InvalidCharacterError",
    "ToneChange",
]

# RFC 4733 §3.2, Table 1: the DTMF named events.
DTMF_EVENTS = {str(i): i for i in range(10)} | {"*": 10, "#": 11, "A": 12, "B": 13, "C": 14,
                                                 "D": 15}  # fmt: skip
PACKET_INTERVAL = 0.02  # an update every 20 ms, the audio packet time (RFC 4733 §2.5.1.2)
END_PACKETS = 3  # RFC 4733 §2.5.1.4
PAUSE = 2.0  # W3C §7.2: "," delays the next tone by 2 s
VOLUME = 10  # -dBm0 (RFC 4733 §2.3.4); libwebrtc's level
MAX_DURATION = 0xFFFF  # the 16-bit duration field (RFC 4733 §2.5.1.3)
# W3C §7.2 insertDTMF: duration 40-6000 ms, interToneGap 30-6000 ms.
MIN_TONE_MS, MAX_TONE_MS, MIN_GAP_MS, MAX_GAP_MS = 40, 6000, 30, 6000


@dataclass(frozen=True, slots=True)
class ToneChange:
    """W3C ``tonechange``: ``tone`` started playing ("," included); "" once the buffer ran out."""

    tone: str


@dataclass(frozen=True, slots=True)
class DtmfPacket:
    """One telephone-event payload. ``offset`` is where its segment starts, in event clock
    units after the event's start (0 but for long events); ``marker`` on the event's first."""

    payload: bytes
    offset: int
    marker: bool
    last: bool  # the event's final packet: audio may resume after it


@dataclass(slots=True)
class _Event:
    code: int
    start: float  # when the tone started (seconds, the caller's clock)
    length: int  # event clock units
    sent: int = 0  # update packets sent so far
    segment: int = 0  # offset of the current segment
    ends_left: int = END_PACKETS
    next_packet: float = 0.0


def validate_tones(tones: str) -> str:
    """The tones in upper case; raises :class:`InvalidCharacterError` for anything else."""
    upper = tones.upper()
    for char in upper:
        if char != "," and char not in DTMF_EVENTS:
            raise InvalidCharacterError(f"invalid DTMF tone {char!r}")
    return upper


class DtmfPlayout:
    """The tone buffer and telephone-event schedule of one RTP stream.

    ``clock_rate`` is the negotiated telephone-event's (RFC 4733 §2.3.5: durations count it).
    """

    __slots__ = (
        "_changes", "_event", "_packets", "_task", "clock_rate", "duration_ms", "gap_ms",
        "tone_buffer",
    )  # fmt: skip

    def __init__(self, clock_rate: int) -> None:
        self.clock_rate = clock_rate
        self.tone_buffer = ""
        self.duration_ms = 100
        self.gap_ms = 70
        self._task: float | None = None  # when the next W3C playout task runs
        self._event: _Event | None = None
        self._packets: deque[DtmfPacket] = deque()
        self._changes: deque[ToneChange] = deque()

    @property
    def playing(self) -> bool:
        """A tone's packets are being sent (audio packets are held back meanwhile)."""
        return self._event is not None

    def insert(self, tones: str, duration: int, gap: int, now: float) -> None:
        """W3C insertDTMF's steps after the state checks: replace the buffer, clamp, queue
        the playout task unless one is scheduled."""
        self.tone_buffer = validate_tones(tones)
        self.duration_ms = min(MAX_TONE_MS, max(MIN_TONE_MS, int(duration)))
        self.gap_ms = min(MAX_GAP_MS, max(MIN_GAP_MS, int(gap)))
        if self.tone_buffer and self._task is None:
            self._task = now

    def stop(self) -> None:
        """The transceiver stopped: drop the buffer and every pending task (W3C §7.2 step 1)."""
        self.tone_buffer = ""
        self._task = None
        self._event = None

    def deadline(self) -> float | None:
        event = self._event
        if event is None:
            return self._task
        if self._task is None:
            return event.next_packet
        return min(self._task, event.next_packet)

    def handle_timeout(self, now: float) -> None:
        while True:
            event = self._event
            due_packet = event.next_packet if event is not None else None
            due_task = self._task
            if (
                due_packet is not None
                and due_packet <= now
                and (due_task is None or due_packet <= due_task)
            ):
                self._send_update(due_packet)
            elif due_task is not None and due_task <= now:
                self._run_task(due_task)
            else:
                return

    def poll_packet(self) -> DtmfPacket | None:
        return self._packets.popleft() if self._packets else None

    def poll_change(self) -> ToneChange | None:
        return self._changes.popleft() if self._changes else None

    # -- internals

    def _run_task(self, due: float) -> None:
        # The previous tone's end retransmissions may still be pending: send them now, the next
        # event must not interleave with them. (No `if self._event is not None` around the loop:
        # mypy would narrow the attribute to _Event inside it, and compiled code checks it as
        # that type: the None _send_update leaves raised TypeError.)
        while self._event is not None:
            self._send_update(due)
        if not self.tone_buffer:
            self._task = None
            self._changes.append(ToneChange(""))
            return
        tone, self.tone_buffer = self.tone_buffer[0], self.tone_buffer[1:]
        if tone == ",":
            self._task = due + PAUSE
        else:
            length = self.duration_ms * self.clock_rate // 1000
            self._event = _Event(DTMF_EVENTS[tone], due, length, next_packet=due)
            self._task = due + (self.duration_ms + self.gap_ms) / 1000
        self._changes.append(ToneChange(tone))

    def _send_update(self, due: float) -> None:
        event = self._event
        assert event is not None
        elapsed = min(event.length, round((event.sent + 1) * PACKET_INTERVAL * self.clock_rate))
        marker = event.sent == 0
        event.sent += 1
        event.next_packet = due + PACKET_INTERVAL
        ended = elapsed >= event.length
        duration = elapsed - event.segment
        if duration > MAX_DURATION and not (ended and event.ends_left < END_PACKETS):
            # §2.5.1.3: this segment is full; the next one starts where it stops.
            self._emit(event, MAX_DURATION, end=False, marker=marker)
            event.segment += MAX_DURATION
            return
        if not ended:
            self._emit(event, duration, end=False, marker=marker)
            return
        event.ends_left -= 1
        last = event.ends_left == 0
        self._emit(event, min(duration, MAX_DURATION), end=True, marker=marker, last=last)
        if last:
            self._event = None

    def _emit(
        self, event: _Event, duration: int, *, end: bool, marker: bool, last: bool = False
    ) -> None:
        flags = (0x80 if end else 0) | VOLUME  # E bit, R = 0, volume
        payload = struct.pack("!BBH", event.code, flags, duration)
        self._packets.append(DtmfPacket(payload, event.segment, marker, last))
