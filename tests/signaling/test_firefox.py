"""Firefox ESR (headless, its fake microphone: a 1000 Hz tone) publishing to
``pywebrtc-signaling --app echo`` over WHIP from a page on another origin (every request is
CORS), with the same page as the Chromium test (``whip_page.js``). No WebDriver: Firefox is
opened from the command line with a throw-away profile (conformance/browser/driver.py), and the
page fetches each step from the test server and POSTs its result back. The offer is POSTed
before any candidate is gathered, Firefox's candidates follow in trickle PATCHes (204), the data
channel's text and binary messages come back with their type, Firefox's own audio comes back
(inbound-rtp packets keep arriving from the advertised address; headless Firefox has no audio
device, so its AudioContext stays suspended and WebAudio cannot measure the sound),
``restartIce()`` goes through a PATCH with ``If-Match: *`` (200, new credentials and ETag) and
the session carries on, and DELETE (200) ends the session: the service's gauges return to zero.
Directly, and through a real ``pywebrtc-relay`` whose address is then the answer's only
candidate. And Firefox's fake camera: echoed (passed through) and decoded at the size it sent.

Firefox gathers no loopback candidate (``media.peerconnection.ice.loopback`` and
``…force_interface`` make no difference in this ESR) and fails to connect from its eth0
candidates to a 127.0.0.1 one, so the test runs in a network namespace of its own
(conformance/netns.py) with the advertised address (the service's UDP socket, or the relay) on
the namespace's veth address: every packet stays inside it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from socket import SOCK_DGRAM
from typing import Any

import pytest
from aiohttp import web

from conformance.browser.driver import RemotePage, launch_firefox
from conformance.netns import HOST_ADDRESS, isolated_network
from tests.relay.relayproc import RelayProcess
from tests.signaling.service import SignalingProcess, free_port
from tests.signaling.test_chromium import KEYS

HERE = Path(__file__).parent
# The page: the WHIP client W of whip_page.js, and a loop that runs the test's steps on it.
RUNNER = b"""
(async () => {
  for (;;) {
    let cmd;
    try {
      cmd = await (await fetch("/next")).json();
    } catch (e) {
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    if (cmd.op === "quit") return;
    Promise.resolve()
      .then(() => (typeof W[cmd.op] === "function" ? W[cmd.op](...cmd.args) : W[cmd.op]))
      .then((result) => ({ id: cmd.id, result }), (e) => ({ id: cmd.id, error: String(e) }))
      .then((r) => fetch("/result", { method: "POST", body: JSON.stringify(r) }));
  }
})();
"""
PAGE = (
    b"<!doctype html><meta charset=utf-8><title>whip</title><script>"
    + (HERE / "whip_page.js").read_bytes()
    + RUNNER
    + b"</script>"
)
STATES = ("new", "connecting", "connected", "disconnected", "failed", "closed")


class WhipPage(RemotePage):
    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(body=PAGE, content_type="text/html")


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
        await asyncio.sleep(0.2)


async def _publish(service: SignalingProcess, media: str) -> None:
    page = WhipPage()
    await page.start()
    close = await launch_firefox(page.url)
    try:
        await asyncio.wait_for(page.connected, 30)
        published = await page.call("publish", service.url)
        assert not published["offerHadCandidates"]
        answer = published["answer"]
        assert "a=ice-lite" in answer and "a=sendrecv" in answer
        assert await page.call("connected") == "connected"
        assert await page.call("echo", "hello firefox") == ["hello firefox", "bytes:1,2,3"]
        audio = await _until(
            lambda: page.call("audio"), lambda a: a["received"] >= 50, "no audio back"
        )
        assert audio["remote"] == media, audio
        assert audio["bytesReceived"] > 50 * 20
        await _until(
            lambda: page.call("audio"),
            lambda a: a["received"] >= audio["received"] + 25,
            "audio stopped",
        )
        trickled = await page.call("trickled")
        assert trickled and set(trickled) == {204}, trickled
        # ICE restart through a PATCH; the session goes on over the new credentials.
        restart = await page.call("restart")
        assert restart["newUfrag"] != restart["oldUfrag"] and restart["etagChanged"]
        restarted = await _until(
            lambda: page.call("audio"),
            lambda a: a["localUfrag"] == a["currentLocalUfrag"] and a["iceState"] == "connected",
            "Firefox never connected with its new ICE credentials",
        )
        assert await page.call("echo", "again") == ["again", "bytes:1,2,3"]
        await _until(
            lambda: page.call("audio"),
            lambda a: a["received"] >= restarted["received"] + 25,
            "audio stopped after the restart",
        )
        assert set(await page.call("trickled")) == {204}
        assert service.metric("pywebrtc_sessions", 'state="connected"') == 1
        assert service.metric("pywebrtc_datachannel_messages_received_total") >= 2
        assert await page.call("remove") == 200
        assert sum(service.metric("pywebrtc_sessions", f'state="{s}"') for s in STATES) == 0
    finally:
        page._commands.put_nowait({"id": 0, "op": "quit", "args": []})
        await close()
        await page.stop()


@pytest.mark.parametrize("role", ["client", "server"], ids=["dtls-client", "dtls-server"])
def test_firefox_whip_direct(role: str) -> None:
    with isolated_network() as address:
        assert address == HOST_ADDRESS
        # The one UDP socket on the namespace's veth address, where Firefox's candidates are.
        media = f"{address}:{free_port(SOCK_DGRAM)}"
        service = SignalingProcess("--app", "echo", "--udp", media, "--dtls-role", role)
        try:
            asyncio.run(asyncio.wait_for(_publish(service, media), 60))
        finally:
            assert service.terminate() == 0, service.output()
            service.close()


def test_firefox_whip_through_a_relay(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(KEYS)
    with isolated_network() as address:
        # The relay on the veth address (the answer's only candidate); the service behind it
        # on the namespace's loopback.
        media = f"{address}:{free_port(SOCK_DGRAM)}"
        service = SignalingProcess(
            "--app", "echo", "--keys", str(keys), "--cluster", "3", "--id", "7", "--relay", media
        )  # fmt: skip
        relay = RelayProcess(
            "--listen", media, "--keys", str(keys), "--cluster", "3",
            "--transceiver", f"7=127.0.0.1:{service.udp_port}",
        )  # fmt: skip
        try:
            asyncio.run(asyncio.wait_for(_publish(service, media), 60))
        finally:
            relay.terminate()
            relay.close()
            assert service.terminate() == 0, service.output()
            service.close()


async def _camera(service: SignalingProcess) -> None:
    page = WhipPage()
    await page.start()
    close = await launch_firefox(page.url)
    try:
        await asyncio.wait_for(page.connected, 30)
        published = await page.call("publish", service.url, True)
        answer = published["answer"]
        video = answer[answer.index("m=video ") :]
        assert not video.startswith("m=video 0 ") and "a=sendrecv" in video, answer
        assert await page.call("connected") == "connected"
        stats = await _until(
            lambda: page.call("video"),
            lambda v: v["framesDecoded"] >= 60,
            "Firefox decoded none of its echoed camera",
            timeout=30,
        )
        # Its own fake camera, at the size it sent, in the one codec of the echo's answer.
        assert stats["frameWidth"] == stats["sentWidth"] > 0, stats
        assert stats["codec"] == "video/VP8", stats
        assert stats["keyFramesDecoded"] >= 1, stats  # (Firefox counts no keyFramesEncoded)
        assert await page.call("echo", "hi") == ["hi", "bytes:1,2,3"]
        assert await page.call("remove") == 200
        assert sum(service.metric("pywebrtc_sessions", f'state="{s}"') for s in STATES) == 0
    finally:
        page._commands.put_nowait({"id": 0, "op": "quit", "args": []})
        await close()
        await page.stop()


def test_firefox_whip_camera_is_echoed() -> None:
    """Firefox's fake camera (VP8 first in its offer) comes back through the echo, passed
    through, and Firefox decodes it."""
    with isolated_network() as address:
        media = f"{address}:{free_port(SOCK_DGRAM)}"
        service = SignalingProcess("--app", "echo", "--udp", media)
        try:
            asyncio.run(asyncio.wait_for(_camera(service), 90))
        finally:
            assert service.terminate() == 0, service.output()
            service.close()
