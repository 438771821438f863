"""The one conversion in (48 kHz → the engines' rate) and the one out (synthesiser → 48 kHz)."""

from __future__ import annotations

import struct

import pytest

from agent.resample import Resampler

from .fakes import tone


def crossings(pcm: bytes) -> int:
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm)
    return sum(1 for a, b in zip(samples, samples[1:], strict=False) if a < 0 <= b)


@pytest.mark.parametrize(
    ("source", "target"),
    [(48000, 16000), (48000, 24000), (22050, 48000), (16000, 48000), (24000, 48000)],
)
def test_streamed_conversion_keeps_length_and_pitch(source: int, target: int) -> None:
    second = tone(1.0, source, 440.0)
    resampler = Resampler(source, target)
    step = 2 * (source // 50)  # 20 ms pieces
    out = b"".join(resampler.push(second[i : i + step]) for i in range(0, len(second), step))
    out += resampler.flush()
    assert abs(len(out) // 2 - target) <= 2  # one second in, one second out
    assert abs(crossings(out) - 440) <= 2  # the same tone


def test_downsampling_filters_what_the_new_rate_cannot_hold() -> None:
    # a 12 kHz tone at 48 kHz has no place at 16 kHz (Nyquist 8 kHz): it must not fold to 4 kHz
    out = Resampler(48000, 16000).push(tone(0.5, 48000, 12000.0, 8000))
    samples = struct.unpack(f"<{len(out) // 2}h", out)[200:]
    assert max(abs(s) for s in samples) < 800


def test_same_rate_passes_through_and_half_samples_wait() -> None:
    resampler = Resampler(16000, 16000)
    assert resampler.push(b"\x01\x02\x03") == b"\x01\x02"
    assert resampler.push(b"\x04") == b"\x03\x04"
    assert resampler.flush() == b""
    odd = Resampler(48000, 16000)
    total = odd.push(tone(0.1)[:-1]) + odd.push(b"\0") + odd.flush()
    assert abs(len(total) // 2 - 1600) <= 2


def test_flush_starts_afresh() -> None:
    resampler = Resampler(22050, 48000)
    first = resampler.push(tone(0.1, 22050)) + resampler.flush()
    second = resampler.push(tone(0.1, 22050)) + resampler.flush()
    assert first == second and abs(len(first) // 2 - 4800) <= 2
    with pytest.raises(ValueError):
        Resampler(0, 48000)
