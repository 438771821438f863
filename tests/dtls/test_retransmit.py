"""Fake-clock scenarios: lost flights, reordering, duplication, fragments, heavy loss, a peer
that vanishes (RFC 6347 §4.2.4 timers and §4.2.3 reassembly)."""

from __future__ import annotations

import pytest

from pywebrtc.dtls import (
    ApplicationData,
    DtlsConnection,
    HandshakeComplete,
    HandshakeTimeout,
    State,
    Transmit,
)
from pywebrtc.dtls.record import parse_datagram
from tests.dtls.peers import pair
from tests.simnet import Datagram

# With cookies: client CH, CH+cookie, flight 5; server HVR, flight 4, flight 6.
FLIGHTS = [("client", 0), ("client", 1), ("client", 2), ("server", 0), ("server", 1), ("server", 2)]


@pytest.mark.parametrize(("side", "index"), FLIGHTS)
def test_each_flight_lost_once(side: str, index: int) -> None:
    net = pair(drop=lambda d: d.sender == side and d.index == index)
    net.handshake()
    assert net.both_connected()
    # One timeout at the RFC's 1 s initial value is enough to recover.
    assert net.now < 2.5


def test_every_datagram_of_the_handshake_lost_once() -> None:
    seen: set[bytes] = set()

    def first_copy_lost(d: Datagram) -> bool:
        side, data = d.sender, d.data
        # The first record's type and, for handshake records, its handshake header (which
        # stays the same across retransmissions, unlike the record sequence number).
        key = bytes(side, "ascii") + data[:1] + (data[13:25] if data[0] == 22 else b"")
        if key in seen:
            return False
        seen.add(key)
        return True

    net = pair(drop=first_copy_lost)
    net.handshake()
    assert net.both_connected()


def test_backoff_doubles_up_to_the_limit_then_times_out() -> None:
    net = pair(drop=lambda d: d.sender == "client", client_config={"max_retransmissions": 4})
    net.handshake(until=600)
    closed = net.client.closed
    assert closed is not None and isinstance(closed.error, HandshakeTimeout)
    # Server never saw anything; client sent the ClientHello 1 + 4 times at 0, 1, 3, 7, 15 s.
    assert len(net.client.sent) == 5
    assert net.client.conn.deadline() is None
    assert net.server.conn.deadline() is None


def test_peer_that_vanishes_mid_handshake_times_out_cleanly() -> None:
    # The server answers the first two flights, then disappears.
    net = pair(
        drop=lambda d: d.sender == "server" and d.index >= 2,
        client_config={"initial_timeout": 0.1, "max_retransmissions": 5},
    )
    net.handshake(until=60)
    assert net.client.closed is not None
    assert isinstance(net.client.closed.error, HandshakeTimeout)
    assert not net.client.conn.is_connected


def test_configurable_initial_timeout() -> None:
    net = pair(
        drop=lambda d: d.sender == "server" and d.index == 1,
        client_config={"initial_timeout": 0.1},
        server_config={"initial_timeout": 0.1},
    )
    net.handshake()
    assert net.both_connected()
    assert net.now < 0.5


@pytest.mark.parametrize("seed", range(8))
def test_reordering_and_duplication(seed: int) -> None:
    net = pair(reorder=0.5, duplicate=0.5, seed=seed, server_config={"mtu": 300})
    net.handshake()
    assert net.both_connected()
    net.client.conn.send(b"after")
    net.run()
    assert net.server.data == [b"after"]


def test_small_mtu_fragments_flights_and_fragment_loss_recovers() -> None:
    lost = {"n": 0}

    def drop_third_fragment(d: Datagram) -> bool:
        if d.sender == "server" and d.index == 3:
            lost["n"] += 1
            return True
        return False

    net = pair(
        "rsa-2048",
        "rsa-2048",
        server_config={"mtu": 200},
        client_config={"mtu": 200},
        drop=drop_third_fragment,
    )
    net.handshake()
    assert net.both_connected()
    assert lost["n"] == 1
    assert all(len(d) <= 200 for d in net.server.sent + net.client.sent)
    # The server flight 4 with an RSA certificate needs several datagrams at this MTU.
    assert sum(1 for d in net.server.sent if len(parse_datagram(d)[0]) >= 1) > 5


@pytest.mark.parametrize("seed", range(10))
def test_handshake_at_30_percent_loss_completes(seed: int) -> None:
    net = pair(
        loss=0.3,
        seed=seed,
        client_config={"max_retransmissions": 12},
        server_config={"max_retransmissions": 12},
    )
    net.handshake(until=3600)
    assert net.both_connected()


def test_server_retransmits_final_flight_when_client_repeats_its_own() -> None:
    # Lose the server's last flight (CCS + Finished): only the client's timer recovers it.
    net = pair(drop=lambda d: d.sender == "server" and d.index == 2)
    net.handshake()
    assert net.both_connected()
    assert net.client.conn.stats.retransmissions == 1  # its timer fired once
    assert net.server.conn.stats.retransmissions == 1  # echoed on seeing flight 5 again


def test_duplicated_datagrams_do_not_start_a_retransmit_storm() -> None:
    net = pair(duplicate=1.0, latency=0.001)
    net.handshake()
    assert net.both_connected()
    net.run(until=net.now + 5)
    assert len(net.client.sent) + len(net.server.sent) <= 12


def test_cookie_exchange_keeps_no_state_for_a_first_client_hello() -> None:
    net = pair()
    net.client.conn.connect(0.0)
    hello = net.client.conn.poll()
    assert hello is not None
    server = net.server.conn
    server.receive(hello.data, 0.0)  # type: ignore[union-attr]
    hvr = server.poll()
    assert hvr is not None and server.poll() is None
    assert server.deadline() is None  # no timer, no flight: stateless
    assert server._flight is None and server._transcript == []


def test_without_cookie_exchange() -> None:
    net = pair(server_config={"cookie_exchange": False})
    net.handshake()
    assert net.both_connected()
    assert len(net.client.sent) == 2  # ClientHello, then flight 5


def test_application_data_that_overtakes_the_finished_is_delivered() -> None:
    net = pair(server_config={"cookie_exchange": False})
    client, server = net.client.conn, net.server.conn

    def datagrams(conn: DtlsConnection) -> list[bytes]:
        out: list[bytes] = []
        while (item := conn.poll()) is not None:
            if isinstance(item, Transmit):
                out.append(item.data)
        return out

    client.connect(0.0)
    for datagram in datagrams(client):
        server.receive(datagram, 0.0)
    for datagram in datagrams(server):
        client.receive(datagram, 0.0)
    flight5 = datagrams(client)
    # Let the client send as soon as its flight is out; that record reaches the server first.
    client.state = State.CONNECTED
    client.send(b"early")
    (early,) = datagrams(client)
    server.receive(early, 0.0)
    assert server.poll() is None
    for datagram in flight5:
        server.receive(datagram, 0.0)
    events = [e for e in iter(server.poll, None) if not isinstance(e, Transmit)]
    assert [type(e) for e in events] == [HandshakeComplete, ApplicationData]
    assert events[1] == ApplicationData(b"early")
