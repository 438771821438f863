"""Audio media: tracks (aiortc-shaped), codecs (Opus via PyAV, PCMU/PCMA), and the per-session
send/receive pipeline (:class:`AudioSession`). :class:`VideoStreamTrack` is here for apps that
make and consume video frames; the peer connection does not send video yet.

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
    MediaStreamError,
    MediaStreamTrack,
    RemoteAudioTrack,
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
    "EncodedReceived",
    "FrameReceived",
    "InvalidCharacterError",
    "MediaStreamError",
    "MediaStreamTrack",
    "PassThroughSession",
    "RemoteAudioTrack",
    "RemoteEnded",
    "SessionEvent",
    "TelephoneEvent",
    "ToneChange",
    "Transmit",
    "VideoStreamTrack",
    "create_decoder",
    "create_encoder",
]
