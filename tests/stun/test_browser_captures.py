"""Connectivity checks as browsers send them (captured packets, see vectors.py)."""

from __future__ import annotations

from pywebrtc import stun
from pywebrtc.stun import Message, MessageClass, Method

from . import vectors


def test_controlling_check_with_use_candidate() -> None:
    data = vectors.CHROME_CONTROLLING_CHECK
    msg = Message.parse(data)
    assert (msg.method, msg.message_class) == (Method.BINDING, MessageClass.REQUEST)
    assert msg.username == "p9KA:SQAt"
    assert msg.ice_controlling == 0x6EEEC6E97D18395C
    assert msg.ice_controlled is None
    assert msg.use_candidate
    assert msg.priority == 0x6E7F1EFF
    assert msg.has_integrity and msg.has_fingerprint
    assert msg.verify_fingerprint()
    # GOOG-NETWORK-INFO is comprehension-optional: kept raw, no 420.
    assert msg.get_raw(0xC057) == b"\x00\x01\x00\x0a"
    assert msg.unknown_comprehension_required() == ()
    assert stun.read_username(data) == "p9KA:SQAt"
    assert bytes(msg) == data


def test_controlled_check() -> None:
    data = vectors.CHROME_CONTROLLED_CHECK
    msg = Message.parse(data)
    assert msg.username == "9u6y:9QwW"
    assert msg.ice_controlled == 0x81A33BA9B20F6D45
    assert msg.ice_controlling is None
    assert not msg.use_candidate
    assert msg.priority == 0x6E7E1EFF
    assert msg.verify_fingerprint()
    assert stun.read_username(data) == "9u6y:9QwW"


def test_answering_a_captured_check_round_trips() -> None:
    request = Message.parse(vectors.CHROME_CONTROLLING_CHECK)
    key = stun.short_term_key("local-password-not-published")
    reply = stun.binding_success(request.transaction_id, ("198.51.100.7", 61000), key)
    parsed = Message.parse(reply)
    assert parsed.transaction_id == request.transaction_id
    assert parsed.message_class == MessageClass.SUCCESS_RESPONSE
    assert parsed.xor_mapped_address == ("198.51.100.7", 61000)
    assert parsed.verify_integrity(key) and parsed.verify_fingerprint()
