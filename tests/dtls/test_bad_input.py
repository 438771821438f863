"""Hostile and broken input: every outcome is a counted drop or a fatal alert with a
DtlsError, never another exception and never a hang (STYLE.md error policy)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pywebrtc.dtls import (
    ApplicationData,
    Certificate,
    ConnectionClosed,
    DecryptError,
    DtlsConfig,
    DtlsConnection,
    DtlsError,
    Transmit,
)
from pywebrtc.dtls.alert import Alert
from pywebrtc.dtls.extensions import (
    EcPointFormats,
    RenegotiationInfo,
    SignatureAlgorithms,
    SupportedGroups,
    UseSrtp,
    parse_extensions,
)
from pywebrtc.dtls.handshake import (
    CertificateMessage,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    ClientKeyExchange,
    Finished,
    HandshakeFragment,
    HelloVerifyRequest,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
)
from pywebrtc.dtls.record import Record
from tests.dtls.peers import FIXTURES, load_certificate, pair
from tests.fromsource import rerun_from_source
from tests.simnet import Datagram

PARSERS: list[Callable[[bytes], object]] = [
    Record.parse,
    HandshakeFragment.parse,
    ClientHello.parse,
    ServerHello.parse,
    HelloVerifyRequest.parse,
    CertificateMessage.parse,
    ServerKeyExchange.parse,
    CertificateRequest.parse,
    ServerHelloDone.parse,
    ClientKeyExchange.parse,
    CertificateVerify.parse,
    Finished.parse,
    Alert.parse,
    parse_extensions,
    SupportedGroups.parse,
    EcPointFormats.parse,
    SignatureAlgorithms.parse,
    UseSrtp.parse,
    RenegotiationInfo.parse,
]


@pytest.mark.parametrize("parser", PARSERS, ids=lambda p: getattr(p, "__qualname__", "?"))
@given(data=st.binary(max_size=300))
def test_parsers_raise_only_dtls_errors(parser: Callable[[bytes], object], data: bytes) -> None:
    with contextlib.suppress(DtlsError):
        parser(data)


def browser_hello() -> list[bytes]:
    return [(FIXTURES / f"chrome-client-hello.{i}.bin").read_bytes() for i in range(2)]


def test_parsers_round_trip_the_browser_hello() -> None:
    from tests.dtls.test_browser_hello import client_hello

    hello = client_hello("chrome")
    assert ClientHello.parse(bytes(hello)) == hello


def check_outputs(conn: DtlsConnection) -> list[object]:
    items: list[object] = []
    while (item := conn.poll()) is not None:
        items.append(item)
        if isinstance(item, ConnectionClosed):
            assert item.error is None or isinstance(item.error, DtlsError)
    return items


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=150)
@given(
    which=st.integers(0, 1),
    mutations=st.lists(st.tuples(st.integers(0, 1500), st.integers(1, 255)), max_size=4),
    cut=st.integers(0, 1500),
)
def test_mutated_and_truncated_browser_hello(
    which: int, mutations: list[tuple[int, int]], cut: int
) -> None:
    grams = browser_hello()
    target = bytearray(grams[which])
    for pos, xor in mutations:
        if pos < len(target):
            target[pos] ^= xor
    grams[which] = bytes(target[:cut])
    conn = DtlsConnection(DtlsConfig(load_certificate(), cookie_exchange=False), is_client=False)
    for gram in grams:
        conn.receive(gram, 0.0)
    check_outputs(conn)
    conn.tick(100.0)
    check_outputs(conn)


@given(st.lists(st.binary(max_size=200), max_size=5))
def test_random_datagrams_to_a_fresh_server_and_client(grams: list[bytes]) -> None:
    config = DtlsConfig(load_certificate())
    server = DtlsConnection(config, is_client=False)
    client = DtlsConnection(config, is_client=True)
    client.connect(0.0)
    for gram in grams:
        server.receive(gram, 0.0)
        client.receive(gram, 0.0)
    check_outputs(server)
    check_outputs(client)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=60, deadline=None)
@given(
    side=st.sampled_from(["client", "server"]),
    index=st.integers(0, 3),
    pos=st.integers(0, 1300),
    xor=st.integers(1, 255),
)
def test_a_corrupted_handshake_datagram_is_dropped_or_fatal(
    side: str, index: int, pos: int, xor: int
) -> None:
    def corrupt(d: Datagram, rng: object) -> list[Datagram]:
        if d.sender == side and d.index == index and pos < len(d.data):
            data = bytearray(d.data)
            data[pos] ^= xor
            return [replace(d, data=bytes(data))]
        return [d]

    net = pair(
        client_config={"initial_timeout": 0.1},
        server_config={"initial_timeout": 0.1},
        impairments=(corrupt,),
    )
    net.handshake(until=60)
    for ep in (net.client, net.server):
        closed = ep.closed
        assert ep.conn.is_connected or (closed is not None and closed.error is not None)


def test_wrong_mac_is_a_counted_drop() -> None:
    net = pair()
    net.handshake()
    net.client.conn.send(b"secret")
    item = net.client.conn.poll()
    assert isinstance(item, Transmit)
    tampered = bytearray(item.data)
    tampered[-1] ^= 1
    net.server.conn.receive(bytes(tampered), net.now)
    assert net.server.conn.stats.bad_mac == 1
    assert net.server.conn.poll() is None
    assert net.server.conn.is_connected
    net.server.conn.receive(item.data, net.now)  # the genuine record still gets through
    assert net.server.conn.poll() == ApplicationData(b"secret")


def test_replayed_records_are_dropped() -> None:
    net = pair()
    net.handshake()
    net.client.conn.send(b"once")
    item = net.client.conn.poll()
    assert isinstance(item, Transmit)
    for _ in range(3):
        net.server.conn.receive(item.data, net.now)
    assert [e for e in check_outputs(net.server.conn)] == [ApplicationData(b"once")]
    assert net.server.conn.stats.replayed == 2


def test_plaintext_application_data_and_alerts_after_handshake_are_ignored() -> None:
    net = pair()
    net.handshake()
    forged_alert = bytes(Record(21, 0xFEFD, 0, 99, b"\x02\x28"))
    forged_data = bytes(Record(23, 0xFEFD, 0, 100, b"hello"))
    net.server.conn.receive(forged_alert + forged_data, net.now)
    assert net.server.conn.is_connected
    assert net.server.conn.poll() is None
    assert net.server.conn.stats.unexpected_epoch == 2


class BadSigner(Certificate):
    """Signs correctly, then flips a bit: the peer must reject the signature."""

    __slots__ = ()

    def sign(self, scheme: int, data: bytes) -> bytes:
        signature = bytearray(super().sign(scheme, data))
        signature[-1] ^= 1
        return bytes(signature)


@pytest.mark.parametrize("liar", ["client", "server"])
def test_bad_signature_is_decrypt_error(liar: str) -> None:
    good = load_certificate()
    bad = BadSigner(good.private_key, good.certificate)
    net = pair()
    victim = net.client if liar == "server" else net.server
    cheat = net.server if liar == "server" else net.client
    cheat.conn.config = DtlsConfig(bad, remote_fingerprints=(good.fingerprint(),))
    net.handshake(until=10)
    assert victim.closed is not None
    assert isinstance(victim.closed.error, DecryptError)
    assert cheat.closed is not None and cheat.closed.error is not None
    assert cheat.closed.error.alert_description == 51  # decrypt_error arrived as an alert


def test_finished_with_wrong_verify_data_is_fatal(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    if rerun_from_source(request, "pywebrtc.dtls.client"):
        return
    net = pair()
    cheat = net.client.conn
    original = DtlsConnection._finished

    def wrong(self: DtlsConnection, label: bytes) -> bytes:
        # (Patched on the class: a DtlsConnection has slots.) Only the client cheats.
        if self is cheat and label == b"client finished":
            return bytes(12)
        return original(self, label)

    monkeypatch.setattr(DtlsConnection, "_finished", wrong)
    net.handshake(until=10)
    assert net.server.closed is not None
    assert isinstance(net.server.closed.error, DecryptError)
    assert not net.server.conn.is_connected


def test_junk_before_the_client_hello_does_not_kill_the_server() -> None:
    net = pair()
    junk_hello = bytes(Record(22, 0xFEFF, 0, 0, bytes.fromhex("010000030000000000000003fefd00")))
    wrong_type = bytes(Record(22, 0xFEFF, 0, 1, bytes.fromhex("14000000000000000000000000")))
    net.server.conn.receive(junk_hello + wrong_type, 0.0)
    assert net.server.conn.poll() is None
    assert net.server.conn.stats.malformed == 2
    net.handshake()
    assert net.both_connected()
