"""Global Relay chaining: cluster 0's relay forwards a cluster-1 route to cluster 1's relay,
which delivers it to its transceiver with the client's real address in the frame."""

from __future__ import annotations

import asyncio

import pytest

from pywebrtc.framing import encode_address
from relay.routing import Route, RouteCodec
from relay.server import RelayConfig, RelayWorker
from tests.relay.netutil import client, free_port, start_transceiver
from tests.relay.stunmsg import binding_request

CODEC = RouteCodec({0: bytes(range(16))}, active=0)


@pytest.mark.parametrize("mode", ["c", "thread", "asyncio"])
def test_chained_relays_keep_the_client_address(mode: str) -> None:
    async def scenario() -> None:
        local = await start_transceiver("127.0.0.1")
        remote = await start_transceiver("127.0.0.2")
        port_a, port_b = free_port("127.0.0.1"), free_port("127.0.0.2")
        relay_a = RelayWorker(
            RelayConfig(
                ("127.0.0.1", port_a),
                CODEC,
                {1: local.address},
                cluster=0,
                peer_relays={1: ("127.0.0.2", port_b)},
                io=mode,
            )
        )
        relay_b = RelayWorker(
            RelayConfig(
                ("127.0.0.2", port_b),
                CODEC,
                {5: remote.address},
                cluster=1,
                peer_relays={0: ("127.0.0.1", port_a)},
                io=mode,
                backend_bind="127.0.0.2",
            )
        )
        await relay_a.start()
        await relay_b.start()
        try:
            clients = [await client(relay_a.public_address, "127.0.0.3") for _ in range(20)]
            for i, c in enumerate(clients):
                c.send(binding_request(f"{CODEC.encode(Route(i % 2, 1 if i % 2 == 0 else 5))}:x"))
            for c in clients:
                assert (await c.recv()).startswith(b"echo:")
            for i, c in enumerate(clients):
                c.send(b"\x17\xfe\xfd" + bytes([i]))
            for i, c in enumerate(clients):
                assert await c.recv() == b"echo:\x17\xfe\xfd" + bytes([i])
            # The remote cluster's transceiver saw its clients' real addresses.
            expected = {
                encode_address(c.transport.get_extra_info("sockname"))  # type: ignore[union-attr]
                for c in clients[1::2]
            }
            assert {h for h, _ in remote.received} == expected
            assert len(local.received) == 20 and len(remote.received) == 20
            assert relay_b.snapshot()["flows"] == 10
            for c in clients:
                c.close()
        finally:
            await relay_a.stop()
            await relay_b.stop()

    asyncio.run(scenario())
