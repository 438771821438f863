"""Routing-ufrag codec: round trips, ICE legality, and that forgeries decode to None."""

from __future__ import annotations

import base64
import re

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from relay.routing import (
    ICE_CHARS,
    MAX_CLUSTER,
    MAX_TRANSCEIVER,
    PlaintextRouteCodec,
    Route,
    RouteCodec,
    RoutingError,
    parse_keys,
)

KEY_A = bytes(range(16))
KEY_B = bytes(range(16, 32))
CODEC = RouteCodec({1: KEY_A, 7: KEY_B}, active=1)
ICE_UFRAG = re.compile(r"[A-Za-z0-9+/]{4,256}")

routes = st.builds(
    Route,
    st.integers(0, MAX_CLUSTER),
    st.integers(0, MAX_TRANSCEIVER),
)


@given(routes)
def test_round_trip_is_a_legal_ice_ufrag(route: Route) -> None:
    ufrag = CODEC.encode(route)
    assert ICE_UFRAG.fullmatch(ufrag)
    assert CODEC.decode(ufrag) == route


def test_each_encode_is_fresh() -> None:
    route = Route(3, 42)
    ufrags = {CODEC.encode(route) for _ in range(1000)}
    assert len(ufrags) == 1000


def test_nonce_carries_at_least_24_random_bits() -> None:
    # Decrypt with the fleet key and look at the nonce: each of its 32 bits must take both
    # values across a few hundred ufrags of one route (a constant bit would never flip).
    decryptor = Cipher(algorithms.AES(KEY_A), modes.ECB()).decryptor()
    seen_one = seen_zero = 0
    for _ in range(300):
        ufrag = CODEC.encode(Route(0, 0))
        block = decryptor.update(base64.b64decode(ufrag[1:] + "=="))
        nonce = int.from_bytes(block[6:10], "big")
        seen_one |= nonce
        seen_zero |= ~nonce & 0xFFFF_FFFF
    assert seen_one == seen_zero == 0xFFFF_FFFF


@given(routes, st.data())
def test_every_single_character_mutation_is_rejected(route: Route, data: st.DataObject) -> None:
    ufrag = CODEC.encode(route)
    position = data.draw(st.integers(0, len(ufrag) - 1))
    replacement = data.draw(st.sampled_from(ICE_CHARS).filter(lambda c: c != ufrag[position]))
    forged = ufrag[:position] + replacement + ufrag[position + 1 :]
    assert CODEC.decode(forged) is None


def test_exhaustive_mutations_of_one_ufrag() -> None:
    ufrag = CODEC.encode(Route(5, 77))
    for position in range(len(ufrag)):
        for c in ICE_CHARS:
            if c != ufrag[position]:
                assert CODEC.decode(ufrag[:position] + c + ufrag[position + 1 :]) is None


@given(st.text(max_size=300))
def test_random_text_is_rejected(text: str) -> None:
    assert CODEC.decode(text) is None


@given(st.text(alphabet=ICE_CHARS, min_size=23, max_size=23))
def test_random_ice_strings_of_the_right_length_are_rejected(text: str) -> None:
    assert CODEC.decode(text) is None


def test_every_configured_key_decodes_and_the_active_one_encodes() -> None:
    old = RouteCodec({7: KEY_B}, active=7)
    ufrag_old = old.encode(Route(1, 2))
    assert ufrag_old[0] == ICE_CHARS[7]
    assert CODEC.decode(ufrag_old) == Route(1, 2)
    assert CODEC.encode(Route(1, 2))[0] == ICE_CHARS[1]


def test_foreign_and_unknown_key_ufrags_are_rejected() -> None:
    foreign = RouteCodec({1: bytes(16)}, active=1)
    assert CODEC.decode(foreign.encode(Route(1, 2))) is None
    unknown = RouteCodec({9: KEY_A}, active=9)
    assert CODEC.decode(unknown.encode(Route(1, 2))) is None


def test_truncated_and_extended_ufrags_are_rejected() -> None:
    ufrag = CODEC.encode(Route(1, 2))
    assert CODEC.decode(ufrag[:-1]) is None
    assert CODEC.decode(ufrag + "A") is None
    assert CODEC.decode("") is None


def test_bad_configuration_raises() -> None:
    with pytest.raises(RoutingError):
        RouteCodec({1: KEY_A}, active=2)
    with pytest.raises(RoutingError):
        RouteCodec({1: b"short"}, active=1)
    with pytest.raises(RoutingError):
        RouteCodec({64: KEY_A}, active=64)
    with pytest.raises(RoutingError):
        Route(MAX_CLUSTER + 1, 0)
    with pytest.raises(RoutingError):
        Route(0, -1)


def test_parse_keys_first_line_is_active() -> None:
    text = f"# fleet keys\n3 {KEY_A.hex()}\n\n5 {KEY_B.hex()}  # previous\n"
    keys, active = parse_keys(text)
    assert active == 3
    assert keys == {3: KEY_A, 5: KEY_B}
    for bad in ["", "3", f"3 {KEY_A.hex()}\n3 {KEY_B.hex()}", "x 00", f"99 {KEY_A.hex()}"]:
        with pytest.raises(RoutingError):
            parse_keys(bad)


@given(routes)
def test_plaintext_codec_round_trips(route: Route) -> None:
    codec = PlaintextRouteCodec()
    ufrag = codec.encode(route)
    assert ICE_UFRAG.fullmatch(ufrag)
    assert codec.decode(ufrag) == route


def test_plaintext_codec_rejects_garbage() -> None:
    codec = PlaintextRouteCodec()
    assert codec.decode("Pc70000t1n00000000") is None
    assert codec.decode("hello") is None
