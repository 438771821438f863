"""The relay on loopback sockets: clients → relay → fake transceivers, in both I/O modes."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time

import pytest

from pywebrtc.framing import encode_address
from relay.cache import RouteCache
from relay.routing import Route, RouteCodec
from relay.server import RelayConfig, RelayWorker
from tests.relay.netutil import client, free_port, start_transceiver
from tests.relay.redisproc import RedisServer
from tests.relay.stunmsg import binding_request

CODEC = RouteCodec({0: bytes(range(16))}, active=0)
# "c": the forwarding threads run the C loops (relay._fastloop); "thread": the same threads
# run the pure-Python loops (the fallback where the extension is not built).
THREADED = ["c", "thread"]
MODES = [*THREADED, "asyncio"]


def ufrag_request(route: Route) -> bytes:
    return binding_request(f"{CODEC.encode(route)}:client")


def relay_config(transceivers: dict[int, tuple[str, int]], **kwargs: object) -> RelayConfig:
    return RelayConfig(
        listen=("127.0.0.1", 0),
        codec=CODEC,
        transceivers=transceivers,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("mode", MODES)
def test_many_flows_both_ways_across_two_transceivers(mode: str) -> None:
    async def scenario() -> None:
        t1, t2 = await start_transceiver(), await start_transceiver()
        worker = RelayWorker(relay_config({1: t1.address, 2: t2.address}, io=mode))
        await worker.start()
        try:
            clients = [await client(worker.public_address) for _ in range(200)]
            for i, c in enumerate(clients):
                c.send(ufrag_request(Route(0, 1 + i % 2)))
            for c in clients:
                assert (await c.recv()).startswith(b"echo:\x00\x01")
            for round_ in range(5):
                for i, c in enumerate(clients):
                    c.send(b"\x80\x6f" + f"{i}:{round_}".encode())
                for i, c in enumerate(clients):
                    assert await c.recv() == b"echo:\x80\x6f" + f"{i}:{round_}".encode()
            # Each transceiver saw only its own clients, framed with their real addresses.
            headers1 = {h for h, _ in t1.received}
            headers2 = {h for h, _ in t2.received}
            assert len(headers1) == len(headers2) == 100
            assert not headers1 & headers2
            sockname = clients[0].transport.get_extra_info("sockname")  # type: ignore[union-attr]
            assert encode_address(sockname) in headers1
            snap = worker.snapshot()
            assert snap["flows"] == 200
            assert snap["packets_from_clients_total"] == 1200
            assert snap["packets_to_clients_total"] == 1200
            for c in clients:
                c.close()
        finally:
            await worker.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize("mode", MODES)
def test_unroutable_traffic_never_reaches_a_transceiver(mode: str) -> None:
    async def scenario() -> None:
        t1 = await start_transceiver()
        worker = RelayWorker(relay_config({1: t1.address}, io=mode))
        await worker.start()
        try:
            forged = CODEC.encode(Route(0, 1))
            forged = forged[:-3] + ("A" if forged[-3] != "A" else "B") + forged[-2:]
            c = await client(worker.public_address)
            c.send(b"\x16\xfe\xfd" + bytes(50))  # DTLS first
            c.send(binding_request(f"{forged}:x"))
            c.send(binding_request("nonsense:x"))
            c.send(ufrag_request(Route(0, 9)))
            c.send(b"\xc4" + bytes(30))  # a frame from a client is just junk
            await asyncio.sleep(0.2)
            assert t1.received == []
            drops = {k: v for k, v in worker.snapshot().items() if k.startswith("drops:")}
            assert drops == {
                "drops:not_stun": 2,
                "drops:bad_ufrag": 2,
                "drops:unknown_transceiver": 1,
            }
            # Frames from a stranger on the backend socket are dropped too.
            stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            stranger.sendto(encode_address(("127.0.0.1", 9)) + b"x", worker.backend_address)
            stranger.close()
            await asyncio.sleep(0.1)
            assert worker.snapshot()["drops:untrusted_source"] == 1
            c.close()
        finally:
            await worker.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize("mode", MODES)
def test_a_fresh_relay_forwards_a_known_client_from_its_first_packet(mode: str) -> None:
    # What a replacement relay sees mid-call: media from an address it has no flow for, whose
    # route another relay wrote to Redis. The packets that come while it asks are held, not
    # dropped: the transceiver gets every one, in order.
    redis = RedisServer()

    async def scenario() -> None:
        t1 = await start_transceiver()
        worker = RelayWorker(relay_config({1: t1.address}, io=mode, redis_url=redis.url))
        await worker.start()
        writer = RouteCache(redis.url)
        try:
            c = await client(worker.public_address)
            sockname = c.transport.get_extra_info("sockname")  # type: ignore[union-attr]
            assert await writer.write([(encode_address(sockname), Route(0, 1))])
            packets = [b"\x80\x6f" + bytes([n]) * 20 for n in range(4)]
            for packet in packets:
                c.send(packet)
            for packet in packets:
                assert await asyncio.wait_for(c.recv(), 2) == b"echo:" + packet
            assert [p for _, p in t1.received] == packets
            snap = worker.snapshot()
            assert snap["route_cache_hits_total"] == 1 and snap["packets_from_clients_total"] == 4
            assert "drops:not_stun" not in snap
            c.close()
        finally:
            await writer.close()
            await worker.stop()

    try:
        asyncio.run(scenario())
    finally:
        redis.stop()


@pytest.mark.parametrize("mode", MODES)
def test_ipv6_clients_and_transceivers(mode: str) -> None:
    async def scenario() -> None:
        t1 = await start_transceiver("::1")
        worker = RelayWorker(
            RelayConfig(listen=("::1", 0), codec=CODEC, transceivers={1: t1.address}, io=mode)
        )
        await worker.start()
        try:
            clients = [await client(worker.public_address, "::1") for _ in range(20)]
            for c in clients:
                c.send(ufrag_request(Route(0, 1)))
            for c in clients:
                assert (await c.recv()).startswith(b"echo:\x00\x01")
            for i, c in enumerate(clients):
                c.send(b"\x80\x6f" + bytes([i]) * 100)
            for i, c in enumerate(clients):
                assert await c.recv() == b"echo:\x80\x6f" + bytes([i]) * 100
            headers = {h for h, _ in t1.received}
            assert len(headers) == 20 and all(len(h) == 19 for h in headers)
            sockname = clients[0].transport.get_extra_info("sockname")  # type: ignore[union-attr]
            assert encode_address(sockname) in headers
            for c in clients:
                c.close()
        finally:
            await worker.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize("mode", MODES)
def test_dual_stack_listener_frames_ipv4_clients_as_ipv4(mode: str) -> None:
    async def scenario() -> None:
        t1 = await start_transceiver()
        worker = RelayWorker(
            RelayConfig(listen=("::", 0), codec=CODEC, transceivers={1: t1.address}, io=mode)
        )
        await worker.start()
        try:
            port = worker.public_address[1]
            c = await client(("127.0.0.1", port))
            c.send(ufrag_request(Route(0, 1)))
            assert (await c.recv()).startswith(b"echo:")
            c.send(b"\x17\xfe\xfd")
            assert await c.recv() == b"echo:\x17\xfe\xfd"
            sockname = c.transport.get_extra_info("sockname")  # type: ignore[union-attr]
            assert {h for h, _ in t1.received} == {encode_address(sockname)}
            c.close()
        finally:
            await worker.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize("mode", MODES)
def test_a_dead_transceiver_does_not_disturb_the_others(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        live = await start_transceiver()
        dead = ("127.0.0.1", free_port())  # nothing listens: ICMP port unreachable
        worker = RelayWorker(relay_config({1: dead, 2: live.address}, io=mode))
        await worker.start()
        try:
            to_dead = await client(worker.public_address)
            to_live = await client(worker.public_address)
            to_dead.send(ufrag_request(Route(0, 1)))
            to_live.send(ufrag_request(Route(0, 2)))
            assert (await to_live.recv()).startswith(b"echo:")
            for i in range(20):
                to_dead.send(b"\x17" + bytes([i]))
                to_live.send(b"\x17" + bytes([i]))
                assert await to_live.recv() == b"echo:\x17" + bytes([i])
            to_dead.close()
            to_live.close()
        finally:
            await worker.stop()

    with caplog.at_level(logging.ERROR):
        asyncio.run(scenario())
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("mode", THREADED)
def test_single_datagrams_bursts_and_oversized_datagrams(mode: str) -> None:
    # At light load each handler reads one datagram through the socket module; a burst
    # switches it to recvmmsg batches and a lone datagram back. Oversized datagrams are
    # counted either way, in both directions.
    async def scenario() -> None:
        t1 = await start_transceiver(reply=lambda p: p * 600 if p.startswith(b"big") else p)
        worker = RelayWorker(relay_config({1: t1.address}, io=mode))
        await worker.start()
        try:
            c = await client(worker.public_address)
            c.send(ufrag_request(Route(0, 1)))
            await c.recv()
            for i in range(3):
                c.send(b"\x17lone" + bytes([i]))
                assert await c.recv() == b"\x17lone" + bytes([i])
            c.send(b"\x17" + bytes(5000))  # larger than a receive slot
            c.send(b"big reply")  # the transceiver answers with 5400 bytes: too big
            for i in range(200):
                c.send(b"\x17burst" + i.to_bytes(2, "big"))
            replies = [await c.recv() for _ in range(200)]
            assert sorted(replies) == sorted(
                b"\x17burst" + i.to_bytes(2, "big") for i in range(200)
            )
            c.send(b"\x17lone again")
            assert await c.recv() == b"\x17lone again"
            if mode == "thread":  # the one-datagram path knows the client
                assert len(worker._addr_flows) == 1
            snap = worker.snapshot()
            assert snap["drops:truncated"] == 2
            assert snap["packets_from_clients_total"] == 1 + 3 + 1 + 200 + 1
            assert snap["packets_to_clients_total"] == 1 + 3 + 200 + 1
            c.close()
        finally:
            await worker.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize("mode", THREADED)
def test_thread_mode_forwards_in_threads_of_its_own_and_stops_cleanly(mode: str) -> None:
    async def scenario() -> None:
        t1 = await start_transceiver()
        worker = RelayWorker(relay_config({1: t1.address}, io=mode))
        await worker.start()
        c = await client(worker.public_address)
        c.send(ufrag_request(Route(0, 1)))
        assert (await c.recv()).startswith(b"echo:")
        forwarding = [t for t in threading.enumerate() if t.name.startswith("relay-io")]
        # Thread mode: the public socket, the stray backend socket, and the link to
        # transceiver 1. C mode: the public socket's thread runs the link's loop too.
        assert len(forwarding) == (2 if mode == "c" else 3)
        await worker.stop()
        assert not any(t.is_alive() for t in forwarding)
        assert worker.public.fileno() == -1 and worker.private.fileno() == -1
        c.send(b"\x17after stop")  # nobody forwards it, nothing breaks
        await asyncio.sleep(0.05)
        assert len(t1.received) == 1
        c.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("mode", THREADED)
def test_thread_mode_counts_exactly_while_housekeeping_races_the_forwarding_threads(
    mode: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The one-datagram fast path takes no lock. Expiry, migrations and new flows change the
    # flow table under the lock at the same time as traffic flows through both threads: no
    # error, no lost count (each thread counts into its own list), and forwarding goes on.
    async def scenario() -> None:
        t1, t2 = await start_transceiver(), await start_transceiver()
        worker = RelayWorker(relay_config({1: t1.address, 2: t2.address}, io=mode))
        await worker.start()
        try:
            clients = [await client(worker.public_address) for _ in range(40)]
            for round_ in range(30):
                for i, c in enumerate(clients):
                    if (i + round_) % 3 == 0:  # a Binding Request: new flow or migration
                        c.send(ufrag_request(Route(0, 1 + round_ % 2)))
                    c.send(b"\x80\x6f" + f"{i}:{round_}".encode())
                if round_ % 4 == 3:
                    # Everything expires, as if idle for longer than the timeout, while the
                    # datagrams above are still on their way.
                    later = time.monotonic() + 1000
                    worker._in_forwarder(worker.forwarder.expire, later)
                await asyncio.sleep(0.002)
            await asyncio.sleep(0.2)
            replies = sum(c.queue.qsize() for c in clients)
            snap = worker.snapshot()
            assert snap["packets_to_clients_total"] == replies
            assert snap["packets_from_clients_total"] == len(t1.received) + len(t2.received)
            assert snap["flows_expired_total"] > 0 and snap["flows_migrated_total"] > 0
            assert snap["drops:not_stun"] > 0  # data for flows that had just expired
            # Still forwarding: a fresh Binding Request, then data, both ways.
            for c in clients:
                while not c.queue.empty():
                    c.queue.get_nowait()
                c.send(ufrag_request(Route(0, 1)))
                assert (await c.recv()).startswith(b"echo:")
                c.send(b"\x80\x6fafter")
                assert await c.recv() == b"echo:\x80\x6fafter"
            for c in clients:
                c.close()
        finally:
            await worker.stop()

    with caplog.at_level(logging.ERROR):
        asyncio.run(scenario())
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
