"""PeerSession on a fake clock: two sessions wired back to back, no sockets, no event loop.

Proves the sans-IO seam itself: ICE, DTLS and SCTP come up through ``receive``/``tick``/``poll``
/``deadline`` alone; a data channel carries messages both ways; datagrams are classified at the
door, and garbage of every kind is dropped and counted without disturbing the session.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pywebrtc.dtls import Certificate, DtlsConfig, DtlsConnection, SrtpKeys
from pywebrtc.ice.agent import Agent
from pywebrtc.ice.candidate import host_candidate
from pywebrtc.ice.credentials import Credentials
from pywebrtc.ice.events import IceState
from pywebrtc.rtcdatachannel import ChannelManager
from pywebrtc.rtp.rtcp import RtcpPacket
from pywebrtc.sctp import ChannelMessage, SctpAssociation, SctpConfig
from pywebrtc.session import DtlsStateChanged, IceStateChanged, PeerSession
from pywebrtc.transmit import Address, Transmit

A: Address = ("192.0.2.1", 5000)  # TEST-NET addresses: nothing here touches a socket
B: Address = ("192.0.2.2", 6000)
CERTS = (Certificate.generate(), Certificate.generate())


class NoMedia:
    """A data-only session's media half: takes nothing, sends nothing."""

    keys: SrtpKeys | None = None

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

    def deadline(self) -> float | None:
        return None

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 0.0


class Pair:
    """Two sessions (a controls ICE and is the DTLS server) and a lossless wire between them."""

    def __init__(self) -> None:
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
                    cookie_exchange=False,
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
