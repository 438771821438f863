"""A tone track and a frequency estimate for audio tests (stdlib only: no numpy)."""

from __future__ import annotations

import array
import asyncio
import math
import statistics
from typing import Any

import av

from pywebrtc import AudioStreamTrack
from pywebrtc.media.frames import pcm_frame


class ToneTrack(AudioStreamTrack):
    """A sine tone, 48 kHz mono s16, paced in real time by AudioStreamTrack's 20 ms clock."""

    def __init__(self, frequency: float, amplitude: float = 0.3) -> None:
        super().__init__()
        self.frequency = frequency
        self.amplitude = amplitude
        self.frames_sent = 0

    async def recv(self) -> av.AudioFrame:
        pts, _ = await self.next_timestamp()
        samples = self.sample_rate // 50
        step = 2 * math.pi * self.frequency / self.sample_rate
        scale = 32767 * self.amplitude
        pcm = array.array("h", (int(scale * math.sin(step * (pts + i))) for i in range(samples)))
        self.frames_sent += 1
        return pcm_frame(pcm.tobytes(), self.sample_rate, 1, pts)


def mono_samples(frame: av.AudioFrame) -> list[int]:
    """The first channel of a packed s16 frame."""
    assert frame.format.name == "s16", frame.format.name
    channels = len(frame.layout.channels)
    data = array.array("h", bytes(frame.planes[0])[: 2 * frame.samples * channels])
    return list(data[::channels])


def dominant_frequency(samples: list[int], rate: int) -> float:
    """Frequency of a (mostly) pure tone from the median interval between its rising zero
    crossings: a gap (a lost packet concealed under load, a path switch) is one long interval
    and does not pull the estimate, as an average over the whole window would."""
    crossings = [
        i - samples[i] / (samples[i] - samples[i - 1])  # interpolated: sub-sample position
        for i in range(1, len(samples))
        if samples[i - 1] < 0 <= samples[i]
    ]
    if len(crossings) < 3:
        return 0.0
    return rate / statistics.median(b - a for a, b in zip(crossings, crossings[1:], strict=False))


def loud(samples: list[int], threshold: int = 1000) -> bool:
    return max((abs(s) for s in samples), default=0) >= threshold


async def tone_of(track: Any, seconds: float = 0.6, timeout: float = 20.0) -> float:
    """The frequency of ``seconds`` of decoded, non-silent audio from ``track`` (a pywebrtc or
    an aiortc remote track: both give PyAV frames); the first 0.1 s is skipped as the decoder
    settles."""
    samples: list[int] = []
    rate = 48000
    while len(samples) < seconds * rate:
        frame = await asyncio.wait_for(track.recv(), timeout)
        assert isinstance(frame, av.AudioFrame)
        rate = frame.sample_rate
        chunk = mono_samples(frame)
        if samples or loud(chunk):
            samples.extend(chunk)
    return dominant_frequency(samples[rate // 10 :], rate)
