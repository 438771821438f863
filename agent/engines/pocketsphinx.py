"""Speech to text with CMU PocketSphinx and the US English acoustic model, dictionary and
trigram language model that the ``pocketsphinx`` PyPI package bundles. Far less accurate than
whisper (it misses short words and mishears espeak-ng's voice), but it is the official project's
own package and model and it is quick: the fallback recogniser.
"""

from __future__ import annotations

import logging
import threading

from agent.engines import EngineUnavailable

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000


class PocketsphinxRecognizer:
    """:class:`agent.interfaces.Recognizer` over a pocketsphinx ``Decoder`` with its default
    (bundled) model. A decoder holds one utterance at a time, so calls are serialised."""

    sample_rate = SAMPLE_RATE

    def __init__(self) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError as exc:
            raise EngineUnavailable("pocketsphinx is not installed") from exc
        self._decoder = Decoder(samprate=SAMPLE_RATE, loglevel="ERROR")
        self._lock = threading.Lock()

    def transcribe(self, pcm: bytes) -> str:
        if not pcm:
            return ""
        with self._lock:
            self._decoder.start_utt()
            self._decoder.process_raw(pcm, full_utt=True)
            self._decoder.end_utt()
            hypothesis = self._decoder.hyp()
        return "" if hypothesis is None else str(hypothesis.hypstr)
