"""A user app loaded with ``--app MODULE:CALLABLE`` (the example of docs/signaling.md) serving
aiortc through the OpenAI Realtime-compatible endpoint with an ephemeral key: the app sees the
call's ``session`` JSON, talks on the data channel, and ends the session itself."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import aioice.ice
import aiortc
import pytest

from conformance.aiortc.test_audio import resolve
from tests.signaling.service import SignalingProcess

TIMEOUT = 20.0


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda **_: ["127.0.0.1"])


def test_example_app_over_realtime_calls_with_an_ephemeral_key() -> None:
    service = SignalingProcess("--app", "signaling.examples.greeter:app", "--token", "t0k")

    async def body() -> None:
        async with aiohttp.ClientSession() as http:
            async with http.post(
                service.url + "/v1/realtime/client_secrets",
                json={"expires_after": {"anchor": "created_at", "seconds": 30}},
                headers={"Authorization": "Bearer t0k"},
            ) as response:
                assert response.status == 200
                key = (await response.json())["value"]
            pc = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))
            pc.addTransceiver("audio", "sendrecv")
            channel = pc.createDataChannel("oai-events")
            messages: asyncio.Queue[Any] = asyncio.Queue()
            channel.on("message", messages.put_nowait)
            closed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            channel.on("close", resolve(closed))
            await pc.setLocalDescription(await pc.createOffer())
            form = aiohttp.FormData(default_to_multipart=True)  # as a browser's FormData
            form.add_field("sdp", pc.localDescription.sdp)
            form.add_field("session", json.dumps({"type": "realtime", "instructions": "brief"}))
            async with http.post(
                service.url + "/v1/realtime/calls",
                data=form,
                headers={"Authorization": "Bearer " + key},
            ) as response:
                assert response.status == 201, await response.text()
                answer = await response.text()
            await pc.setRemoteDescription(aiortc.RTCSessionDescription(answer, "answer"))
            greeting = await asyncio.wait_for(messages.get(), TIMEOUT)
            assert greeting.startswith("hello rtc_") and greeting.endswith("instructions: brief")
            channel.send("ping")
            assert await asyncio.wait_for(messages.get(), TIMEOUT) == "pong"
            channel.send("bye")  # the app closes the session
            await asyncio.wait_for(closed, TIMEOUT)
            await pc.close()
        assert service.metric("pywebrtc_sessions_ended_total", 'reason="bye"') == 1

    try:
        asyncio.run(asyncio.wait_for(body(), 60))
    finally:
        assert service.terminate() == 0, service.output()
        service.close()
