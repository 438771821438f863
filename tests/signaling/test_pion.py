"""Pion WebRTC v3 (the Go peer of conformance/pion, its WHIP client mode in ``peer/whip.go``)
publishing to ``pywebrtc-signaling --app echo`` over WHIP: the offer is POSTed as
``application/sdp`` before any candidate is gathered (201, Location, ETag), Pion's candidates
follow in one trickle PATCH with ``If-Match`` (204), the data channel's text and binary messages
come back with their type, and Pion's Opus tone (1000 Hz, encoded here with libopus: Pion has no
encoder) comes back at about 50 packets a second and decodes to the same tone. An ICE restart
(Pion's iceRestart offer, its credentials PATCHed with ``If-Match: *``: 200, the service's new
credentials and a new ETag; its new candidates trickled under that ETag: 204) keeps the channel
and the audio going. DELETE (200) ends the session: the gauges return to zero and Pion's channel
closes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.pion.driver import PionPeer, build, decode, encode
from conformance.pion.test_audio import decoded_frequency, read_opus_payloads, write_opus_tone
from tests.signaling.service import SignalingProcess

STATES = ("new", "connecting", "connected", "disconnected", "failed", "closed")
TONE_HZ = 1000
TOKEN = "pion-token"


@pytest.fixture(scope="module")
def pion_binary() -> Path:
    """Built (or found up to date) before the service starts: a failure here, not a skip."""
    return build()


@pytest.fixture(params=["client", "server"], ids=["dtls-client", "dtls-server"])
def service(pion_binary: Path, request: pytest.FixtureRequest) -> Iterator[SignalingProcess]:
    """The service in either DTLS role (``--dtls-role``)."""
    process = SignalingProcess("--app", "echo", "--token", TOKEN, "--dtls-role", request.param)
    try:
        yield process
    finally:
        assert process.terminate() == 0, process.output()
        process.close()


async def _until_packets(pion: PionPeer, count: int) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:
        stats: dict[str, Any] = await pion.call("audio_stats")
        if stats["packets"] >= count:
            return stats
        if time.monotonic() > deadline:
            raise AssertionError(f"no audio back: {stats}")
        await asyncio.sleep(0.1)


def test_pion_whip_echo(service: SignalingProcess, tmp_path: Path) -> None:
    tone, record = tmp_path / "pion-sends.opus", tmp_path / "pion-received.opus"
    write_opus_tone(tone, TONE_HZ, 10.0)

    async def body() -> None:
        async with await PionPeer.start() as pion:
            await pion.call("audio", send=str(tone), record=str(record))
            await pion.call("channel", label="echo")
            published = await pion.call("whip", url=service.url + "/whip", token=TOKEN)
            assert published["status"] == 201 and not published["offerHadCandidates"]
            assert published["location"].startswith("/whip/"), published
            assert published["etag"].startswith('"'), published
            assert published["contentType"].startswith("application/sdp")
            answer = published["answer"]
            assert "a=ice-lite" in answer and "a=sendrecv" in answer
            assert published["trickled"] >= 1 and published["patch"] == 204, published
            await pion.call("wait_open", label="echo")
            sent: list[str | bytes] = ["hello pion", b"\x00\x01\xffbinary"]
            await pion.call("send", label="echo", messages=encode(sent))
            taken = await pion.call("take", label="echo", count=2)
            assert decode(taken["messages"]) == sent
            first = await _until_packets(pion, 100)
            assert first["mimeType"] == "audio/opus", first
            later = await _until_packets(pion, int(first["packets"]) + 50)
            rate = (later["packets"] - 1) / later["seconds"]
            assert 40 < rate < 60, later
            # ICE restart through a PATCH with If-Match: * (new credentials and ETag).
            restart = await pion.call("whip_restart")
            assert restart["newUfrag"] != restart["oldUfrag"], restart
            assert restart["etag"] != restart["oldEtag"] and "a=ice-lite" in restart["fragment"]
            assert restart["trickled"] >= 1 and restart["patch"] == 204, restart  # new ETag
            await pion.call("send", label="echo", messages=encode(["after the restart"]))
            taken = await pion.call("take", label="echo", count=1)
            assert decode(taken["messages"]) == ["after the restart"]
            await _until_packets(pion, int(later["packets"]) + 50)
            assert (await pion.call("state"))["ice"] == "connected"
            assert service.metric("pywebrtc_sessions", 'state="connected"') == 1
            assert service.metric("pywebrtc_datachannel_messages_received_total") >= 2
            deleted = await pion.call("whip_delete")
            assert deleted["status"] == 200
            assert sum(service.metric("pywebrtc_sessions", f'state="{s}"') for s in STATES) == 0
            closed = await pion.call("wait_closed", label="echo")  # the association went too
            assert closed["state"] == "closed"
        heard = decoded_frequency(read_opus_payloads(record))
        assert abs(heard - TONE_HZ) < 10, heard

    asyncio.run(asyncio.wait_for(body(), 60))
