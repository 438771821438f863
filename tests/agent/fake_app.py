"""``--app tests.agent.fake_app:app``: the voice agent with the tests' fake engines (a loud
tone is speech, every utterance is heard as the same question, a tone is the voice)."""

from __future__ import annotations

from agent.app import AgentApp, Engines
from agent.brain import OfflineBrain

from .fakes import NOW, FakeDetector, FakeSynthesizer

QUESTION = "what is twelve times thirty four"


class OneQuestion:
    sample_rate = 16000

    def transcribe(self, pcm: bytes) -> str:
        return QUESTION if pcm else ""


def engines() -> Engines:
    return Engines(FakeDetector, OneQuestion(), OfflineBrain(clock=lambda: NOW), FakeSynthesizer())


app = AgentApp(engines)
