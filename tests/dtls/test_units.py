"""Unit tests for the small pieces: replay window, reassembly, flight fragmentation, cookies,
record protection, wire round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.dtls import CookieVerifier, DecodeError
from pywebrtc.dtls.cipher import SUITES, CipherSuiteId, RecordProtection
from pywebrtc.dtls.errors import BadRecordMac
from pywebrtc.dtls.flight import Flight, FlightMessage, RetransmitTimer
from pywebrtc.dtls.handshake import (
    ClientHello,
    HandshakeFragment,
    HandshakeType,
    encode_message,
    parse_fragments,
)
from pywebrtc.dtls.reassembly import Reassembler
from pywebrtc.dtls.record import Record, parse_datagram
from pywebrtc.dtls.replay import ReplayWindow


def test_replay_window_accepts_new_rejects_seen_and_too_old() -> None:
    window = ReplayWindow(64)
    for seq in (0, 1, 5, 3):
        assert window.check(seq)
        window.accept(seq)
    assert not window.check(3) and not window.check(5)
    assert window.check(4)
    window.accept(200)
    assert not window.check(200 - 64)
    assert window.check(200 - 63)
    window.accept(2**48 - 1)  # a huge jump resets the bitmap
    assert not window.check(2**48 - 1) and window.check(2**48 - 2)


@given(st.lists(st.integers(0, 300), max_size=100))
def test_replay_window_never_accepts_a_duplicate(seqs: list[int]) -> None:
    window = ReplayWindow()
    accepted: set[int] = set()
    for seq in seqs:
        if window.check(seq):
            assert seq not in accepted
            window.accept(seq)
            accepted.add(seq)


@given(st.binary(min_size=0, max_size=3000), st.integers(1, 400), st.randoms())
def test_reassembly_of_shuffled_duplicated_fragments(body: bytes, size: int, rnd: object) -> None:
    import random

    assert isinstance(rnd, random.Random)
    pieces = [
        HandshakeFragment(HandshakeType.CERTIFICATE, len(body), 0, off, body[off : off + size])
        for off in range(0, max(len(body), 1), size)
    ]
    pieces = pieces + rnd.sample(pieces, len(pieces) // 2)
    rnd.shuffle(pieces)
    reassembler = Reassembler()
    for piece in pieces:
        assert reassembler.add(piece)
    message = reassembler.pop()
    assert message is not None and message.body == body
    assert reassembler.pop() is None
    assert not reassembler.add(pieces[0])  # now a retransmission


def test_reassembly_rejects_inconsistent_fragments() -> None:
    reassembler = Reassembler()
    reassembler.add(HandshakeFragment(HandshakeType.CERTIFICATE, 10, 0, 0, b"12345"))
    with pytest.raises(DecodeError):
        reassembler.add(HandshakeFragment(HandshakeType.FINISHED, 10, 0, 5, b"67890"))


def test_flight_fragments_to_mtu_and_reassembles() -> None:
    body = bytes(range(256)) * 12
    message = encode_message(HandshakeType.CERTIFICATE, 3, body)
    flight = Flight(
        [
            FlightMessage(0, 22, encode_message(HandshakeType.SERVER_HELLO, 2, b"x" * 70)),
            FlightMessage(0, 22, message),
            FlightMessage(0, 22, encode_message(HandshakeType.SERVER_HELLO_DONE, 4, b"")),
        ]
    )
    seq = iter(range(1000))

    def seal(epoch: int, ctype: int, payload: bytes) -> bytes:
        return bytes(Record(ctype, 0xFEFD, epoch, next(seq), payload))

    grams = flight.datagrams(500, seal, lambda e: 0)
    assert all(len(g) <= 500 for g in grams)
    reassembler = Reassembler(next_seq=2)
    for gram in grams:
        records, bad = parse_datagram(gram)
        assert not bad
        for record in records:
            for fragment in parse_fragments(record.fragment):
                reassembler.add(fragment)
    got = [reassembler.pop() for _ in range(3)]
    assert [m.body for m in got if m] == [b"x" * 70, body, b""]


def test_flight_packs_small_handshake_messages_of_one_epoch_into_one_record() -> None:
    messages = [encode_message(t, i, b"m" * 40) for i, t in enumerate((2, 11, 12, 13, 14))]
    flight = Flight(
        [FlightMessage(0, 22, m) for m in messages]
        + [FlightMessage(0, 20, b"\x01"), FlightMessage(1, 22, encode_message(20, 5, b"f" * 12))]
    )
    seq = iter(range(1000))

    def seal(epoch: int, ctype: int, payload: bytes) -> bytes:
        return bytes(Record(ctype, 0xFEFD, epoch, next(seq), payload))

    (gram,) = flight.datagrams(1200, seal, lambda e: 0)
    records, bad = parse_datagram(gram)
    assert not bad
    assert [(r.content_type, r.epoch) for r in records] == [(22, 0), (20, 0), (22, 1)]
    assert records[0].fragment == b"".join(messages)
    # With a small MTU the same flight still fits every datagram.
    grams = flight.datagrams(150, seal, lambda e: 0)
    assert len(grams) > 1 and all(len(g) <= 150 for g in grams)


def test_retransmit_timer_backoff() -> None:
    timer = RetransmitTimer(1.0, 8.0, 5)
    timer.start(0.0)
    deadlines = [timer.deadline]
    while timer.fire(deadlines[-1] or 0.0):
        deadlines.append(timer.deadline)
    assert deadlines == [1.0, 3.0, 7.0, 15.0, 23.0, 31.0]
    assert timer.deadline is None


def test_cookie_is_bound_to_address_and_hello_and_expires() -> None:
    verifier = CookieVerifier(b"k" * 32, lifetime=10.0)
    hello = ClientHello(0xFEFD, b"r" * 32, b"", b"", (0xC02B,))
    cookie = verifier.make(hello, b"1.2.3.4:5", 100.0)
    with_cookie = ClientHello(0xFEFD, b"r" * 32, b"", cookie, (0xC02B,))
    assert verifier.verify(with_cookie, b"1.2.3.4:5", 105.0)
    assert verifier.verify(with_cookie, b"1.2.3.4:5", 115.0)  # previous bucket still good
    assert not verifier.verify(with_cookie, b"1.2.3.4:5", 125.0)
    assert not verifier.verify(with_cookie, b"1.2.3.4:6", 105.0)
    other = ClientHello(0xFEFD, b"s" * 32, b"", cookie, (0xC02B,))
    assert not verifier.verify(other, b"1.2.3.4:5", 105.0)


@pytest.mark.parametrize("suite", list(CipherSuiteId))
def test_record_protection_round_trip_and_tamper(suite: CipherSuiteId) -> None:
    s = SUITES[suite]
    prot = RecordProtection(s, b"k" * s.key_length, b"i" * s.fixed_iv_length)
    sealed = prot.seal(23, 0xFEFD, 1, 7, b"hello")
    assert len(sealed) == 5 + s.record_overhead
    assert prot.open(23, 0xFEFD, 1, 7, sealed) == b"hello"
    with pytest.raises(BadRecordMac):
        prot.open(23, 0xFEFD, 1, 8, sealed)  # other sequence number: other nonce/AAD
    with pytest.raises(BadRecordMac):
        prot.open(23, 0xFEFD, 1, 7, sealed[:-1])


def test_srtp_keys_never_show_their_secrets_in_repr() -> None:
    from pywebrtc.dtls import SrtpKeys, SrtpProfile

    keys = SrtpKeys(SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_80, b"\xaa" * 16, b"\xbb" * 14,
                    b"\xcc" * 16, b"\xdd" * 14)
    text = repr(keys)
    assert "SRTP_AES128_CM_HMAC_SHA1_80" in text
    for secret in (b"\xaa" * 16, b"\xbb" * 14, b"\xcc" * 16, b"\xdd" * 14):
        assert repr(secret) not in text and secret.hex() not in text
