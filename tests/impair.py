"""A userspace UDP impairment proxy and NAT (there is no ``tc netem`` here).

:class:`Impairer` is the sans-IO core: packets go in with the time they arrived, come out at the
time they are due, after seeded loss, delay plus jitter, reordering (a packet held back by an
extra delay), duplication and a rate limit (a serialising link with a bounded queue, the excess
dropped, as a bottleneck router does). It never reads a clock; tests drive it on a fake one.

:class:`Proxy` is the asyncio shell: it listens on one address, forwards everything from each
client to ``forward`` from a socket of its own per client (a NAT mapping) and the answers back,
each direction through its own :class:`Impairer`. :meth:`Proxy.rebind` replaces every mapping's
socket, so the far side sees the same client from a new port: NAT rebinding.

    python -m tests.impair --listen 10.77.1.100:3478 --forward 10.77.0.11:3478 --loss 0.02

prints ``impair ready`` once listening; SIGUSR1 rebinds, SIGTERM stops.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import logging
import random
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Impairment:
    """What a link does to packets; probabilities in [0, 1], times in seconds."""

    loss: float = 0.0
    delay: float = 0.0
    jitter: float = 0.0  # uniform extra delay in [0, jitter)
    reorder: float = 0.0  # probability a packet is held back by ``reorder_delay``
    reorder_delay: float = 0.02
    duplicate: float = 0.0
    rate: float | None = None  # bytes per second, None = unlimited
    queue: float = 0.2  # seconds of backlog the rate-limited link holds before dropping

    def __post_init__(self) -> None:
        for name in ("loss", "reorder", "duplicate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a probability")
        if self.delay < 0 or self.jitter < 0 or self.reorder_delay < 0 or self.queue < 0:
            raise ValueError("times must not be negative")
        if self.rate is not None and self.rate <= 0:
            raise ValueError("rate must be positive")


@dataclass(slots=True)
class Impairer:
    """One direction of a link; :meth:`push` packets, :meth:`pop` what is due."""

    impairment: Impairment
    seed: int = 0
    _random: random.Random = field(init=False)
    _due: list[tuple[float, int, bytes]] = field(init=False, default_factory=list)
    _count: int = field(init=False, default=0)
    _link_free: float = field(init=False, default=0.0)
    dropped: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def push(self, now: float, packet: bytes) -> None:
        spec = self.impairment
        if self._random.random() < spec.loss:
            self.dropped += 1
            return
        copies = 2 if self._random.random() < spec.duplicate else 1
        for _ in range(copies):
            sent = now
            if spec.rate is not None:
                start = max(now, self._link_free)
                if start - now > spec.queue:
                    self.dropped += 1
                    continue
                self._link_free = start + len(packet) / spec.rate
                sent = self._link_free
            due = sent + spec.delay + self._random.random() * spec.jitter
            if self._random.random() < spec.reorder:
                due += spec.reorder_delay
            heapq.heappush(self._due, (due, self._count, packet))
            self._count += 1

    def next_due(self) -> float | None:
        return self._due[0][0] if self._due else None

    def pop(self, now: float) -> list[bytes]:
        """Every packet due by ``now``, in due order."""
        out = []
        while self._due and self._due[0][0] <= now:
            out.append(heapq.heappop(self._due)[2])
        return out


class _Pump:
    """Runs one :class:`Impairer` on the loop's clock, sending with ``send``."""

    def __init__(self, impairer: Impairer, send: asyncio.DatagramTransport, to: Address | None):
        self.impairer = impairer
        self.transport = send
        self.to = to
        self.timer: asyncio.TimerHandle | None = None

    def push(self, packet: bytes) -> None:
        loop = asyncio.get_running_loop()
        self.impairer.push(loop.time(), packet)
        self._flush(loop)

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        self.timer = None
        for packet in self.impairer.pop(loop.time()):
            if not self.transport.is_closing():
                self.transport.sendto(packet, self.to)
        due = self.impairer.next_due()
        if due is not None:
            self.timer = loop.call_at(due, self._flush, loop)


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self, on_packet: Callable[[bytes, Address], None]) -> None:
        self.on_packet = on_packet

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.on_packet(data, addr)


class Proxy:
    """``listen`` ⇄ ``forward`` through per-client sockets, impaired both ways."""

    def __init__(
        self, listen: Address, forward: Address, up: Impairment, down: Impairment, seed: int = 0
    ) -> None:
        self.listen = listen
        self.forward = forward
        self.up = up
        self.down = down
        self.seed = seed
        self.front: asyncio.DatagramTransport | None = None
        self.mappings: dict[Address, tuple[asyncio.DatagramTransport, _Pump, _Pump]] = {}
        # A new client's packets while its mapping's socket is being opened: without this, a
        # first flight of two datagrams opened two mappings and left via two ports.
        self._opening: dict[Address, list[bytes]] = {}

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.front, _ = await loop.create_datagram_endpoint(
            lambda: _Receiver(self._from_client), local_addr=self.listen
        )

    async def _mapping(self, client: Address) -> tuple[asyncio.DatagramTransport, _Pump, _Pump]:
        loop = asyncio.get_running_loop()
        assert self.front is not None
        outside, _ = await loop.create_datagram_endpoint(
            lambda: _Receiver(lambda data, _addr: self.mappings[client][2].push(data)),
            local_addr=(self.listen[0], 0),
        )
        seed = self.seed + len(self.mappings)
        up = _Pump(Impairer(self.up, seed), outside, self.forward)
        down = _Pump(Impairer(self.down, seed + 1000), self.front, client)
        logger.info("mapping %s -> %s", client, outside.get_extra_info("sockname"))
        return outside, up, down

    def _from_client(self, data: bytes, addr: Address) -> None:
        mapping = self.mappings.get(addr)
        if mapping is not None:
            mapping[1].push(data)
            return
        opening = self._opening.get(addr)
        if opening is not None:
            opening.append(data)
            return
        self._opening[addr] = [data]
        asyncio.get_running_loop().create_task(self._first(addr))

    async def _first(self, addr: Address) -> None:
        self.mappings[addr] = mapping = await self._mapping(addr)
        for data in self._opening.pop(addr):
            mapping[1].push(data)

    async def rebind(self) -> None:
        """Every client gets a new outside port (the old sockets close)."""
        for client, (outside, _, _) in list(self.mappings.items()):
            self.mappings[client] = await self._mapping(client)
            outside.close()

    def close(self) -> None:
        for outside, _, _ in self.mappings.values():
            outside.close()
        if self.front is not None:
            self.front.close()


def _address(text: str) -> Address:
    host, _, port = text.rpartition(":")
    return host, int(port)


async def _main(args: argparse.Namespace) -> None:
    spec = Impairment(
        loss=args.loss, delay=args.delay, jitter=args.jitter, reorder=args.reorder,
        duplicate=args.duplicate, rate=args.rate,
    )  # fmt: skip
    proxy = Proxy(_address(args.listen), _address(args.forward), spec, spec, args.seed)
    await proxy.start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, lambda: loop.create_task(proxy.rebind()))
    print("impair ready", flush=True)
    await stop.wait()
    proxy.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--listen", required=True)
    p.add_argument("--forward", required=True)
    p.add_argument("--loss", type=float, default=0.0)
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--jitter", type=float, default=0.0)
    p.add_argument("--reorder", type=float, default=0.0)
    p.add_argument("--duplicate", type=float, default=0.0)
    p.add_argument("--rate", type=float, default=None)
    p.add_argument("--seed", type=int, default=0)
    logging.basicConfig(level=logging.INFO)
    asyncio.run(_main(p.parse_args()))


if __name__ == "__main__":
    main()
