"""Audio media: tracks (aiortc-shaped), codecs (Opus via PyAV, PCMU/PCMA), and the per-session
send/receive pipeline (:class:`AudioSession`). :class:`VideoStreamTrack` is here for apps that
make video frames; :class:`RemoteVideoTrack` is what the peer connection hands out for received
video (the codecs and the video RTP session are in :mod:`pywebrtc.media.video`).

Everything except :class:`AudioStreamTrack`'s pacer and the track queues is sans-IO.
"""

from .codec import OPUS, PCMA, PCMU, AudioCodec, AudioDecoder, AudioEncoder, EncodedPacket
from .codecs import create_decoder, create_encoder
from .dtmf import DtmfPlayout, InvalidCharacterError, ToneChange
from .passthrough import PassThroughSession
from .pipeline import (
    AudioSession,
    AudioSessionConfig,
    DropCounters,
    EncodedReceived,
    FrameReceived,
    RemoteEnded,
    SessionEvent,
    TelephoneEvent,
    Transmit,
)
from .track import (
    AudioStreamTrack,
    EncodedAudioTrack,
    EncodedVideoTrack,
    MediaStreamError,
    MediaStreamTrack,
    RemoteAudioTrack,
    RemoteVideoTrack,
    VideoStreamTrack,
)

__all__ = [
    "OPUS",
    "PCMA",
    "PCMU",
    "AudioCodec",
    "AudioDecoder",
    "AudioEncoder",
    "AudioSession",
    "AudioSessionConfig",
    "AudioStreamTrack",
    "DropCounters",
    "DtmfPlayout",
    "EncodedAudioTrack",
    "EncodedPacket",
    "EncodedVideoTrack",
    "EncodedReceived",
    "FrameReceived",
    "InvalidCharacterError",
    "MediaStreamError",
    "MediaStreamTrack",
    "PassThroughSession",
    "RemoteAudioTrack",
    "RemoteEnded",
    "RemoteVideoTrack",
    "SessionEvent",
    "TelephoneEvent",
    "ToneChange",
    "Transmit",
    "VideoStreamTrack",
    "create_decoder",
    "create_encoder",
]
