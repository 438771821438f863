"""Properties over generated messages: round trips, integrity, fingerprint, hostile input."""

from __future__ import annotations

import contextlib

from hypothesis import assume, given
from hypothesis import strategies as st

from pywebrtc import stun
from pywebrtc.stun import Message, StunParseError

from . import vectors
from .strategies import binding_requests, messages

SEEDS = [
    vectors.SAMPLE_REQUEST,
    vectors.SAMPLE_IPV4_RESPONSE,
    vectors.SAMPLE_IPV6_RESPONSE,
    vectors.LONG_TERM_REQUEST,
]
# HMAC pads keys of up to 64 bytes with zeros, so keys that differ only in trailing zero bytes
# are the same key; keep generated keys apart from that.
keys = st.binary(max_size=64).map(lambda k: k + b"k")


def _exercise(data: bytes) -> None:
    """Parse ``data`` and use everything a receiver might; only StunParseError may escape."""
    try:
        msg = Message.parse(data)
    except StunParseError:
        assert stun.read_username(data) is None or stun.is_stun(data)
        return
    assert bytes(msg) == data
    msg.verify_integrity(b"key")
    msg.verify_fingerprint()
    msg.unknown_comprehension_required()
    for attr_type, value in msg.attributes:
        cls = stun.ATTRIBUTE_VALUE_TYPES.get(attr_type)
        if cls is not None:
            with contextlib.suppress(StunParseError):
                cls.decode(value, msg.transaction_id)
    for name in (
        "username",
        "priority",
        "ice_controlling",
        "ice_controlled",
        "use_candidate",
        "xor_mapped_address",
        "mapped_address",
        "xor_relayed_address",
        "xor_peer_addresses",
        "error_code",
        "unknown_attributes",
        "realm",
        "nonce",
        "software",
        "data",
    ):
        with contextlib.suppress(StunParseError):
            getattr(msg, name)
    _agrees_with_read_username(msg, data)


def _agrees_with_read_username(msg: Message, data: bytes) -> None:
    fast = stun.read_username(data)
    if msg.method != stun.Method.BINDING or msg.message_class != stun.MessageClass.REQUEST:
        assert fast is None
        return
    try:
        full = msg.username
    except StunParseError:
        full = None
    assert fast == full


@given(messages())
def test_message_round_trip(message: Message) -> None:
    data = bytes(message)
    parsed = Message.parse(data)
    assert parsed == message
    assert bytes(parsed) == data
    assert stun.is_stun(data)


@given(messages(), keys, st.booleans(), st.sampled_from(["sha1", "sha256", "both"]))
def test_signed_message_round_trip_and_verify(
    message: Message, key: bytes, fingerprint: bool, integrity: stun.IntegrityAlgorithm
) -> None:
    data = message.encode(key, fingerprint=fingerprint, integrity=integrity)
    parsed = Message.parse(data)
    trailers = (1 if integrity != "both" else 2) + fingerprint
    assert parsed.attributes[:-trailers] == message.attributes
    assert parsed.verify_integrity(key)
    assert parsed.verify_fingerprint() == fingerprint
    assert bytes(parsed) == data


@given(messages(), keys, keys)
def test_wrong_key_does_not_verify(message: Message, key: bytes, other: bytes) -> None:
    assume(key != other)
    for integrity in ("sha1", "sha256", "both"):
        data = message.encode(key, fingerprint=True, integrity=integrity)
        assert not Message.parse(data).verify_integrity(other)


@given(messages(), st.data())
def test_any_bit_flip_breaks_the_fingerprint(message: Message, data: st.DataObject) -> None:
    wire = message.encode(b"key", fingerprint=True)
    bit = data.draw(st.integers(0, len(wire) * 8 - 1))
    flipped = bytearray(wire)
    flipped[bit // 8] ^= 1 << (bit % 8)
    try:
        parsed = Message.parse(bytes(flipped))
    except StunParseError:
        return
    assert not parsed.verify_fingerprint()


@given(messages(), st.data())
def test_any_bit_flip_breaks_integrity(message: Message, data: st.DataObject) -> None:
    wire = message.encode(b"key")
    bit = data.draw(st.integers(0, len(wire) * 8 - 1))
    flipped = bytearray(wire)
    flipped[bit // 8] ^= 1 << (bit % 8)
    try:
        parsed = Message.parse(bytes(flipped))
    except StunParseError:
        return
    assert not parsed.verify_integrity(b"key")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    base = bytearray(
        draw(
            st.one_of(
                st.sampled_from(SEEDS),
                messages().map(lambda m: m.encode(b"k", fingerprint=True)),
                binding_requests(),
            )
        )
    )
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        position = draw(st.integers(0, max(len(base) - 1, 0)))
        if kind == "flip" and base:
            base[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and base:
            base[position] = draw(st.integers(0, 255))
        elif kind == "insert":
            base[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and base:
            del base[position : position + draw(st.integers(1, 8))]
        elif kind == "truncate":
            del base[position:]
    return bytes(base)


@given(mutated())
def test_mutated_messages_raise_only_stun_parse_error(data: bytes) -> None:
    _exercise(data)


@given(st.binary(max_size=200))
def test_random_bytes_raise_only_stun_parse_error(data: bytes) -> None:
    _exercise(data)


@given(st.binary(max_size=120).map(lambda b: b[: len(b) - len(b) % 4]), st.booleans())
def test_random_attribute_soup_after_a_valid_header(body: bytes, binding: bool) -> None:
    mtype = b"\x00\x01" if binding else b"\x01\x11"
    header = mtype + len(body).to_bytes(2, "big") + b"\x21\x12\xa4\x42" + bytes(range(12))
    _exercise(header + body)


@given(st.sampled_from(SEEDS), st.data())
def test_truncated_vectors_raise_stun_parse_error(seed: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(seed) - 1))
    try:
        Message.parse(seed[:cut])
    except StunParseError:
        return
    raise AssertionError("a truncated message parsed")


@given(binding_requests())
def test_read_username_agrees_with_parse(data: bytes) -> None:
    msg = Message.parse(data)
    assert stun.read_username(data) == msg.username
    _exercise(data)
