"""The four seams of the voice agent. Each is a small Protocol so an engine can be swapped
without touching the pipeline; the engines shipped here live in :mod:`agent.engines`.

Audio crossing a seam is mono signed 16-bit little-endian PCM (``bytes``) at the rate the engine
declares in ``sample_rate``; the pipeline resamples once on the way in (48 kHz Opus → the
detector's and recogniser's rate) and once on the way out (synthesiser's rate → 48 kHz).

Engines may block (model inference); the pipeline calls ``transcribe`` and ``synthesize`` off the
event loop. ``SpeechDetector.speech_probability`` is cheap and is called inline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol


class SpeechDetector(Protocol):
    """Voice activity: the probability that one frame holds speech."""

    sample_rate: int  # e.g. 16000
    frame_samples: int  # samples per call, e.g. 512 (32 ms at 16 kHz)

    def speech_probability(self, pcm: bytes) -> float:
        """``pcm`` is exactly ``frame_samples`` samples; returns 0.0..1.0."""
        ...

    def reset(self) -> None:
        """Forget recurrent state (a new turn or a new session)."""
        ...


class Recognizer(Protocol):
    """Speech to text for one finished utterance."""

    sample_rate: int

    def transcribe(self, pcm: bytes) -> str:
        """The words in ``pcm`` (may be empty). Blocking."""
        ...


@dataclass(frozen=True, slots=True)
class Message:
    """One conversation item as the brain sees it."""

    role: Literal["user", "assistant", "system"]
    text: str


class Brain(Protocol):
    """Text in, reply text out, streamed in pieces (any split; the pipeline finds sentences)."""

    def reply(self, history: Sequence[Message]) -> AsyncIterator[str]:
        """Reply to the last user message of ``history`` (which may begin with the session's
        instructions as a ``system`` message)."""
        ...


class Synthesizer(Protocol):
    """Text to speech, one sentence at a time."""

    sample_rate: int

    def synthesize(self, text: str) -> Iterator[bytes]:
        """PCM chunks for ``text``, the first as soon as the engine has it. Blocking."""
        ...
