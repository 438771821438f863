"""Test helpers: sine frames and a frequency estimate by zero crossings (numpy is not
installed)."""

from __future__ import annotations

import math
from array import array

import av

from pywebrtc.media.frames import pcm_frame


def sine_frame(index: int, freq: float = 440.0, rate: int = 48000, samples: int = 960,
               channels: int = 1, amplitude: int = 12000) -> av.AudioFrame:  # fmt: skip
    start = index * samples
    values = array("h")
    for n in range(start, start + samples):
        v = int(amplitude * math.sin(2 * math.pi * freq * n / rate))
        values.extend([v] * channels)
    return pcm_frame(values.tobytes(), rate, channels, start)


def mono_samples(frames: list[av.AudioFrame]) -> array[int]:
    out = array("h")
    for f in frames:
        channels = len(f.layout.channels)
        data = array("h")
        data.frombytes(bytes(f.planes[0])[: f.samples * 2 * channels])
        out.extend(data[::channels])
    return out


def zero_crossing_frequency(samples: array[int], rate: int) -> float:
    crossings = sum(1 for a, b in zip(samples, samples[1:], strict=False) if a < 0 <= b)
    return crossings * rate / len(samples)
