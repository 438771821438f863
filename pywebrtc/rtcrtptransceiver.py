"""``RTCRtpTransceiver``, ``RTCRtpSender``, ``RTCRtpReceiver`` (W3C webrtc-pc §5), audio only.

A transceiver is one audio m-section: a sender (our track, our SSRC) and a receiver (the remote
track handed out by the ``track`` event). The peer connection owns the I/O: it builds the
:class:`~pywebrtc.media.AudioSession` from what offer/answer negotiated (kept here in
``negotiated``), runs one task per sending transceiver that awaits ``track.recv()``, and pushes
decoded frames into ``receiver.track``.

Raw mode: a receiver created with ``decode=False`` hands out an
:class:`~pywebrtc.media.EncodedAudioTrack` whose ``recv()`` returns the encoded Opus packets
(``av.Packet``) without decoding; a sender whose track returns ``av.Packet`` s sends them as
they are (``pts`` in 48 kHz units).

DTMF (W3C §7): ``sender.dtmf`` is an :class:`RTCDTMFSender` whose ``insertDTMF`` hands the
tones to the session's :class:`~pywebrtc.media.dtmf.DtmfPlayout` (RFC 4733 events on the audio
stream, audio held back while one plays); ``tonechange`` carries an
:class:`RTCDTMFToneChangeEvent`. Received telephone-events are emitted by the receiver as
``dtmf`` with a :class:`~pywebrtc.media.TelephoneEvent` (a pywebrtc extension: W3C has no
receiving API).

Left out: video, ``setCodecPreferences``, ``getParameters``/``setParameters``, simulcast.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pywebrtc.audiosection import NegotiatedAudio, RemoteAudio
from pywebrtc.events import EventEmitter
from pywebrtc.media import AudioSession, EncodedAudioTrack, MediaStreamTrack, RemoteAudioTrack
from pywebrtc.media.dtmf import InvalidCharacterError, validate_tones
from pywebrtc.sctp import InvalidStateError

Direction = Literal["sendrecv", "sendonly", "recvonly", "inactive", "stopped"]
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


def sends(direction: str | None) -> bool:
    return direction in ("sendrecv", "sendonly")


def receives(direction: str | None) -> bool:
    return direction in ("sendrecv", "recvonly")


@dataclass(frozen=True, slots=True)
class RTCDTMFToneChangeEvent:
    """W3C §7.3: ``tone`` started playing; "" when the tone buffer is empty."""

    tone: str


class RTCDTMFSender(EventEmitter):
    """W3C §7.2 ``RTCDTMFSender`` of an audio sender; emits ``tonechange``."""

    def __init__(self, sender: RTCRtpSender) -> None:
        super().__init__()
        self._sender = sender
        # Set by the peer connection: hands (tones, duration, gap) to the running session.
        self._insert: Callable[[str, int, int], None] | None = None

    def _session(self) -> AudioSession | None:
        transceiver = self._sender._transceiver
        return transceiver.session if transceiver is not None else None

    @property
    def canInsertDTMF(self) -> bool:
        """W3C "determine if DTMF can be sent": a track, a sending current direction, and a
        telephone-event the peer negotiated."""
        transceiver = self._sender._transceiver
        if transceiver is None or transceiver.stopped or self._sender.track is None:
            return False
        session = transceiver.session
        return (
            sends(transceiver.currentDirection)
            and session is not None
            and session.dtmf is not None
            and not session.closed
        )

    @property
    def toneBuffer(self) -> str:
        session = self._session()
        return session.dtmf.tone_buffer if session is not None and session.dtmf else ""

    def insertDTMF(self, tones: str, duration: int = 100, interToneGap: int = 70) -> None:
        """Replace the tone buffer with ``tones`` (0-9, A-D, #, *, and ',' for a 2 s pause);
        ``duration`` is clamped to 40-6000 ms, ``interToneGap`` to 30-6000 ms. Raises
        InvalidStateError when DTMF cannot be sent (stopped, not sending, no telephone-event
        negotiated) and :class:`InvalidCharacterError` (a ValueError) for other characters."""
        transceiver = self._sender._transceiver
        if transceiver is None or transceiver.stopped:
            raise InvalidStateError("the transceiver is stopped")
        if not sends(transceiver.currentDirection):
            raise InvalidStateError("the transceiver is not sending")
        validate_tones(tones)
        if not self.canInsertDTMF or self._insert is None:
            raise InvalidStateError("the peer did not negotiate telephone-event")
        self._insert(tones, duration, interToneGap)


class RTCRtpSender:
    """Sends one local track on the transceiver's SSRC."""

    def __init__(self, track: MediaStreamTrack | None, kind: str = "audio") -> None:
        self.kind = kind
        self.track = track
        self._transceiver: RTCRtpTransceiver | None = None
        self.dtmf: RTCDTMFSender | None = RTCDTMFSender(self) if kind == "audio" else None
        # RFC 3550 §8.1: a random 32-bit SSRC (0 avoided: some stacks treat it as unset).
        self.ssrc = random.randint(1, 0xFFFFFFFF)
        self.track_id = track.id if track is not None else _random_id()
        self._on_change: Callable[[], None] | None = None

    async def replaceTrack(self, track: MediaStreamTrack | None) -> None:
        """Send ``track`` from now on (no renegotiation needed); None sends nothing."""
        if track is not None and track.kind != self.kind:
            raise TypeError(f"cannot send a {track.kind} track on an {self.kind} sender")
        self.track = track
        if self._on_change is not None:
            self._on_change()


class RTCRtpReceiver(EventEmitter):
    """Receives the remote track of one transceiver; emits ``dtmf`` with each
    :class:`~pywebrtc.media.TelephoneEvent` the remote sent (once, when it ends)."""

    def __init__(self, kind: str = "audio", decode: bool = True) -> None:
        super().__init__()
        self.kind = kind
        self.decode = decode
        self.track: RemoteAudioTrack | EncodedAudioTrack = (
            RemoteAudioTrack() if decode else EncodedAudioTrack()
        )


class RTCRtpTransceiver:
    """One audio m-section: ``mid``, ``direction``, ``currentDirection``, sender, receiver."""

    def __init__(
        self,
        kind: str,
        direction: str,
        sender: RTCRtpSender,
        receiver: RTCRtpReceiver,
    ) -> None:
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
        self.kind = kind
        self._direction = direction
        self.sender = sender
        sender._transceiver = self
        self.receiver = receiver
        self.mid: str | None = None
        self.currentDirection: str | None = None
        self.stopped = False
        self.negotiated: NegotiatedAudio | None = None
        self.remote_section: RemoteAudio | None = None  # the last remote description's
        self.remote_offered = False  # ... and whether it was an offer
        self.session: AudioSession | None = None
        self.send_task: asyncio.Future[None] | None = None
        self.track_fired = False
        self.used_for_sending = sender.track is not None
        self.offered_direction: str | None = None  # in our last local offer
        self._on_stop: Callable[[RTCRtpTransceiver], None] | None = None
        # The peer connection's "update the negotiation-needed flag" (W3C §4.7.3).
        self._on_negotiation: Callable[[], None] | None = None

    @property
    def direction(self) -> str:
        return "stopped" if self.stopped else self._direction

    @direction.setter
    def direction(self, value: str) -> None:
        if self.stopped:
            raise InvalidStateError("the transceiver is stopped")
        if value not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, not {value!r}")
        changed = value != self._direction
        self._direction = value
        if changed and self._on_negotiation is not None:
            self._on_negotiation()

    def stop(self) -> None:
        """Stop sending and receiving now; the next offer rejects the section (port 0)."""
        if self.stopped:
            return
        self.stopped = True
        self.currentDirection = None
        if self._on_stop is not None:
            self._on_stop(self)
        if self._on_negotiation is not None:
            self._on_negotiation()

    def __repr__(self) -> str:
        return f"<RTCRtpTransceiver mid={self.mid} {self.direction}>"


def _random_id() -> str:
    return f"{random.getrandbits(128):032x}"


__all__ = [
    "InvalidCharacterError",
    "RTCDTMFSender",
    "RTCDTMFToneChangeEvent",
    "RTCRtpReceiver",
    "RTCRtpSender",
    "RTCRtpTransceiver",
]
