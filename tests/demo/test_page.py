"""``pywebrtc-demo`` as a user starts it: the relay and the transceiver come up, the page is
served at ``/``, headless Chromium presses Talk (a WAV tone as its microphone), the call goes
to ``/v1/realtime/calls`` through the relay, the page hears audio back and shows connection
figures, Hang up ends the call on the server, and SIGTERM stops every process with exit 0.
With ``--app echo`` the page's own microphone is what comes back."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from conformance.browser.audio_scenario import write_tone_wav
from conformance.browser.driver import CHROMIUM, CHROMIUM_ARGS
from tests.signaling.service import REPO, free_port


def _metric(url: str, name: str) -> float:
    with urllib.request.urlopen(url + "metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") or line.startswith(name + " ")
    )


async def _talk(url: str, wav: Path, relay_port: int) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    playwright = await async_playwright().start()
    browser = await playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={wav}"],
    )
    try:
        page = await browser.new_page()
        await page.goto(url)
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
    finally:
        await browser.close()
        await playwright.stop()


def test_demo_serves_the_page_and_a_call_goes_through_the_relay(tmp_path: Path) -> None:
    wav = write_tone_wav(tmp_path / "tone.wav", 440.0)
    http, udp, relay = free_port(), free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "demo.cli",
            "--app",
            "echo",
            "--http",
            f"127.0.0.1:{http}",
            "--udp",
            f"127.0.0.1:{udp}",
            "--relay-listen",
            f"127.0.0.1:{relay}",
        ],  # fmt: skip
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        cwd=REPO,
    )
    try:
        assert demo.stdout is not None
        line = demo.stdout.readline().decode()
        url = f"http://127.0.0.1:{http}/"
        assert url in line, line
        result = asyncio.run(asyncio.wait_for(_talk(url, wav, relay), 90))
        assert result["codec"].startswith("audio/opus"), result
        assert result["rtt"].endswith("ms"), result
        assert not result["errors"], result
    finally:
        demo.send_signal(signal.SIGTERM)
        out = demo.communicate(timeout=20)[0].decode()
    assert demo.returncode == 0, out
