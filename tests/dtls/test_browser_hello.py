"""Browsers offer DTLS 1.3: a ~1.4 KB ClientHello in two fragments with supported_versions,
key_share (X25519MLKEM768 + x25519), psk_key_exchange_modes, TLS 1.3 suites. These are real
captures (tests/fixtures/dtls/capture/); our server must reassemble them, ignore what it does
not speak and answer with DTLS 1.2."""

from __future__ import annotations

import pytest

from pywebrtc.dtls import DtlsConfig, DtlsConnection, Transmit
from pywebrtc.dtls.cipher import CipherSuiteId
from pywebrtc.dtls.extensions import ExtensionType, NamedGroup, find
from pywebrtc.dtls.handshake import (
    ClientHello,
    HandshakeType,
    HelloVerifyRequest,
    ServerHello,
    encode_message,
    parse_fragments,
)
from pywebrtc.dtls.reassembly import Reassembler
from pywebrtc.dtls.record import DTLS_1_2, ContentType, Record, parse_datagram
from tests.dtls.peers import FIXTURES, load_certificate

BROWSERS = ["chrome", "firefox"]


def datagrams(browser: str) -> list[bytes]:
    return [(FIXTURES / f"{browser}-client-hello.{i}.bin").read_bytes() for i in range(2)]


def client_hello(browser: str) -> ClientHello:
    reassembler = Reassembler()
    for datagram in datagrams(browser):
        for record in parse_datagram(datagram)[0]:
            for fragment in parse_fragments(record.fragment):
                reassembler.add(fragment)
    message = reassembler.pop()
    assert message is not None and message.msg_type == HandshakeType.CLIENT_HELLO
    return ClientHello.parse(message.body)


def server(cookie_exchange: bool) -> DtlsConnection:
    config = DtlsConfig(load_certificate(), cookie_exchange=cookie_exchange)
    return DtlsConnection(config, is_client=False, remote_address=b"browser")


def replies(conn: DtlsConnection) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    while (item := conn.poll()) is not None:
        assert isinstance(item, Transmit), item
        for record in parse_datagram(item.data)[0]:
            if record.content_type == ContentType.HANDSHAKE:
                out.extend((f.msg_type, f.body) for f in parse_fragments(record.fragment))
    return out


@pytest.mark.parametrize("browser", BROWSERS)
def test_fixture_is_a_dtls13_offer_over_two_fragments(browser: str) -> None:
    assert sum(len(d) for d in datagrams(browser)) > 1400
    hello = client_hello(browser)
    versions = find(hello.extensions, ExtensionType.SUPPORTED_VERSIONS)
    assert versions is not None and b"\xfe\xfc" in versions  # DTLS 1.3
    key_share = find(hello.extensions, ExtensionType.KEY_SHARE)
    assert key_share is not None and NamedGroup.X25519MLKEM768.to_bytes(2, "big") in key_share
    assert 0x1301 in hello.cipher_suites  # TLS_AES_128_GCM_SHA256


@pytest.mark.parametrize("browser", BROWSERS)
@pytest.mark.parametrize("order", [(0, 1), (1, 0), (1, 1, 0, 0)])
def test_server_reassembles_and_answers_with_dtls12(browser: str, order: tuple[int, ...]) -> None:
    conn = server(cookie_exchange=False)
    grams = datagrams(browser)
    for i in order:
        conn.receive(grams[i], 0.0)
    messages = replies(conn)
    types = [t for t, _ in messages]
    assert types[:3] == [
        HandshakeType.SERVER_HELLO,
        HandshakeType.CERTIFICATE,
        HandshakeType.SERVER_KEY_EXCHANGE,
    ]
    hello = ServerHello.parse(messages[0][1])
    assert hello.server_version == DTLS_1_2
    assert hello.cipher_suite == CipherSuiteId.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    assert hello.random[-8:] != b"DOWNGRD\x01"  # we are not a 1.3 server (RFC 8446 §4.1.3)
    sent = {e.type for e in hello.extensions}
    assert ExtensionType.EXTENDED_MASTER_SECRET in sent
    assert ExtensionType.USE_SRTP in sent
    assert ExtensionType.SUPPORTED_VERSIONS not in sent and ExtensionType.KEY_SHARE not in sent
    assert conn.stats.malformed == 0


@pytest.mark.parametrize("browser", BROWSERS)
def test_cookie_exchange_with_a_browser_hello(browser: str) -> None:
    conn = server(cookie_exchange=True)
    for datagram in datagrams(browser):
        conn.receive(datagram, 0.0)
    (msg_type, body), *rest = replies(conn)
    assert msg_type == HandshakeType.HELLO_VERIFY_REQUEST and not rest
    cookie = HelloVerifyRequest.parse(body).cookie
    # The browser repeats its hello with the cookie, message_seq 1, in two fragments again.
    original = client_hello(browser)
    again = ClientHello(
        original.client_version,
        original.random,
        original.session_id,
        cookie,
        original.cipher_suites,
        original.compression_methods,
        original.extensions,
    )
    whole = encode_message(HandshakeType.CLIENT_HELLO, 1, bytes(again))
    body2 = whole[12:]
    half = len(body2) // 2
    for seq, (offset, chunk) in enumerate([(0, body2[:half]), (half, body2[half:])], start=2):
        fragment = whole[:6] + offset.to_bytes(3, "big") + len(chunk).to_bytes(3, "big") + chunk
        record = Record(ContentType.HANDSHAKE, 0xFEFF, 0, seq, fragment)
        conn.receive(bytes(record), 0.5)
    types = [t for t, _ in replies(conn)]
    assert types[0] == HandshakeType.SERVER_HELLO
    assert types[-1] == HandshakeType.SERVER_HELLO_DONE
