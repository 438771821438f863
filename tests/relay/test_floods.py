"""Floods: garbage from one address, routable-looking junk from many new addresses. All of
it is dropped and counted, no flow is created, the transceiver sees nothing, memory stays
bounded."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tracemalloc
from pathlib import Path

import pytest

from pywebrtc.framing import encode_address
from relay import metrics
from relay.forwarder import Drop, Forwarder, backends
from relay.routing import Route, RouteCodec
from relay.server import RelayConfig, RelayWorker
from tests.relay.netutil import client, start_transceiver
from tests.relay.stunmsg import binding_request

CODEC = RouteCodec({0: bytes(range(16))}, active=0)


def _kernel_drops(port: int) -> int:
    """The kernel's drop counter of the UDP socket bound to ``port`` (/proc/net/udp)."""
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}"):
            return int(fields[-1])
    return 0


def _corrupt(ufrag: str) -> str:
    return ufrag[:9] + ("B" if ufrag[9] == "A" else "A") + ufrag[10:]


def _junk(i: int) -> bytes:
    kinds = [
        b"\x16\xfe\xfd" + os.urandom(60),  # DTLS
        b"\x80\x6f" + os.urandom(100),  # RTP
        binding_request(f"{os.urandom(12).hex()}:x"),  # random ufrag
        binding_request(f"{_corrupt(CODEC.encode(Route(0, 1)))}:x"),
        os.urandom(30),
    ]
    return kinds[i % len(kinds)]


@pytest.mark.parametrize("mode", ["c", "thread", "asyncio"])
def test_flood_from_one_address_is_dropped_and_counted(mode: str) -> None:
    async def scenario() -> None:
        transceiver = await start_transceiver()
        worker = RelayWorker(
            RelayConfig(("127.0.0.1", 0), CODEC, {1: transceiver.address}, io=mode)
        )
        await worker.start()
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sent = 0
            for i in range(20_000):
                try:
                    sock.sendto(_junk(i), worker.public_address)
                    sent += 1
                except BlockingIOError:
                    await asyncio.sleep(0.001)
                if i % 500 == 0:
                    await asyncio.sleep(0)
            deadline = asyncio.get_running_loop().time() + 10
            while True:
                await asyncio.sleep(0.1)
                snapshot = worker.snapshot()
                dropped = sum(v for k, v in snapshot.items() if k.startswith("drops:"))
                lost = _kernel_drops(worker.public_address[1])
                if dropped + lost >= sent or asyncio.get_running_loop().time() > deadline:
                    break
            sock.close()
            # Every datagram is accounted for: dropped and counted by the relay, or lost by
            # the kernel when the socket buffer overflowed (a loaded machine).
            assert dropped + lost == sent
            assert dropped > 0
            assert snapshot["flows"] == 0 and snapshot["flows_created_total"] == 0
            assert transceiver.received == []
            # A real client is still served right after.
            c = await client(worker.public_address)
            c.send(binding_request(f"{CODEC.encode(Route(0, 1))}:x"))
            assert (await c.recv()).startswith(b"echo:")
            c.close()
        finally:
            await worker.stop()

    asyncio.run(scenario())


def test_flood_of_new_addresses_on_sockets() -> None:
    async def scenario() -> None:
        transceiver = await start_transceiver()
        worker = RelayWorker(RelayConfig(("127.0.0.1", 0), CODEC, {1: transceiver.address}))
        await worker.start()
        try:
            for batch in range(4):
                clients = [await client(worker.public_address) for _ in range(200)]
                for i, c in enumerate(clients):
                    c.send(_junk(batch * 200 + i))
                    c.send(_junk(batch * 200 + i + 1))
                await asyncio.sleep(0.1)
                for c in clients:
                    c.close()
            await asyncio.sleep(0.2)
            snapshot = worker.snapshot()
            assert sum(v for k, v in snapshot.items() if k.startswith("drops:")) == 1600
            assert snapshot["flows"] == 0 and transceiver.received == []
        finally:
            await worker.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize("mode", ["c", "thread", "asyncio"])
def test_one_ufrag_from_a_thousand_addresses_binds_sixteen(mode: str) -> None:
    # One valid routing ufrag sent from 1,000 source addresses (each its own 127.0.x.y):
    # at most 16 of them are bound, the rest are dropped and counted, and two other
    # sessions, one on the same transceiver and one on another, forward throughout.
    async def scenario() -> None:
        t1, t2 = await start_transceiver(), await start_transceiver()
        worker = RelayWorker(
            RelayConfig(("127.0.0.1", 0), CODEC, {1: t1.address, 2: t2.address}, io=mode)
        )
        await worker.start()
        flooders: list[socket.socket] = []
        try:
            neighbour = await client(worker.public_address)  # same transceiver
            elsewhere = await client(worker.public_address)  # another transceiver
            for c, route in ((neighbour, Route(0, 1)), (elsewhere, Route(0, 2))):
                c.send(binding_request(f"{CODEC.encode(route)}:x"))
                assert (await c.recv()).startswith(b"echo:")
            flooded = CODEC.encode(Route(0, 1))
            request = binding_request(f"{flooded}:x")
            for start in range(0, 1000, 50):
                for i in range(start, start + 50):
                    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    sock.setblocking(False)
                    sock.bind((f"127.0.{1 + i // 250}.{1 + i % 250}", 0))
                    sock.sendto(request, worker.public_address)
                    flooders.append(sock)
                for c in (neighbour, elsewhere):
                    payload = b"\x80\x6f" + str(start).encode()
                    c.send(payload)
                    assert await c.recv() == b"echo:" + payload
            assert len({s.getsockname() for s in flooders}) == 1000
            # Every flood datagram is accounted for: bound, refused and counted, or lost by
            # the kernel when the socket buffer overflowed (a loaded machine).
            lost = _kernel_drops(worker.public_address[1])
            deadline = asyncio.get_running_loop().time() + 10
            while True:
                snapshot = worker.snapshot()
                if snapshot["drops:session_full"] + lost >= 1000 - 16:
                    break
                assert asyncio.get_running_loop().time() < deadline, snapshot
                await asyncio.sleep(0.05)
            assert snapshot["drops:session_full"] + lost == 1000 - 16
            assert worker.forwarder.per_ufrag[flooded] == 16
            bound = [f for f in list(worker.forwarder.by_header.values()) if f.ufrag == flooded]
            assert len(bound) == 16
            assert snapshot["flows"] == 16 + 2
            assert f'pywebrtc_relay_drops_total{{reason="session_full"}} {1000 - 16}' in (
                metrics.render(snapshot)
            )
            # The 16 bound addresses got their answers; the others nothing.
            answered: list[socket.socket] = []
            while asyncio.get_running_loop().time() < deadline and len(answered) < 16:
                await asyncio.sleep(0.01)
                for sock in flooders:
                    with contextlib.suppress(BlockingIOError):
                        if sock.recv(2048).startswith(b"echo:"):
                            answered.append(sock)
            assert {encode_address(s.getsockname()) for s in answered} == {f.header for f in bound}
            # And the other sessions still forward, both of them.
            for c in (neighbour, elsewhere):
                c.send(b"\x80\x6fafter")
                assert await c.recv() == b"echo:\x80\x6fafter"
            neighbour.close()
            elsewhere.close()
        finally:
            for sock in flooders:
                sock.close()
            await worker.stop()

    asyncio.run(scenario())


def test_memory_stays_bounded_under_a_flood_of_new_addresses() -> None:
    # 100k distinct source addresses on a fake clock, with the route cache on (the most
    # state-hungry configuration): the flow table stays empty and the pending/negative
    # lookup state stays within its bounds.
    fw: Forwarder[tuple[str, int]] = Forwarder(
        CODEC,
        encode_address,
        backends({1: ("10.0.0.1", 1)}),
        max_flows=1000,
        cache_enabled=True,
        max_pending_lookups=64,
    )
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(100_000):
            address = (f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", 1000 + i % 50_000)
            fw.from_client(address, _junk(i) if i % 1000 == 0 else b"\x17\xfe\xfd", i * 1e-4)
            if fw.lookups:
                for key, _ in fw.lookups:
                    fw.cache_miss(key, i * 1e-4)
                fw.lookups.clear()
            if i % 10_000 == 0:
                fw.expire(i * 1e-4)
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert not fw.flows and not fw.by_header
    assert len(fw._negative) <= fw.max_flows
    assert grown < 2_000_000, grown
    assert sum(fw.drops.values()) == 100_000
    assert fw.drops[Drop.NOT_STUN] >= 99_000
