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

Codecs (W3C §5.2, §5.4): ``RTCRtpSender.getCapabilities("audio")`` and
``RTCRtpReceiver.getCapabilities("audio")`` list :class:`RTCRtpCodecCapability` s (Opus, PCMU,
PCMA, telephone-event at 48 and 8 kHz); ``transceiver.setCodecPreferences(codecs)`` limits
and orders the codecs of the next offer or answer (an empty list resets). Codecs are matched
by mimeType (case-insensitive), clockRate, channels when given, and sdpFmtpLine when given
(as a set of parameters); aiortc's ``RTCRtpCodecCapability`` (``parameters``, no sdpFmtpLine)
is accepted too. A codec we do not have, or a list without an audio codec (only
telephone-event), raises :class:`InvalidModificationError` (a ValueError, which is what aiortc
raises).

Left out: video, ``getParameters``/``setParameters``, simulcast.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pywebrtc.events import EventEmitter
from pywebrtc.exceptions import (
    InvalidCharacterError,
    InvalidModificationError,
    InvalidStateError,
)
from pywebrtc.jsep.audio import (
    OFFER_CODECS,
    OFFER_EXTENSIONS,
    NegotiatedAudio,
    RemoteAudio,
)
from pywebrtc.media import (
    AudioCodec,
    AudioSession,
    EncodedAudioTrack,
    MediaStreamTrack,
    RemoteAudioTrack,
)
from pywebrtc.media.dtmf import validate_tones

Direction = Literal["sendrecv", "sendonly", "recvonly", "inactive", "stopped"]
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


def sends(direction: str | None) -> bool:
    return direction in ("sendrecv", "sendonly")


def receives(direction: str | None) -> bool:
    return direction in ("sendrecv", "recvonly")


@dataclass(frozen=True, slots=True)
class RTCRtpCodecCapability:
    """W3C §5.2 RTCRtpCodec: ``audio/opus``, 48000, 2, "minptime=10;useinbandfec=1"."""

    mimeType: str
    clockRate: int
    channels: int | None = None
    sdpFmtpLine: str | None = None


@dataclass(frozen=True, slots=True)
class RTCRtpHeaderExtensionCapability:
    uri: str


@dataclass(frozen=True, slots=True)
class RTCRtpCapabilities:
    codecs: list[RTCRtpCodecCapability] = field(default_factory=list)
    headerExtensions: list[RTCRtpHeaderExtensionCapability] = field(default_factory=list)


def _fmtp_line(codec: AudioCodec) -> str | None:
    line = ";".join(f"{k}={v}" if v else k for k, v in codec.parameters.items())
    return line or None


def _capability(codec: AudioCodec) -> RTCRtpCodecCapability:
    return RTCRtpCodecCapability(
        f"audio/{codec.name}", codec.clock_rate, codec.channels, _fmtp_line(codec)
    )


def get_capabilities(kind: str) -> RTCRtpCapabilities | None:
    """What we send and receive of ``kind``; None for kinds we do not support (W3C null)."""
    if kind != "audio":
        return None
    return RTCRtpCapabilities(
        [_capability(c) for c in OFFER_CODECS],
        [RTCRtpHeaderExtensionCapability(uri) for _, uri in OFFER_EXTENSIONS],
    )


def _parameters(line: str) -> set[str]:
    return {p.strip().lower() for p in line.split(";") if p.strip()}


def _match(capability: object) -> AudioCodec:
    """The codec of ours that ``capability`` (ours, aiortc's, or a dict) names."""

    def get(name: str) -> object:
        if isinstance(capability, dict):
            return capability.get(name)
        return getattr(capability, name, None)

    mime, rate = get("mimeType"), get("clockRate")
    channels, fmtp = get("channels"), get("sdpFmtpLine")
    if isinstance(mime, str) and "/" in mime and isinstance(rate, int):
        kind, name = mime.lower().split("/", 1)
        for codec in OFFER_CODECS:
            if kind != "audio" or name != codec.key or rate != codec.clock_rate:
                continue
            if channels is not None and channels != codec.channels:
                continue
            ours = _fmtp_line(codec)
            if fmtp is not None and _parameters(str(fmtp)) != _parameters(ours or ""):
                continue
            return codec
    raise InvalidModificationError(f"not a codec we have: {capability!r}")


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

    @staticmethod
    def getCapabilities(kind: str) -> RTCRtpCapabilities | None:
        return get_capabilities(kind)

    def __init__(self, track: MediaStreamTrack | None, kind: str = "audio") -> None:
        self.kind = kind
        self.track = track
        self._transceiver: RTCRtpTransceiver | None = None
        self.dtmf: RTCDTMFSender | None = RTCDTMFSender(self) if kind == "audio" else None
        # RFC 3550 §8.1: a random 32-bit SSRC (0 avoided: some stacks treat it as unset).
        self.ssrc = random.randint(1, 0xFFFFFFFF)
        self.track_id = track.id if track is not None else _random_id()
        self._on_change: Callable[[], None] | None = None

    def replaceTrack(self, track: MediaStreamTrack | None) -> Awaitable[None]:
        """Send ``track`` from now on (no renegotiation needed); None sends nothing.

        The track is replaced before this returns, as aiortc's (synchronous) ``replaceTrack``
        does; what it returns may be awaited, as W3C's promise is, or dropped."""
        if track is not None and track.kind != self.kind:
            raise TypeError(f"cannot send a {track.kind} track on an {self.kind} sender")
        self.track = track
        if self._on_change is not None:
            self._on_change()
        return _DONE


class RTCRtpReceiver(EventEmitter):
    """Receives the remote track of one transceiver; emits ``dtmf`` with each
    :class:`~pywebrtc.media.TelephoneEvent` the remote sent (once, when it ends)."""

    @staticmethod
    def getCapabilities(kind: str) -> RTCRtpCapabilities | None:
        return get_capabilities(kind)

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
        # Senders of the same connection whose track is this receiver's raw track: each
        # received packet is sent on them directly, not through the track (MediaPlane).
        self.forwarded_by: tuple[RTCRtpTransceiver, ...] = ()
        self.track_fired = False
        self.used_for_sending = sender.track is not None
        self.offered_direction: str | None = None  # in our last local offer
        self.codec_preferences: tuple[AudioCodec, ...] = ()  # ours, in order; () = defaults
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

    def setCodecPreferences(self, codecs: Sequence[object]) -> None:
        """Offer/answer only ``codecs`` (capabilities from ``getCapabilities``), in this
        order, from the next negotiation on; an empty list restores our defaults."""
        chosen: list[AudioCodec] = []
        for capability in codecs:
            codec = _match(capability)
            if codec not in chosen:  # a repeat keeps its first place
                chosen.append(codec)
        if chosen and all(c.key == "telephone-event" for c in chosen):
            raise InvalidModificationError("the preferences hold no audio codec")
        self.codec_preferences = tuple(chosen)

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


class _Done:
    """An awaitable that is already complete (and harmless when never awaited)."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        return
        yield


_DONE = _Done()


def _random_id() -> str:
    return f"{random.getrandbits(128):032x}"


__all__ = [
    "InvalidCharacterError",
    "InvalidModificationError",
    "RTCDTMFSender",
    "RTCDTMFToneChangeEvent",
    "RTCRtpCapabilities",
    "RTCRtpCodecCapability",
    "RTCRtpHeaderExtensionCapability",
    "RTCRtpReceiver",
    "RTCRtpSender",
    "RTCRtpTransceiver",
]
