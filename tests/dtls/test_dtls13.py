"""DTLS 1.3 (RFC 9147): the key schedule against RFC 8448, the record layer, ACKs, both
roles against each other on the simulated network (HelloRetryRequest, loss, reordering,
MTU 576), the captured browser ClientHellos answered with 1.3 and X25519MLKEM768, version
negotiation with 1.2-only peers and the downgrade sentinel, and hostile input."""

from __future__ import annotations

import contextlib
import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pywebrtc.dtls import ConnectionClosed, DtlsConfig, DtlsConnection, HandshakeComplete, Transmit
from pywebrtc.dtls.ack import Ack
from pywebrtc.dtls.errors import DecodeError, DtlsError, IllegalParameter
from pywebrtc.dtls.extensions import Extension, ExtensionType, NamedGroup, find
from pywebrtc.dtls.handshake import HandshakeType, ServerHello, split_fragments
from pywebrtc.dtls.keyexchange import (
    ClientKeyShare,
    client_share_size,
    server_key_share,
)
from pywebrtc.dtls.keyschedule import (
    TLS13_PREFIX,
    KeySchedule,
    _hmac,
    derive_secret,
    expand_label,
)
from pywebrtc.dtls.messages13 import (
    DOWNGRADE_TLS12,
    DTLS_1_3,
    Certificate13,
    parse_client_shares,
    server_supported_version,
)
from pywebrtc.dtls.record import DTLS_1_2, ContentType, parse_datagram
from pywebrtc.dtls.record13 import (
    SUITES13,
    CipherSuite13Id,
    RecordProtection13,
    UnifiedHeader,
    parse_datagram13,
    reconstruct_sequence,
)
from pywebrtc.dtls.state import State
from tests.dtls.peers import FIXTURES, Pair, load_certificate, pair
from tests.dtls.test_browser_hello import BROWSERS, datagrams
from tests.simnet import Datagram

BOTH = (DTLS_1_3, DTLS_1_2)


def pair13(
    client: tuple[int, ...] = BOTH, server: tuple[int, ...] = BOTH, **kwargs: object
) -> Pair:
    client_config = {"versions": client, **kwargs.pop("client_config", {})}  # type: ignore[dict-item]
    server_config = {"versions": server, **kwargs.pop("server_config", {})}  # type: ignore[dict-item]
    return pair(client_config=client_config, server_config=server_config, **kwargs)  # type: ignore[arg-type]


def completed(p: Pair) -> tuple[HandshakeComplete, HandshakeComplete]:
    c, s = p.client.completed, p.server.completed
    assert c is not None and s is not None, (p.client.events, p.server.events)
    return c, s


# ------------------------------------------------------------------ key schedule


def test_key_schedule_matches_rfc8448_simple_1rtt() -> None:
    """RFC 8448 §3 with TLS 1.3's label prefix: the schedule is the same function."""
    schedule = KeySchedule("sha256", TLS13_PREFIX)
    assert schedule.secret.hex() == (
        "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a"
    )
    derived = derive_secret(
        "sha256", schedule.secret, b"derived", hashlib.sha256().digest(), TLS13_PREFIX
    )
    assert derived.hex() == "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba"
    shared = bytes.fromhex("8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d")
    hello_hash = bytes.fromhex("860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8")
    client, server = schedule.handshake(shared, hello_hash)
    assert schedule.secret.hex() == (
        "1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac"
    )
    assert client.hex() == "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21"
    assert server.hex() == "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38"


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["sha256", "sha384", "sha512"]),
    st.binary(max_size=200),
    st.binary(max_size=300),
)
def test_the_schedules_hmac_is_rfc2104s(hash_name: str, key: bytes, message: bytes) -> None:
    """The key schedule's HMAC, written out on hashlib, against the standard library's (keys
    longer than a block are hashed first; the RFC 8448 test above checks it in place)."""
    assert _hmac(key, message, hash_name) == hmac.digest(key, message, hash_name)


def test_dtls13_labels_use_their_own_prefix() -> None:
    secret = bytes(32)
    tls = expand_label("sha256", secret, b"key", b"", 16, TLS13_PREFIX)
    dtls = expand_label("sha256", secret, b"key", b"", 16)
    assert tls != dtls and len(dtls) == 16


# ------------------------------------------------------------------ record layer


@pytest.mark.parametrize("suite_id", list(CipherSuite13Id))
def test_record_round_trip_with_encrypted_sequence_numbers(suite_id: CipherSuite13Id) -> None:
    suite = SUITES13[suite_id]
    key, iv, sn = bytes(range(suite.key_length)), bytes(12), bytes(range(1, suite.key_length + 1))
    protection = RecordProtection13(suite, 3, key, iv, sn)
    for seq in (0, 1, 255, 65535, 65536, 70000):
        data = protection.seal(seq, ContentType.APPLICATION_DATA, b"payload %d" % seq)
        assert data[0] == 0x2F  # 001 C=0 S=1 L=1 epoch bits 11
        record, end = UnifiedHeader.parse_from(data, 0)
        assert end == len(data)
        low = protection.sequence_low(record)
        assert low == seq & 0xFFFF
        full = reconstruct_sequence(low, 16, seq)
        assert protection.open(record, full, low) == (
            ContentType.APPLICATION_DATA,
            b"payload %d" % seq,
        )


def test_protections_keep_working_when_their_cipher_contexts_are_evicted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A protection keeps its keys, not its cipher contexts: they live in a bounded cache of
    the protections used last and are made again after eviction (memory per idle session)."""
    from pywebrtc.dtls import record13

    monkeypatch.setattr(record13, "CONTEXT_CACHE_SIZE", 2)
    monkeypatch.setattr(record13, "_CONTEXTS", {})
    protections = [
        RecordProtection13(SUITES13[suite_id], 3, bytes([i]) * SUITES13[suite_id].key_length,
                           bytes([i]) * 12, bytes([i + 1]) * SUITES13[suite_id].key_length)
        for i, suite_id in enumerate(list(CipherSuite13Id) * 2)
    ]  # fmt: skip
    for round_ in range(3):
        for seq, protection in enumerate(protections):
            data = protection.seal(seq, ContentType.APPLICATION_DATA, b"%d" % round_)
            record, _ = UnifiedHeader.parse_from(data, 0)
            low = protection.sequence_low(record)
            assert low == seq
            assert protection.open(record, seq, low)[1] == b"%d" % round_
            assert len(record13._CONTEXTS) <= 2
    # Another protection's contexts never open a record: the keys are the protection's own.
    data = protections[0].seal(0, ContentType.APPLICATION_DATA, b"x")
    record, _ = UnifiedHeader.parse_from(data, 0)
    with pytest.raises(DtlsError):
        protections[3].open(record, 0, 0)


def test_a_finished_dtls13_handshake_keeps_only_what_a_lost_flight_needs() -> None:
    """The client (its last flight ACKed) keeps epoch 3 alone and none of the server's record
    numbers; the server writes only in epoch 3, and still reads epoch 2 to ACK the client's
    last flight again if its ACK is lost (test_forged_ack_is_ignored). Memory per idle
    connection."""
    p = connected13()
    client, server = p.client.conn._v13, p.server.conn._v13
    assert client is not None and server is not None
    assert sorted(client._read) == sorted(client._write) == [3]
    assert client._peer_records == []
    assert sorted(server._write) == [3] and sorted(server._read) == [2, 3]
    assert server._peer_records
    assert sorted(server._secrets) == ["read2", "read3", "write3"]
    # Nothing is signed or checked after the handshake: the peer's public key is gone.
    assert p.client.conn._neg.peer_key is None and p.server.conn._neg.peer_key is None
    p.client.conn.send(b"after")
    p.server.conn.send(b"both ways")
    p.run(p.now + 1)
    assert b"after" in [getattr(e, "data", None) for e in p.server.events]
    assert b"both ways" in [getattr(e, "data", None) for e in p.client.events]


def test_a_tampered_record_does_not_authenticate() -> None:
    suite = SUITES13[CipherSuite13Id.TLS_AES_128_GCM_SHA256]
    protection = RecordProtection13(suite, 2, bytes(16), bytes(12), bytes(16))
    data = bytearray(protection.seal(0, ContentType.HANDSHAKE, b"x" * 20))
    data[-1] ^= 1
    record, _ = UnifiedHeader.parse_from(bytes(data), 0)
    with pytest.raises(DtlsError):
        protection.open(record, 0, protection.sequence_low(record))


@pytest.mark.parametrize(
    ("low", "bits", "expected", "full"),
    [
        (5, 16, 5, 5),
        (0xFFFE, 16, 0x10000, 0xFFFE),
        (3, 16, 0xFFF0, 0x10003),
        (0x10, 8, 0x205, 0x210),
    ],
)
def test_sequence_reconstruction_picks_the_closest(
    low: int, bits: int, expected: int, full: int
) -> None:
    assert reconstruct_sequence(low, bits, expected) == full


@given(st.binary(max_size=64))
def test_unified_header_parser_never_raises_anything_else(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        UnifiedHeader.parse_from(data, 0)
    parse_datagram13(data)


@given(st.lists(st.tuples(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1)), max_size=40))
def test_ack_round_trip(records: list[tuple[int, int]]) -> None:
    ack = Ack(tuple(sorted(records)))
    assert Ack.parse(bytes(ack)) == ack


@given(st.binary(max_size=80))
def test_ack_parser_rejects_cleanly(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        Ack.parse(data)


# ------------------------------------------------------------------ key exchange


@pytest.mark.parametrize(
    "group", [NamedGroup.X25519MLKEM768, NamedGroup.X25519, NamedGroup.SECP256R1]
)
def test_key_shares_agree(group: NamedGroup) -> None:
    client = ClientKeyShare(group)
    assert len(client.public_key) == client_share_size(group)
    server_share, secret = server_key_share(group, client.public_key)
    assert client.shared_secret(server_share) == secret
    if group == NamedGroup.X25519MLKEM768:
        assert (len(client.public_key), len(server_share), len(secret)) == (1216, 1120, 64)


@pytest.mark.parametrize(
    "group", [NamedGroup.X25519MLKEM768, NamedGroup.X25519, NamedGroup.SECP256R1]
)
@pytest.mark.parametrize("delta", [-1, 1])
def test_key_share_of_the_wrong_size_is_illegal(group: NamedGroup, delta: int) -> None:
    client = ClientKeyShare(group)
    with pytest.raises(IllegalParameter):
        server_key_share(
            group, client.public_key + b"\x00" if delta > 0 else client.public_key[:-1]
        )
    server_share, _ = server_key_share(group, client.public_key)
    with pytest.raises(IllegalParameter):
        client.shared_secret(server_share + b"\x00" if delta > 0 else server_share[:-1])


@given(st.binary(max_size=2600))
@settings(max_examples=50)
def test_key_share_list_parser_rejects_cleanly(data: bytes) -> None:
    with contextlib.suppress(DtlsError):
        parse_client_shares(data)


@given(st.binary(max_size=300))
def test_certificate13_parser_rejects_cleanly(data: bytes) -> None:
    with contextlib.suppress(DtlsError):
        Certificate13.parse(data)


# ------------------------------------------------------------------ handshakes


@pytest.mark.parametrize("cookie_exchange", [False, True])
def test_handshake_negotiates_dtls13_with_the_hybrid_group(cookie_exchange: bool) -> None:
    p = pair13(
        client_config={"cookie_exchange": cookie_exchange},
        server_config={"cookie_exchange": cookie_exchange},
    )
    p.handshake()
    c, s = completed(p)
    assert c.version == s.version == DTLS_1_3
    assert c.group == s.group == NamedGroup.X25519MLKEM768
    assert c.cipher_suite == "TLS_AES_128_GCM_SHA256"
    client, server = p.client.conn, p.server.conn
    assert client.version == server.version == DTLS_1_3
    assert client.export_keying_material(
        "EXTRACTOR-dtls_srtp", 60
    ) == server.export_keying_material("EXTRACTOR-dtls_srtp", 60)
    keys_c, keys_s = client.srtp_keys(), server.srtp_keys()
    assert keys_c.local_key == keys_s.remote_key and keys_c.remote_salt == keys_s.local_salt
    client.send(b"ping")
    server.send(b"pong")
    p.run(p.now + 1)
    assert p.client.data == [b"pong"] and p.server.data == [b"ping"]
    client.close()
    p.run(p.now + 1)
    assert p.server.closed is not None and p.server.closed.error is None


def test_one_round_trip_shorter_than_dtls12() -> None:
    times = {}
    for versions in (BOTH, (DTLS_1_2,)):
        p = pair13(
            versions,
            versions,
            client_config={"cookie_exchange": False},
            server_config={"cookie_exchange": False},
            latency=0.05,
        )
        p.client.conn.connect(p.now)
        p.run(10, stop=lambda: p.client.conn.is_connected)  # noqa: B023
        times[versions] = p.now
    # 50 ms each way: the client may send after one round trip with 1.3, two with 1.2.
    assert times[BOTH] == pytest.approx(0.1)
    assert times[(DTLS_1_2,)] == pytest.approx(0.2)


def test_hello_retry_request_when_no_usable_share() -> None:
    """The client's first share is for a group the server does not take: HRR names one."""
    p = pair13(
        client_config={"tls13_groups": (NamedGroup.SECP256R1, NamedGroup.X25519)},
        server_config={"tls13_groups": (NamedGroup.X25519,), "cookie_exchange": False},
    )
    p.handshake()
    c, s = completed(p)
    assert c.group == s.group == NamedGroup.X25519


@pytest.mark.parametrize("suite", list(CipherSuite13Id))
def test_every_suite(suite: CipherSuite13Id) -> None:
    p = pair13(server_config={"tls13_suites": (suite,)})
    p.handshake()
    assert completed(p)[0].cipher_suite == suite.name


@pytest.mark.parametrize(
    ("client_cert", "server_cert"), [("rsa-2048", "ecdsa-p256"), ("ecdsa-p384", "rsa-2048")]
)
def test_rsa_pss_and_p384_certificates(client_cert: str, server_cert: str) -> None:
    p = pair13(client_cert=client_cert, server_cert=server_cert)
    p.handshake()
    completed(p)


def test_wrong_fingerprint_fails_both_sides() -> None:
    other = load_certificate("ecdsa-p384").fingerprint()
    p = pair13(client_config={"remote_fingerprints": (other,)})
    p.client.conn.connect(p.now)
    p.run(10)
    assert p.client.closed is not None and p.client.closed.error is not None
    assert p.server.closed is not None


@pytest.mark.parametrize(
    ("client", "server", "expected"),
    [(BOTH, (DTLS_1_2,), DTLS_1_2), ((DTLS_1_2,), BOTH, DTLS_1_2), ((DTLS_1_3,), BOTH, DTLS_1_3)],
)
def test_version_negotiation(
    client: tuple[int, ...], server: tuple[int, ...], expected: int
) -> None:
    p = pair13(client, server)
    p.handshake()
    c, s = completed(p)
    assert c.version == s.version == expected


def test_a_13_only_client_refuses_a_12_server() -> None:
    p = pair13((DTLS_1_3,), (DTLS_1_2,))
    p.client.conn.connect(p.now)
    p.run(10)
    assert p.client.conn.state is State.FAILED


def test_a_13_capable_server_marks_its_12_random() -> None:
    p = pair13((DTLS_1_2,), BOTH)
    p.handshake()
    completed(p)
    assert p.server.conn._neg.server_random[-8:] == DOWNGRADE_TLS12
    q = pair13((DTLS_1_2,), (DTLS_1_2,))
    q.handshake()
    assert q.server.conn._neg.server_random[-8:] != DOWNGRADE_TLS12


def test_downgrade_to_12_is_caught_by_a_13_client() -> None:
    """An attacker strips supported_versions from the ClientHello on its way to a 1.3-capable
    server: the server answers 1.2 with the sentinel in its random, and the client, which
    offered 1.3, aborts with illegal_parameter (RFC 8446 §4.1.3)."""
    config = {"cookie_exchange": False}
    client = pair13(BOTH, BOTH, client_config=config, server_config=config).client.conn
    server = DtlsConnection(
        DtlsConfig(load_certificate(), versions=BOTH, cookie_exchange=False),
        is_client=False,
        remote_address=b"client",
    )
    client.connect(0.0)
    hello_datagrams = [i.data for i in _drain(client)]
    # Re-encode the ClientHello without its 1.3 extensions, as a downgrading attacker would.
    stripped = _strip_13(hello_datagrams)
    server.receive(stripped, 0.0)
    answer = [i.data for i in _drain(server)]
    assert server._v13 is None and server._neg.server_random[-8:] == DOWNGRADE_TLS12
    for datagram in answer:
        client.receive(datagram, 0.01)
    assert client.state is State.FAILED
    closed = [e for e in client._out if isinstance(e, ConnectionClosed)]
    assert closed and isinstance(closed[0].error, IllegalParameter)


def _drain(conn: DtlsConnection) -> list[Transmit]:
    out = []
    while (item := conn.poll()) is not None:
        if isinstance(item, Transmit):
            out.append(item)
    return out


def _strip_13(datagrams_: list[bytes]) -> bytes:
    from pywebrtc.dtls.handshake import ClientHello, encode_message
    from pywebrtc.dtls.record import header

    body = b"".join(
        f[4] for d in datagrams_ for r in parse_datagram(d)[0] for f in split_fragments(r.fragment)
    )
    hello = ClientHello.parse(body)
    drop = {ExtensionType.SUPPORTED_VERSIONS, ExtensionType.KEY_SHARE}
    hello = ClientHello(
        hello.client_version,
        hello.random,
        hello.session_id,
        hello.cookie,
        tuple(s for s in hello.cipher_suites if s >> 8 != 0x13),
        hello.compression_methods,
        tuple(e for e in hello.extensions if e.type not in drop),
    )
    message = encode_message(HandshakeType.CLIENT_HELLO, 0, bytes(hello))
    return header(ContentType.HANDSHAKE, DTLS_1_2, 0, 0, len(message)) + message


# ------------------------------------------------------------------ loss and reordering


@pytest.mark.parametrize("seed", range(12))
def test_handshake_survives_loss_reordering_and_small_mtu(seed: int) -> None:
    cfg = {
        "mtu": 576 if seed % 2 else 1200,
        "initial_timeout": 0.2,
        "cookie_exchange": seed % 3 == 0,
    }
    p = pair13(
        client_config=cfg, server_config=cfg, loss=0.3, reorder=0.2, duplicate=0.1, seed=seed
    )
    p.handshake(until=120)
    c, s = completed(p)
    assert c.version == DTLS_1_3
    assert p.client.conn.export_keying_material("x", 16) == p.server.conn.export_keying_material(
        "x", 16
    )


@pytest.mark.parametrize("flight", range(4))
def test_each_flight_lost_once(flight: int) -> None:
    """Drop the n-th datagram-burst of the handshake once: CH, server flight, client flight,
    the server's ACK."""
    seen: dict[str, int] = {}
    dropped: list[int] = []
    order = ["client", "server", "client", "server"]

    def drop(d: object) -> bool:
        sender = d.sender  # type: ignore[attr-defined]
        n = seen.get(sender, 0)
        seen[sender] = n + 1
        if not dropped and sender == order[flight] and sum(seen.values()) > 0:
            target = {0: 0, 1: 0, 2: 2, 3: 2}[flight]
            if n == target:
                dropped.append(n)
                return True
        return False

    p = pair13(
        client_config={"cookie_exchange": False, "initial_timeout": 0.2},
        server_config={"cookie_exchange": False, "initial_timeout": 0.2},
        drop=drop,
    )
    p.handshake(until=30)
    completed(p)
    assert dropped


# ------------------------------------------------------------------ browsers


@pytest.mark.parametrize("browser", BROWSERS)
def test_browser_client_hello_is_answered_with_dtls13_and_the_hybrid_group(browser: str) -> None:
    config = DtlsConfig(load_certificate(), versions=BOTH, cookie_exchange=False)
    conn = DtlsConnection(config, is_client=False, remote_address=b"browser")
    for datagram in datagrams(browser):
        conn.receive(datagram, 0.0)
    out = []
    while (item := conn.poll()) is not None:
        assert isinstance(item, Transmit)
        out.append(item.data)
        assert len(item.data) <= 1200
    plain = [r for d in out for r in parse_datagram(d)[0] if r.epoch == 0]
    body = b"".join(
        f[4]
        for r in plain
        for f in split_fragments(r.fragment)
        if f[0] == HandshakeType.SERVER_HELLO
    )
    hello = ServerHello.parse(body)
    version = find(hello.extensions, ExtensionType.SUPPORTED_VERSIONS)
    assert version is not None and server_supported_version(version) == DTLS_1_3
    share = find(hello.extensions, ExtensionType.KEY_SHARE)
    assert share is not None and int.from_bytes(share[:2], "big") == NamedGroup.X25519MLKEM768
    assert len(share) == 4 + 1120
    assert hello.server_version == DTLS_1_2 and hello.random[-8:] != DOWNGRADE_TLS12
    assert conn.state is State.WAIT_FLIGHT
    # the rest of the flight is protected: unified headers in epoch 2
    protected = [r for d in out for r in parse_datagram13(d)[0] if isinstance(r, UnifiedHeader)]
    assert protected and all(r.epoch_bits == 2 for r in protected)


@pytest.mark.parametrize("browser", BROWSERS)
def test_browser_client_hello_gets_12_with_13_off(browser: str) -> None:
    config = DtlsConfig(load_certificate(), cookie_exchange=False)
    conn = DtlsConnection(config, is_client=False, remote_address=b"browser")
    for datagram in datagrams(browser):
        conn.receive(datagram, 0.0)
    assert conn._v13 is None and conn.state is State.WAIT_FLIGHT
    assert FIXTURES.exists()


# ------------------------------------------------------------------ hostile input


@given(st.lists(st.binary(max_size=300), max_size=6))
@settings(max_examples=60, deadline=None)
def test_junk_after_the_handshake_is_dropped(junk: list[bytes]) -> None:
    p = pair13(client_config={"cookie_exchange": False}, server_config={"cookie_exchange": False})
    p.handshake()
    for data in junk:
        p.server.conn.receive(bytes([0x2E | 0x01]) + data, p.now)
        p.server.conn.receive(data, p.now)
    assert p.server.conn.is_connected


def test_replayed_records_are_dropped() -> None:
    p = pair13(client_config={"cookie_exchange": False}, server_config={"cookie_exchange": False})
    p.handshake()
    p.client.conn.send(b"once")
    item = p.client.conn.poll()
    assert isinstance(item, Transmit)
    p.server.conn.receive(item.data, p.now)
    p.server.conn.receive(item.data, p.now)
    assert [e for e in p.server.conn._out if getattr(e, "data", None) == b"once"].__len__() == 1
    assert p.server.conn.stats.replayed == 1


def test_forged_ack_is_ignored() -> None:
    """The server's ACK is lost; an ACK in plaintext (epoch 0) is not authenticated and must
    not stop the client retransmitting its last flight."""
    config = {"cookie_exchange": False}
    p = pair13(client_config=config, server_config=config)
    p.net.drop = lambda d: d.sender == "server" and p.server.conn.is_connected
    p.client.conn.connect(p.now)
    p.run(5, stop=lambda: p.server.conn.is_connected)
    p.run(p.now + 0.05)
    client = p.client.conn
    assert client.is_connected and client.deadline() is not None
    ack = bytes(Ack(((2, 0), (2, 1), (2, 2))))
    forged = bytes([26]) + DTLS_1_2.to_bytes(2, "big") + bytes(8) + len(ack).to_bytes(2, "big")
    client.receive(forged + ack, p.now)
    assert client.deadline() is not None
    assert client.stats.unexpected_epoch == 1
    p.net.drop = None
    p.run(p.now + 5)
    assert client.deadline() is None  # the genuine ACK to a retransmission ends it


@pytest.mark.parametrize("browser", BROWSERS)
def test_duplicated_or_huge_extension_lists_are_refused_cleanly(browser: str) -> None:
    from pywebrtc.dtls.handshake import ClientHello, encode_message
    from pywebrtc.dtls.record import header

    body = b"".join(
        f[4] for d in datagrams(browser) for r in parse_datagram(d)[0]
        for f in split_fragments(r.fragment)
    )  # fmt: skip
    hello = ClientHello.parse(body)
    for extensions, expected in (
        (hello.extensions + hello.extensions[:1], State.WAIT_HELLO),  # dropped, never fatal
        (
            hello.extensions + tuple(Extension(0x7000 + i, b"x" * 8) for i in range(3000)),
            State.WAIT_FLIGHT,  # ~36 KB of unknown extensions: ignored, 1.3 answered
        ),
    ):
        raw = bytes(
            ClientHello(
                hello.client_version, hello.random, b"", b"", hello.cipher_suites, b"\x00", ()
            )
        )
        ext_bytes = b"".join(bytes(e) for e in extensions)[:65535]
        raw += len(ext_bytes).to_bytes(2, "big") + ext_bytes
        config = DtlsConfig(load_certificate(), versions=BOTH, cookie_exchange=False, mtu=1200)
        conn = DtlsConnection(config, is_client=False, remote_address=b"x")
        message = encode_message(HandshakeType.CLIENT_HELLO, 0, raw)
        for offset in range(0, len(message) - 12, 1000):
            chunk = raw[offset : offset + 1000]
            from pywebrtc.dtls.handshake import fragment_header

            frag = (
                fragment_header(HandshakeType.CLIENT_HELLO, len(raw), 0, offset, len(chunk)) + chunk
            )
            conn.receive(header(ContentType.HANDSHAKE, DTLS_1_2, 0, offset, len(frag)) + frag, 0.0)
        assert conn.state is expected
        if expected is State.WAIT_HELLO:
            assert conn.stats.malformed == 1 and conn.poll() is None


# ------------------------------------------------------------------ epochs


def connected13() -> Pair:
    config = {"cookie_exchange": False, "initial_timeout": 0.2}
    p = pair13(client_config=config, server_config=config)
    p.handshake()
    completed(p)
    return p


@pytest.mark.parametrize("request_peer", [False, True])
def test_key_update_moves_to_the_next_epoch_once_acknowledged(request_peer: bool) -> None:
    p = connected13()
    client, server = p.client.conn, p.server.conn
    assert client._v13 is not None and server._v13 is not None
    client.update_keys(p.now, request_peer=request_peer)
    assert client._v13._write_epoch == 3  # not before the ACK
    p.run(p.now + 1)
    assert client._v13._write_epoch == 4 and 4 in server._v13._read
    assert server._v13._write_epoch == (4 if request_peer else 3)
    client.send(b"after update")
    server.send(b"reply")
    p.run(p.now + 1)
    assert p.server.data == [b"after update"] and p.client.data == [b"reply"]
    # twice more: epochs 5 and 6 (whose low bits are those of the handshake epoch 2)
    for expected in (5, 6):
        client.update_keys(p.now)
        p.run(p.now + 1)
        assert client._v13._write_epoch == expected
    client.send(b"epoch 6")
    p.run(p.now + 1)
    assert p.server.data[-1] == b"epoch 6"


def test_key_update_survives_a_lost_ack() -> None:
    p = connected13()
    client = p.client.conn
    assert client._v13 is not None
    lost: list[int] = []

    def drop_first_ack(d: Datagram) -> bool:
        if d.sender == "server" and not lost:
            lost.append(1)
            return True
        return False

    p.net.drop = drop_first_ack
    client.update_keys(p.now)
    p.run(p.now + 5)
    assert lost and client._v13._write_epoch == 4 and client.stats.retransmissions >= 1


def test_application_data_overtaking_the_clients_finished_is_kept() -> None:
    """The client's first data record (epoch 3) reaches the server before the client's
    Finished (epoch 2): the server keeps it and delivers it right after completing."""
    config = {"cookie_exchange": False}
    p = pair13(client_config=config, server_config=config)
    held: list[bytes] = []

    def hold_client_flight(d: Datagram) -> bool:
        handshaking = p.client.conn.is_connected and not p.server.conn.is_connected
        # the client's epoch-2 flight (unified header, epoch bits 10), held back once
        if d.sender == "client" and handshaking and d.data[0] & 0x03 == 2 and not held:
            held.append(d.data)
            return True
        return False

    p.net.drop = hold_client_flight
    p.client.conn.connect(p.now)
    p.run(5, stop=lambda: p.client.conn.is_connected)
    p.client.conn.send(b"early")
    p.run(p.now + 0.05)
    assert held and not p.server.conn.is_connected
    p.net.drop = None
    p.server.conn.receive(held[0], p.now)
    events = [type(e).__name__ for e in p.server.conn._out if not isinstance(e, Transmit)]
    assert events[-2:] == ["HandshakeComplete", "ApplicationData"]


def test_replayed_handshake_epoch_after_completion_is_harmless() -> None:
    p = connected13()
    server = p.server.conn
    # every datagram the client sent, replayed: only ACKs and drops, no failure
    for datagram in list(p.client.sent):
        server.receive(datagram, p.now)
    assert server.is_connected and server.stats.replayed > 0


# ------------------------------------------------------------------ more parsers


@given(st.binary(max_size=120))
def test_message_parsers_reject_cleanly(data: bytes) -> None:
    from pywebrtc.dtls.messages13 import (
        CertificateRequest13,
        EncryptedExtensions,
        client_supported_versions,
        parse_cookie,
        parse_key_update,
        parse_selected_group,
        parse_server_share,
    )

    for parse in (
        EncryptedExtensions.parse,
        CertificateRequest13.parse,
        client_supported_versions,
        parse_cookie,
        parse_key_update,
        parse_selected_group,
        parse_server_share,
    ):
        with contextlib.suppress(DtlsError):
            parse(data)


@given(
    hrr=st.booleans(),
    share=st.binary(max_size=1300),
    cookie=st.one_of(st.none(), st.binary(max_size=40)),
    suite=st.sampled_from([0x1301, 0x1302, 0x1303, 0xC02B, 0x1304]),
)
@settings(max_examples=60, deadline=None)
def test_hostile_13_server_hello_or_hrr_fails_cleanly(
    hrr: bool, share: bytes, cookie: bytes | None, suite: int
) -> None:
    """Whatever key_share (right or wrong size, ML-KEM or not), cookie and suite a 1.3
    ServerHello or HelloRetryRequest carries, the client fails with a DtlsError or goes on."""
    from pywebrtc.dtls.handshake import encode_message
    from pywebrtc.dtls.messages13 import HELLO_RETRY_REQUEST_RANDOM
    from pywebrtc.dtls.record import header

    config = DtlsConfig(load_certificate(), versions=BOTH, cookie_exchange=False)
    client = DtlsConnection(config, is_client=True, remote_address=b"s")
    client.connect(0.0)
    _drain(client)
    extensions = [Extension(ExtensionType.SUPPORTED_VERSIONS, DTLS_1_3.to_bytes(2, "big"))]
    extensions.append(Extension(ExtensionType.KEY_SHARE, share))
    if cookie is not None:
        extensions.append(Extension(ExtensionType.COOKIE, cookie))
    random = HELLO_RETRY_REQUEST_RANDOM if hrr else bytes(32)
    body = bytes(ServerHello(DTLS_1_2, random, b"", suite, 0, tuple(extensions)))
    message = encode_message(HandshakeType.SERVER_HELLO, 0, body)
    for start in range(0, len(message) - 12, 1100):  # fragmented like a real hybrid answer
        chunk = body[start : start + 1100]
        from pywebrtc.dtls.handshake import fragment_header

        frag = fragment_header(HandshakeType.SERVER_HELLO, len(body), 0, start, len(chunk)) + chunk
        client.receive(header(ContentType.HANDSHAKE, DTLS_1_2, 0, start, len(frag)) + frag, 0.01)
    assert client.state in (State.WAIT_HELLO, State.WAIT_FLIGHT, State.FAILED)
    for item in client._out:
        if isinstance(item, ConnectionClosed):
            assert isinstance(item.error, DtlsError)
