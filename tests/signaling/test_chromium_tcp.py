"""ICE over TCP (RFC 6544) for networks that drop UDP: headless Chromium, in a network namespace
whose policy routing refuses every UDP datagram except the relay ↔ transceiver link, publishes
over WHIP to ``pywebrtc-signaling --app echo --relay-tcp`` behind a real ``pywebrtc-relay
--listen-tcp``. The answer offers the relay's UDP address and its ``tcptype passive`` TCP
address; UDP checks fail (EACCES), so Chromium's ``tcptype active`` candidate connects to the
relay, which routes the connection by its first STUN request's ufrag: the selected pair is TCP,
and audio and data-channel messages go both ways over it."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from pathlib import Path

from aiohttp import web

from conformance.browser.audio_scenario import write_tone_wav
from conformance.browser.driver import CHROMIUM, CHROMIUM_ARGS
from conformance.netns import isolated_network
from tests.relay.relayproc import RelayProcess
from tests.signaling.service import SignalingProcess, free_port
from tests.signaling.test_chromium import KEYS, PAGE, STATES, _until


def _drop_udp_except(port: int) -> None:
    """Policy routing in this namespace: UDP to or from ``port`` is delivered, every other
    UDP datagram is refused (``prohibit``: the sender gets EACCES), TCP is untouched."""
    for rule in (
        f"add pref 10 ipproto udp dport {port} lookup local",
        f"add pref 11 ipproto udp sport {port} lookup local",
        "add pref 20 ipproto udp prohibit",
        "del pref 0",  # the local table, moved after the UDP rules
        "add pref 100 lookup local",
    ):
        subprocess.run(["ip", "rule", *rule.split()], check=True)


async def _publish(service: SignalingProcess, tcp: tuple[str, int], wav: Path) -> None:
    from playwright.async_api import async_playwright

    pages = web.Application()

    async def index(_: web.Request) -> web.Response:
        return web.Response(body=PAGE, content_type="text/html")

    pages.router.add_get("/", index)
    runner = web.AppRunner(pages, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    playwright = await async_playwright().start()
    browser = await playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={wav}"],
    )
    try:
        page = await browser.new_page()
        await page.goto(f"http://127.0.0.1:{port}/")
        published = await page.evaluate("base => W.publish(base)", service.url)
        answer = published["answer"]
        passive = [line for line in answer.splitlines() if " tcp " in line]
        assert passive and all(
            line.endswith(f"{tcp[0]} {tcp[1]} typ host tcptype passive") for line in passive
        ), answer
        assert await page.evaluate("W.connected()") == "connected"
        assert await page.evaluate("t => W.echo(t)", "over tcp") == ["over tcp", "bytes:1,2,3"]
        audio = await _until(
            lambda: page.evaluate("W.audio()"), lambda a: a["received"] >= 50, "no audio back"
        )
        assert audio["remote"] == f"{tcp[0]}:{tcp[1]}", audio
        assert audio["remoteProtocol"] == "tcp" and audio["remoteTcpType"] == "passive", audio
        assert audio["sent"] >= 50 and audio["bytesReceived"] > 50 * 20
        assert service.metric("pywebrtc_sessions", 'state="connected"') == 1
        assert await page.evaluate("W.remove()") == 200
        assert sum(service.metric("pywebrtc_sessions", f'state="{s}"') for s in STATES) == 0
    finally:
        await browser.close()
        await playwright.stop()
        await runner.cleanup()


def test_chromium_over_ice_tcp_when_udp_is_dropped(tmp_path: Path) -> None:
    wav = write_tone_wav(tmp_path / "tone.wav", 660.0)
    keys = tmp_path / "keys"
    keys.write_text(KEYS)
    with isolated_network() as host:
        relay_udp = free_port(socket.SOCK_DGRAM)
        relay_tcp = (host, free_port())
        service = SignalingProcess(
            "--app", "echo", "--keys", str(keys), "--cluster", "3", "--id", "7",
            "--relay", f"127.0.0.1:{relay_udp}", "--relay-tcp", f"{host}:{relay_tcp[1]}",
        )  # fmt: skip
        relay = None
        try:
            _drop_udp_except(service.udp_port)
            relay = RelayProcess(
                "--listen", f"127.0.0.1:{relay_udp}", "--listen-tcp", f"{host}:{relay_tcp[1]}",
                "--keys", str(keys), "--cluster", "3",
                "--transceiver", f"7=127.0.0.1:{service.udp_port}",
            )  # fmt: skip
            asyncio.run(asyncio.wait_for(_publish(service, relay_tcp, wav), 60))
        finally:
            if relay is not None:
                relay.terminate()
                relay.close()
            assert service.terminate() == 0, service.output()
            service.close()
