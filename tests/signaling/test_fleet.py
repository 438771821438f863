"""A fleet as it is deployed: a real ``redis-server``, two ``pywebrtc-relay`` processes that
learn the transceivers from the Redis registry only (no ``--transceiver`` flags), and two
``pywebrtc-signaling --redis`` transceivers of one cluster sharing the fleet keys. Clients are
aiortc peers whose data-channel messages the echo app sends back.

* both transceivers register (``pywebrtc:transceiver:…`` and ``pywebrtc:load:…``) and either
  relay routes a session to the transceiver its answer's ufrag names; with ``--rebalance`` a
  transceiver that has room still sends an offer to a much less loaded one;
* a full transceiver answers a new offer with ``307`` to the other one, and following it
  connects; a redirected offer is not redirected again;
* SIGTERM: readiness off, new offers redirected, the live session echoes every message until
  its client closes it, then the process exits 0 and its registry entries are gone;
* ``kill -9`` of one transceiver leaves the other's session untouched, and its registry entry
  expires with the TTL;
* Redis down (at start, or later) does not stop a transceiver serving, and it registers again
  once Redis answers.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aioice.ice
import aiortc
import pytest
import redis

from conformance.aiortc.test_audio import resolve
from relay.routing import load_codec
from tests.relay.redisproc import RedisServer
from tests.relay.relayproc import RelayProcess
from tests.signaling.service import SignalingProcess, free_port, request

KEYS = "# test fleet key\n9 f0e1d2c3b4a5968778695a4b3c2d1e0f\n"
CLUSTER = 5
HEARTBEAT = 0.5  # TTL 1.5 s
REGISTRY_INTERVAL = 0.2  # the relays' reads of the registry
TIMEOUT = 20.0
STARTUP = 60.0  # a loaded 2-core host has taken over 20 s to start two transceivers at once
SDP = {"Content-Type": "application/sdp"}


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda **_: ["127.0.0.1"])


@dataclass
class Fleet:
    keys: Path
    server: RedisServer
    db: redis.Redis
    relays: tuple[int, int]  # the relays' public UDP ports (A, B)

    def transceivers(self, *specs: tuple[int, tuple[str, ...]]) -> list[SignalingProcess]:
        """Start a transceiver per ``(id, extra flags)`` at once; wait until the relays can
        have read every one from the registry."""

        def start(spec: tuple[int, tuple[str, ...]]) -> SignalingProcess:
            ident, extra = spec
            return SignalingProcess(
                "--app", "echo", "--keys", str(self.keys), "--cluster", str(CLUSTER),
                "--id", str(ident), "--redis", self.server.url, "--heartbeat", str(HEARTBEAT),
                *(arg for port in self.relays for arg in ("--relay", f"127.0.0.1:{port}")),
                *extra, timeout=STARTUP,
            )  # fmt: skip

        with ThreadPoolExecutor(len(specs)) as pool:
            started = list(pool.map(start, specs))
        _until(lambda: all(self.entry(i) for i, _ in specs), "every transceiver registered")
        time.sleep(3 * REGISTRY_INTERVAL)  # the relays' next reads
        return started

    def entry(self, ident: int) -> str | None:
        value = self.db.get(f"pywebrtc:transceiver:{CLUSTER}:{ident}")
        return value.decode() if isinstance(value, bytes) else None

    def load(self, ident: int) -> dict[str, Any] | None:
        value = self.db.get(f"pywebrtc:load:{CLUSTER}:{ident}")
        return json.loads(value) if isinstance(value, bytes) else None


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    keys = tmp_path_factory.mktemp("fleet") / "keys"
    keys.write_text(KEYS)
    server = RedisServer()
    ports = (free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM))
    relays = []
    try:
        for port in ports:
            relays.append(
                RelayProcess(
                    "--listen",
                    f"127.0.0.1:{port}",
                    "--keys",
                    str(keys),
                    "--cluster",
                    str(CLUSTER),
                    "--redis",
                    server.url,
                    "--registry-interval",
                    str(REGISTRY_INTERVAL),
                )  # fmt: skip
            )
        db = redis.Redis.from_url(server.url)
        yield Fleet(keys, server, db, ports)
        db.close()
    finally:
        for relay in relays:
            relay.terminate()
            relay.close()
        server.stop()


def _until(probe: Callable[[], Any], what: str, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out: {what}")
        time.sleep(0.05)
    return value


def _stop(*services: SignalingProcess) -> None:
    """SIGTERM what still runs (each must drain and exit 0 at once: its clients have left)."""
    try:
        for service in services:
            if service.process.poll() is None:
                assert service.terminate(timeout=5) == 0, service.output()
    finally:
        for service in services:
            service.close()


class Client:
    """An aiortc peer with one data channel, connected through ``relay`` only."""

    def __init__(self, pc: aiortc.RTCPeerConnection, channel: Any, answer: str) -> None:
        self.pc = pc
        self.channel = channel
        self.answer = answer
        self.received: list[str] = []
        channel.on("message", self.received.append)

    def route(self, keys: Path) -> int:
        ufrag = next(
            line.split(":", 1)[1].strip()
            for line in self.answer.splitlines()
            if line.startswith("a=ice-ufrag:")
        )
        route = load_codec(keys).decode(ufrag)
        assert route is not None and route.cluster == CLUSTER
        return route.transceiver

    async def echo(self, count: int, tag: str) -> None:
        """Send ``count`` messages; every one comes back, in order."""
        start = len(self.received)
        sent = [f"{tag} {n}" for n in range(count)]
        for text in sent:
            self.channel.send(text)
        deadline = time.monotonic() + TIMEOUT
        while len(self.received) < start + count and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert self.received[start:] == sent


async def _offer() -> tuple[aiortc.RTCPeerConnection, Any, asyncio.Future[Any]]:
    pc = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))
    channel = pc.createDataChannel("echo")
    opened: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    channel.on("open", resolve(opened))
    await pc.setLocalDescription(await pc.createOffer())
    return pc, channel, opened


async def _post(url: str, sdp: str) -> Any:
    return await asyncio.to_thread(request, "POST", url, SDP, sdp)


async def connect(url: str, relay: int, redirect_to: str | None = None) -> Client:
    """WHIP-publish to ``url`` (following one 307, which must point at ``redirect_to``), keep
    only the answer's candidate on relay port ``relay``, wait for the channel to open."""
    pc, channel, opened = await _offer()
    response = await _post(url + "/whip", pc.localDescription.sdp)
    if redirect_to is not None:
        assert response.status_code == 307, response.text
        assert response.headers["Location"] == redirect_to + "/whip?redirected=1"
        response = await _post(response.headers["Location"], pc.localDescription.sdp)
    assert response.status_code == 201, response.text
    answer = "".join(
        line + "\r\n"
        for line in response.text.splitlines()
        if not line.startswith("a=candidate:") or line.split()[5] == str(relay)
    )
    assert answer.count("a=candidate:") >= 1
    await pc.setRemoteDescription(aiortc.RTCSessionDescription(answer, "answer"))
    await asyncio.wait_for(opened, TIMEOUT)
    return Client(pc, channel, answer)


def test_both_transceivers_register_both_relays_route_to_them_and_load_places(fleet: Fleet) -> None:
    one, two = fleet.transceivers((11, ("--max-sessions", "4", "--rebalance", "0.2")), (12, ()))
    relay_a, relay_b = fleet.relays

    async def body() -> None:
        assert fleet.entry(11) == f"127.0.0.1:{one.udp_port}"
        assert fleet.entry(12) == f"127.0.0.1:{two.udp_port}"
        assert fleet.load(12) == {
            "sessions": 0, "capacity": 1000, "draining": False, "http": two.url,
        }  # fmt: skip
        ttl = fleet.db.pttl(f"pywebrtc:transceiver:{CLUSTER}:12")
        assert 0 < ttl <= 3 * HEARTBEAT * 1000
        through_a = await connect(two.url, relay_a)
        assert through_a.route(fleet.keys) == 12
        through_b = await connect(one.url, relay_b)
        assert through_b.route(fleet.keys) == 11
        await through_a.echo(5, "a")
        await through_b.echo(5, "b")
        # Placement by load: transceiver 11 (1 of 4 sessions) has room, but 12 (1 of 1000) is
        # less loaded by more than --rebalance 0.2: the next offer goes there.
        placed = await _post(one.url + "/whip", "v=0")
        assert placed.status_code == 307, placed.text
        assert placed.headers["Location"] == two.url + "/whip?redirected=1"
        assert two.metric("pywebrtc_sessions", 'state="connected"') == 1
        assert one.metric("pywebrtc_sessions", 'state="connected"') == 1
        assert one.metric("pywebrtc_registry_registered") == 1
        await asyncio.to_thread(
            _until, lambda: (fleet.load(12) or {}).get("sessions") == 1, "load published"
        )
        await through_a.pc.close()
        await through_b.pc.close()

    try:
        asyncio.run(asyncio.wait_for(body(), 60))
    finally:
        _stop(one, two)


def test_a_full_transceiver_redirects_new_offers_to_the_other(fleet: Fleet) -> None:
    one, two = fleet.transceivers((21, ("--max-sessions", "1")), (22, ()))
    relay_a, _ = fleet.relays

    async def body() -> None:
        first = await connect(one.url, relay_a)
        assert first.route(fleet.keys) == 21
        assert (await asyncio.to_thread(request, "GET", one.url + "/readyz")).status_code == 503
        second = await connect(one.url, relay_a, redirect_to=two.url)
        assert second.route(fleet.keys) == 22
        await first.echo(3, "first")
        await second.echo(3, "second")
        # The other session-creating endpoints keep their path; a redirected offer is not
        # redirected again (503), and nothing was half made on the full transceiver.
        offer = await asyncio.to_thread(
            request, "POST", one.url + "/offer", {"Content-Type": "application/json"}, "{}"
        )
        assert offer.status_code == 307 and offer.headers["Location"] == (
            two.url + "/offer?redirected=1"
        )
        call = await _post(one.url + "/v1/realtime/calls", "v=0")
        assert call.status_code == 307 and call.headers["Location"] == (
            two.url + "/v1/realtime/calls?redirected=1"
        )
        again = await _post(one.url + "/whip?redirected=1", "v=0")
        assert again.status_code == 503 and again.headers["Retry-After"]
        assert one.metric("pywebrtc_sessions_created_total") == 1
        await first.pc.close()
        await second.pc.close()

    try:
        asyncio.run(asyncio.wait_for(body(), 60))
    finally:
        _stop(one, two)


def test_sigterm_drains_redirects_and_leaves_the_registry(fleet: Fleet) -> None:
    one, two = fleet.transceivers((31, ()), (32, ()))
    relay_a, relay_b = fleet.relays

    async def body() -> None:
        live = await connect(one.url, relay_a)
        one.process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(
            _until,
            lambda: request("GET", one.url + "/readyz").status_code == 503,
            "readiness off",
        )
        await asyncio.to_thread(
            _until, lambda: (fleet.load(31) or {}).get("draining"), "draining published"
        )
        assert fleet.entry(31), "a draining transceiver stays routable"
        moved = await connect(one.url, relay_b, redirect_to=two.url)
        assert moved.route(fleet.keys) == 32
        for round_ in range(4):  # the drained session goes on, message after message
            await live.echo(10, f"drain {round_}")
            await asyncio.sleep(HEARTBEAT)
        await moved.echo(3, "moved")
        assert one.process.poll() is None
        closed = time.monotonic()
        await live.pc.close()
        code = await asyncio.to_thread(one.process.wait, 10)
        assert code == 0, one.output()
        assert time.monotonic() - closed < 5
        assert fleet.entry(31) is None and fleet.load(31) is None  # deleted, not expired
        assert fleet.entry(32) is not None
        await moved.pc.close()

    try:
        asyncio.run(asyncio.wait_for(body(), 60))
    finally:
        _stop(one, two)


def test_kill_9_leaves_the_other_transceivers_sessions_alone(fleet: Fleet) -> None:
    one, two = fleet.transceivers((41, ()), (42, ()))
    relay_a, relay_b = fleet.relays

    async def body() -> None:
        doomed = await connect(one.url, relay_a)
        survivor = await connect(two.url, relay_a)
        other_relay = await connect(two.url, relay_b)
        await doomed.echo(2, "doomed")
        one.kill()
        killed = time.monotonic()
        for round_ in range(3):
            await survivor.echo(10, f"survivor {round_}")
            await other_relay.echo(10, f"other {round_}")
        await asyncio.to_thread(_until, lambda: fleet.entry(41) is None, "entry expired")
        assert time.monotonic() - killed < 3 * HEARTBEAT + 1.5
        assert fleet.entry(42) is not None
        await asyncio.sleep(3 * REGISTRY_INTERVAL)  # the relays have dropped transceiver 41
        await survivor.echo(5, "after expiry")
        await other_relay.echo(5, "after expiry")
        assert two.metric("pywebrtc_sessions", 'state="connected"') == 2
        for client in (doomed, survivor, other_relay):
            await client.pc.close()

    try:
        asyncio.run(asyncio.wait_for(body(), 60))
    finally:
        _stop(one, two)


def test_redis_down_is_not_an_outage_and_registration_comes_back() -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    key = "pywebrtc:transceiver:0:51"
    service = SignalingProcess(
        "--app", "echo", "--id", "51", "--redis", url, "--heartbeat", "0.2", timeout=STARTUP
    )
    server: RedisServer | None = None

    def registered() -> bool:
        with redis.Redis.from_url(url, socket_timeout=1) as db:
            return bool(db.get(key) == f"127.0.0.1:{service.udp_port}".encode())

    async def direct() -> Client:  # no relays: the answer's candidate is the UDP socket
        pc, channel, opened = await _offer()
        response = await _post(service.url + "/whip", pc.localDescription.sdp)
        assert response.status_code == 201, response.text
        await pc.setRemoteDescription(aiortc.RTCSessionDescription(response.text, "answer"))
        await asyncio.wait_for(opened, TIMEOUT)
        return Client(pc, channel, response.text)

    async def body() -> None:
        nonlocal server
        first = await direct()  # Redis was never there: serving anyway
        await first.echo(3, "no redis")
        server = RedisServer(port)
        await asyncio.to_thread(_until, registered, "registered once Redis is up")
        server.stop()
        await asyncio.to_thread(
            _until, lambda: service.metric("pywebrtc_registry_registered") == 0, "unregistered"
        )
        second = await direct()
        await first.echo(3, "redis gone")
        await second.echo(3, "redis gone")
        server = RedisServer(port)
        await asyncio.to_thread(_until, registered, "registered again")
        for client in (first, second):
            await client.pc.close()

    try:
        asyncio.run(asyncio.wait_for(body(), 60))
        assert "transceiver registry" in service.output() and "unavailable" in service.output()
    finally:
        _stop(service)
        if server is not None:
            server.stop()
