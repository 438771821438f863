"""Headless Chromium (Debian's, through Playwright) publishing to ``pywebrtc-signaling --app
echo`` over WHIP from a page on another origin (so every request is CORS): the offer is POSTed
before any candidate is gathered, candidates follow in trickle PATCHes (204), a data channel and
the microphone (a WAV tone) come back echoed, ``restartIce()`` goes through a PATCH with
``If-Match: *`` (200, new credentials and ETag) and the session carries on over the new ICE
credentials, DELETE ends it and the service's gauges return to zero. Directly, and through a
real ``pywebrtc-relay`` whose address is then the answer's only candidate. And the fake camera:
its VP8 comes back through the echo (passed through, not transcoded) and Chromium decodes it
at the size it sent."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from conformance.browser.audio_scenario import write_tone_wav
from conformance.browser.driver import chromium_page
from tests.relay.relayproc import RelayProcess
from tests.signaling.service import SignalingProcess, free_port

if TYPE_CHECKING:
    from playwright.async_api import Page

PAGE = (
    b"<!doctype html><meta charset=utf-8><title>whip</title><script>"
    + (Path(__file__).parent / "whip_page.js").read_bytes()
    + b"</script>"
)
KEYS = "# test fleet key\n1 000102030405060708090a0b0c0d0e0f\n"
STATES = ("new", "connecting", "connected", "disconnected", "failed", "closed")


async def _until(
    probe: Callable[[], Awaitable[Any]], ok: Callable[[Any], bool], what: str, timeout: float = 15
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: {value}")
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def whip_page(wav: Path) -> AsyncIterator[Page]:
    """Headless Chromium (a WAV as its microphone) on the WHIP test page, served from its own
    origin so that every request to the service is cross-origin."""
    pages = web.Application()

    async def index(_: web.Request) -> web.Response:
        return web.Response(body=PAGE, content_type="text/html")

    pages.router.add_get("/", index)
    runner = web.AppRunner(pages, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with chromium_page(f"http://127.0.0.1:{port}/", wav) as page:
            yield page
    finally:
        await runner.cleanup()


async def _publish(
    service: SignalingProcess, advertised: tuple[str, int], wav: Path, setup: str | None = None
) -> None:
    async with whip_page(wav) as page:
        published = await page.evaluate("base => W.publish(base)", service.url)
        assert not published["offerHadCandidates"]
        answer = published["answer"]
        assert "a=ice-lite" in answer and "a=sendrecv" in answer
        if setup is not None:
            assert f"a=setup:{setup}" in answer
        ports = {int(line.split()[5]) for line in answer.splitlines() if "a=candidate" in line}
        assert ports == {advertised[1]}, answer
        assert await page.evaluate("W.connected()") == "connected"
        assert await page.evaluate("t => W.echo(t)", "hello") == ["hello", "bytes:1,2,3"]
        # The tone comes back: the echo passes the browser's own Opus packets through.
        audio = await _until(
            lambda: page.evaluate("W.audio()"), lambda a: a["received"] >= 50, "no audio back"
        )
        assert audio["remote"] == f"{advertised[0]}:{advertised[1]}"
        assert audio["bytesReceived"] > 50 * 20
        trickled = await page.evaluate("W.trickled")
        assert trickled and set(trickled) == {204}, trickled
        # ICE restart through a PATCH; the session goes on over the new credentials.
        restart = await page.evaluate("W.restart()")
        assert restart["newUfrag"] != restart["oldUfrag"] and restart["etagChanged"]
        assert "a=ice-lite" in restart["fragment"]
        restarted = await _until(
            lambda: page.evaluate("W.audio()"),
            lambda a: a["localUfrag"] == a["currentLocalUfrag"] and a["iceState"] == "connected",
            "the browser never connected with its new ICE credentials",
        )
        assert await page.evaluate("t => W.echo(t)", "again") == ["again", "bytes:1,2,3"]
        await _until(
            lambda: page.evaluate("W.audio()"),
            lambda a: a["received"] >= restarted["received"] + 25,
            "audio stopped after the restart",
        )
        assert set(await page.evaluate("W.trickled")) == {204}
        assert service.metric("pywebrtc_sessions", 'state="connected"') == 1
        assert await page.evaluate("W.remove()") == 200
        assert sum(service.metric("pywebrtc_sessions", f'state="{s}"') for s in STATES) == 0


@pytest.mark.parametrize("role", ["client", "server"], ids=["dtls-client", "dtls-server"])
def test_chromium_whip_direct(tmp_path: Path, role: str) -> None:
    wav = write_tone_wav(tmp_path / "tone.wav", 660.0)
    service = SignalingProcess("--app", "echo", "--dtls-role", role)
    setup = "active" if role == "client" else "passive"
    try:
        advertised = ("127.0.0.1", service.udp_port)
        asyncio.run(asyncio.wait_for(_publish(service, advertised, wav, setup), 90))
    finally:
        assert service.terminate() == 0, service.output()
        service.close()


def test_chromium_whip_through_a_relay(tmp_path: Path) -> None:
    wav = write_tone_wav(tmp_path / "tone.wav", 660.0)
    keys = tmp_path / "keys"
    keys.write_text(KEYS)
    relay_port = free_port(socket.SOCK_DGRAM)
    service = SignalingProcess(
        "--app", "echo", "--keys", str(keys), "--cluster", "3", "--id", "7",
        "--relay", f"127.0.0.1:{relay_port}",
    )  # fmt: skip
    relay = RelayProcess(
        "--listen", f"127.0.0.1:{relay_port}", "--keys", str(keys), "--cluster", "3",
        "--transceiver", f"7=127.0.0.1:{service.udp_port}",
    )  # fmt: skip
    try:
        asyncio.run(asyncio.wait_for(_publish(service, ("127.0.0.1", relay_port), wav), 90))
    finally:
        relay.terminate()
        relay.close()
        assert service.terminate() == 0, service.output()
        service.close()


@pytest.mark.parametrize(
    ("relayed", "prefer"),
    [(False, None), (True, None), (False, "video/AV1")],
    ids=["direct", "relay", "av1-first"],
)
def test_chromium_whip_camera_is_echoed(tmp_path: Path, relayed: bool, prefer: str | None) -> None:
    """With AV1 first in Chromium's offer (which we receive but never send), the echo answers
    with VP8 alone, the next codec of the offer it can send back, so Chromium sends VP8."""
    wav = write_tone_wav(tmp_path / "tone.wav", 660.0)
    relay: RelayProcess | None = None
    if relayed:
        keys = tmp_path / "keys"
        keys.write_text(KEYS)
        relay_port = free_port(socket.SOCK_DGRAM)
        service = SignalingProcess(
            "--app", "echo", "--keys", str(keys), "--id", "7",
            "--relay", f"127.0.0.1:{relay_port}", "--drain-timeout", "5",
        )  # fmt: skip
        relay = RelayProcess(
            "--listen", f"127.0.0.1:{relay_port}", "--keys", str(keys),
            "--transceiver", f"7=127.0.0.1:{service.udp_port}",
        )  # fmt: skip
        advertised = relay_port
    else:
        service = SignalingProcess("--app", "echo", "--drain-timeout", "5")
        advertised = service.udp_port

    async def body() -> None:
        async with whip_page(wav) as page:
            published = await page.evaluate(
                "([base, prefer]) => W.publish(base, true, prefer)", [service.url, prefer]
            )
            answer = published["answer"]
            video = answer[answer.index("m=video ") :]
            assert not video.startswith("m=video 0 ") and "a=sendrecv" in video, answer
            # One codec (and its RTX) in the echo's answer: the one it can send back.
            codecs = {line.split()[1] for line in video.splitlines() if "a=rtpmap:" in line}
            assert codecs == {"VP8/90000", "rtx/90000"}, video
            ports = {int(line.split()[5]) for line in answer.splitlines() if "a=candidate" in line}
            assert ports == {advertised}, answer
            assert await page.evaluate("W.connected()") == "connected"
            stats = await _until(
                lambda: page.evaluate("W.video()"),
                lambda v: v["framesDecoded"] >= 60,
                "Chromium decoded none of its echoed camera",
                timeout=30,
            )
            # Chromium decodes what it sent, at the size it sent, in the codec it sent.
            assert (stats["frameWidth"], stats["frameHeight"]) == (640, 480), stats
            assert stats["sentWidth"] == 640 and stats["codec"] == "video/VP8", stats
            # Passed through: every keyframe it decodes is one it encoded.
            assert 1 <= stats["keyFramesDecoded"] <= stats["keyFramesEncoded"], stats
            # The microphone and the channel are echoed beside it.
            assert await page.evaluate("t => W.echo(t)", "hi") == ["hi", "bytes:1,2,3"]
            await _until(
                lambda: page.evaluate("W.audio()"), lambda a: a["received"] >= 50, "no audio"
            )
            # Every frame Chromium decoded came in at least one packet the service sent.
            sent = service.metric("pywebrtc_video_rtp_packets_sent_total")
            assert sent >= stats["framesDecoded"], (sent, stats)
            assert service.metric("pywebrtc_video_rtp_packets_received_total") > 0
            assert await page.evaluate("W.remove()") == 200
            assert sum(service.metric("pywebrtc_sessions", f'state="{s}"') for s in STATES) == 0

    try:
        asyncio.run(asyncio.wait_for(body(), 90))
    finally:
        if relay is not None:
            relay.terminate()
            relay.close()
        assert service.terminate() == 0, service.output()
        service.close()
