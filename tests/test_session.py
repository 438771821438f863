"""PeerSession on a fake clock: two sessions wired back to back, no sockets, no event loop.

Proves the sans-IO seam itself: ICE, DTLS and SCTP come up through ``receive``/``tick``/``poll``
/``deadline`` alone; a data channel carries messages both ways; datagrams are classified at the
door, and garbage of every kind is dropped and counted without disturbing the session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pywebrtc.dtls import Certificate, DtlsConfig, DtlsConnection, SrtpKeys
from pywebrtc.dtls.messages13 import DTLS_1_3
from pywebrtc.dtls.record import DTLS_1_2, Record
from pywebrtc.dtls.record13 import parse_datagram13
from pywebrtc.ice.agent import Agent
from pywebrtc.ice.candidate import host_candidate
from pywebrtc.ice.credentials import Credentials
from pywebrtc.ice.events import IceState
from pywebrtc.rtcdatachannel import ChannelManager
from pywebrtc.rtp.rtcp import RtcpPacket
from pywebrtc.sctp import ChannelMessage, ChannelOpened, SctpAssociation, SctpConfig
from pywebrtc.sctp.chunk import DataChunk
from pywebrtc.sctp.packet import Packet
from pywebrtc.session import DtlsStateChanged, IceStateChanged, PeerSession
from pywebrtc.transmit import Address, Transmit
from tests.fromsource import rerun_from_source

A: Address = ("192.0.2.1", 5000)  # TEST-NET addresses: nothing here touches a socket
B: Address = ("192.0.2.2", 6000)
CERTS = (Certificate.generate(), Certificate.generate())


class NoMedia:
    """A data-only session's media half: takes nothing, sends nothing."""

    keys: SrtpKeys | None = None
    deadline_moved = False

    def start_srtp(self, keys: SrtpKeys) -> None:
        self.keys = keys

    def receive_rtp(self, data: bytes, now: float) -> None:
        raise AssertionError("no RTP expected")

    def receive_rtcp(self, packets: list[RtcpPacket], now: float) -> None:
        raise AssertionError("no RTCP expected")

    def tick(self, now: float) -> None:
        pass

    def poll(self) -> bytes | None:
        return None

    def take(self) -> list[bytes]:
        return []

    def deadline(self) -> float | None:
        return None

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 0.0


class Pair:
    """Two sessions (a controls ICE and is the DTLS server) and a lossless wire between them."""

    def __init__(self, versions: tuple[int, ...] = (DTLS_1_2,)) -> None:
        self.clock = Clock()
        creds = (Credentials.generate(), Credentials.generate())
        self.sessions: list[PeerSession] = []
        self.events: list[list[object]] = [[], []]
        for i, (address, controlling) in enumerate(((A, True), (B, False))):
            channels = ChannelManager(
                SctpAssociation(SctpConfig()),
                is_dtls_client=i == 1,
                clock=lambda: self.clock.now,
                wake=lambda: None,
            )
            session = PeerSession(Agent(controlling, creds[i]), channels, NoMedia())
            session.add_local_candidate(host_candidate(*address), 0.0)
            self.sessions.append(session)
        a, b = self.sessions
        for i, session in enumerate(self.sessions):
            other = creds[1 - i]
            dtls = DtlsConnection(
                DtlsConfig(
                    CERTS[i], remote_fingerprints=(CERTS[1 - i].fingerprint(),),
                    cookie_exchange=False, versions=versions,
                ),
                is_client=i == 1,
            )  # fmt: skip
            session.start(dtls, other.ufrag, other.pwd, False, True, 0.0)
            session.add_remote_candidate(host_candidate(*(B if i == 0 else A)), 0.0)

    def run(self, until: float) -> None:
        """Deliver every datagram at once and tick each deadline until ``until``."""
        clock = self.clock
        while clock.now <= until:
            moved = True
            while moved:
                moved = False
                for i, session in enumerate(self.sessions):
                    while (out := session.poll()) is not None:
                        moved = True
                        if isinstance(out, Transmit):
                            assert out.source is not None and out.destination is not None
                            peer = self.sessions[1 - i]
                            peer.receive(out.data, out.source, out.destination, clock.now)
                        else:
                            self.events[i].append(out)
            deadlines = [d for s in self.sessions if (d := s.deadline()) is not None]
            if not deadlines or min(deadlines) > until:
                clock.now = until
                return
            clock.now = max(clock.now, min(deadlines))
            for session in self.sessions:
                d = session.deadline()
                if d is not None and d <= clock.now:
                    session.tick(clock.now)

    def run_drained(self, until: float) -> list[tuple[int, bytes]]:
        """:meth:`run` through ``drain()`` as the shell calls it (events handed on, then a
        drain again); returns every datagram sent, as (sender, data)."""
        clock = self.clock
        sent: list[tuple[int, bytes]] = []
        while True:
            moved = True
            while moved:
                moved = False
                for i, session in enumerate(self.sessions):
                    while True:
                        transmits, events = session.drain()
                        for out in transmits:
                            moved = True
                            assert out.source is not None and out.destination is not None
                            sent.append((i, out.data))
                            peer = self.sessions[1 - i]
                            peer.receive(out.data, out.source, out.destination, clock.now)
                        if not events:
                            break
                        self.events[i].extend(events)
                        for event in events:
                            react = self.reactions.get((i, type(event)))
                            if react is not None:
                                react(event)
            deadlines = [d for s in self.sessions if (d := s.deadline()) is not None]
            if not deadlines or min(deadlines) > until:
                clock.now = until
                return sent
            clock.now = max(clock.now, min(deadlines))
            for session in self.sessions:
                d = session.deadline()
                if d is not None and d <= clock.now:
                    session.tick(clock.now)

    reactions: dict[tuple[int, type], Callable[[Any], None]] = {}


def _records(data: bytes) -> int:
    """How many DTLS records a datagram carries (1.3 unified headers or 1.2 headers)."""
    if data[0] & 0xE0 == 0x20 or data[0] == 22:
        records, malformed = parse_datagram13(data)
        assert not malformed
        return len(records)
    count, offset = 0, 0
    while offset < len(data):
        _, offset = Record.parse_from(data, offset)
        count += 1
    return count


def _echo_pair(versions: tuple[int, ...]) -> tuple[Pair, list[tuple[int, bytes]]]:
    """A connected pair whose b echoes every message; a opens a channel and sends one."""
    pair = Pair(versions)
    pair.reactions = {
        (1, ChannelMessage): lambda e: e.channel.send(e.data),
    }
    sent = pair.run_drained(until=1.0)
    channel = pair.sessions[0].channels.create_channel("echo")
    channel.send("ping")  # queued until the channel is open
    sent += pair.run_drained(until=1.5)
    heard = [e.data for e in pair.events[0] if isinstance(e, ChannelMessage)]
    assert heard == ["ping"]
    return pair, sent


def test_dtls13_records_share_datagrams_and_an_answer_rides_with_what_waited() -> None:
    pair, sent = _echo_pair((DTLS_1_3, DTLS_1_2))
    a, b = pair.sessions
    assert a.dtls is not None and a.dtls.version == DTLS_1_3
    dtls = [(i, d) for i, d in sent if 19 < d[0] < 64]
    assert all(len(d) <= 1200 for _, d in dtls)  # the DTLS MTU
    # b's echo goes out with what receiving "ping" made it send (SACK, DCEP ACK): the message
    # event came first, the datagrams waited for the drain after it.
    last_from_b = [d for i, d in dtls if i == 1][-1]
    assert _records(last_from_b) >= 2
    assert a.counters.packets_sent == sum(1 for i, _ in dtls if i == 0)  # datagrams, not records


def test_a_message_sent_when_a_channel_opens_shares_the_packet_of_its_dcep_open(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    # Packetizing waits while the owner has events to act on: a first message sent from the
    # channel's "open" handler rides in the SCTP packet (one DTLS record) of the
    # DATA_CHANNEL_OPEN queued just before, not in one of its own.
    if rerun_from_source(request, "pywebrtc.session"):
        return
    pair = Pair((DTLS_1_3, DTLS_1_2))
    pair.reactions = {(0, ChannelOpened): lambda e: e.channel.send("first")}
    pair.run_drained(until=1.0)
    a = pair.sessions[0]
    assert a.dtls is not None
    sent: list[bytes] = []
    send = DtlsConnection.send

    def record(conn: DtlsConnection, data: bytes) -> None:
        if conn is a.dtls:
            sent.append(data)  # a's SCTP packets
        send(conn, data)

    monkeypatch.setattr(DtlsConnection, "send", record)
    a.channels.create_channel("chat")
    pair.run_drained(until=1.5)
    heard = [e.data for e in pair.events[1] if isinstance(e, ChannelMessage)]
    assert heard == ["first"]
    with_data = [Packet.parse(p).chunks for p in sent]
    with_data = [chunks for chunks in with_data if any(type(x) is DataChunk for x in chunks)]
    ppids = [[x.ppid for x in chunks if type(x) is DataChunk] for chunks in with_data]
    assert ppids[0] == [50, 51]  # DATA_CHANNEL_OPEN, then "first" (WebRTC String)


def test_dtls12_sends_one_application_record_per_datagram() -> None:
    # Some 1.2 peers (aiortc: one SSL_read per datagram) would hold back a second record.
    pair, sent = _echo_pair((DTLS_1_2,))
    assert pair.sessions[0].dtls is not None
    assert pair.sessions[0].dtls.version == DTLS_1_2
    protected = [d for _, d in sent if d[0] == 23]  # application data
    assert protected
    assert all(_records(d) == 1 for d in protected)


def test_two_sessions_connect_and_carry_a_channel_both_ways_on_a_fake_clock() -> None:
    pair = Pair()
    a, b = pair.sessions
    pair.run(until=1.0)
    assert a.dtls_state == b.dtls_state == "connected"
    assert IceStateChanged(IceState.CONNECTED) in pair.events[0]
    assert DtlsStateChanged("connected") in pair.events[1]
    channel = a.channels.create_channel("chat")
    pair.run(until=pair.clock.now + 0.5)
    channel.send("hello")
    pair.run(until=pair.clock.now + 0.5)
    heard = [e.data for e in pair.events[1] if isinstance(e, ChannelMessage)]
    assert heard == ["hello"]
    assert pair.clock.now == 2.0  # the fake clock moved only as far as it was run


def test_consent_keeps_an_idle_session_alive_for_a_minute_of_fake_time() -> None:
    pair = Pair()
    pair.run(until=60.0)
    a, b = pair.sessions
    assert a.agent.state in (IceState.CONNECTED, IceState.COMPLETED)
    assert b.agent.state in (IceState.CONNECTED, IceState.COMPLETED)
    assert a.dtls_state == b.dtls_state == "connected"


def _connected_pair_with_a_channel() -> Pair:
    pair = Pair()
    pair.run(until=1.0)
    pair.sessions[0].channels.create_channel("chat")
    pair.run(until=1.5)
    return pair


PAIR = _connected_pair_with_a_channel()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=300), st.booleans()), max_size=20))
def test_garbage_at_the_door_is_dropped_and_the_session_carries_on(
    datagrams: list[tuple[bytes, bool]],
) -> None:
    pair = PAIR
    a, b = pair.sessions
    for data, from_peer in datagrams:
        remote = B if from_peer else ("198.51.100.7", 40000)  # the peer, or a stranger
        a.receive(data, remote, A, pair.clock.now)  # never raises
    pair.run(until=pair.clock.now + 0.2)
    assert a.dtls_state == "connected" and a.agent.state is not IceState.FAILED
    (channel,) = a.channels.channels.values()
    pair.events[1].clear()
    channel.send("still here")
    pair.run(until=pair.clock.now + 0.2)
    assert [e.data for e in pair.events[1] if isinstance(e, ChannelMessage)] == ["still here"]


def test_a_handshake_that_completes_and_is_closed_before_the_drain_ends_closed() -> None:
    """The DTLS client takes the server's last flight and then its close_notify (a peer that
    gave up on us) before the session is drained: the handshake's completion is stale by then,
    so no keys are exported from a closed connection (that raised out of the shell's flush)
    and the session ends with DTLS closed, not connected."""
    pair = Pair()
    a, b = pair.sessions  # a is the DTLS server, b the client
    held: list[Transmit] = []
    clock = pair.clock
    for _ in range(200):
        moved = False
        for i, session in enumerate(pair.sessions):
            while (out := session.poll()) is not None:
                moved = True
                if not isinstance(out, Transmit):
                    continue
                if i == 0 and a.dtls is not None and a.dtls.is_connected:
                    held.append(out)  # the server's last flight: held back from b
                    continue
                assert out.source is not None and out.destination is not None
                pair.sessions[1 - i].receive(out.data, out.source, out.destination, clock.now)
        if held and not moved:
            break
        if not moved:
            deadlines = [d for s in pair.sessions if (d := s.deadline()) is not None]
            clock.now = max(clock.now, min(deadlines))
            for session in pair.sessions:
                if (d := session.deadline()) is not None and d <= clock.now:
                    session.tick(clock.now)
    assert held and a.dtls_state == "connected" and b.dtls is not None
    assert b.dtls_state != "connected"
    a.close(clock.now)
    while (out := a.poll()) is not None:
        if isinstance(out, Transmit):
            held.append(out)  # the close_notify, after the last flight
    for out in held:
        assert out.source is not None and out.destination is not None
        b.receive(out.data, out.source, out.destination, clock.now)
    events = []
    while (item := b.poll()) is not None:
        events.append(item)
    assert b.dtls_state == "closed"
    assert DtlsStateChanged("connected") not in events
    assert DtlsStateChanged("closed") in events
    assert b.media.keys is None
