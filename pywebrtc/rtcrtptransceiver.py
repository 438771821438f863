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

Left out: video, ``setCodecPreferences``, ``getParameters``/``setParameters``, simulcast,
``RTCRtpSender.dtmf`` (telephone-events are received and reported, not sent).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Literal

from pywebrtc.audiosection import NegotiatedAudio, RemoteAudio
from pywebrtc.media import AudioSession, EncodedAudioTrack, MediaStreamTrack, RemoteAudioTrack
from pywebrtc.sctp import InvalidStateError

Direction = Literal["sendrecv", "sendonly", "recvonly", "inactive", "stopped"]
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


def sends(direction: str | None) -> bool:
    return direction in ("sendrecv", "sendonly")


def receives(direction: str | None) -> bool:
    return direction in ("sendrecv", "recvonly")


class RTCRtpSender:
    """Sends one local track on the transceiver's SSRC."""

    def __init__(self, track: MediaStreamTrack | None, kind: str = "audio") -> None:
        self.kind = kind
        self.track = track
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


class RTCRtpReceiver:
    """Receives the remote track of one transceiver."""

    def __init__(self, kind: str = "audio", decode: bool = True) -> None:
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
        self._on_stop: Callable[[RTCRtpTransceiver], None] | None = None

    @property
    def direction(self) -> str:
        return "stopped" if self.stopped else self._direction

    @direction.setter
    def direction(self, value: str) -> None:
        if self.stopped:
            raise InvalidStateError("the transceiver is stopped")
        if value not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, not {value!r}")
        self._direction = value

    def stop(self) -> None:
        """Stop sending and receiving now; the next offer rejects the section (port 0)."""
        if self.stopped:
            return
        self.stopped = True
        self.currentDirection = None
        if self._on_stop is not None:
            self._on_stop(self)

    def __repr__(self) -> str:
        return f"<RTCRtpTransceiver mid={self.mid} {self.direction}>"


def _random_id() -> str:
    return f"{random.getrandbits(128):032x}"


__all__ = ["RTCRtpReceiver", "RTCRtpSender", "RTCRtpTransceiver"]
