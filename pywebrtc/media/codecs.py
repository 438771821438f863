"""The encoder and decoder for a negotiated codec (the interface is :mod:`pywebrtc.media.codec`).

:func:`create_encoder` and :func:`create_decoder` return the implementation for a codec name:
Opus (libopus directly when it loads, :mod:`pywebrtc.media.libopus`: PLC and FEC when decoding,
loss-driven FEC and DTX when encoding; PyAV otherwise, :mod:`pywebrtc.media.opus`), PCMU and
PCMA (:mod:`pywebrtc.media.g711`).
"""

from __future__ import annotations

from .codec import AudioCodec, AudioDecoder, AudioEncoder
from .g711 import G711Decoder, G711Encoder
from .libopus import LibopusDecoder, LibopusEncoder, load_libopus
from .opus import OpusDecoder, OpusEncoder

__all__ = ["create_decoder", "create_encoder", "create_opus_encoder"]


def create_encoder(codec: AudioCodec, *, bitrate: int = 32000, channels: int = 0) -> AudioEncoder:
    """An encoder for ``codec`` with default settings (``bitrate`` and ``channels`` apply to
    Opus; :class:`~pywebrtc.media.opus.OpusEncoder` has the other knobs)."""
    key = codec.key
    if key == "opus":
        return create_opus_encoder(codec, bitrate=bitrate, channels=channels)
    if key in ("pcmu", "pcma"):
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
    if load_libopus() is not None:
        return LibopusEncoder(
            codec, bitrate=bitrate, channels=channels, fec=fec, dtx=dtx,
            complexity=complexity, application=application,
        )  # fmt: skip
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
            if backend == "libopus" or load_libopus() is not None:
                return LibopusDecoder(codec, channels=channels)
        elif backend != "pyav":
            raise ValueError("Opus decoder backend is auto, libopus or pyav")
        return OpusDecoder(codec, channels=channels)
    if key in ("pcmu", "pcma"):
        return G711Decoder(codec)
    raise ValueError(f"no decoder for {codec.name}")
