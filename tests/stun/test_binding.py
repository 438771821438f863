"""The fast Binding builders agree with the general Message encoder."""

from __future__ import annotations

from pywebrtc import stun
from pywebrtc.stun import Message, MessageClass, Method

KEY = stun.short_term_key("remote-password-123456")
TID = bytes(range(12, 24))


def test_binding_request_matches_message_encode() -> None:
    fast = stun.binding_request(
        TID,
        "remote:local",
        KEY,
        priority=0x6E7F1EFF,
        controlling=True,
        tie_breaker=0x1234567890ABCDEF,
        use_candidate=True,
    )
    general = Message.create(
        Method.BINDING,
        MessageClass.REQUEST,
        [
            stun.Username("remote:local"),
            stun.Priority(0x6E7F1EFF),
            stun.IceControlling(0x1234567890ABCDEF),
            stun.UseCandidate(),
        ],
        TID,
    ).encode(KEY, fingerprint=True)
    assert fast == general
    msg = Message.parse(fast)
    assert msg.username == "remote:local"
    assert msg.priority == 0x6E7F1EFF
    assert msg.ice_controlling == 0x1234567890ABCDEF
    assert msg.ice_controlled is None
    assert msg.use_candidate
    assert msg.verify_integrity(KEY) and msg.verify_fingerprint()


def test_binding_request_controlled_with_software() -> None:
    data = stun.binding_request(
        TID, "r:l", KEY, priority=1, controlling=False, tie_breaker=7, software="pywebrtc"
    )
    msg = Message.parse(data)
    assert msg.ice_controlled == 7 and msg.ice_controlling is None and not msg.use_candidate
    assert msg.software == "pywebrtc"
    assert msg.verify_integrity(KEY) and msg.verify_fingerprint()


def test_binding_success_matches_message_encode() -> None:
    for address in (("203.0.113.9", 54321), ("2001:db8::7", 3478)):
        fast = stun.binding_success(TID, address, KEY)
        general = Message.create(
            Method.BINDING,
            MessageClass.SUCCESS_RESPONSE,
            [stun.XorMappedAddress(*address)],
            TID,
        ).encode(KEY, fingerprint=True)
        assert fast == general
        assert Message.parse(fast).xor_mapped_address == address


def test_binding_errors() -> None:
    for code in (400, 401, 487):
        msg = Message.parse(stun.binding_error(TID, code, key=None if code == 401 else KEY))
        assert msg.message_class == MessageClass.ERROR_RESPONSE
        error = msg.error_code
        assert error is not None and error.code == code and error.reason
        assert msg.verify_integrity(KEY) == (code != 401)
        assert msg.verify_fingerprint()
    msg = Message.parse(stun.binding_error(TID, 420, unknown_attributes=[0x7777, 0x0031]))
    assert msg.unknown_attributes == (0x7777, 0x0031)
    general = Message.create(
        Method.BINDING,
        MessageClass.ERROR_RESPONSE,
        [stun.ErrorCode(420, "Unknown Attribute"), stun.UnknownAttributes((0x7777, 0x0031))],
        TID,
    ).encode(fingerprint=True)
    assert bytes(msg) == general


def test_out_of_range_inputs_are_value_errors() -> None:
    import pytest

    with pytest.raises(ValueError):
        stun.binding_request(TID, "a:b", KEY, priority=1 << 32, controlling=True, tie_breaker=1)
    with pytest.raises(ValueError):
        stun.binding_request(TID, "a:b", KEY, priority=1, controlling=False, tie_breaker=-1)
    with pytest.raises(ValueError):
        stun.binding_success(TID, ("192.0.2.1", 70000), KEY)
    with pytest.raises(ValueError):
        stun.binding_success(b"short", ("192.0.2.1", 1), KEY)
    with pytest.raises(ValueError):
        stun.binding_error(TID, 200)
    with pytest.raises(ValueError):
        stun.binding_error(TID, 420, unknown_attributes=[0x10000])
    with pytest.raises(ValueError):
        Message.create(Method.BINDING, MessageClass.REQUEST, [stun.Priority(1 << 32)], TID)
    with pytest.raises(ValueError):
        Message.create(Method.BINDING, MessageClass.REQUEST, [stun.MappedAddress("::1", -1)], TID)
