"""read_username: the relay's fast path; read_check: an ICE-lite agent's consent-check path."""

from __future__ import annotations

from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywebrtc import stun
from pywebrtc.stun import Message, MessageClass, Method

from . import vectors

TID = bytes(range(12))
KEY = b"pwd"


def _binding(*attrs: stun.AttributeValue, cls: MessageClass = MessageClass.REQUEST) -> bytes:
    return Message.create(Method.BINDING, cls, attrs, TID).encode(KEY, fingerprint=True)


def test_reads_the_username_of_a_binding_request() -> None:
    data = stun.binding_request(
        TID, "routing-ufrag:peer", KEY, priority=1, controlling=True, tie_breaker=2
    )
    assert stun.read_username(data) == "routing-ufrag:peer"
    assert stun.read_username(vectors.SAMPLE_REQUEST) == "evtj:h6vY"


def test_username_after_other_attributes() -> None:
    data = _binding(stun.Software("x" * 13), stun.Priority(5), stun.Username("late:one"))
    assert stun.read_username(data) == "late:one"


def test_none_for_other_classes_and_methods() -> None:
    assert stun.read_username(_binding(stun.Username("a:b"), cls=MessageClass.INDICATION)) is None
    assert (
        stun.read_username(_binding(stun.Username("a:b"), cls=MessageClass.SUCCESS_RESPONSE))
        is None
    )
    allocate = Message.create(Method.ALLOCATE, MessageClass.REQUEST, [stun.Username("a")], TID)
    assert stun.read_username(bytes(allocate)) is None


def test_none_without_username_or_with_it_only_after_integrity() -> None:
    assert stun.read_username(_binding(stun.Priority(1))) is None
    signed = _binding(stun.Priority(1))
    tail = bytes(stun.RawAttribute(stun.AttributeType.USERNAME, b"sneaky"))
    body = signed[20:] + tail
    data = signed[:2] + len(body).to_bytes(2, "big") + signed[4:20] + body
    # Not a valid message (attribute after FINGERPRINT) and not a username to route by.
    assert stun.read_username(data) is None


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00",
        bytes(19),
        b"\x16\xfe\xfd" + bytes(40),  # DTLS
        b"\x80\x00" + bytes(30),  # RTP
        b"\x00\x01\x00\x00\x00\x00\x00\x00" + bytes(12),  # RFC 3489, no cookie
        b"\x00\x01\x00\x08\x21\x12\xa4\x42" + bytes(12) + b"\x00\x06\x00\x05abcd",  # overrun
        b"\x00\x01\x00\x08\x21\x12\xa4\x42" + bytes(12) + b"\x00\x06\x00\x02\xff\xfe\x00\x00",
        b"\x00\x01\x00\x04\x21\x12\xa4\x42" + bytes(12) + b"\x00\x06\x00\x00\x00",  # length
    ],
)
def test_none_for_non_stun_and_malformed(data: bytes) -> None:
    assert stun.read_username(data) is None


def test_never_raises_even_on_wrong_types() -> None:
    for junk in (None, 42, "text", object(), [1, 2, 3]):
        assert stun.read_username(cast(bytes, junk)) is None


def test_accepts_memoryview_and_bytearray() -> None:
    data = _binding(stun.Username("mv:x"))
    assert stun.read_username(cast(bytes, memoryview(data))) == "mv:x"
    assert stun.read_username(cast(bytes, bytearray(data))) == "mv:x"


def test_is_stun() -> None:
    assert stun.is_stun(vectors.SAMPLE_REQUEST)
    assert not stun.is_stun(vectors.SAMPLE_REQUEST[:-1])
    assert not stun.is_stun(b"\x16\xfe\xfd" + bytes(40))


def test_read_check_agrees_with_message_parse_on_what_agents_send() -> None:
    for use_candidate in (False, True):
        data = stun.binding_request(
            TID, "local:remote", KEY, priority=1, controlling=True, tie_breaker=2,
            use_candidate=use_candidate,
        )  # fmt: skip
        msg = Message.parse(data)
        assert stun.read_check(data) == (b"local:remote", msg.use_candidate)
    # RFC 5769 §2.1's sample request (SOFTWARE and ICE-CONTROLLED before the integrity).
    assert stun.read_check(vectors.SAMPLE_REQUEST) == (b"evtj:h6vY", False)


def test_read_check_leaves_everything_else_to_message_parse() -> None:
    name = stun.Username("a:b")

    def raw(*attrs: tuple[int, bytes]) -> bytes:
        return Message.create(Method.BINDING, MessageClass.REQUEST, [name, *attrs], TID).encode(
            KEY, fingerprint=True
        )

    cases = [
        _binding(name, cls=MessageClass.INDICATION),
        _binding(stun.Priority(1)),  # no USERNAME
        raw((0x7FFF, b"x")),  # a comprehension-required type we do not know: 420 material
        Message.create(Method.BINDING, MessageClass.REQUEST, [name], TID).encode(
            KEY, integrity="both", fingerprint=True
        ),  # MESSAGE-INTEGRITY-SHA256 too
        Message.create(Method.BINDING, MessageClass.REQUEST, [name], TID).encode(KEY),
        raw((0x0024, b"\x00\x00\x01")),  # PRIORITY of the wrong length
    ]
    for data in cases:
        assert stun.read_check(data) is None
    good = _binding(name, stun.Priority(1))
    assert stun.read_check(good) == (b"a:b", False)
    assert stun.read_check(good[:-4]) is None


@given(st.binary(max_size=120))
def test_read_check_never_raises(data: bytes) -> None:
    stun.read_check(data)
    stun.read_check(b"\x00\x01" + data)
