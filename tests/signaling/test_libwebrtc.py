"""libwebrtc (node + ``@roamhq/wrtc``, conformance/libwebrtc) calling ``pywebrtc-signaling --app
echo --token T`` through the OpenAI Realtime-compatible ``/v1/realtime/calls``, as OpenAI's
WebRTC example does: the server mints an ephemeral key with ``POST
/v1/realtime/client_secrets`` (Bearer T), the client creates an offer with an ``oai-events``
data channel and a microphone track (a 440 Hz tone) and POSTs it at once, before any candidate
is gathered, with Bearer ``ek_…``, as ``multipart/form-data`` (fields ``sdp`` and ``session``,
node's own FormData) or as ``application/sdp``. The call connects, the channel's messages come
back with their type, the tone comes back (inbound-rtp packets keep arriving and decode to
440 Hz), and ``POST …/hangup`` ends it: the session gauges return to zero and the client's
channel closes. An unknown or expired ``ek_`` gets 401."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from conformance.libwebrtc.driver import NodePeer
from tests.peerconnection.audio_helpers import dominant_frequency
from tests.signaling.service import SignalingProcess, request

TOKEN = "realtime-test-token"
STATES = ("new", "connecting", "connected", "disconnected", "failed", "closed")
TONE_HZ = 440


class Service:
    def __init__(self, process: SignalingProcess) -> None:
        self.process = process
        # Minted first so that it has expired by the time the last test looks at it.
        self.short_lived = self.mint(10)

    def mint(self, seconds: int, token: str = TOKEN) -> dict[str, Any]:
        response = request(
            "POST",
            self.process.url + "/v1/realtime/client_secrets",
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            json.dumps(
                {
                    "expires_after": {"anchor": "created_at", "seconds": seconds},
                    "session": {"type": "realtime", "model": "gpt-realtime"},
                }
            ),
        )
        assert response.status_code == 200, response.text
        key = response.json()
        assert isinstance(key, dict) and key["value"].startswith("ek_")
        return key

    def sessions(self) -> float:
        return sum(self.process.metric("pywebrtc_sessions", f'state="{s}"') for s in STATES)


@pytest.fixture(scope="module", params=["client", "server"], ids=["dtls-client", "dtls-server"])
def service(request: pytest.FixtureRequest) -> Iterator[Service]:
    """The service in either DTLS role (``--dtls-role``)."""
    process = SignalingProcess("--app", "echo", "--token", TOKEN, "--dtls-role", request.param)
    try:
        yield Service(process)
    finally:
        assert process.terminate() == 0, process.output()
        process.close()


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 60))


async def _until(probe: Callable[[], Awaitable[Any]], ok: Callable[[Any], bool], what: str) -> Any:
    deadline = time.monotonic() + 15
    while True:
        value = await probe()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: {value}")
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("form", [True, False], ids=["multipart", "application-sdp"])
def test_realtime_call_with_an_ephemeral_key(service: Service, form: bool) -> None:
    key = service.mint(600)["value"]
    session = json.dumps({"type": "realtime", "model": "echo", "instructions": "say it back"})

    async def body() -> None:
        async with NodePeer() as node:
            pc = await node.call("newPc")
            await node.call("createChannel", pc, "oai-events", {})
            await node.call("addTone", pc, TONE_HZ)
            # As the example: the model in the query string (the service ignores it).
            url = service.process.url + "/v1/realtime/calls?model=gpt-realtime"
            call = await node.call("realtimeCall", pc, url, key, session if form else None)
            assert call["status"] == 201, call
            assert not call["offerHadCandidates"]
            location = call["location"]
            assert location.startswith("/v1/realtime/calls/") and len(location) > 19, call
            assert call["contentType"].startswith("application/sdp")
            assert "a=ice-lite" in call["answer"] and "a=sendrecv" in call["answer"]
            await node.call("waitState", pc, "connected")
            await node.call("waitOpen", pc, "oai-events")
            event = json.dumps({"type": "session.update", "session": {"voice": "echo"}})
            binary = base64.b64encode(b"\x00\x01\xffbinary").decode()
            await node.call("send", pc, "oai-events", [["s", event], ["b", binary]])
            echoed = await node.call("received", pc, "oai-events", 2)
            assert echoed == [["s", event], ["b", binary]]
            # The tone comes back: the echo passes libwebrtc's own Opus packets through.
            heard = await node.call("heard", pc, 0.5)
            samples = memoryview(base64.b64decode(heard["samples"])).cast("h").tolist()
            frequency = dominant_frequency(samples[4800:], heard["rate"])
            assert abs(frequency - TONE_HZ) < 15, frequency
            first = (await node.call("audioStats", pc))["inbound"]
            assert first["mimeType"].lower() == "audio/opus" and first["packetsReceived"] > 0
            await _until(
                lambda: node.call("audioStats", pc),
                lambda s: s["inbound"]["packetsReceived"] >= first["packetsReceived"] + 25,
                "inbound audio stopped",
            )
            assert service.process.metric("pywebrtc_sessions", 'state="connected"') == 1

            hangup = request(
                "POST",
                service.process.url + location + "/hangup",
                {"Authorization": f"Bearer {key}"},
            )
            assert hangup.status_code == 200, hangup.text
            assert service.sessions() == 0
            again = request(
                "POST",
                service.process.url + location + "/hangup",
                {"Authorization": f"Bearer {key}"},
            )
            assert again.status_code == 404, again.text
            # The client hears of it: the service closed the association.
            assert await node.call("waitClosed", pc, "oai-events") == "closed"
            await node.call("closePc", pc)

    run(body)


def test_unknown_and_expired_ephemeral_keys_get_401(service: Service) -> None:
    url = service.process.url + "/v1/realtime/calls"
    offer = "v=0\r\n"  # never parsed: authentication comes first
    for key in ("ek_" + "A" * 32, service.short_lived["value"], TOKEN + "x"):
        if key == service.short_lived["value"]:
            # expires_at is whole seconds; wait out what the tests before left of its 10 s.
            time.sleep(max(0.0, service.short_lived["expires_at"] - time.time() + 0.2))
        response = request(
            "POST",
            url,
            {"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"},
            offer,
        )
        assert response.status_code == 401, (key[:6], response.status_code, response.text)
        assert "Bearer" in (response.headers.get("WWW-Authenticate") or "")
    # An ephemeral key cannot mint more keys.
    live = service.mint(60)["value"]
    response = request(
        "POST",
        service.process.url + "/v1/realtime/client_secrets",
        {"Authorization": f"Bearer {live}", "Content-Type": "application/json"},
        "{}",
    )
    assert response.status_code == 401, response.text
