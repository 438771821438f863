"""Audio codec descriptions and the encoder/decoder interface the pipelines use.

:class:`AudioCodec` is what offer/answer negotiated for one payload type (``a=rtpmap`` plus the
``a=fmtp`` parameters), independent of the SDP classes so that the media layer does not import
the signaling layer; :func:`AudioCodec.from_sdp_values` builds one from the rtpmap fields.
:func:`create_encoder` and :func:`create_decoder` return the implementation for a codec name:
Opus (libopus directly when it loads, :mod:`pywebrtc.media.libopus`: PLC and FEC when decoding,
loss-driven FEC and DTX when encoding; PyAV otherwise, :mod:`pywebrtc.media.opus`), PCMU and
PCMA (:mod:`pywebrtc.media.g711`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import av

__all__ = [
    "OPUS",
    "PCMA",
    "PCMU",
    "AudioCodec",
    "AudioDecoder",
    "AudioEncoder",
    "EncodedPacket",
    "create_decoder",
    "create_encoder",
    "create_opus_encoder",
]


@dataclass(frozen=True, slots=True)
class AudioCodec:
    """One negotiated audio payload format. ``parameters`` holds the fmtp key/values."""

    name: str  # "opus", "PCMU", "PCMA" (rtpmap encoding name; compared case-insensitively)
    payload_type: int
    clock_rate: int
    channels: int = 1
    parameters: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_sdp_values(
        cls, payload_type: int, encoding: str, clock_rate: int, channels: int | None,
        fmtp: Mapping[str, str] | None = None,
    ) -> AudioCodec:  # fmt: skip
        return cls(encoding, payload_type, clock_rate, channels or 1, dict(fmtp or {}))

    @property
    def key(self) -> str:
        return self.name.lower()

    def flag(self, name: str) -> bool:
        """An fmtp boolean (``useinbandfec=1``)."""
        return self.parameters.get(name, "0").strip() == "1"


OPUS = AudioCodec("opus", 111, 48000, 2, {"minptime": "10", "useinbandfec": "1"})
PCMU = AudioCodec("PCMU", 0, 8000)
PCMA = AudioCodec("PCMA", 8, 8000)


@dataclass(frozen=True, slots=True)
class EncodedPacket:
    """One encoded frame: ``media_time`` counts codec clock units from the stream start."""

    payload: bytes
    media_time: int
    duration: int


class AudioEncoder(Protocol):
    codec: AudioCodec

    def encode(self, frame: av.AudioFrame) -> list[EncodedPacket]: ...


class AudioDecoder(Protocol):
    codec: AudioCodec

    def decode(self, payload: bytes, timestamp: int) -> av.AudioFrame | None: ...

    def conceal(self, timestamp: int, next_payload: bytes | None) -> av.AudioFrame | None: ...


def create_encoder(codec: AudioCodec, *, bitrate: int = 32000, channels: int = 0) -> AudioEncoder:
    """An encoder for ``codec`` with default settings (``bitrate`` and ``channels`` apply to
    Opus; :class:`~pywebrtc.media.opus.OpusEncoder` has the other knobs)."""
    key = codec.key
    if key == "opus":
        return create_opus_encoder(codec, bitrate=bitrate, channels=channels)
    if key in ("pcmu", "pcma"):
        from .g711 import G711Encoder

        return G711Encoder(codec)
    raise ValueError(f"no encoder for {codec.name}")


def create_opus_encoder(
    codec: AudioCodec,
    *,
    bitrate: int = 32000,
    channels: int = 0,
    fec: bool | None = None,
    dtx: bool | None = None,
    complexity: int = 5,
    application: str = "audio",
) -> AudioEncoder:
    """Opus through libopus directly (:class:`~pywebrtc.media.libopus.LibopusEncoder`: the
    expected loss follows RTCP, DTX) when it loads, else through PyAV (fixed settings, no DTX).
    """
    from .libopus import LibopusEncoder, load_libopus

    if load_libopus() is not None:
        return LibopusEncoder(
            codec, bitrate=bitrate, channels=channels, fec=fec, dtx=dtx,
            complexity=complexity, application=application,
        )  # fmt: skip
    from .opus import OpusEncoder

    return OpusEncoder(
        codec, bitrate=bitrate, channels=channels, fec=fec, complexity=complexity,
        application=application,
    )  # fmt: skip


def create_decoder(codec: AudioCodec, *, channels: int = 1, backend: str = "auto") -> AudioDecoder:
    """A decoder for ``codec``; ``channels`` sets the Opus output layout (G.711 is mono).

    Opus ``backend``: "libopus" decodes with libopus directly (real PLC and in-band FEC, see
    :mod:`pywebrtc.media.libopus`), "pyav" with PyAV (fade-out concealment, no FEC), "auto"
    the first when libopus loads.
    """
    key = codec.key
    if key == "opus":
        if backend in ("auto", "libopus"):
            from .libopus import LibopusDecoder, load_libopus

            if backend == "libopus" or load_libopus() is not None:
                return LibopusDecoder(codec, channels=channels)
        elif backend != "pyav":
            raise ValueError("Opus decoder backend is auto, libopus or pyav")
        from .opus import OpusDecoder

        return OpusDecoder(codec, channels=channels)
    if key in ("pcmu", "pcma"):
        from .g711 import G711Decoder

        return G711Decoder(codec)
    raise ValueError(f"no decoder for {codec.name}")
