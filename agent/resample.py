"""Sample-rate conversion of mono s16 PCM, for the agent's one conversion in and one out.

A thin stateful wrapper over PyAV's ``AudioResampler`` (libswresample: a windowed-sinc filter,
so going down from 48 kHz does not fold the upper band into speech). Streaming: the filter's
state carries over between calls, and :meth:`Resampler.flush` gives the tail (a millisecond or
two) at the end of an utterance.
"""

from __future__ import annotations

import av

from pywebrtc.media.frames import pcm_frame


class Resampler:
    """Converts a stream of mono s16 PCM from ``source_rate`` to ``target_rate``."""

    __slots__ = ("source_rate", "target_rate", "_resampler", "_odd")

    def __init__(self, source_rate: int, target_rate: int) -> None:
        if source_rate <= 0 or target_rate <= 0:
            raise ValueError(f"sample rates must be positive: {source_rate} -> {target_rate}")
        self.source_rate = source_rate
        self.target_rate = target_rate
        self._resampler: av.AudioResampler | None = None
        self._odd = b""  # a trailing half sample, kept for the next call

    def push(self, pcm: bytes) -> bytes:
        """The converted samples available so far for ``pcm`` (any length)."""
        if self._odd:
            pcm = self._odd + pcm
            self._odd = b""
        if len(pcm) % 2:
            pcm, self._odd = pcm[:-1], pcm[-1:]
        if self.source_rate == self.target_rate or not pcm:
            return pcm
        if self._resampler is None:
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=self.target_rate)
        frames = self._resampler.resample(pcm_frame(pcm, self.source_rate, 1, None))
        return b"".join(bytes(f.planes[0])[: 2 * f.samples] for f in frames)

    def flush(self) -> bytes:
        """The samples still held in the filter; the resampler then starts afresh."""
        self._odd = b""
        if self._resampler is None:
            return b""
        frames = self._resampler.resample(None)
        self._resampler = None  # libswresample cannot be fed after a flush
        return b"".join(bytes(f.planes[0])[: 2 * f.samples] for f in frames)
