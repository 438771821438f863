"""agent.client.RealtimeCall against the real service (``--app echo``): it connects through
``/v1/realtime/calls`` (plain SDP and the multipart form with a ``session``), its events reach
the server (echoed back here), its microphone PCM is sent in real time and what comes back is
heard with arrival times, and hangup ends the session on the server."""

from __future__ import annotations

import asyncio
import math
import struct

from agent.client import RATE, RealtimeCall
from tests.signaling.service import SignalingProcess


def _tone(seconds: float, frequency: float = 440.0) -> bytes:
    count = int(RATE * seconds)
    step = 2 * math.pi * frequency / RATE
    return b"".join(struct.pack("<h", int(8000 * math.sin(step * i))) for i in range(count))


async def _call(url: str, session: dict[str, object] | None) -> None:
    call = RealtimeCall(url, session=session)
    await call.connect()
    call.type_text("hello")
    echoed = await call.wait_for("conversation.item.create")
    assert echoed["item"]["content"][0]["text"] == "hello"
    await call.wait_for("response.create")
    loop = asyncio.get_running_loop()
    started = loop.time()
    ended = await call.say_pcm(_tone(0.5))
    assert 0.45 < ended - started < 1.5  # paced in real time
    await asyncio.sleep(0.5)
    first = call.heard.first_loud_after(started)
    assert first is not None and first - started < 0.5, "the tone did not come back"
    await call.hangup()


def test_realtime_client_against_the_echo_service() -> None:
    service = SignalingProcess("--app", "echo")
    try:
        asyncio.run(asyncio.wait_for(_call(service.url, None), 60))
        asyncio.run(asyncio.wait_for(_call(service.url, {"instructions": "be brief"}), 60))
        assert service.metric("pywebrtc_sessions_ended_total", 'reason="hangup"') == 2
    finally:
        assert service.terminate() == 0, service.output()
        service.close()
