"""A scripted network on a fake clock: two sans-IO DTLS endpoints, datagrams in between.

Loss, duplication and reordering are decided by a seeded RNG or by a ``drop`` hook that sees
every datagram (direction, index in that direction, bytes), so scenarios are reproducible.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pywebrtc.dtls import (
    ApplicationData,
    Certificate,
    ConnectionClosed,
    DtlsConfig,
    DtlsConnection,
    Event,
    HandshakeComplete,
    Transmit,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dtls"

DropHook = Callable[[str, int, bytes], bool]


def load_certificate(name: str = "ecdsa-p256") -> Certificate:
    return Certificate.from_pem(
        (FIXTURES / f"{name}.crt").read_bytes(), (FIXTURES / f"{name}.key").read_bytes()
    )


@dataclass
class Endpoint:
    name: str
    conn: DtlsConnection
    events: list[Event] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)

    @property
    def completed(self) -> HandshakeComplete | None:
        return next((e for e in self.events if isinstance(e, HandshakeComplete)), None)

    @property
    def closed(self) -> ConnectionClosed | None:
        return next((e for e in self.events if isinstance(e, ConnectionClosed)), None)

    @property
    def data(self) -> list[bytes]:
        return [e.data for e in self.events if isinstance(e, ApplicationData)]


class Network:
    def __init__(
        self,
        client: DtlsConnection,
        server: DtlsConnection,
        *,
        loss: float = 0.0,
        duplicate: float = 0.0,
        reorder: float = 0.0,
        latency: float = 0.01,
        seed: int = 0,
        drop: DropHook | None = None,
    ) -> None:
        self.now = 0.0
        self.client = Endpoint("client", client)
        self.server = Endpoint("server", server)
        self.loss, self.duplicate, self.reorder = loss, duplicate, reorder
        self.latency = latency
        self.rng = random.Random(seed)
        self.drop = drop
        self._queue: list[tuple[float, int, str, bytes]] = []
        self._counter = 0
        self.sent_count = {"client": 0, "server": 0}

    def _peer(self, name: str) -> Endpoint:
        return self.server if name == "client" else self.client

    def _drain(self, ep: Endpoint) -> None:
        while (item := ep.conn.poll()) is not None:
            if isinstance(item, Transmit):
                ep.sent.append(item.data)
                index = self.sent_count[ep.name]
                self.sent_count[ep.name] += 1
                if self.drop is not None and self.drop(ep.name, index, item.data):
                    continue
                if self.rng.random() < self.loss:
                    continue
                copies = 2 if self.rng.random() < self.duplicate else 1
                for _ in range(copies):
                    delay = self.latency
                    if self.rng.random() < self.reorder:
                        delay += self.rng.uniform(0, 3 * self.latency)
                    self._counter += 1
                    dst = self._peer(ep.name).name
                    heapq.heappush(self._queue, (self.now + delay, self._counter, dst, item.data))
            else:
                ep.events.append(item)

    def inject(self, to: str, data: bytes) -> None:
        self._counter += 1
        heapq.heappush(self._queue, (self.now, self._counter, to, data))

    def run(self, until: float = 120.0, stop: Callable[[], bool] | None = None) -> None:
        """Move packets and fire timers until nothing is pending or ``stop()`` holds."""
        while True:
            self._drain(self.client)
            self._drain(self.server)
            if stop is not None and stop():
                return
            times = [t for t in (self.client.conn.deadline(), self.server.conn.deadline()) if t]
            if self._queue:
                times.append(self._queue[0][0])
            if not times:
                return
            self.now = max(self.now, min(times))
            if self.now > until:
                return
            while self._queue and self._queue[0][0] <= self.now:
                _, _, dst, data = heapq.heappop(self._queue)
                ep = self.client if dst == "client" else self.server
                ep.conn.receive(data, self.now)
                self._drain(ep)
            self.client.conn.tick(self.now)
            self.server.conn.tick(self.now)

    def handshake(self, until: float = 120.0) -> None:
        self.client.conn.connect(self.now)
        self.run(until, stop=self.both_connected)

    def both_connected(self) -> bool:
        return self.client.conn.is_connected and self.server.conn.is_connected and not self._queue


def pair(
    client_cert: str = "ecdsa-p256",
    server_cert: str = "ecdsa-p256",
    *,
    check_fingerprints: bool = True,
    client_config: dict[str, object] | None = None,
    server_config: dict[str, object] | None = None,
    **network: object,
) -> Network:
    ccert, scert = load_certificate(client_cert), load_certificate(server_cert)
    opts_c: dict[str, object] = {
        "remote_fingerprints": (scert.fingerprint(),) if check_fingerprints else ()
    }
    opts_s: dict[str, object] = {
        "remote_fingerprints": (ccert.fingerprint(),) if check_fingerprints else ()
    }
    opts_c.update(client_config or {})
    opts_s.update(server_config or {})
    cfg_c = DtlsConfig(ccert, **opts_c)  # type: ignore[arg-type]
    cfg_s = DtlsConfig(scert, **opts_s)  # type: ignore[arg-type]
    client = DtlsConnection(cfg_c, is_client=True, remote_address=b"server")
    server = DtlsConnection(cfg_s, is_client=False, remote_address=b"client")
    return Network(client, server, **network)  # type: ignore[arg-type]
