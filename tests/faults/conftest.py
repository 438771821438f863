"""The fault tests' fleet, on the multi-host topology of ``tests/topology.py``.

Hosts: ``client1``/``client2`` (aiortc clients), ``nat`` (the impairment proxy / NAT), ``relay1``
and ``relay2`` (``pywebrtc-relay`` on 10.77.0.11:3478 and 10.77.0.12:3478, routes from the
Redis registry and the Redis route cache), ``trx1``..``trx3`` (``pywebrtc-signaling --app echo
--redis``, started per test), ``redis``. The test bodies run on a thread inside ``client1``
(:meth:`Fleet.run`): from there every host's address is reachable over the bridge.

No skips: without root or ``ip`` building the topology raises and the tests fail.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aioice.ice
import pytest
import redis

from tests.relay.relayproc import RelayProcess
from tests.signaling.service import SignalingProcess
from tests.topology import Host, Topology

KEYS = "# fault fleet key\n9 f0e1d2c3b4a5968778695a4b3c2d1e0f\n"
CLUSTER = 7
HEARTBEAT = 0.5  # registry TTL 1.5 s
REGISTRY_INTERVAL = 0.2
RELAY_PORT = 3478
REDIS_PORT = 6379
STARTUP = 60.0
T = TypeVar("T")


def until(probe: Callable[[], Any], what: str, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out: {what}")
        time.sleep(0.02)
    return value


@dataclass
class Fleet:
    topology: Topology
    keys: Path
    relays: dict[str, RelayProcess] = field(default_factory=dict)
    redis_process: Any = None

    @property
    def redis_url(self) -> str:
        return f"redis://{self.topology['redis'].address}:{REDIS_PORT}/0"

    def relay_address(self, name: str) -> str:
        return f"{self.topology[name].address}:{RELAY_PORT}"

    # -- processes -------------------------------------------------------------------------
    def start_redis(self) -> None:
        host = self.topology["redis"]
        self.redis_process = host.popen(
            ["redis-server", "--bind", host.address, "--port", str(REDIS_PORT), "--save", "",
             "--appendonly", "no", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

        def answers() -> bool:
            try:
                with socket.create_connection((host.address, REDIS_PORT), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    return s.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        host.call(lambda: until(answers, "redis-server answers"))

    def stop_redis(self) -> None:
        if self.redis_process is not None and self.redis_process.poll() is None:
            self.redis_process.kill()
            self.redis_process.wait()

    def start_relay(self, name: str, static: tuple[str, ...] = ()) -> RelayProcess:
        """The relay on ``name``: with Redis (registry and route cache), or with only the
        ``static`` flags (``--transceiver ID=HOST:PORT``) when they are given."""
        host = self.topology[name]
        redis = ("--redis", self.redis_url, "--registry-interval", str(REGISTRY_INTERVAL))
        relay = RelayProcess(
            "--listen", self.relay_address(name), "--keys", str(self.keys),
            "--cluster", str(CLUSTER), *(static or redis), prefix=host.prefix,
        )  # fmt: skip
        self.relays[name] = relay
        return relay

    def transceivers(self, *specs: tuple[str, int, tuple[str, ...]]) -> list[SignalingProcess]:
        """Start a transceiver per ``(host, id, extra flags)``; from the client thread."""

        def start(spec: tuple[str, int, tuple[str, ...]]) -> SignalingProcess:
            name, ident, extra = spec
            host = self.topology[name]
            return SignalingProcess(
                "--app", "echo", "--keys", str(self.keys), "--cluster", str(CLUSTER),
                "--id", str(ident), "--redis", self.redis_url, "--heartbeat", str(HEARTBEAT),
                "--relay", self.relay_address("relay1"), "--relay", self.relay_address("relay2"),
                *extra, timeout=STARTUP, bind=host.address, prefix=host.prefix,
            )  # fmt: skip

        client = self.topology["client1"]
        with ThreadPoolExecutor(len(specs)) as pool:
            started = list(pool.map(lambda spec: client.call(lambda: start(spec)), specs))
        client.call(lambda: until(lambda: all(self.entry(i) for _, i, _ in specs), "registered"))
        time.sleep(3 * REGISTRY_INTERVAL)  # the relays' next reads of the registry
        return started

    # -- the registry ----------------------------------------------------------------------
    def db(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, socket_timeout=1)

    def entry(self, ident: int) -> str | None:
        with self.db() as db:
            value = db.get(f"pywebrtc:transceiver:{CLUSTER}:{ident}")
        return value.decode() if isinstance(value, bytes) else None

    def load(self, ident: int) -> dict[str, Any] | None:
        with self.db() as db:
            value = db.get(f"pywebrtc:load:{CLUSTER}:{ident}")
        return json.loads(value) if isinstance(value, bytes) else None

    # -- running a test body on a client host ----------------------------------------------
    def run(self, body: Callable[[], Awaitable[T]], host: str = "client1", limit: float = 90) -> T:
        """``asyncio.run(body())`` on a thread inside ``host``."""
        place: Host = self.topology[host]
        return place.call(lambda: asyncio.run(asyncio.wait_for(body(), limit)))


@pytest.fixture(autouse=True)
def client_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    """aiortc gathers only the client host's bridge address (``iceServers=[]`` everywhere)."""
    monkeypatch.setattr(
        aioice.ice,
        "get_host_addresses",
        lambda **_: [a for a in ("10.77.1.1", "10.77.1.2") if _bound(a)],
    )


def _bound(address: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((address, 0))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    keys = tmp_path_factory.mktemp("faults") / "keys"
    keys.write_text(KEYS)
    with Topology() as topology:
        fleet = Fleet(topology, keys)
        try:
            fleet.start_redis()
            fleet.start_relay("relay1")
            fleet.start_relay("relay2")
            yield fleet
        finally:
            for relay in fleet.relays.values():
                relay.terminate()
                relay.close()
            fleet.stop_redis()
