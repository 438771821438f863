"""A scripted fake network and clock for sans-IO ICE scenarios (no sockets, no sleeps).

Endpoints are anything with the agent's ``receive/tick/poll/deadline`` shape, attached at one or
more base addresses. Packets take ``latency`` seconds; ``drop`` decides per packet whether it is
lost; ``nat`` rewrites a base address to the public address the other side sees (and back);
``add_symmetric_nat`` maps each (base, destination) to its own public port and lets in only
replies from that destination (address- and port-dependent mapping and filtering, RFC 4787).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from pywebrtc.ice.candidate import Address
from pywebrtc.ice.events import Event, Output, Transmit


class Endpoint(Protocol):
    def receive(self, data: bytes, source: Address, destination: Address, now: float) -> bool: ...
    def tick(self, now: float) -> None: ...
    def poll(self) -> Output | None: ...
    def deadline(self) -> float | None: ...


@dataclass(order=True)
class _Packet:
    at: float
    seq: int
    data: bytes = field(compare=False)
    source: Address = field(compare=False)
    destination: Address = field(compare=False)


DropRule = Callable[[bytes, Address, Address, float], bool]


class FakeNetwork:
    def __init__(self, latency: float = 0.001) -> None:
        self.now = 0.0
        self.latency = latency
        self.agents: dict[Address, Endpoint] = {}
        self.events: dict[int, list[tuple[float, Event]]] = {}
        self.sent: list[tuple[float, Transmit]] = []
        self.delivered = 0
        self.drop: DropRule = lambda data, src, dst, now: False
        # base address -> public address (what the peer sees), and the reverse.
        self.nat: dict[Address, Address] = {}
        self._nat_back: dict[Address, Address] = {}
        self._symmetric: dict[Address, str] = {}  # base -> public IP
        self._sym_out: dict[tuple[Address, Address], Address] = {}
        self._sym_in: dict[Address, tuple[Address, Address]] = {}  # public -> (base, peer)
        self._sym_port = 40000
        self._queue: list[_Packet] = []
        self._seq = 0

    def attach(self, agent: Endpoint, *bases: Address) -> None:
        for base in bases:
            self.agents[base] = agent
        self.events.setdefault(id(agent), [])

    def add_nat(self, base: Address, public: Address) -> None:
        self.nat[base] = public
        self._nat_back[public] = base

    def add_symmetric_nat(self, base: Address, public_ip: str) -> None:
        self._symmetric[base] = public_ip

    def _outbound(self, source: Address, destination: Address) -> Address:
        if source in self._symmetric:
            key = (source, destination)
            public = self._sym_out.get(key)
            if public is None:
                self._sym_port += 1
                public = (self._symmetric[source], self._sym_port)
                self._sym_out[key] = public
                self._sym_in[public] = key
            return public
        return self.nat.get(source, source)

    def _inbound(self, source: Address, destination: Address) -> Address | None:
        mapping = self._sym_in.get(destination)
        if mapping is not None:
            base, peer = mapping
            return base if peer == source else None
        return self._nat_back.get(destination, destination)

    def events_of(self, agent: Endpoint) -> list[Event]:
        return [e for _, e in self.events[id(agent)]]

    def inject(self, data: bytes, source: Address, destination: Address) -> None:
        """Put a datagram on the wire (as an attacker or a scripted peer would)."""
        self._seq += 1
        heapq.heappush(
            self._queue, _Packet(self.now + self.latency, self._seq, data, source, destination)
        )

    def _drain(self) -> None:
        for agent in {id(a): a for a in self.agents.values()}.values():
            while (out := agent.poll()) is not None:
                if isinstance(out, Transmit):
                    assert out.source is not None and out.destination is not None
                    self.sent.append((self.now, out))
                    if self.drop(out.data, out.source, out.destination, self.now):
                        continue
                    self.inject(
                        out.data, self._outbound(out.source, out.destination), out.destination
                    )
                else:
                    self.events[id(agent)].append((self.now, out))

    def step(self, until: float) -> bool:
        """Advance to the next packet or deadline (not past ``until``); False if none."""
        self._drain()
        agents = list({id(a): a for a in self.agents.values()}.values())
        times = [d for a in agents if (d := a.deadline()) is not None]
        if self._queue:
            times.append(self._queue[0].at)
        if not times:
            return False
        t = min(times)
        if t > until:
            self.now = until
            return False
        self.now = max(self.now, t)
        while self._queue and self._queue[0].at <= self.now:
            p = heapq.heappop(self._queue)
            destination = self._inbound(p.source, p.destination)
            if destination is None:
                continue  # filtered by a NAT
            agent = self.agents.get(destination)
            if agent is not None:
                self.delivered += 1
                agent.receive(p.data, p.source, destination, self.now)
        for a in agents:
            d = a.deadline()
            if d is not None and d <= self.now:
                a.tick(self.now)
        self._drain()
        return True

    def run(self, until: float, stop: Callable[[], bool] | None = None) -> float:
        """Run until ``stop()`` is true or the clock reaches ``until``; returns the time."""
        steps = 0
        while not (stop and stop()):
            if not self.step(until):
                break
            steps += 1
            assert steps < 2_000_000, "simulation does not make progress"
        return self.now
