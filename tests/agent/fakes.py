"""Tiny deterministic engines and a fake-clock driver for the agent pipeline's tests.

:class:`Driver` plays the shell: a microphone that sends a 20 ms frame every 20 ms (canned
speech, else silence), the engines run at once with fixed latencies on the fake clock, and
every event and frame is recorded with the time it left.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import struct
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from agent.brain import OfflineBrain
from agent.interfaces import Brain, Message
from agent.pipeline import (
    FRAME_BYTES,
    CancelJob,
    SendAudio,
    SendEvent,
    Synthesize,
    Think,
    Transcribe,
    VoicePipeline,
)

MIC_RATE = 48000
NOW = datetime(2026, 12, 7, 15, 45)  # the brain's clock
FRAME = 0.02


def tone(seconds: float, rate: int = MIC_RATE, hz: float = 220.0, amplitude: int = 8000) -> bytes:
    """A sine: the fakes' "speech"."""
    n = int(round(seconds * rate))
    return struct.pack(
        f"<{n}h", *(int(amplitude * math.sin(2 * math.pi * hz * i / rate)) for i in range(n))
    )


def silence(seconds: float, rate: int = MIC_RATE) -> bytes:
    return bytes(2 * int(round(seconds * rate)))


def level(pcm: bytes) -> float:
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm)
    return float(sum(abs(s) for s in samples)) / max(1, len(samples))


class FakeDetector:
    """Speech is loud: probability 0.9 above a mean level, else 0.05. 32 ms chunks at 16 kHz,
    like silero, so chunks straddle the 20 ms frames."""

    sample_rate = 16000
    frame_samples = 512

    def __init__(self) -> None:
        self.resets = 0
        self.chunks = 0

    def speech_probability(self, pcm: bytes) -> float:
        assert len(pcm) == 2 * self.frame_samples
        self.chunks += 1
        return 0.9 if level(pcm) > 1000 else 0.05

    def reset(self) -> None:
        self.resets += 1


class FakeRecognizer:
    """Returns the scripted transcripts in turn; keeps what it was given."""

    sample_rate = 16000

    def __init__(self, transcripts: Sequence[str]) -> None:
        self.transcripts = list(transcripts)
        self.heard: list[bytes] = []

    def transcribe(self, pcm: bytes) -> str:
        self.heard.append(pcm)
        return self.transcripts.pop(0) if self.transcripts else ""


class FakeSynthesizer:
    """80 ms of tone per word at 22,050 Hz (not a divisor of 48 kHz), in 40 ms chunks."""

    sample_rate = 22050
    word_seconds = 0.08

    def __init__(self) -> None:
        self.texts: list[str] = []

    def synthesize(self, text: str) -> Iterator[bytes]:
        self.texts.append(text)
        pcm = tone(self.word_seconds * len(text.split()), self.sample_rate, 440.0, 6000)
        chunk = 2 * int(0.04 * self.sample_rate)
        for start in range(0, len(pcm), chunk):
            yield pcm[start : start + chunk]


class ScriptedBrain:
    """Yields the given pieces, whatever was asked."""

    def __init__(self, pieces: Sequence[str]) -> None:
        self.pieces = list(pieces)
        self.histories: list[tuple[Message, ...]] = []

    async def reply(self, history: Sequence[Message]) -> AsyncIterator[str]:
        self.histories.append(tuple(history))
        for piece in self.pieces:
            yield piece


def run_brain(brain: Brain, history: tuple[Message, ...]) -> list[str]:
    """Drives a brain that never awaits anything, without an event loop."""
    stream = brain.reply(history)
    pieces = []
    while True:
        step = cast(Coroutine[object, object, str], stream.__anext__())
        try:
            step.send(None)
        except StopIteration as result:
            pieces.append(result.value)
        except StopAsyncIteration:
            return pieces
        else:
            raise AssertionError("the brain awaited something")


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    job_id: int = field(compare=False)
    kind: str = field(compare=False)  # "piece" | "done"
    value: str | bytes | None = field(compare=False)


class Driver:
    """The shell on a fake clock; see the module docstring."""

    def __init__(
        self,
        transcripts: Sequence[str] = (),
        brain: Brain | None = None,
        config: Mapping[str, object] | None = None,
        asr_delay: float = 0.3,
        brain_delay: float = 0.05,
        synth_delay: float = 0.03,
    ) -> None:
        self.now = 0.0
        self.detector = FakeDetector()
        self.recognizer = FakeRecognizer(transcripts)
        self.synthesizer = FakeSynthesizer()
        self.brain: Brain = brain or OfflineBrain(clock=lambda: NOW)
        self.delays = {"asr": asr_delay, "brain": brain_delay, "synth": synth_delay}
        self.pipeline = VoicePipeline(
            self.detector,
            self.recognizer.sample_rate,
            self.synthesizer.sample_rate,
            0.0,
            config=config,
            tag="t",
        )
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.frames: list[tuple[float, bytes]] = []
        self.jobs: list[tuple[float, object]] = []
        self.mic = bytearray()
        self._mic_frames = 0
        self._due: list[_Due] = []
        self._seq = itertools.count()
        self.drain()

    # the microphone
    def say(self, pcm: bytes) -> None:
        """Queues audio for the microphone (it sends silence when nothing is queued)."""
        self.mic += pcm

    def mic_time(self) -> float:
        """When the microphone's next frame is sent."""
        return self._mic_frames * FRAME

    def send(self, event: Mapping[str, object] | str) -> None:
        text = event if isinstance(event, str) else json.dumps(event)
        self.pipeline.receive_event(text, self.now)
        self.drain()

    def run(self, seconds: float) -> None:
        self.run_until(self.now + seconds)

    def run_until(self, end: float) -> None:
        while True:
            times = [self.mic_time()]
            deadline = self.pipeline.deadline()
            if deadline is not None:
                times.append(deadline)
            if self._due:
                times.append(self._due[0].at)
            at = max(min(times), self.now)
            if at > end:
                self.now = end
                return
            self.now = at
            if self.mic_time() <= at:
                frame = bytes(self.mic[: 2 * 960]).ljust(2 * 960, b"\0")
                del self.mic[: 2 * 960]
                self._mic_frames += 1
                self.pipeline.receive_audio(frame, at)
            if deadline is not None and deadline <= at:
                self.pipeline.tick(at)
            while self._due and self._due[0].at <= at:
                due = heapq.heappop(self._due)
                if due.kind == "piece":
                    assert due.value is not None
                    self.pipeline.job_piece(due.job_id, due.value, at)
                else:
                    self.pipeline.job_done(
                        due.job_id, due.value if isinstance(due.value, str) else None, at
                    )
            self.drain()

    def _schedule(
        self, job_id: int, outputs: Sequence[str | bytes], delay: float, result: str | None = None
    ) -> None:
        at = self.now
        for piece in outputs:
            at += delay
            heapq.heappush(self._due, _Due(at, next(self._seq), job_id, "piece", piece))
        if not outputs:
            at += delay
        heapq.heappush(self._due, _Due(at, next(self._seq), job_id, "done", result))

    def drain(self) -> None:
        while (output := self.pipeline.poll()) is not None:
            if isinstance(output, SendEvent):
                self.events.append((self.now, json.loads(output.text)))
            elif isinstance(output, SendAudio):
                assert len(output.pcm) == FRAME_BYTES
                self.frames.append((self.now, output.pcm))
            elif isinstance(output, CancelJob):
                self._due = [d for d in self._due if d.job_id != output.job_id]
                heapq.heapify(self._due)
                self.jobs.append((self.now, output))
            else:
                self.jobs.append((self.now, output))
                if isinstance(output, Transcribe):
                    text = self.recognizer.transcribe(output.pcm)
                    self._schedule(output.job_id, [], self.delays["asr"], text)
                elif isinstance(output, Think):
                    pieces = run_brain(self.brain, output.history)
                    self._schedule(output.job_id, pieces, self.delays["brain"])
                elif isinstance(output, Synthesize):
                    chunks = list(self.synthesizer.synthesize(output.text))
                    self._schedule(output.job_id, chunks, self.delays["synth"])

    # reading what happened
    def types(self) -> list[str]:
        return [str(event["type"]) for _, event in self.events]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [event for _, event in self.events if event["type"] == kind]

    def time_of(self, kind: str, index: int = 0) -> float:
        return [at for at, event in self.events if event["type"] == kind][index]
