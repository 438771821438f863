"""``pywebrtc-signaling --app agent``: the voice agent with the best engines installed here.

:func:`build` picks the engines (:func:`agent.engines.default_engines`: silero, whisper and
piper from the ``agent`` extra, else energy, pocketsphinx and espeak-ng), loads the shared
recogniser and synthesiser once, and gives each session its own speech detector. The brain is
the offline :class:`~agent.brain.OfflineBrain`, or with ``llm_url`` a
:class:`~agent.llm.ChatBrain` on any OpenAI-compatible chat-completions endpoint (key from
``PYWEBRTC_LLM_API_KEY`` or ``OPENAI_API_KEY``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

from agent.app import AgentApp, Engines
from agent.brain import OfflineBrain
from agent.engines import DETECTORS, default_engines
from agent.interfaces import Brain, Recognizer, Synthesizer
from agent.llm import ChatBrain
from agent.resample import Resampler

logger = logging.getLogger(__name__)


class AgentUnavailable(ValueError):
    """No recogniser or no synthesiser is installed."""


def build(
    prefer: Iterable[str] = (),
    threads: int = 1,
    llm_url: str | None = None,
    llm_model: str | None = None,
) -> AgentApp:
    chosen = default_engines(prefer, threads)
    if chosen.recognizer is None or chosen.synthesizer is None:
        raise AgentUnavailable(
            "the voice agent needs a recogniser and a synthesiser: install the agent extra "
            "(make demo does) or espeak-ng and pocketsphinx"
        )
    warm_up(chosen.recognizer, chosen.synthesizer)
    make_detector = DETECTORS[chosen.names["detector"]]
    brain: Brain = OfflineBrain()
    if llm_url:
        key = os.environ.get("PYWEBRTC_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY")
        brain = ChatBrain(llm_url, llm_model or "gpt-4o-mini", api_key=key)
    logger.info("voice agent: %s, brain %s", chosen.names, type(brain).__name__)
    engines = Engines(lambda: make_detector(threads), chosen.recognizer, brain, chosen.synthesizer)
    return AgentApp(engines)


def warm_up(recognizer: Recognizer, synthesizer: Synthesizer) -> None:
    """One synthesis and one recognition before the first session: an engine's first call
    allocates and plans (whisper's is ~30% slower), and the first caller should not pay it."""
    resampler = Resampler(synthesizer.sample_rate, recognizer.sample_rate)
    pcm = b"".join(resampler.push(chunk) for chunk in synthesizer.synthesize("Hello there."))
    recognizer.transcribe(pcm + resampler.flush())
