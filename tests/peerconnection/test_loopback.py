"""Two pywebrtc peer connections over real loopback sockets: data channels end to end.

Every wait is on a real event (state change, channel event, message) with a timeout.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

import pytest

from pywebrtc import InvalidStateError, RTCDataChannel, RTCPeerConnection, SettingEngine
from tests.peerconnection.helpers import Inbox, channel_event, incoming, negotiate, reach


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 30))


async def connected_pair(
    offerer_settings: SettingEngine | None = None, answerer_settings: SettingEngine | None = None
) -> tuple[RTCPeerConnection, RTCPeerConnection, RTCDataChannel, RTCDataChannel]:
    """An offerer with channel "chat" and the answerer's end of it, both open."""
    a = RTCPeerConnection(settings=offerer_settings)
    b = RTCPeerConnection(settings=answerer_settings)
    theirs = asyncio.ensure_future(incoming(b))
    ours = a.createDataChannel("chat")
    await negotiate(a, b)
    remote = await theirs
    await channel_event(ours, "open", "open")
    return a, b, ours, remote


def test_offerer_channel_carries_messages_both_ways() -> None:
    async def body() -> None:
        a, b, ours, theirs = await connected_pair()
        assert theirs.label == "chat" and theirs.readyState == "open"
        assert ours.id == theirs.id
        inbox_b, inbox_a = Inbox(theirs), Inbox(ours)
        ours.send("hello")
        ours.send(b"\x00\x01binary")
        ours.send("")
        ours.send(b"")
        assert await inbox_b.wait(4) == ["hello", b"\x00\x01binary", "", b""]
        theirs.send("back")
        assert await inbox_a.wait(1) == ["back"]
        await a.close()
        await b.close()

    run(body)


def test_the_side_that_completes_dtls_last_answers_the_sctp_init_instead_of_colliding() -> None:
    # With DTLS 1.3 (the default) the client (the answerer here) completes first and sends
    # INIT behind its Finished; the server answers it rather than sending an INIT of its own
    # (RFC 9260 §5.2.1 would cope, with twice the handshake packets). With DTLS 1.2 the
    # roles swap: test_the_dtls12_client_answers_the_servers_sctp_init.
    async def body() -> None:
        a, b, ours, theirs = await connected_pair()
        assert a.sctp is not None and b.sctp is not None
        assert a.sctp.init_answered and not b.sctp.init_answered
        inbox = Inbox(theirs)
        ours.send("after")
        assert await inbox.wait(1) == ["after"]
        await a.close()
        await b.close()

    run(body)


def test_the_dtls12_client_answers_the_servers_sctp_init() -> None:
    # DTLS 1.2: the server (the offerer) completes first and sends INIT behind its Finished.
    async def body() -> None:
        settings = [SettingEngine(), SettingEngine()]
        for setting in settings:
            setting.set_dtls_versions("1.2")
        a, b, ours, theirs = await connected_pair(*settings)
        assert a.sctp is not None and b.sctp is not None
        assert b.sctp.init_answered and not a.sctp.init_answered
        inbox = Inbox(theirs)
        ours.send("after")
        assert await inbox.wait(1) == ["after"]
        await a.close()
        await b.close()

    run(body)


def test_answerer_can_open_channels_too() -> None:
    async def body() -> None:
        a, b, _, _ = await connected_pair()
        pending = asyncio.ensure_future(incoming(a))
        from_b = b.createDataChannel("from-answerer", protocol="proto")
        at_a = await pending
        assert at_a.label == "from-answerer" and at_a.protocol == "proto"
        # Stream ids follow the DTLS role (RFC 8832 §6): the answerer is the DTLS client.
        assert from_b.id is not None and from_b.id % 2 == 0
        inbox = Inbox(at_a)
        from_b.send("x")
        assert await inbox.wait(1) == ["x"]
        await a.close()
        await b.close()

    run(body)


@pytest.mark.parametrize(
    "options",
    [{"ordered": False}, {"maxRetransmits": 0}, {"maxPacketLifeTime": 500}],
    ids=["unordered", "rexmit0", "lifetime"],
)
def test_partial_reliability_and_unordered_channels(options: dict[str, int | bool]) -> None:
    async def body() -> None:
        a = RTCPeerConnection()
        b = RTCPeerConnection()
        pending = asyncio.ensure_future(incoming(b))
        ours = a.createDataChannel("pr", **options)  # type: ignore[arg-type]
        await negotiate(a, b)
        theirs = await pending
        assert theirs.ordered == options.get("ordered", True)
        assert theirs.maxRetransmits == options.get("maxRetransmits")
        assert theirs.maxPacketLifeTime == options.get("maxPacketLifeTime")
        await channel_event(ours, "open", "open")
        inbox_b, inbox_a = Inbox(theirs), Inbox(ours)
        for i in range(20):
            ours.send(f"m{i}")
        got = await inbox_b.wait(20)  # loopback loses nothing
        assert sorted(got, key=lambda m: int(str(m)[1:])) == [f"m{i}" for i in range(20)]
        theirs.send(b"reply")
        assert await inbox_a.wait(1) == [b"reply"]
        await a.close()
        await b.close()

    run(body)


def test_negotiated_channel_needs_no_dcep() -> None:
    async def body() -> None:
        a = RTCPeerConnection()
        b = RTCPeerConnection()
        announced: list[RTCDataChannel] = []
        b.on("datachannel", announced.append)
        ours = a.createDataChannel("n", negotiated=True, id=7)
        theirs = b.createDataChannel("n", negotiated=True, id=7)
        await negotiate(a, b)
        await channel_event(ours, "open", "open")
        await channel_event(theirs, "open", "open")
        inbox_b, inbox_a = Inbox(theirs), Inbox(ours)
        ours.send("ping")
        assert await inbox_b.wait(1) == ["ping"]
        theirs.send("pong")
        assert await inbox_a.wait(1) == ["pong"]
        assert announced == []  # no DATA_CHANNEL_OPEN on a negotiated channel
        await a.close()
        await b.close()

    run(body)


def test_one_mebibyte_arrives_intact_and_in_order() -> None:
    async def body() -> None:
        a, b, ours, theirs = await connected_pair()
        blob = os.urandom(1 << 20)
        chunk = 64 * 1024
        inbox = Inbox(theirs)
        for offset in range(0, len(blob), chunk):
            ours.send(blob[offset : offset + chunk])
        got = await inbox.wait(len(blob) // chunk)
        assert b"".join(bytes(m) for m in got if isinstance(m, bytes)) == blob
        # A single message of 256 KiB (our default max-message-size) goes too.
        big = os.urandom(256 * 1024)
        theirs_inbox = Inbox(ours)
        theirs.send(big)
        assert (await theirs_inbox.wait(1))[0] == big
        await a.close()
        await b.close()

    run(body)


def test_channel_close_is_seen_on_both_sides() -> None:
    async def body() -> None:
        a, b, ours, theirs = await connected_pair()
        closed = asyncio.gather(
            channel_event(theirs, "close", "closed"), channel_event(ours, "close", "closed")
        )
        ours.close()
        await closed
        assert ours.readyState == theirs.readyState == "closed"
        with pytest.raises(InvalidStateError):
            ours.send("too late")
        # The connection stays up: a new channel opens.
        pending = asyncio.ensure_future(incoming(b))
        again = a.createDataChannel("again")
        assert (await pending).label == "again"
        await channel_event(again, "open", "open")
        await a.close()
        await b.close()

    run(body)


def test_closing_the_peer_connection_closes_channels_on_both_sides() -> None:
    async def body() -> None:
        a, b, ours, theirs = await connected_pair()
        remote_closed = asyncio.ensure_future(channel_event(theirs, "close", "closed"))
        await a.close()
        assert ours.readyState == "closed"
        assert a.connectionState == a.iceConnectionState == a.signalingState == "closed"
        await remote_closed
        await reach(b, "connectionState", "disconnected")
        await b.close()
        assert b.connectionState == "closed"

    run(body)


def test_buffered_amount_low_fires_as_the_queue_drains() -> None:
    async def body() -> None:
        a, b, ours, theirs = await connected_pair()
        ours.bufferedAmountLowThreshold = 64 * 1024
        low = asyncio.Event()
        ours.on("bufferedamountlow", low.set)
        inbox = Inbox(theirs)
        for _ in range(16):
            ours.send(bytes(32 * 1024))
        assert ours.bufferedAmount > ours.bufferedAmountLowThreshold
        await asyncio.wait_for(low.wait(), 10)
        assert ours.bufferedAmount <= 64 * 1024
        await inbox.wait(16)
        await a.close()
        await b.close()

    run(body)
