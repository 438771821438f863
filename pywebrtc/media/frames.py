"""Helpers between PyAV audio frames and 16-bit PCM (the format every codec here works in)."""

from __future__ import annotations

import fractions
from array import array

import av

__all__ = ["FrameConverter", "pcm_frame", "scale_pcm"]

_TIME_BASES: dict[int, fractions.Fraction] = {}


def time_base(rate: int) -> fractions.Fraction:
    tb = _TIME_BASES.get(rate)
    if tb is None:
        tb = _TIME_BASES[rate] = fractions.Fraction(1, rate)
    return tb


def pcm_frame(pcm: bytes, rate: int, channels: int, pts: int | None) -> av.AudioFrame:
    """An interleaved s16 frame holding ``pcm`` (native endian)."""
    samples = len(pcm) // (2 * channels)
    frame = av.AudioFrame(
        format="s16", layout="stereo" if channels == 2 else "mono", samples=samples
    )
    frame.planes[0].update(pcm)
    frame.sample_rate = rate
    frame.pts = pts
    frame.time_base = time_base(rate)
    return frame


def scale_pcm(pcm: bytes, gain: float) -> bytes:
    """``pcm`` (s16) multiplied by ``gain`` (0..1)."""
    if gain <= 0:
        return bytes(len(pcm))
    samples = array("h")
    samples.frombytes(pcm)
    return array("h", [int(s * gain) for s in samples]).tobytes()


class FrameConverter:
    """Turns any audio frame into packed s16 PCM at one rate and layout, in chunks of exactly
    ``frame_size`` samples (PyAV's resampler buffers the remainder). Frames already in the
    target format and size skip the resampler."""

    def __init__(self, rate: int, channels: int, frame_size: int) -> None:
        self.rate = rate
        self.channels = channels
        self.layout = "stereo" if channels == 2 else "mono"
        self.frame_size = frame_size
        self._resampler: av.AudioResampler | None = None

    def frames(self, frame: av.AudioFrame) -> list[av.AudioFrame]:
        """``frame`` as s16 frames of exactly ``frame_size`` samples (maybe none yet)."""
        if (
            self._resampler is None
            and frame.format.name == "s16"
            and frame.sample_rate == self.rate
            and frame.layout.name == self.layout
            and frame.samples == self.frame_size
        ):
            return [frame]
        if self._resampler is None:
            self._resampler = av.AudioResampler(
                format="s16", layout=self.layout, rate=self.rate, frame_size=self.frame_size
            )
        return list(self._resampler.resample(frame))

    def convert(self, frame: av.AudioFrame) -> list[bytes]:
        """Like :meth:`frames`, as packed PCM bytes."""
        size = self.frame_size * 2 * self.channels
        return [bytes(f.planes[0])[:size] for f in self.frames(frame)]
