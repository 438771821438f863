"""ICE over TCP (RFC 6544) for networks that drop UDP: headless Chromium, in a network namespace
whose policy routing refuses every UDP datagram except the relay ↔ transceiver link, publishes
over WHIP to ``pywebrtc-signaling --app echo --relay-tcp`` behind a real ``pywebrtc-relay
--listen-tcp``. The answer offers the relay's UDP address and its ``tcptype passive`` TCP
address; UDP checks fail (EACCES), so Chromium's ``tcptype active`` candidate connects to the
relay, which routes the connection by its first STUN request's ufrag: the selected pair is TCP,
and audio and data-channel messages go both ways over it. Then the same with a pywebrtc
``RTCPeerConnection`` whose ``SettingEngine.set_ice_tcp(True)`` gathers ``tcptype active``
candidates (``POST /offer``)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from conformance.browser.audio_scenario import write_tone_wav
from conformance.netns import isolated_network
from pywebrtc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from pywebrtc.settings import SettingEngine
from pywebrtc.transmit import Address
from tests.peerconnection.audio_helpers import ToneTrack, tone_of
from tests.relay.relayproc import RelayProcess
from tests.signaling.service import SignalingProcess, free_port
from tests.signaling.test_chromium import KEYS, STATES, _until, whip_page


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
    async with whip_page(wav) as page:
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


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


async def _pywebrtc_client(service: SignalingProcess, tcp: tuple[str, int]) -> None:
    """A pywebrtc RTCPeerConnection with ICE-TCP on (``set_ice_tcp``) through ``POST /offer``."""
    settings = SettingEngine()
    settings.set_ice_tcp(True)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]), settings=settings)
    channel = pc.createDataChannel("echo")
    pc.addTrack(ToneTrack(1000))
    loop = asyncio.get_running_loop()
    track: asyncio.Future[Any] = loop.create_future()
    pc.on("track", lambda t: _settle(track, t))
    opened: asyncio.Future[None] = loop.create_future()
    channel.on("open", lambda: _settle(opened, None))
    messages: asyncio.Queue[Any] = asyncio.Queue()
    channel.on("message", messages.put_nowait)
    try:
        await pc.setLocalDescription(await pc.createOffer())
        assert pc.localDescription is not None
        assert "tcptype active" in pc.localDescription.sdp
        async with aiohttp.ClientSession() as http:
            offer = {"type": "offer", "sdp": pc.localDescription.sdp}
            async with http.post(service.url + "/offer", json=offer) as response:
                assert response.status == 200, await response.text()
                answer = await response.json()
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        await asyncio.wait_for(opened, 20)
        channel.send("hello over tcp")
        channel.send(b"\x00\x01binary")
        assert await asyncio.wait_for(messages.get(), 10) == "hello over tcp"
        assert await asyncio.wait_for(messages.get(), 10) == b"\x00\x01binary"
        frequency = await tone_of(await asyncio.wait_for(track, 10))
        assert abs(frequency - 1000) < 30, frequency
        stats: dict[str, Any] = {s.id: s for s in (await pc.getStats()).values()}
        transport = next(s for s in stats.values() if s.type == "transport")
        pair = stats[transport.selectedCandidatePairId]
        local, remote = stats[pair.localCandidateId], stats[pair.remoteCandidateId]
        assert (local.protocol, local.tcpType) == ("tcp", "active"), local
        assert (remote.protocol, remote.tcpType) == ("tcp", "passive"), remote
        assert (remote.address, remote.port) == tcp
    finally:
        await pc.close()


def _through_tcp_relay(tmp_path: Path, client: Callable[[SignalingProcess, Address], Any]) -> None:
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
            asyncio.run(asyncio.wait_for(client(service, relay_tcp), 60))
        finally:
            if relay is not None:
                relay.terminate()
                relay.close()
            assert service.terminate() == 0, service.output()
            service.close()


def test_chromium_over_ice_tcp_when_udp_is_dropped(tmp_path: Path) -> None:
    wav = write_tone_wav(tmp_path / "tone.wav", 660.0)
    _through_tcp_relay(tmp_path, lambda service, tcp: _publish(service, tcp, wav))


def test_pywebrtc_over_ice_tcp_when_udp_is_dropped(tmp_path: Path) -> None:
    _through_tcp_relay(tmp_path, _pywebrtc_client)
