"""One simulated network for every test: hosts at addresses, datagrams moved on a fake clock.

A host is a sans-IO machine (``receive``/``tick``/``poll``/``deadline``) attached at one or
more addresses, or a plain receive function (a :class:`~pywebrtc.ice.udpmux.UdpMux`'s, with
:meth:`Network.socket` handing back its ``send``). Machines whose :class:`Transmit` carries
addresses (ICE, TURN, :class:`~pywebrtc.session.PeerSession`) are attached as they are; the
point-to-point ones (DTLS, SCTP, an audio session: ``receive(data, now)``, no addresses) are
attached with a ``peer`` address their datagrams go to.

Every datagram takes ``delay`` seconds, then goes through the sender's impairments and the
network's: small pieces (:class:`Loss`, :class:`Duplicate`, :class:`Jitter`, :class:`Reorder`)
that each map one datagram to the copies that go on (none, one, or more), drawing from the
network's seeded RNG, so a seed replays a scenario exactly. Scripted loss is
:attr:`Network.drop`, a rule that sees each datagram as it leaves (it may be replaced mid-run).
Datagrams over the ``mtu`` are dropped; every drop is counted in :attr:`Network.drops` by
reason. NATs rewrite addresses on the way: :meth:`Network.nat` (one public address per host
address), :meth:`Network.symmetric_nat` (a public port per destination, replies only from that
destination, RFC 4787), :meth:`Network.rebind` (the public port changes mid-call) and
:meth:`Network.move` (the host itself gets a new address).

The clock only moves in :meth:`Network.step`: to the next arrival, machine deadline or
:meth:`Network.call_at` callback; or in :class:`VirtualTimeLoop`, an asyncio event loop whose
``time()`` is this clock and which, with nothing ready, jumps the clock to the next timer or
arrival instead of sleeping.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import random
import selectors
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from pywebrtc.transmit import Address, Transmit


@dataclass(frozen=True, slots=True)
class Datagram:
    """One datagram on the wire: ``at`` is when it arrives (when it left, in ``Network.sent``);
    ``sender`` is the sending host's name and ``index`` its count of datagrams sent before."""

    data: bytes
    source: Address
    destination: Address
    at: float
    sender: str = ""
    index: int = 0


# Maps one datagram to the copies that go on (none: dropped), drawing on the network's RNG.
Impairment = Callable[[Datagram, random.Random], Iterable[Datagram]]


@dataclass(frozen=True, slots=True)
class Loss:
    """Drop each datagram with probability ``p``."""

    p: float

    def __call__(self, d: Datagram, rng: random.Random) -> Iterable[Datagram]:
        return () if rng.random() < self.p else (d,)


@dataclass(frozen=True, slots=True)
class Duplicate:
    """Deliver a second copy with probability ``p`` (at the same time, behind the first)."""

    p: float

    def __call__(self, d: Datagram, rng: random.Random) -> Iterable[Datagram]:
        return (d, d) if rng.random() < self.p else (d,)


@dataclass(frozen=True, slots=True)
class Jitter:
    """Add a uniform 0..``seconds`` to every datagram's delay (reorders those close together)."""

    seconds: float

    def __call__(self, d: Datagram, rng: random.Random) -> Iterable[Datagram]:
        return (replace(d, at=d.at + rng.uniform(0, self.seconds)),)


@dataclass(frozen=True, slots=True)
class Reorder:
    """With probability ``p``, hold a datagram back up to ``seconds`` more (others overtake)."""

    p: float
    seconds: float

    def __call__(self, d: Datagram, rng: random.Random) -> Iterable[Datagram]:
        if rng.random() < self.p:
            return (replace(d, at=d.at + rng.uniform(0, self.seconds)),)
        return (d,)


@dataclass(eq=False)
class Host:
    """What is attached at some addresses. ``events`` are the machine's non-datagram outputs;
    ``sent`` the datagrams it sent (before any impairment)."""

    name: str
    addresses: list[Address]
    deliver: Callable[[bytes, Address, Address, float], object]
    machine: Any = None
    peer: Address | None = None
    impairments: tuple[Impairment, ...] = ()
    on_event: Callable[[Any], object] | None = None
    events: list[Any] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)


class Network:
    """The simulated network (see the module docstring)."""

    def __init__(
        self,
        *impairments: Impairment,
        delay: float = 0.01,
        seed: int = 0,
        mtu: int = 1500,
    ) -> None:
        self.now = 0.0
        self.delay = delay
        self.mtu = mtu
        self.impairments = impairments
        self.rng = random.Random(seed)
        self.hosts: list[Host] = []
        self.drop: Callable[[Datagram], bool] | None = None  # scripted loss
        self.sent: list[Datagram] = []  # every datagram a host sent, at its departure time
        self.delivered = 0
        self.drops: Counter[str] = Counter()
        self._at: dict[Address, Host] = {}
        self._queue: list[tuple[float, int, Datagram]] = []
        self._timers: list[tuple[float, int, Callable[[], object]]] = []
        self._seq = itertools.count()
        # NAT: host address -> public address (and back); symmetric NATs map per destination.
        self._public: dict[Address, Address] = {}
        self._private: dict[Address, Address] = {}
        self._symmetric: dict[Address, str] = {}
        self._sym_out: dict[tuple[Address, Address], Address] = {}
        self._sym_in: dict[Address, tuple[Address, Address]] = {}
        self._ports = itertools.count(40001)

    # ------------------------------------------------------------------ hosts

    def attach(
        self,
        machine: Any,
        *addresses: Address,
        peer: Address | None = None,
        impairments: Iterable[Impairment] = (),
        name: str = "",
        on_event: Callable[[Any], object] | None = None,
    ) -> Host:
        """Attach a sans-IO machine. With ``peer``, it is point-to-point: it receives
        ``(data, now)`` and its datagrams go from ``addresses[0]`` to ``peer``."""
        if peer is None:
            deliver = machine.receive
        else:

            def deliver(data: bytes, source: Address, destination: Address, now: float) -> None:
                machine.receive(data, now)

        return self._add(Host(name or _name(addresses[0]), list(addresses), deliver, machine,
                              peer, tuple(impairments), on_event))  # fmt: skip

    def socket(
        self,
        address: Address,
        receive: Callable[[bytes, Address], object],
        impairments: Iterable[Impairment] = (),
        name: str = "",
    ) -> Callable[[bytes, Address], None]:
        """A socket at ``address`` whose datagrams go to ``receive(data, source)``; returns its
        ``send(data, destination)``."""

        def deliver(data: bytes, source: Address, destination: Address, now: float) -> None:
            receive(data, source)

        host = self._add(Host(name or _name(address), [address], deliver,
                              impairments=tuple(impairments)))  # fmt: skip

        def send(data: bytes, destination: Address) -> None:
            if address in host.addresses:
                self.send(host, data, address, destination)
            else:
                self.drops["moved"] += 1  # the interface is gone

        return send

    def _add(self, host: Host) -> Host:
        for address in host.addresses:
            self._at[address] = host
        self.hosts.append(host)
        return host

    @property
    def in_flight(self) -> int:
        """Datagrams on the wire, not yet delivered."""
        return len(self._queue)

    def events_of(self, machine: object) -> list[Any]:
        return next(h for h in self.hosts if h.machine is machine).events

    # ------------------------------------------------------------------ NAT and mobility

    def nat(self, address: Address, public: Address) -> None:
        """``address`` is seen as ``public`` (endpoint-independent mapping and filtering)."""
        old = self._public.pop(address, None)
        if old is not None:
            del self._private[old]
        self._public[address] = public
        self._private[public] = address

    def symmetric_nat(self, address: Address, public_ip: str) -> None:
        """A public port per destination; only that destination's replies get in (RFC 4787
        address- and port-dependent mapping and filtering)."""
        self._symmetric[address] = public_ip

    def public_address(self, address: Address) -> Address:
        return self._public.get(address, address)

    def rebind(self, address: Address) -> Address:
        """The NAT in front of ``address`` gives it a new public port (the old one is
        forgotten: datagrams to it are dropped); returns the new public address."""
        ip = self.public_address(address)[0]
        public = (ip, next(self._ports))
        self.nat(address, public)
        return public

    def move(self, old: Address, new: Address) -> None:
        """The host at ``old`` now has the address ``new`` (it is unreachable at ``old``, and
        what it sends from ``old`` is dropped)."""
        host = self._at.pop(old)
        host.addresses[host.addresses.index(old)] = new
        self._at[new] = host
        public = self._public.pop(old, None)
        if public is not None:
            del self._private[public]

    # ------------------------------------------------------------------ datagrams

    def send(self, host: Host, data: bytes, source: Address, destination: Address) -> None:
        """``host`` sends ``data`` from its address ``source``."""
        index = len(host.sent)
        host.sent.append(data)
        leaving = Datagram(data, source, destination, self.now, host.name, index)
        self.sent.append(leaving)
        if self.drop is not None and self.drop(leaving):
            self.drops["scripted"] += 1
            return
        if len(data) > self.mtu:
            self.drops["mtu"] += 1
            return
        sent = Datagram(data, self._outbound(source, destination), destination,
                        self.now + self.delay, host.name, index)  # fmt: skip
        copies: list[Datagram] = [sent]
        for impairment in (*host.impairments, *self.impairments):
            passed: list[Datagram] = []
            for d in copies:
                passed.extend(impairment(d, self.rng))
            if not passed:
                self.drops[type(impairment).__name__.lower()] += 1
            copies = passed
        for d in copies:
            heapq.heappush(self._queue, (d.at, next(self._seq), d))

    def inject(self, data: bytes, source: Address, destination: Address) -> None:
        """Put a datagram on the wire as an attacker would: no NAT, no impairment."""
        d = Datagram(data, source, destination, self.now + self.delay)
        heapq.heappush(self._queue, (d.at, next(self._seq), d))

    def call_at(self, when: float, callback: Callable[[], object]) -> None:
        heapq.heappush(self._timers, (when, next(self._seq), callback))

    def _outbound(self, source: Address, destination: Address) -> Address:
        public_ip = self._symmetric.get(source)
        if public_ip is not None:
            public = self._sym_out.get((source, destination))
            if public is None:
                public = self._sym_out[(source, destination)] = (public_ip, next(self._ports))
                self._sym_in[public] = (source, destination)
            return public
        return self._public.get(source, source)

    def _deliver(self, d: Datagram) -> Host | None:
        destination = d.destination
        mapping = self._sym_in.get(destination)
        if mapping is not None:
            if mapping[1] != d.source:
                self.drops["nat"] += 1
                return None
            destination = mapping[0]
        elif destination in self._public:
            self.drops["nat"] += 1  # a private address, from outside its NAT
            return None
        else:
            destination = self._private.get(destination, destination)
        host = self._at.get(destination)
        if host is None:
            self.drops["unroutable"] += 1
            return None
        self.delivered += 1
        host.deliver(d.data, d.source, destination, self.now)
        return host

    # ------------------------------------------------------------------ the clock

    def next_time(self) -> float | None:
        """When something next happens: an arrival, a machine deadline or a callback."""
        times = [d for h in self.hosts if h.machine is not None
                 and (d := h.machine.deadline()) is not None]  # fmt: skip
        if self._queue:
            times.append(self._queue[0][0])
        if self._timers:
            times.append(self._timers[0][0])
        return min(times) if times else None

    def drain(self) -> None:
        """Take every machine's datagrams onto the wire and its events into ``events``."""
        for host in self.hosts:
            machine = host.machine
            if machine is None:
                continue
            while (out := machine.poll()) is not None:
                if isinstance(out, Transmit):  # (a video Retransmission too)
                    if host.peer is not None:
                        self.send(host, out.data, host.addresses[0], host.peer)
                    elif out.source in host.addresses:
                        assert out.destination is not None
                        self.send(host, out.data, out.source, out.destination)
                    else:
                        self.drops["moved"] += 1
                else:
                    host.events.append(out)
                    if host.on_event is not None:
                        host.on_event(out)

    def advance(self, now: float) -> None:
        """Move the clock to ``now`` and deliver what has arrived (no machine ticks)."""
        self.now = max(self.now, now)
        while self._queue and self._queue[0][0] <= self.now:
            host = self._deliver(heapq.heappop(self._queue)[2])
            if host is not None and host.machine is not None:
                self.drain()
        while self._timers and self._timers[0][0] <= self.now:
            heapq.heappop(self._timers)[2]()

    def step(self, until: float = math.inf) -> bool:
        """Advance to the next event, not past ``until``; False if there is none before it."""
        self.drain()
        t = self.next_time()
        if t is None:
            return False
        if t > until:
            self.now = max(self.now, until)
            return False
        self.advance(t)
        for host in self.hosts:
            machine = host.machine
            if machine is not None:
                d = machine.deadline()
                if d is not None and d <= self.now:
                    machine.tick(self.now)
        self.drain()
        return True

    def run(self, until: float = math.inf, stop: Callable[[], bool] | None = None) -> float:
        """Run until ``stop()`` holds, nothing is left to do, or the clock reaches ``until``."""
        for _ in range(5_000_000):
            if stop is not None and stop():
                break
            if not self.step(until):
                break
        else:
            raise AssertionError("the simulation does not make progress")
        return self.now

    def run_until(self, done: Callable[[], bool], limit: float = 600.0) -> None:
        """Run until ``done()``; fail if it does not hold within ``limit`` seconds."""
        self.run(self.now + limit, done)
        if not done():
            raise AssertionError(f"condition not reached by t={self.now:.3f}")


class _VirtualSelector(selectors.BaseSelector):
    """The loop's selector: the real one for its own wake-up pipe, the network for the rest."""

    def __init__(self, net: Network) -> None:
        self._net = net
        self._real = selectors.DefaultSelector()

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_map(self) -> Any:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready:
            return ready
        net = self._net
        until = math.inf if timeout is None else net.now + timeout
        t = net.next_time()
        if t is not None and t <= until:
            net.advance(t)
        elif until == math.inf:
            raise RuntimeError("deadlock: the loop waits and nothing is on the network")
        else:
            net.now = until
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio loop on a :class:`Network`'s clock (see the module docstring). Attach
    sockets, not machines, to that network: the loop's code drives the machines."""

    def __init__(self, net: Network) -> None:
        self.net = net
        super().__init__(_VirtualSelector(net))

    def time(self) -> float:
        return self.net.now


def _name(address: Address) -> str:
    return f"{address[0]}:{address[1]}"


__all__ = [
    "Datagram",
    "Duplicate",
    "Host",
    "Impairment",
    "Jitter",
    "Loss",
    "Network",
    "Reorder",
    "VirtualTimeLoop",
]
