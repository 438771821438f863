"""``RTCRtpTransceiver``, ``RTCRtpSender``, ``RTCRtpReceiver`` (W3C webrtc-pc §5), audio and
video.

A transceiver is one audio or video m-section (``kind``): a sender (our track, our SSRC, and
for video an RTX SSRC) and a receiver (the remote track handed out by the ``track`` event). The
peer connection owns the I/O: it builds the :class:`~pywebrtc.media.AudioSession` (``session``)
or the video pipeline (``video``, :mod:`pywebrtc.videoplane`) from what offer/answer negotiated
(kept here in ``negotiated``), runs one task per sending transceiver that awaits
``track.recv()``, and pushes decoded frames into ``receiver.track``: ``av.AudioFrame`` s into a
:class:`~pywebrtc.media.RemoteAudioTrack`, ``av.VideoFrame`` s into a
:class:`~pywebrtc.media.RemoteVideoTrack`.

Raw mode: a receiver created with ``decode=False`` hands out an
:class:`~pywebrtc.media.EncodedAudioTrack` (or :class:`~pywebrtc.media.EncodedVideoTrack`)
whose ``recv()`` returns the encoded Opus packets or video frames (``av.Packet``) without
decoding; a sender whose track returns ``av.Packet`` s sends them as they are (``pts`` in 48 kHz
units for audio, 90 kHz for video; a video track may also return
:class:`~pywebrtc.media.video.EncodedVideoFrame` s).

DTMF (W3C §7): ``sender.dtmf`` is an :class:`RTCDTMFSender` whose ``insertDTMF`` hands the
tones to the session's :class:`~pywebrtc.media.dtmf.DtmfPlayout` (RFC 4733 events on the audio
stream, audio held back while one plays); ``tonechange`` carries an
:class:`RTCDTMFToneChangeEvent`. Received telephone-events are emitted by the receiver as
``dtmf`` with a :class:`~pywebrtc.media.TelephoneEvent` (a pywebrtc extension: W3C has no
receiving API).

Codecs (W3C §5.2, §5.4): ``RTCRtpSender.getCapabilities("audio")`` and
``RTCRtpReceiver.getCapabilities("audio")`` list :class:`RTCRtpCodecCapability` s (Opus, PCMU,
PCMA, telephone-event at 48 and 8 kHz), for ``"video"`` VP8, VP9, H.264 (42001f, 42e01f)
each followed by its ``video/rtx``, and AV1 (receiver only);
``transceiver.setCodecPreferences(codecs)`` limits and orders the codecs of the next offer or
answer (an empty list resets). Codecs are matched by mimeType (case-insensitive), clockRate,
channels when given, and sdpFmtpLine when given (as a set of parameters; for H.264 its profile
and packetization mode); aiortc's ``RTCRtpCodecCapability`` (``parameters``, no sdpFmtpLine)
is accepted too. A codec we do not have, or a list without an audio codec (only
telephone-event), raises :class:`InvalidModificationError` (a ValueError, which is what aiortc
raises). ``video/rtx`` entries in a video list are accepted and ignored: each codec keeps its
own RTX type.

Left out: ``getParameters``/``setParameters``, simulcast.
"""

from __future__ import annotations

import asyncio
import random
import weakref
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pywebrtc.events import EventEmitter
from pywebrtc.exceptions import (
    InvalidCharacterError,
    InvalidModificationError,
    InvalidStateError,
)
from pywebrtc.jsep import video as jsep_video
from pywebrtc.jsep.audio import (
    OFFER_CODECS,
    OFFER_EXTENSIONS,
    NegotiatedAudio,
    RemoteAudio,
)
from pywebrtc.jsep.video import NegotiatedVideo, RemoteVideo
from pywebrtc.media import (
    AudioCodec,
    AudioSession,
    EncodedAudioTrack,
    EncodedVideoTrack,
    MediaStreamTrack,
    RemoteAudioTrack,
    RemoteVideoTrack,
)
from pywebrtc.media.dtmf import validate_tones
from pywebrtc.media.video import VideoCodec

if TYPE_CHECKING:
    from pywebrtc.videoplane import VideoLink

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


def _fmtp_line(codec: AudioCodec | VideoCodec) -> str | None:
    line = ";".join(f"{k}={v}" if v else k for k, v in codec.parameters.items())
    return line or None


def _capability(codec: AudioCodec | VideoCodec) -> RTCRtpCodecCapability:
    if isinstance(codec, VideoCodec):
        return RTCRtpCodecCapability(
            f"video/{codec.name}", jsep_video.VIDEO_CLOCK_RATE, None, _fmtp_line(codec)
        )
    return RTCRtpCodecCapability(
        f"audio/{codec.name}", codec.clock_rate, codec.channels, _fmtp_line(codec)
    )


def get_capabilities(kind: str, send: bool = False) -> RTCRtpCapabilities | None:
    """What we send (``send``) or receive of ``kind``; None for kinds we do not support (W3C
    null)."""
    if kind == "video":
        codecs: list[RTCRtpCodecCapability] = []
        for codec in jsep_video.OFFER_CODECS:
            if send and codec.key not in jsep_video.SEND_KEYS:
                continue
            codecs.append(_capability(codec))
            if codec.rtx_payload_type is not None:
                apt = f"apt={codec.payload_type}"
                codecs.append(RTCRtpCodecCapability("video/rtx", 90000, None, apt))
        return RTCRtpCapabilities(
            codecs,
            [RTCRtpHeaderExtensionCapability(uri) for _, uri in jsep_video.OFFER_EXTENSIONS],
        )
    if kind != "audio":
        return None
    return RTCRtpCapabilities(
        [_capability(c) for c in OFFER_CODECS],
        [RTCRtpHeaderExtensionCapability(uri) for _, uri in OFFER_EXTENSIONS],
    )


def _fmtp_map(line: str) -> dict[str, str]:
    pairs = (p.strip().split("=", 1) for p in line.split(";") if p.strip())
    return {p[0].strip().lower(): (p[1].strip() if len(p) > 1 else "") for p in pairs}


def _parameters(line: str) -> set[str]:
    return {p.strip().lower() for p in line.split(";") if p.strip()}


def _match(capability: object) -> AudioCodec | VideoCodec | None:
    """The codec of ours that ``capability`` (ours, aiortc's, or a dict) names; None for a
    ``video/rtx`` entry (RTX follows its codec)."""

    def get(name: str) -> object:
        if isinstance(capability, dict):
            return capability.get(name)
        return getattr(capability, name, None)

    mime, rate = get("mimeType"), get("clockRate")
    channels, fmtp = get("channels"), get("sdpFmtpLine")
    if isinstance(mime, str) and "/" in mime and isinstance(rate, int):
        kind, name = mime.lower().split("/", 1)
        if kind == "video" and name == "rtx":
            return None
        if kind == "video" and rate == jsep_video.VIDEO_CLOCK_RATE:
            params = get("parameters")  # aiortc's capability: a dict, no sdpFmtpLine
            if fmtp is not None:
                params = _fmtp_map(str(fmtp))
            for video in jsep_video.OFFER_CODECS:
                if name != video.key:
                    continue
                if isinstance(params, dict) and params and not jsep_video.same_video_codec(
                    video, VideoCodec(video.name, 0, {str(k): str(v) for k, v in params.items()})
                ):
                    continue
                return video
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
        self._sender_ref = weakref.ref(sender)  # (the sender holds this: no cycle)
        # Set by the peer connection: hands (tones, duration, gap) to the running session.
        self._insert: Callable[[str, int, int], None] | None = None

    def _transceiver(self) -> RTCRtpTransceiver | None:
        sender = self._sender_ref()
        return sender._transceiver if sender is not None else None

    def _session(self) -> AudioSession | None:
        transceiver = self._transceiver()
        return transceiver.session if transceiver is not None else None

    @property
    def canInsertDTMF(self) -> bool:
        """W3C "determine if DTMF can be sent": a track, a sending current direction, and a
        telephone-event the peer negotiated."""
        transceiver = self._transceiver()
        if transceiver is None or transceiver.stopped or transceiver.sender.track is None:
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
        transceiver = self._transceiver()
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
        return get_capabilities(kind, send=True)

    def __init__(self, track: MediaStreamTrack | None, kind: str = "audio") -> None:
        self.kind = kind
        self.track = track
        self._transceiver: RTCRtpTransceiver | None = None
        self.dtmf: RTCDTMFSender | None = RTCDTMFSender(self) if kind == "audio" else None
        # RFC 3550 §8.1: a random 32-bit SSRC (0 avoided: some stacks treat it as unset).
        self.ssrc = random.randint(1, 0xFFFFFFFF)
        # Video: the RFC 4588 retransmission stream's SSRC (a=ssrc-group:FID).
        self.rtx_ssrc = random.randint(1, 0xFFFFFFFF) if kind == "video" else 0
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
        self.track: RemoteAudioTrack | EncodedAudioTrack | RemoteVideoTrack | EncodedVideoTrack
        if kind == "video":
            self.track = RemoteVideoTrack() if decode else EncodedVideoTrack()
        else:
            self.track = RemoteAudioTrack() if decode else EncodedAudioTrack()


class RTCRtpTransceiver:
    """One audio or video m-section: ``kind``, ``mid``, ``direction``, ``currentDirection``,
    sender, receiver."""

    # Slots, not a __dict__: read per packet (session, forwarded_by, receiver).
    __slots__ = (
        "_direction", "_on_negotiation", "_on_stop", "codec_preferences", "currentDirection",
        "forwarded_by", "kind", "mid", "negotiated", "offered_direction", "receiver",
        "remote_offered", "remote_section", "send_task", "sender", "session", "stopped",
        "track_fired", "used_for_sending", "video",
    )  # fmt: skip

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
        self.negotiated: NegotiatedAudio | NegotiatedVideo | None = None
        self.remote_section: RemoteAudio | RemoteVideo | None = None  # the last remote's
        self.remote_offered = False  # ... and whether it was an offer
        self.session: AudioSession | None = None  # audio
        self.video: VideoLink | None = None  # video: its session, codecs and tasks
        self.send_task: asyncio.Future[None] | None = None
        # Senders of the same connection whose track is this receiver's raw track: each
        # received packet is sent on them directly, not through the track (MediaPlane).
        self.forwarded_by: tuple[RTCRtpTransceiver, ...] = ()
        self.track_fired = False
        self.used_for_sending = sender.track is not None
        self.offered_direction: str | None = None  # in our last local offer
        # ours, in order; () = defaults
        self.codec_preferences: tuple[AudioCodec, ...] | tuple[VideoCodec, ...] = ()
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
        video: list[VideoCodec] = []
        for capability in codecs:
            codec = _match(capability)
            if isinstance(codec, VideoCodec):
                if self.kind != "video":
                    raise InvalidModificationError(f"a video codec for an {self.kind} section")
                if codec not in video:
                    video.append(codec)
            elif codec is not None:
                if self.kind != "audio":
                    raise InvalidModificationError(f"an audio codec for a {self.kind} section")
                if codec not in chosen:  # a repeat keeps its first place
                    chosen.append(codec)
        if self.kind == "video":
            if codecs and not video:
                raise InvalidModificationError("the preferences hold no video codec")
            self.codec_preferences = tuple(video)
            return
        if chosen and all(c.key == "telephone-event" for c in chosen):
            raise InvalidModificationError("the preferences hold no audio codec")
        self.codec_preferences = tuple(chosen)

    def detach(self) -> None:
        """The peer connection is closed (this transceiver is stopped): let go of its
        callbacks, and the sender of this transceiver, so that none of them waits for the
        cyclic collector. DTMF answers as it does for any stopped transceiver."""
        self._on_stop = self._on_negotiation = None
        sender = self.sender
        sender._on_change = None
        sender._transceiver = None
        if sender.dtmf is not None:
            sender.dtmf._insert = None

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
