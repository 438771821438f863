"""``pywebrtc-demo`` as a user starts it: the relay and the transceiver come up, the page is
served at ``/``, headless Chromium presses Talk (a WAV tone as its microphone), the call goes
to ``/v1/realtime/calls`` through the relay, the page hears audio back and shows connection
figures, Hang up ends the call on the server, and SIGTERM stops every process with exit 0.
With ``--app echo`` the page's own microphone is what comes back. When the server dies
mid-call (kill -9), the page says so within the consent timeout and offers Talk again."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from aiohttp import web

from conformance.browser.audio_scenario import write_tone_wav
from conformance.browser.driver import chromium_page, launch_firefox
from conformance.netns import isolated_network
from tests.signaling.service import REPO, SignalingProcess, free_port

# RFC 7675 §5.1: consent expires 30 s after the last response; the page must have said the
# connection is lost by then (Chromium reports "disconnected" within seconds).
CONSENT_TIMEOUT = 30.0
LOST = "Connection lost: the server stopped answering"
INTERRUPTED = "Connection interrupted: the server is not answering"
# The page starts the call itself (?auto=1): no user gesture in a test.
FIREFOX_AUTOPLAY = {"media.autoplay.default": 0, "media.autoplay.block-webaudio": False}


def _metric(url: str, name: str) -> float:
    with urllib.request.urlopen(url + "metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") or line.startswith(name + " ")
    )


async def _talk(url: str, wav: Path, relay_port: int) -> dict[str, Any]:
    async with chromium_page(url, wav) as page:
        await page.keyboard.press("Tab")  # keyboard-usable: Talk is the first control
        await page.keyboard.press("Enter")
        deadline = time.monotonic() + 30
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            state = await page.evaluate("window.demo")
            if state.get("packetsReceived", 0) >= 50 and state.get("remoteLevel", 0) > 0.005:
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"no audio back: {state}")
        codec = await page.text_content("#codec")
        rtt = await page.text_content("#rtt")
        remote = await page.evaluate(
            """async () => {
                let addr = null;
                (await window.demoStats()).forEach(s => {
                    if (s.type === 'remote-candidate') addr = s.address + ':' + s.port;
                });
                return addr;
            }"""
        )
        assert remote == f"127.0.0.1:{relay_port}", remote  # the relay, not the transceiver
        assert _metric(url, "pywebrtc_sessions") == 1
        await page.click("#hangup")
        deadline = time.monotonic() + 10
        while _metric(url, "pywebrtc_sessions") != 0:
            assert time.monotonic() < deadline, "hang up did not end the session"
            await asyncio.sleep(0.1)
        return {"codec": codec, "rtt": rtt, **state}


class DemoProcess:
    """``python -m demo.cli --app APP`` on free loopback ports, as a user starts it."""

    def __init__(self, app: str, *extra: str, host: str = "127.0.0.1") -> None:
        self.http = free_port()
        self.relay = free_port(socket.SOCK_DGRAM)
        udp = free_port(socket.SOCK_DGRAM)
        self.url = f"http://127.0.0.1:{self.http}/"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "demo.cli",
                "--app",
                app,
                "--http",
                f"127.0.0.1:{self.http}",
                "--udp",
                f"127.0.0.1:{udp}",
                "--relay-listen",
                f"{host}:{self.relay}",
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
            cwd=REPO,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        assert self.url in line, line + self.process.stdout.read().decode()

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGTERM)
        out = self.process.communicate(timeout=30)[0].decode()
        return self.process.returncode, out


def test_demo_in_chromium_through_the_relay(tmp_path: Path) -> None:
    wav = write_tone_wav(tmp_path / "tone.wav", 440.0)
    demo = DemoProcess("echo")
    try:
        result = asyncio.run(asyncio.wait_for(_talk(demo.url, wav, demo.relay), 90))
        assert result["codec"].startswith("audio/opus"), result
        assert result["rtt"].endswith("ms"), result
        assert not result["errors"], result
    finally:
        code, out = demo.stop()
    assert code == 0, out


async def _firefox(demo: DemoProcess) -> dict[str, Any]:
    reports: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def report(request: web.Request) -> web.Response:
        reports.put_nowait(json.loads(await request.text()))
        return web.Response()

    collector = web.Application()
    collector.router.add_post("/report", report)
    runner = web.AppRunner(collector, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    page = f"{demo.url}?auto=1&report=http://127.0.0.1:{port}/report"
    close = await launch_firefox(page, FIREFOX_AUTOPLAY)
    try:
        state: dict[str, Any] = {}
        deadline = time.monotonic() + 60
        # Headless Firefox here has no audio output, so its AudioContext stays suspended: the
        # audio coming back is counted in getStats instead of measured with WebAudio.
        while state.get("packetsReceived", 0) < 50:
            assert time.monotonic() < deadline, f"no audio back in Firefox: {state}"
            try:
                state = await asyncio.wait_for(reports.get(), max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                continue
        return state
    finally:
        await close()
        await runner.cleanup()


def test_demo_in_firefox_through_the_relay() -> None:
    # Firefox pairs only non-loopback host candidates: the relay listens on a veth address
    # inside a network namespace made for the test, with Firefox and the demo in it.
    with isolated_network() as host:
        demo = DemoProcess("echo", host=host)
        try:
            state = asyncio.run(asyncio.wait_for(_firefox(demo), 90))
            assert state["remoteCandidate"] == f"{host}:{demo.relay}", state
            assert state["figures"][4].startswith("audio/opus"), state
            assert not state["errors"], state
        finally:
            code, out = demo.stop()
    assert code == 0, out


async def _lost(service: SignalingProcess, wav: Path) -> dict[str, Any]:
    async with chromium_page(service.url + "/", wav) as page:
        await page.click("#talk")
        deadline = time.monotonic() + 30
        state: dict[str, Any] = {}
        while state.get("packetsReceived", 0) < 25:
            assert time.monotonic() < deadline, f"no audio back: {state}"
            await asyncio.sleep(0.2)
            state = await page.evaluate("window.demo")
        service.kill()  # SIGKILL: nothing is said to the page, packets just stop
        killed = time.monotonic()
        interrupted: float | None = None
        while (status := await page.text_content("#status")) != LOST:
            assert time.monotonic() - killed < CONSENT_TIMEOUT, f"page still says {status!r}"
            if status == INTERRUPTED and interrupted is None:  # first a grace for a blip
                interrupted = time.monotonic() - killed
                assert await page.is_enabled("#hangup")  # the call is still on meanwhile
            await asyncio.sleep(0.05)
        said = time.monotonic() - killed
        return {
            "interrupted_after_s": interrupted,
            "said_after_s": said,
            "aria_live": await page.get_attribute("#status", "aria-live"),
            "talk_enabled": await page.is_enabled("#talk"),
            "hangup_enabled": await page.is_enabled("#hangup"),
            "text_enabled": await page.is_enabled("#text"),
        }


def test_page_says_the_connection_is_lost_when_the_server_is_killed(tmp_path: Path) -> None:
    wav = write_tone_wav(tmp_path / "tone.wav", 440.0)
    service = SignalingProcess("--app", "echo", "--web", str(REPO / "demo" / "web"))
    try:
        figures = asyncio.run(asyncio.wait_for(_lost(service, wav), 90))
    finally:
        service.close()
    print("page after kill -9 of the server:", figures)
    assert figures["said_after_s"] < CONSENT_TIMEOUT, figures
    # Chromium reports "disconnected" within seconds: the page says so, then ends the call.
    assert figures["interrupted_after_s"] is not None, figures
    assert figures["aria_live"] == "polite", figures  # a screen reader hears it too
    assert figures["talk_enabled"], figures  # Talk again
    assert not figures["hangup_enabled"] and not figures["text_enabled"], figures
