"""aiortc (unmodified, ``iceServers=[]``) against a ``pywebrtc-signaling --app echo`` process,
through ``POST /offer`` and through WHIP: the data channel's messages come back with their type,
the tone comes back at its frequency, and ending the session (DELETE, or the peer closing)
brings the gauges back to zero."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import aioice.ice
import aiortc
import pytest

from conformance.aiortc.test_audio import AiortcTone, resolve
from tests.peerconnection.audio_helpers import tone_of
from tests.signaling.service import SignalingProcess

TIMEOUT = 20.0


@pytest.fixture(scope="module", params=["client", "server"], ids=["dtls-client", "dtls-server"])
def service(request: pytest.FixtureRequest) -> Iterator[SignalingProcess]:
    """The service in either DTLS role (``--dtls-role``): aiortc offers actpass."""
    process = SignalingProcess("--app", "echo", "--token", "secret", "--dtls-role", request.param)
    yield process
    assert process.terminate() == 0, process.output()
    process.close()


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # aioice gathers on non-loopback interfaces only; keep every packet on loopback.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda **_: ["127.0.0.1"])


AUTH = {"Authorization": "Bearer secret"}


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 60))


async def _client() -> tuple[aiortc.RTCPeerConnection, Any, asyncio.Future[Any]]:
    pc = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))
    channel = pc.createDataChannel("echo")
    pc.addTrack(AiortcTone(1000))
    track: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    pc.on("track", resolve(track))
    await pc.setLocalDescription(await pc.createOffer())
    return pc, channel, track


async def _check_echo(channel: Any, track: asyncio.Future[Any]) -> None:
    loop = asyncio.get_running_loop()
    if channel.readyState != "open":
        opened: asyncio.Future[Any] = loop.create_future()
        channel.on("open", resolve(opened))
        await asyncio.wait_for(opened, TIMEOUT)
    messages: asyncio.Queue[Any] = asyncio.Queue()
    channel.on("message", messages.put_nowait)
    channel.send("hello")
    channel.send(b"\x00\x01binary")
    assert await asyncio.wait_for(messages.get(), TIMEOUT) == "hello"
    assert await asyncio.wait_for(messages.get(), TIMEOUT) == b"\x00\x01binary"
    frequency = await tone_of(await asyncio.wait_for(track, TIMEOUT))
    assert abs(frequency - 1000) < 30, frequency


async def _wait_for(condition: Callable[[], bool], what: str) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(what)


def _setup(sdp: str) -> str:
    (value,) = {line.split(":", 1)[1] for line in sdp.splitlines() if line.startswith("a=setup:")}
    return value


def _role(service: SignalingProcess) -> str:
    return service.args[service.args.index("--dtls-role") + 1]


def test_offer_endpoint_echoes_channel_and_audio(service: SignalingProcess) -> None:
    async def body() -> None:
        created = service.metric("pywebrtc_sessions_created_total")
        received = service.metric("pywebrtc_datachannel_messages_received_total")
        pc, channel, track = await _client()
        async with aiohttp.ClientSession() as http:
            offer = {"type": "offer", "sdp": pc.localDescription.sdp}
            async with http.post(service.url + "/offer", json=offer, headers=AUTH) as response:
                assert response.status == 200, await response.text()
                answer = await response.json()
        assert answer["type"] == "answer" and "a=ice-lite" in answer["sdp"]
        assert "a=sendrecv" in answer["sdp"]
        assert _setup(answer["sdp"]) == ("active" if _role(service) == "client" else "passive")
        await pc.setRemoteDescription(aiortc.RTCSessionDescription(answer["sdp"], "answer"))
        await _check_echo(channel, track)
        assert service.metric("pywebrtc_sessions", 'state="connected"') >= 1
        assert service.metric("pywebrtc_sessions_created_total") == created + 1
        assert service.metric("pywebrtc_datachannel_messages_received_total") >= received + 2
        assert service.metric("pywebrtc_rtp_packets_received_total") > 0
        assert service.metric("pywebrtc_rtp_packets_sent_total") > 0
        assert service.metric("pywebrtc_session_setup_seconds_count") >= 1
        await pc.close()  # the peer closes: DTLS close_notify ends the session
        await _wait_for(
            lambda: (
                sum(
                    service.metric("pywebrtc_sessions", f'state="{s}"')
                    for s in ("new", "connecting", "connected", "disconnected", "failed", "closed")
                )
                == 0
            ),
            "the session did not end after the peer closed",
        )

    run(body)


def test_whip_session_trickle_and_delete(service: SignalingProcess) -> None:
    async def body() -> None:
        pc, channel, track = await _client()
        offer = pc.localDescription.sdp
        async with aiohttp.ClientSession() as http:
            async with http.post(
                service.url + "/whip",
                data=offer,
                headers={**AUTH, "Content-Type": "application/sdp"},
            ) as response:
                assert response.status == 201, await response.text()
                assert response.content_type == "application/sdp"
                location = response.headers["Location"]
                etag = response.headers["ETag"]
                answer = await response.text()
            assert location.startswith("/whip/") and etag.startswith('"')
            assert "a=sendrecv" in answer
            await pc.setRemoteDescription(aiortc.RTCSessionDescription(answer, "answer"))
            # Trickle aiortc's own candidates again: 204.
            candidates = [line for line in offer.splitlines() if line.startswith("a=candidate")]
            fragment = "a=mid:0\r\n".join(["m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n", ""])
            fragment += "".join(c + "\r\n" for c in candidates) + "a=end-of-candidates\r\n"
            patch_headers = {
                **AUTH,
                "Content-Type": "application/trickle-ice-sdpfrag",
                "If-Match": etag,
            }
            async with http.patch(
                service.url + location, data=fragment, headers=patch_headers
            ) as response:
                assert response.status == 204, await response.text()
            await _check_echo(channel, track)
            async with http.delete(service.url + location, headers=AUTH) as response:
                assert response.status == 200
            async with http.delete(service.url + location, headers=AUTH) as response:
                assert response.status == 404
        await pc.close()
        assert service.metric("pywebrtc_sessions", 'state="connected"') == 0
        assert service.metric("pywebrtc_sessions_ended_total", 'reason="deleted"') >= 1

    run(body)
