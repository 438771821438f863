"""What the audio interop tests of every peer share: the frequency of the tone a remote track
carries, as we decode it."""

from __future__ import annotations

import asyncio
from typing import Any

import av

from conformance.channels import TIMEOUT
from tests.peerconnection.audio_helpers import dominant_frequency, loud, mono_samples


async def heard(track: Any, seconds: float = 0.6) -> float:
    """The frequency of ``seconds`` of decoded, non-silent audio from ``track`` (a pywebrtc or
    an aiortc remote track: both give PyAV frames); the first 0.1 s is skipped as the decoder
    settles."""
    samples: list[int] = []
    rate = 48000
    while len(samples) < seconds * rate:
        frame = await asyncio.wait_for(track.recv(), TIMEOUT)
        assert isinstance(frame, av.AudioFrame)
        rate = frame.sample_rate
        chunk = mono_samples(frame)
        if samples or loud(chunk):
            samples.extend(chunk)
    return dominant_frequency(samples[rate // 10 :], rate)
