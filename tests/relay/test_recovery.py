"""Killing a relay mid-flow: how long until packets flow again through a new one, with and
without the Redis route cache. Also: Redis down means ufrag-only routing, not an outage."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from relay.routing import Route, RouteCodec
from tests.relay.netutil import client, free_port, start_transceiver
from tests.relay.redisproc import RedisServer
from tests.relay.relayproc import RelayProcess
from tests.relay.stunmsg import binding_request

KEY = bytes(range(16))
CODEC = RouteCodec({4: KEY}, active=4)
CONSENT_INTERVAL = 3.0  # RFC 7675 allows 4–6 s; shorter here to keep the test quick


def _keys_file(tmp_path: Path) -> str:
    path = tmp_path / "keys"
    path.write_text(f"4 {KEY.hex()}\n")
    return str(path)


async def _gap_after_restart(tmp_path: Path, redis_url: str | None) -> tuple[float, float]:
    """Returns (seconds from kill to the first echo, seconds from new relay ready to it)."""
    transceiver = await start_transceiver()
    port = free_port()
    args = [
        "--listen",
        f"127.0.0.1:{port}",
        "--keys",
        _keys_file(tmp_path),
        "--transceiver",
        f"1={transceiver.address[0]}:{transceiver.address[1]}",
    ]
    if redis_url:
        args += ["--redis", redis_url]
    loop = asyncio.get_running_loop()
    first = await loop.run_in_executor(None, lambda: RelayProcess(*args))
    second: RelayProcess | None = None
    c = await client(("127.0.0.1", port))
    consent = binding_request(f"{CODEC.encode(Route(0, 1))}:client")
    echoes: list[float] = []
    consents: list[float] = []
    stop = asyncio.Event()

    async def receive() -> None:
        while not stop.is_set():
            try:
                await c.recv(0.1)
                echoes.append(time.monotonic())
            except TimeoutError:
                pass

    async def send() -> None:
        last_consent = float("-inf")
        seq = 0
        while not stop.is_set():
            now = time.monotonic()
            if now - last_consent >= CONSENT_INTERVAL:
                c.send(consent)
                last_consent = now
                consents.append(now)
            c.send(b"\x80\x6f" + seq.to_bytes(4, "big"))  # "RTP" every 10 ms
            seq += 1
            await asyncio.sleep(0.01)

    tasks = [loop.create_task(receive()), loop.create_task(send())]
    try:
        await asyncio.sleep(0.6)
        assert len(echoes) > 20, first.output()
        # Kill just after a consent check, so that the next one is a full interval away.
        count = len(consents)
        while len(consents) == count:
            await asyncio.sleep(0.005)
        killed = time.monotonic()
        first.kill()
        second = await loop.run_in_executor(None, lambda: RelayProcess(*args))
        deadline = killed + CONSENT_INTERVAL + 5
        while time.monotonic() < deadline and not [t for t in echoes if t > second.ready_at]:
            await asyncio.sleep(0.005)
        after = [t for t in echoes if t > second.ready_at]
        assert after, second.output()
        return after[0] - killed, after[0] - second.ready_at
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        c.close()
        first.close()
        if second is not None:
            second.close()


def test_restart_gap_with_and_without_redis(tmp_path: Path) -> None:
    redis = RedisServer()
    try:
        with_total, with_ready = asyncio.run(_gap_after_restart(tmp_path, redis.url))
    finally:
        redis.stop()
    without_total, without_ready = asyncio.run(_gap_after_restart(tmp_path, None))
    print(
        f"\nrelay restart gap: with Redis {with_total * 1000:.0f} ms after kill "
        f"({with_ready * 1000:.0f} ms after the new relay was ready); without Redis "
        f"{without_total * 1000:.0f} ms ({without_ready * 1000:.0f} ms after ready)"
    )
    # With the cache the first SRTP-like packet after the restart is forwarded (one Redis
    # round trip); without it, traffic waits for the next consent check.
    assert with_ready < 0.3
    # Killed just after a consent check: the next one, a full interval later, is the first
    # packet a cache-less relay can route (however fast it restarts).
    assert without_total > 0.9 * CONSENT_INTERVAL
    assert without_ready > with_ready


@pytest.mark.parametrize("io", ["c", "thread"])
def test_redis_down_means_ufrag_routing_and_a_warning(tmp_path: Path, io: str) -> None:
    async def scenario() -> None:
        transceiver = await start_transceiver()
        port = free_port()
        dead = free_port()  # nothing listens there
        relay = RelayProcess(
            "--listen",
            f"127.0.0.1:{port}",
            "--keys",
            _keys_file(tmp_path),
            "--transceiver",
            f"1={transceiver.address[0]}:{transceiver.address[1]}",
            "--redis",
            f"redis://127.0.0.1:{dead}/0",
            "--io",
            io,
        )
        try:
            c = await client(("127.0.0.1", port))
            c.send(binding_request(f"{CODEC.encode(Route(0, 1))}:client"))
            assert (await c.recv()).startswith(b"echo:")
            for i in range(20):
                c.send(b"\x80\x6f" + bytes([i]))
                assert await c.recv() == b"echo:\x80\x6f" + bytes([i])
            await asyncio.sleep(0.3)
            assert "route cache" in relay.output() and "unavailable" in relay.output()
            assert relay.terminate() == 0
            c.close()
        finally:
            relay.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("io", ["c", "thread"])
def test_transceivers_from_the_redis_registry(io: str) -> None:
    async def scenario() -> None:
        import redis.asyncio as aioredis

        from relay.server import RelayConfig, RelayWorker

        redis = RedisServer()
        client_redis = aioredis.Redis.from_url(redis.url)
        transceiver = await start_transceiver()
        worker = RelayWorker(
            RelayConfig(
                ("127.0.0.1", 0), CODEC, {}, redis_url=redis.url, registry_interval=0.1, io=io
            )
        )
        await worker.start()
        try:
            from relay.cache import RouteCache

            announcer = RouteCache(redis.url)
            assert await announcer.heartbeat(0, 7, transceiver.address, ttl=10)
            await announcer.close()
            await client_redis.set("pywebrtc:transceiver:1:7", "127.0.0.1:9", ex=10)  # other
            await asyncio.sleep(0.4)
            assert set(worker.forwarder.transceivers) == {7}
            c = await client(worker.public_address)
            c.send(binding_request(f"{CODEC.encode(Route(0, 7))}:client"))
            assert (await c.recv()).startswith(b"echo:")
            c.send(b"\x17dtls")
            assert await c.recv() == b"echo:\x17dtls"
            # The flow was written to the route cache (by the event loop, while the echoes
            # went through the forwarding threads: it may land a moment after them).
            for _ in range(100):
                keys = await client_redis.keys("pywebrtc:route:*")
                if keys:
                    break
                await asyncio.sleep(0.01)
            assert len(keys) == 1 and await client_redis.get(keys[0]) == b"0:7"
            # A transceiver that leaves the registry leaves the table.
            await client_redis.delete("pywebrtc:transceiver:0:7")
            await asyncio.sleep(0.4)
            assert worker.forwarder.transceivers == {}
            c.close()
        finally:
            await worker.stop()
            await client_redis.aclose()
            redis.stop()

    asyncio.run(scenario())
