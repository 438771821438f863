"""The voice agent's engines alone (agent/engines/): recognition per utterance, synthesis to the
first chunk, voice activity per 32 ms frame, model load time and resident memory. No peer: these
are the parts of the agent's per-turn latency that the transport does not add.

Times are CPU-seconds of this process (the neural engines run on one thread, so on a quiet host
that is their wall time too), except espeak-ng's, which runs in a child and is timed by the
wall clock. The utterances are piper's voice, 2-4 s each, resampled to 16 kHz by sox.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial

from agent.engines.energy import EnergyDetector
from agent.engines.espeak import EspeakSynthesizer
from agent.engines.piper import PiperSynthesizer
from agent.engines.pocketsphinx import PocketsphinxRecognizer
from agent.engines.silero import SileroDetector
from agent.engines.whisper import WhisperRecognizer
from bench.harness import Case, Scenario, ops_per_second

UTTERANCES = (
    "What is twelve times thirty four?",
    "Please tell me what the time is right now.",
    "Repeat after me, the quick brown fox jumps over the lazy dog.",
)
SHORT = "Hello there."


def _resample(pcm: bytes, rate: int) -> bytes:
    raw = ["-t", "raw", "-e", "signed", "-b", "16", "-c", "1"]
    return subprocess.run(
        ["sox", *raw, "-r", str(rate), "-", *raw, "-r", "16000", "-"],
        input=pcm, capture_output=True, check=True,
    ).stdout


def _cpu(op: Callable[[], object]) -> float:
    start = time.process_time()
    op()
    return time.process_time() - start


def _wall(op: Callable[[], object]) -> float:
    start = time.perf_counter()
    op()
    return time.perf_counter() - start


def _first_chunk(synthesizer: PiperSynthesizer | EspeakSynthesizer, clock: str) -> float:
    stream = synthesizer.synthesize(SHORT)
    timer = time.process_time if clock == "cpu" else time.perf_counter
    start = timer()
    next(stream)
    elapsed = timer() - start
    stream.close()
    return elapsed * 1000


# Loaded in a fresh interpreter, so each figure is one engine's own load time and memory.
_CHILD = """
import resource, sys, time
import numpy
from agent.engines import {module} as engine
rss = lambda: int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize()
before, start = rss(), time.process_time()
engine.{cls}()
print(time.process_time() - start, (rss() - before) / 2**20)
"""
_ENGINES = {
    "whisper tiny.en int8": ("whisper", "WhisperRecognizer"),
    "piper joe-medium": ("piper", "PiperSynthesizer"),
    "silero": ("silero", "SileroDetector"),
    "pocketsphinx": ("pocketsphinx", "PocketsphinxRecognizer"),
}


def _load(name: str, which: int) -> float:
    module, cls = _ENGINES[name]
    out = subprocess.run(
        [sys.executable, "-c", _CHILD.format(module=module, cls=cls)],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    return float(out[which]) * (1000 if which == 0 else 1)


def scenario() -> Scenario:
    whisper = WhisperRecognizer(threads=1, beam_size=1)
    whisper_full = WhisperRecognizer(threads=1, beam_size=1, full_window=True)
    sphinx = PocketsphinxRecognizer()
    piper = PiperSynthesizer(threads=1)
    espeak = EspeakSynthesizer()
    silero = SileroDetector()
    energy = EnergyDetector()
    speech = [
        _resample(b"".join(piper.synthesize(text)), piper.sample_rate) for text in UTTERANCES
    ]
    seconds = ", ".join(f"{len(pcm) / 32000:.1f}" for pcm in speech)
    frames = [speech[0][i : i + 1024] for i in range(0, len(speech[0]) - 1023, 1024)]
    index = [0]

    def next_frame() -> bytes:
        index[0] = (index[0] + 1) % len(frames)
        return frames[index[0]]

    cases = [
        *(
            Case(f"whisper: utterance {i + 1} ({len(pcm) / 32000:.1f} s), 1 thread, beam 1",
                 partial(_cpu, partial(whisper.transcribe, pcm)),
                 unit="CPU s", higher_is_better=False)
            for i, pcm in enumerate(speech)
        ),
        *(
            Case(f"whisper, full 30 s window: utterance {i + 1}",
                 partial(_cpu, partial(whisper_full.transcribe, pcm)),
                 unit="CPU s", higher_is_better=False)
            for i, pcm in enumerate(speech)
        ),
        Case("whisper: utterance 1, wall clock", lambda: _wall(lambda: whisper.transcribe(
            speech[0])), unit="s", higher_is_better=False),
        Case("pocketsphinx: utterance 1", lambda: _cpu(lambda: sphinx.transcribe(speech[0])),
             unit="CPU s", higher_is_better=False),
        Case(f"piper: first chunk of '{SHORT}'", lambda: _first_chunk(piper, "cpu"),
             unit="CPU ms", higher_is_better=False),
        Case(f"piper: first chunk of '{SHORT}', wall clock",
             lambda: _first_chunk(piper, "wall"), unit="ms", higher_is_better=False),
        Case(f"espeak-ng: first chunk of '{SHORT}', wall clock",
             lambda: _first_chunk(espeak, "wall"), unit="ms", higher_is_better=False),
        Case("silero: one 32 ms frame",
             lambda: 1e6 / ops_per_second(lambda: silero.speech_probability(next_frame())),
             unit="CPU µs", higher_is_better=False),
        Case("energy: one 32 ms frame",
             lambda: 1e6 / ops_per_second(lambda: energy.speech_probability(next_frame())),
             unit="CPU µs", higher_is_better=False),
        *(
            Case(f"load {name}", partial(_load, name, 0), unit="CPU ms",
                 higher_is_better=False)
            for name in _ENGINES
        ),
        *(
            Case(f"RSS added by {name}", partial(_load, name, 1), unit="MiB",
                 higher_is_better=False)
            for name in _ENGINES
        ),
    ]
    return Scenario(
        "engines",
        "The voice agent's engines alone: recognition, synthesis, voice activity, loading.",
        cases,
        repeats=5,
        notes=[f"utterances (piper's voice): {seconds} s", "no peer: nothing to compare with"],
    )
