"""pywebrtc's TURN client against a real coturn on loopback (RFC 8656 over UDP).

Each test drives :class:`TurnClient` through :class:`TurnDriver` with a real socket and clock;
a plain UDP socket plays the peer on the far side of the relay.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import cast

import pytest

from conformance.turn.coturn import Coturn, running_coturn
from conformance.turn.driver import TurnDriver
from pywebrtc.ice.turn import (
    CHANNEL_LIFETIME,
    PERMISSION_LIFETIME,
    Address,
    Allocated,
    AllocationFailed,
    ChannelBound,
    Closed,
    DataReceived,
    PermissionCreated,
    Refreshed,
    TurnClient,
    TurnState,
)


class Peer(asyncio.DatagramProtocol):
    """A plain UDP endpoint on loopback: what an ICE peer looks like to the relay."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, Address]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def open(cls) -> Peer:
        loop = asyncio.get_running_loop()
        _, peer = await loop.create_datagram_endpoint(cls, local_addr=("127.0.0.1", 0))
        return peer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport is not registered as a DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self.received.put_nowait((data, (str(addr[0]), addr[1])))

    @property
    def address(self) -> Address:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return host, port

    def send(self, data: bytes, to: Address) -> None:
        assert self.transport is not None
        self.transport.sendto(data, to)

    async def recv(self, timeout: float = 5.0) -> tuple[bytes, Address]:
        return await asyncio.wait_for(self.received.get(), timeout)

    def close(self) -> None:
        assert self.transport is not None
        self.transport.close()


@pytest.fixture(scope="module")
def coturn() -> Iterator[Coturn]:
    with running_coturn() as server:
        yield server


def run(scenario: Callable[[], Awaitable[None]], server: Coturn) -> None:
    """Run an async scenario; on failure show coturn's log, which says why it refused."""
    try:
        asyncio.run(asyncio.wait_for(scenario(), 30))
    except BaseException:
        print(server.log()[-4000:])
        raise


async def allocated(
    server: Coturn,
    password: str | None = None,
    permission_lifetime: float = PERMISSION_LIFETIME,
    channel_lifetime: float = CHANNEL_LIFETIME,
) -> TurnDriver:
    """A client that has sent its Allocate."""
    client = TurnClient(
        server.address,
        server.username,
        password or server.password,
        permission_lifetime=permission_lifetime,
        channel_lifetime=channel_lifetime,
    )
    driver = await TurnDriver.open(client)
    client.allocate(driver.now)
    driver.flush()
    return driver


async def deallocate(driver: TurnDriver) -> None:
    """A Refresh with lifetime 0, answered, then the client's socket closed."""
    driver.client.close(driver.now)
    driver.flush()
    await driver.wait_for(Closed)
    driver.close()


def test_allocate_through_coturn_with_long_term_credentials(coturn: Coturn) -> None:
    async def scenario() -> None:
        driver = await allocated(coturn)
        event = await driver.wait_for(Allocated)
        assert event.relayed_address[0] == "127.0.0.1"
        assert event.mapped_address == driver.local_address
        assert event.lifetime == 600
        assert driver.client.state is TurnState.ALLOCATED
        await deallocate(driver)

    run(scenario, coturn)


def test_wrong_password_is_refused_by_coturn(coturn: Coturn) -> None:
    async def scenario() -> None:
        driver = await allocated(coturn, password="not-the-password")
        failure = await driver.wait_for(AllocationFailed)
        assert failure.code == 401
        assert driver.client.state is TurnState.FAILED
        driver.close()

    run(scenario, coturn)


def test_data_both_ways_through_send_and_data_indications(coturn: Coturn) -> None:
    async def scenario() -> None:
        driver = await allocated(coturn)
        relayed = (await driver.wait_for(Allocated)).relayed_address
        peer = await Peer.open()
        client = driver.client
        # No permission yet: the client installs one and sends once it is in.
        client.send(peer.address, b"ping over Send", driver.now)
        driver.flush()
        assert (await driver.wait_for(PermissionCreated)).peer_ip == "127.0.0.1"
        assert await peer.recv() == (b"ping over Send", relayed)
        peer.send(b"pong over Data", relayed)
        assert await driver.wait_for(DataReceived) == DataReceived(peer.address, b"pong over Data")
        assert client.stats.send_indications == 1 and client.stats.data_indications == 1
        await deallocate(driver)
        peer.close()

    run(scenario, coturn)


def test_data_both_ways_through_a_bound_channel(coturn: Coturn) -> None:
    async def scenario() -> None:
        driver = await allocated(coturn)
        relayed = (await driver.wait_for(Allocated)).relayed_address
        peer = await Peer.open()
        client = driver.client
        number = client.bind_channel(peer.address, driver.now)
        driver.flush()
        assert await driver.wait_for(ChannelBound) == ChannelBound(peer.address, number)
        for i in range(3):
            client.send(peer.address, b"over channel %d" % i, driver.now)
            driver.flush()
            assert await peer.recv() == (b"over channel %d" % i, relayed)
            peer.send(b"back %d" % i, relayed)
            assert await driver.wait_for(DataReceived) == DataReceived(peer.address, b"back %d" % i)
        assert client.stats.channel_data_sent == 3
        assert client.stats.channel_data_received == 3  # coturn answers on the channel too
        assert client.stats.send_indications == 0
        await deallocate(driver)
        peer.close()

    run(scenario, coturn)


def test_refresh_then_deallocate() -> None:
    with running_coturn() as coturn:  # its own server, so its log is about this test only

        async def scenario() -> None:
            driver = await allocated(coturn)
            await driver.wait_for(Allocated)
            driver.client.refresh(driver.now)
            driver.flush()
            assert await driver.wait_for(Refreshed) == Refreshed(600)
            await deallocate(driver)

        run(scenario, coturn)
        # coturn frees the 5-tuple a moment after answering (a new Allocate from the same
        # port meets 437 until then), so check its own account of the deallocation.
        assert "username=<alice>, lifetime=0" in coturn.log()


def test_short_lifetimes_are_refreshed_by_the_timers_and_stale_nonces_are_retried() -> None:
    # coturn is told to let allocations, permissions and channels live 4 s and nonces 2 s, so
    # within a few seconds the client must refresh all three on its own timers, and some of
    # those requests meet 438 Stale Nonce. Data still flowing afterwards proves it.
    flags = ("--max-allocate-lifetime=4", "--permission-lifetime=4", "--channel-lifetime=4")
    with running_coturn(*flags, "--stale-nonce=2") as server:

        async def scenario() -> None:
            driver = await allocated(server, permission_lifetime=4, channel_lifetime=4)
            client = driver.client
            relayed = (await driver.wait_for(Allocated)).relayed_address
            assert client.lifetime == 4
            over_channel, over_indication = await Peer.open(), await Peer.open()
            client.bind_channel(over_channel.address, driver.now)
            client.create_permission(over_indication.address[0], driver.now)
            driver.flush()
            await driver.wait_for(ChannelBound)
            await driver.wait_for(PermissionCreated)
            for _ in range(3):
                assert await driver.wait_for(Refreshed, timeout=6) == Refreshed(4)
            # Several lifetimes later, everything still relays, both ways.
            for peer in (over_channel, over_indication):
                client.send(peer.address, b"still here", driver.now)
                driver.flush()
                assert await peer.recv() == (b"still here", relayed)
                peer.send(b"me too", relayed)
                assert await driver.wait_for(DataReceived) == DataReceived(peer.address, b"me too")
            assert client.stats.channel_data_sent == 1 and client.stats.send_indications == 1
            assert client.stats.integrity_failures == 0
            log = server.log()
            assert log.count("CHANNEL_BIND processed, success") >= 2, "channel never refreshed"
            assert log.count("CREATE_PERMISSION processed, success") >= 2
            assert "error 438" in log, "coturn never sent 438: the stale-nonce path was not run"
            await deallocate(driver)
            over_channel.close()
            over_indication.close()

        run(scenario, server)
