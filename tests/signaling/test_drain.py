"""SIGTERM drains a ``pywebrtc-signaling`` process: readiness goes off and new offers get 503,
a live session keeps echoing until its peer leaves (then the process exits 0 at once), or until
``--drain-timeout`` passes (then the service closes it and exits 0)."""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

import aioice.ice
import aiortc
import pytest

from conformance.aiortc.test_audio import resolve
from tests.signaling.service import SignalingProcess, request

TIMEOUT = 20.0


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda **_: ["127.0.0.1"])


async def _connect(service: SignalingProcess) -> tuple[aiortc.RTCPeerConnection, Any]:
    pc = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))
    channel = pc.createDataChannel("echo")
    opened: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    channel.on("open", resolve(opened))
    await pc.setLocalDescription(await pc.createOffer())
    response = await asyncio.to_thread(
        request,
        "POST",
        service.url + "/whip",
        {"Content-Type": "application/sdp"},
        pc.localDescription.sdp,
    )
    assert response.status_code == 201, response.text
    await pc.setRemoteDescription(aiortc.RTCSessionDescription(response.text, "answer"))
    await asyncio.wait_for(opened, TIMEOUT)
    return pc, channel


async def _echo(channel: Any, text: str) -> None:
    reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    channel.on("message", resolve(reply))
    channel.send(text)
    assert await asyncio.wait_for(reply, TIMEOUT) == text


def test_sigterm_drains_until_the_last_session_leaves() -> None:
    service = SignalingProcess("--drain-timeout", "60")

    async def body() -> None:
        pc, channel = await _connect(service)
        service.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        ready = await asyncio.to_thread(request, "GET", service.url + "/readyz")
        assert ready.status_code == 503 and ready.headers["Retry-After"]
        refused = await asyncio.to_thread(
            request, "POST", service.url + "/whip", {"Content-Type": "application/sdp"}, "v=0"
        )
        assert refused.status_code == 503, refused.text
        await _echo(channel, "still here")  # the session goes on while draining
        assert service.process.poll() is None
        left = time.monotonic()
        await pc.close()
        code = await asyncio.to_thread(service.process.wait, 10)
        assert code == 0, service.output()
        assert time.monotonic() - left < 5

    try:
        asyncio.run(asyncio.wait_for(body(), 60))
    finally:
        service.close()


def test_drain_timeout_closes_what_is_left_and_exits_0() -> None:
    service = SignalingProcess("--drain-timeout", "1")

    async def body() -> None:
        pc, channel = await _connect(service)
        closed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        channel.on("close", resolve(closed))
        pc.on(
            "connectionstatechange",
            lambda: pc.connectionState in ("closed", "failed") and resolve(closed)(None),
        )
        sent = time.monotonic()
        service.process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(service.process.wait, 15)
        assert code == 0, service.output()
        assert 0.9 < time.monotonic() - sent < 8
        await asyncio.wait_for(closed, TIMEOUT)  # the service closed the session cleanly
        await pc.close()

    try:
        asyncio.run(asyncio.wait_for(body(), 60))
    finally:
        service.close()
