"""Data channels over two associations on the scripted network."""

from __future__ import annotations

import pytest

from pywebrtc.sctp import (
    ChannelBufferedAmountLow,
    ChannelClosed,
    ChannelError,
    ChannelMessage,
    DataChannel,
    DataChannelManager,
    InvalidStateError,
    MessageTooLarge,
    SctpAssociation,
    SctpConfig,
    Transmit,
)
from pywebrtc.sctp import chunk as c
from pywebrtc.sctp.chunk import parse_chunks
from pywebrtc.sctp.datachannel import ChannelOpened
from pywebrtc.sctp.dcep import Ppid
from pywebrtc.sctp.packet import HEADER_SIZE
from tests.sctp.peers import Link


def connected(
    config: SctpConfig | None = None, **net: float
) -> tuple[Link, DataChannelManager, DataChannelManager]:
    client = DataChannelManager(SctpAssociation(config, is_client=True), is_dtls_client=True)
    server = DataChannelManager(SctpAssociation(config, is_client=False), is_dtls_client=False)
    sim = Link(client, server, **net)  # type: ignore[arg-type]
    client.connect(0.0)
    sim.run_until(lambda: client.association.is_established and server.association.is_established)
    return sim, client, server


def received(events: list[object], channel: DataChannel | None = None) -> list[str | bytes]:
    return [
        e.data
        for e in events
        if isinstance(e, ChannelMessage) and (channel is None or e.channel.id == channel.id)
    ]


def open_pair(
    sim: Link, opener: DataChannelManager, other: DataChannelManager, **kw: object
) -> tuple[DataChannel, DataChannel]:
    incoming: list[DataChannel] = []
    other.on("datachannel", incoming.append)
    ch = opener.create_channel("chat", **kw)  # type: ignore[arg-type]
    sim.run_until(lambda: bool(incoming))
    return ch, incoming[-1]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"ordered": False},
        {"max_retransmits": 0},
        {"max_packet_life_time": 500, "ordered": False},
    ],
)
def test_in_band_channel_messages_both_ways(options: dict[str, object]) -> None:
    sim, client, server = connected()
    local, remote = open_pair(sim, client, server, protocol="proto", **options)
    assert local.readyState == remote.readyState == "open"
    assert (remote.label, remote.protocol, remote.ordered) == ("chat", "proto", local.ordered)
    assert remote.maxRetransmits == local.maxRetransmits
    assert remote.maxPacketLifeTime == local.maxPacketLifeTime
    assert local.id is not None and local.id % 2 == 0  # DTLS client: even ids
    got: list[object] = []
    remote.on("message", got.append)
    outgoing: list[str | bytes] = ["text", b"bin", "", b"", "ünïcode"]
    for m in outgoing:
        local.send(m)
        remote.send(m)
    sim.run_until(lambda: len(received(sim.events_a)) == 5 and len(got) == 5)
    expected = ["text", b"bin", "", b"", "ünïcode"]
    assert sorted(map(repr, got)) == sorted(map(repr, expected))
    if local.ordered:
        assert got == expected and received(sim.events_a) == expected
    text_bytes = len(b"text") + len(b"bin") + len("ünïcode".encode())
    assert (local.messages_sent, local.bytes_sent) == (5, text_bytes)
    assert (remote.messages_received, remote.bytes_received) == (5, text_bytes)


def test_server_side_opens_odd_ids() -> None:
    sim, client, server = connected()
    local, remote = open_pair(sim, server, client)
    assert local.id == remote.id == 1
    again, _ = open_pair(sim, server, client)
    assert again.id == 3


def test_negotiated_channels_skip_dcep() -> None:
    sim, client, server = connected()
    a = client.create_channel("neg", negotiated=True, id=7)
    b = server.create_channel("neg", negotiated=True, id=7)
    assert a.readyState == b.readyState == "open"
    a.send("hi")
    b.send(b"yo")
    sim.run_until(lambda: bool(received(sim.events_a)) and bool(received(sim.events_b)))
    assert received(sim.events_b) == ["hi"] and received(sim.events_a) == [b"yo"]



def test_poll_runs_no_handler_until_the_owner_dispatches_the_event() -> None:
    sim, client, server = connected()
    a = client.create_channel("neg", negotiated=True, id=7)
    b = server.create_channel("neg", negotiated=True, id=7)
    got: list[str | bytes] = []
    b.on("message", got.append)
    a.send("hi")
    while (item := client.poll()) is not None:
        if isinstance(item, Transmit):
            server.receive(item.data, sim.now)
    events = []
    while (item := server.poll()) is not None:
        if not isinstance(item, Transmit):
            events.append(item)
    assert received(list(events)) == ["hi"] and got == []
    for event in events:
        server.dispatch(event)
    assert got == ["hi"]

def test_channels_created_before_connect_open_after() -> None:
    client = DataChannelManager(SctpAssociation(is_client=True), is_dtls_client=True)
    server = DataChannelManager(SctpAssociation(is_client=False), is_dtls_client=False)
    ch = client.create_channel("early")
    opened: list[bool] = []
    ch.on("open", lambda: opened.append(True))
    sim = Link(client, server)
    client.connect(0.0)
    sim.run_until(lambda: bool(opened))
    ch.close()
    with pytest.raises(InvalidStateError):
        ch.send("too late")


def test_close_is_seen_on_both_sides() -> None:
    sim, client, server = connected()
    local, remote = open_pair(sim, client, server)
    closes: list[str] = []
    local.on("close", lambda: closes.append("local"))
    remote.on("close", lambda: closes.append("remote"))
    local.send("last words")
    local.close()
    assert local.readyState == "closing"
    sim.run_until(lambda: len(closes) == 2)
    assert local.readyState == remote.readyState == "closed"
    assert received(sim.events_b) == ["last words"]
    # The id can be used again.
    again, _ = open_pair(sim, client, server)
    assert again.id == local.id


def test_oversized_message_raises_and_other_channels_continue() -> None:
    sim, client, server = connected(SctpConfig(remote_max_message_size=65536))
    local, _ = open_pair(sim, client, server)
    with pytest.raises(MessageTooLarge):
        local.send(bytes(65537))
    local.send(bytes(65536))
    sim.run_until(lambda: bool(received(sim.events_b)))


def test_bogus_dcep_reports_an_error_and_leaves_other_channels_alone() -> None:
    sim, client, server = connected()
    local, remote = open_pair(sim, client, server)
    client.association.send(10, Ppid.DCEP, b"\x03garbage", sim.now)  # malformed OPEN
    client.association.send(1, Ppid.DCEP, b"\x03" + bytes(11), sim.now)  # wrong parity for us
    local.send("still fine")
    sim.run_until(lambda: "still fine" in received(sim.events_b))
    errors = [e for e in sim.events_b if isinstance(e, ChannelError)]
    assert len(errors) == 2 and "bad DCEP" in errors[0].reason
    assert "not the peer's to open" in errors[1].reason
    assert server.channels.keys() == {local.id}


def test_buffered_amount_and_low_event() -> None:
    sim, client, server = connected()
    local, _ = open_pair(sim, client, server)
    local.bufferedAmountLowThreshold = 10_000
    lows: list[int] = []
    local.on("bufferedamountlow", lambda: lows.append(local.bufferedAmount))
    for _ in range(50):
        local.send(bytes(5000))
    assert local.bufferedAmount == 250_000
    sim.run_until(lambda: len(received(sim.events_b)) == 50)
    assert lows and all(x <= 10_000 for x in lows) and local.bufferedAmount == 0


def test_dcep_messages_are_not_in_the_buffered_amount() -> None:
    # W3C bufferedAmount counts what the application sent: the DATA_CHANNEL_OPEN and its ACK
    # neither show in it nor fire bufferedamountlow when they leave.
    sim, client, server = connected()
    local, remote = open_pair(sim, client, server)
    sim.run_until(lambda: local._acked)
    lows = [e for e in sim.events_a + sim.events_b if isinstance(e, ChannelBufferedAmountLow)]
    assert lows == [] and local.bufferedAmount == 0 and remote.bufferedAmount == 0
    local.send("hello")
    assert local.bufferedAmount == 5
    sim.run_until(lambda: "hello" in received(sim.events_b))
    lows = [e for e in sim.events_a if isinstance(e, ChannelBufferedAmountLow)]
    assert [e.channel for e in lows] == [local] and local.bufferedAmount == 0


def test_one_mebibyte_of_messages_through_loss_in_order() -> None:
    sim, client, server = connected(loss=0.1, seed=9)
    local, remote = open_pair(sim, client, server)
    chunks = [bytes([i % 256]) * 8192 for i in range(128)]
    for m in chunks:
        local.send(m)
    sim.run_until(lambda: len(received(sim.events_b)) == 128, limit=3600)
    assert received(sim.events_b) == chunks


def test_association_abort_closes_every_channel() -> None:
    sim, client, server = connected()
    local, remote = open_pair(sim, client, server)
    client.association.abort("gone")
    sim.run_until(lambda: remote.readyState == "closed")
    assert local.readyState == "closed"
    assert any(isinstance(e, ChannelClosed) for e in sim.events_b)


def test_opened_and_closed_are_lifetime_totals_of_both_sides_channels() -> None:
    idle = DataChannelManager(SctpAssociation(is_client=True), is_dtls_client=True)
    never = idle.create_channel("closed before the association was up")
    never.close()
    assert never.readyState == "closed"
    assert (idle.channels_opened, idle.channels_closed) == (0, 0)  # W3C: never open, not counted
    sim, client, server = connected()
    ours, theirs_of_ours = open_pair(sim, client, server)
    theirs, ours_of_theirs = open_pair(sim, server, client)
    kept, _ = open_pair(sim, client, server)
    assert (client.channels_opened, client.channels_closed) == (3, 0)
    assert (server.channels_opened, server.channels_closed) == (3, 0)
    ours.close()  # closed by us
    theirs.close()  # closed by the peer
    sim.run_until(lambda: ours_of_theirs.readyState == theirs_of_ours.readyState == "closed")
    sim.run_until(lambda: ours.readyState == theirs.readyState == "closed")
    assert ours.id not in client.channels and theirs.id not in server.channels
    assert (client.channels_opened, client.channels_closed) == (3, 2)
    assert (server.channels_opened, server.channels_closed) == (3, 2)
    client.association.abort("gone")  # the last one closes with the association
    sim.run_until(lambda: not server.channels)
    assert kept.readyState == "closed"
    assert (client.channels_opened, client.channels_closed) == (3, 3)
    assert (server.channels_opened, server.channels_closed) == (3, 3)


def test_cookie_ack_carries_the_channel_opened_on_establishment() -> None:
    # A channel created before the association is up: the listener's COOKIE ACK waits for the
    # DATA_CHANNEL_OPEN and the message its open handler sends (RFC 9260 §5.1: bundled, the
    # COOKIE ACK first), one packet where there were two.
    client = DataChannelManager(SctpAssociation(is_client=True), is_dtls_client=True)
    server = DataChannelManager(SctpAssociation(is_client=False), is_dtls_client=False)
    channel = server.create_channel("early")
    client.connect(0.0)
    sent_by_server: list[list[object]] = []
    delivered: list[object] = []
    for _ in range(10):
        while (item := client.poll()) is not None:
            if isinstance(item, Transmit):
                server.receive(item.data, 0.0)
            else:
                delivered.append(item)
        while (item := server.poll()) is not None:
            if isinstance(item, Transmit):
                sent_by_server.append(parse_chunks(item.data, HEADER_SIZE))  # type: ignore[arg-type]
                client.receive(item.data, 0.0)
            elif isinstance(item, ChannelOpened) and item.channel is channel:
                channel.send("first")
    with_ack = [chunks for chunks in sent_by_server if isinstance(chunks[0], c.CookieAckChunk)]
    assert len(with_ack) == 1
    kinds = [type(chunk) for chunk in with_ack[0]]
    assert kinds == [c.CookieAckChunk, c.DataChunk, c.DataChunk]
    assert received(delivered) == ["first"]
