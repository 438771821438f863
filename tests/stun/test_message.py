"""Message header, framing, integrity and fingerprint behaviour."""

from __future__ import annotations

import hmac

import pytest

from pywebrtc import stun
from pywebrtc.stun import AttributeType, Message, MessageClass, Method, StunParseError

KEY = b"local-password-1234567"
TID = bytes(range(12))


def _request(*attrs: stun.AttributeValue) -> Message:
    return Message.create(Method.BINDING, MessageClass.REQUEST, attrs, TID)


@pytest.mark.parametrize(
    ("method", "cls", "wire"),
    [
        (Method.BINDING, MessageClass.REQUEST, 0x0001),
        (Method.BINDING, MessageClass.INDICATION, 0x0011),
        (Method.BINDING, MessageClass.SUCCESS_RESPONSE, 0x0101),
        (Method.BINDING, MessageClass.ERROR_RESPONSE, 0x0111),
        (Method.ALLOCATE, MessageClass.REQUEST, 0x0003),
        (Method.ALLOCATE, MessageClass.ERROR_RESPONSE, 0x0113),
        (Method.SEND, MessageClass.INDICATION, 0x0016),
        (Method.DATA, MessageClass.INDICATION, 0x0017),
        (Method.CHANNEL_BIND, MessageClass.SUCCESS_RESPONSE, 0x0109),
        (0xFFF, MessageClass.ERROR_RESPONSE, 0x3FFF),
        (0x080, MessageClass.REQUEST, 0x0200),
    ],
)
def test_method_and_class_bits_interleave(method: int, cls: MessageClass, wire: int) -> None:
    assert stun.message_type(method, cls) == wire
    assert stun.split_message_type(wire) == (method, cls)
    data = bytes(Message(method, cls, TID))
    assert int.from_bytes(data[:2], "big") == wire
    parsed = Message.parse(data)
    assert (parsed.method, parsed.message_class) == (method, cls)


def test_parsed_method_is_the_enum_when_registered() -> None:
    parsed = Message.parse(bytes(Message(Method.REFRESH, MessageClass.REQUEST, TID)))
    assert parsed.method is Method.REFRESH
    assert parsed.message_class is MessageClass.REQUEST


def test_header_layout() -> None:
    data = bytes(_request(stun.Username("ab")))
    assert data[:2] == b"\x00\x01"
    assert data[2:4] == (8).to_bytes(2, "big")
    assert data[4:8] == b"\x21\x12\xa4\x42"
    assert data[8:20] == TID
    assert data[20:] == b"\x00\x06\x00\x02ab\x00\x00"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\x01\x00\x00\x21\x12\xa4\x42" + bytes(11),  # 19 bytes
        b"\x00\x01\x00\x00\x00\x00\x00\x00" + bytes(12),  # RFC 3489: no magic cookie
        b"\x80\x01\x00\x00\x21\x12\xa4\x42" + bytes(12),  # top bits set (RTP-ish)
        b"\x00\x01\x00\x04\x21\x12\xa4\x42" + bytes(12),  # length beyond datagram
        b"\x00\x01\x00\x00\x21\x12\xa4\x42" + bytes(12) + b"\x00",  # trailing byte
        b"\x00\x01\x00\x02\x21\x12\xa4\x42" + bytes(12) + b"\x00\x06",  # length not 4n
        b"\x00\x01\x00\x04\x21\x12\xa4\x42" + bytes(12) + b"\x00\x06\x00\x01",  # value cut
        b"\x00\x01\x00\x08\x21\x12\xa4\x42" + bytes(12) + b"\x00\x24\x00\x02\x00\x00\x00\x00",
        b"\x00\x01\x00\x08\x21\x12\xa4\x42" + bytes(12) + b"\x00\x08\x00\x04\x00\x00\x00\x00",
    ],
)
def test_malformed_header_or_framing_raises_stun_parse_error(data: bytes) -> None:
    with pytest.raises(StunParseError):
        Message.parse(data)


def test_stun_parse_error_is_a_value_error() -> None:
    assert issubclass(StunParseError, ValueError)


def test_integrity_then_fingerprint_verify() -> None:
    data = _request(stun.Username("a:b"), stun.Priority(5)).encode(KEY, fingerprint=True)
    msg = Message.parse(data)
    assert msg.verify_integrity(KEY)
    assert msg.verify_fingerprint()
    assert not msg.verify_integrity(KEY + b"x")
    assert [t for t, _ in msg.attributes][-2:] == [
        AttributeType.MESSAGE_INTEGRITY,
        AttributeType.FINGERPRINT,
    ]


def test_message_without_integrity_does_not_verify() -> None:
    msg = Message.parse(_request(stun.Username("a:b")).encode(fingerprint=True))
    assert not msg.verify_integrity(KEY)
    assert msg.verify_fingerprint()
    assert not Message.parse(bytes(_request())).verify_fingerprint()


@pytest.mark.parametrize("size", [16, 20, 24, 28, 32])
def test_sha256_integrity_with_truncation(size: int) -> None:
    data = _request(stun.Username("u")).encode(
        KEY, integrity="sha256", sha256_length=size, fingerprint=True
    )
    msg = Message.parse(data)
    raw = msg.get_raw(AttributeType.MESSAGE_INTEGRITY_SHA256)
    assert raw is not None and len(raw) == size
    assert msg.verify_integrity(KEY)
    assert not msg.verify_integrity(b"other")


def test_sha256_is_checked_when_both_are_present() -> None:
    data = _request(stun.Username("u")).encode(KEY, integrity="both", fingerprint=True)
    msg = Message.parse(data)
    assert msg.get_raw(AttributeType.MESSAGE_INTEGRITY) is not None
    assert msg.verify_integrity(KEY)
    # A message whose SHA-1 code is garbage but whose SHA-256 code (computed here by hand, over
    # the header with the length patched to end after it, RFC 8489 §14.6) is right: valid.
    unsigned = bytes(
        Message(
            Method.BINDING,
            MessageClass.REQUEST,
            TID,
            ((AttributeType.USERNAME, b"u"), (AttributeType.MESSAGE_INTEGRITY, bytes(20))),
        )
    )
    length = len(unsigned) - 20 + 4 + 32
    signed = unsigned[:2] + length.to_bytes(2, "big") + unsigned[4:]
    mac = hmac.digest(KEY, signed, "sha256")
    both = Message.parse(signed + b"\x00\x1c\x00\x20" + mac)
    assert both.verify_integrity(KEY)
    broken = Message.parse(signed + b"\x00\x1c\x00\x20" + bytes(32))
    assert not broken.verify_integrity(KEY)


def test_bad_sha256_length_is_rejected() -> None:
    with pytest.raises(ValueError):
        _request().encode(KEY, integrity="sha256", sha256_length=12)
    data = bytes(Message(Method.BINDING, MessageClass.REQUEST, TID, ((0x001C, bytes(12)),)))
    with pytest.raises(StunParseError):
        Message.parse(data)


def test_attributes_after_integrity_are_ignored_but_kept_on_the_wire() -> None:
    signed = _request(stun.Username("a:b")).encode(KEY)
    extra = bytes(stun.RawAttribute(AttributeType.USE_CANDIDATE, b""))
    body = signed[20:] + extra
    data = signed[:2] + len(body).to_bytes(2, "big") + signed[4:20] + body
    msg = Message.parse(data)
    assert not msg.use_candidate
    assert bytes(msg) == data
    # The header length grew, so the integrity check (length patched per §14.5) still holds.
    assert msg.verify_integrity(KEY)


def test_attribute_after_fingerprint_is_an_error() -> None:
    signed = _request().encode(fingerprint=True)
    body = signed[20:] + b"\x80\x22\x00\x00"
    with pytest.raises(StunParseError):
        Message.parse(signed[:2] + len(body).to_bytes(2, "big") + signed[4:20] + body)


def test_encode_replaces_existing_integrity_and_fingerprint() -> None:
    once = Message.parse(_request(stun.Username("x")).encode(KEY, fingerprint=True))
    again = Message(once.method, once.message_class, once.transaction_id, once.attributes)
    assert again.encode(KEY, fingerprint=True) == bytes(once)


def test_constructed_message_can_be_verified_without_parsing() -> None:
    parsed = Message.parse(_request(stun.Username("x")).encode(KEY, fingerprint=True))
    rebuilt = Message(parsed.method, parsed.message_class, parsed.transaction_id, parsed.attributes)
    assert rebuilt == parsed
    assert rebuilt.verify_integrity(KEY)
    assert rebuilt.verify_fingerprint()


def test_transaction_id_must_be_12_bytes() -> None:
    with pytest.raises(ValueError):
        Message(Method.BINDING, MessageClass.REQUEST, b"short")


def test_new_transaction_ids_are_random_12_bytes() -> None:
    ids = {stun.new_transaction_id() for _ in range(64)}
    assert len(ids) == 64
    assert all(len(i) == 12 for i in ids)


def test_error_response_with_unknown_attributes() -> None:
    request = Message.parse(
        bytes(
            Message(
                Method.BINDING,
                MessageClass.REQUEST,
                TID,
                ((0x7F01, b"??"), (AttributeType.SOFTWARE, b"x"), (0x9000, b"")),
            )
        )
    )
    unknown = request.unknown_comprehension_required()
    assert unknown == (0x7F01,)
    reply = Message.parse(
        request.error_response(420, attributes=[stun.UnknownAttributes(unknown)]).encode(
            fingerprint=True
        )
    )
    assert reply.message_class == MessageClass.ERROR_RESPONSE
    assert reply.transaction_id == TID
    assert reply.error_code == stun.ErrorCode(420, "Unknown Attribute")
    assert reply.unknown_attributes == (0x7F01,)


def test_success_response_carries_xor_mapped_address() -> None:
    request = _request(stun.Username("a:b"))
    reply = Message.parse(
        request.success_response([stun.XorMappedAddress("2001:db8::1", 5000)]).encode(KEY)
    )
    assert reply.message_class == MessageClass.SUCCESS_RESPONSE
    assert reply.xor_mapped_address == ("2001:db8::1", 5000)
    assert reply.verify_integrity(KEY)


def test_unknown_optional_attributes_are_kept_raw() -> None:
    msg = Message.parse(
        bytes(Message(Method.BINDING, MessageClass.REQUEST, TID, ((0xC001, b"abc"),)))
    )
    assert msg.attributes == ((0xC001, b"abc"),)
    assert msg.unknown_comprehension_required() == ()


def test_parsed_message_behaves_like_a_dataclass() -> None:
    import copy
    import dataclasses
    import pickle

    data = _request(stun.Username("a:b"), stun.Priority(9)).encode(KEY, fingerprint=True)
    parsed = Message.parse(data)
    again = Message.parse(data)
    assert hash(parsed) == hash(again)
    assert "Username" not in repr(parsed) and "attributes=" in repr(parsed)
    clone = copy.copy(parsed)
    assert clone == parsed and bytes(clone) == data and clone.verify_integrity(KEY)
    assert pickle.loads(pickle.dumps(parsed)) == parsed
    changed = dataclasses.replace(parsed, message_class=MessageClass.INDICATION)
    assert changed.attributes == parsed.attributes
    assert changed.message_class is MessageClass.INDICATION
    assert bytes(changed) != data
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.method = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.attributes = ()  # type: ignore[misc]


def test_accessors_work_before_and_after_attributes_are_read() -> None:
    data = _request(stun.Username("a:b"), stun.Priority(9)).encode(KEY, fingerprint=True)
    lazy = Message.parse(data)
    assert lazy.username == "a:b" and lazy.priority == 9
    eager = Message.parse(data)
    assert len(eager.attributes) == 4
    assert eager.username == "a:b" and eager.priority == 9
    assert lazy.attributes == eager.attributes


def test_first_of_repeated_attributes_wins() -> None:
    msg = Message.parse(
        bytes(
            Message(
                Method.BINDING,
                MessageClass.REQUEST,
                TID,
                ((AttributeType.USERNAME, b"first"), (AttributeType.USERNAME, b"second")),
            )
        )
    )
    assert msg.username == "first"
    assert msg.get_all(stun.Username) == [stun.Username("first"), stun.Username("second")]


def test_oversized_input_to_builders_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        bytes(Message(Method.BINDING, MessageClass.REQUEST, TID, ((0x10000, b""),)))
    with pytest.raises(ValueError):
        bytes(Message(Method.BINDING, MessageClass.REQUEST, TID, ((0x8022, bytes(70000)),)))
    big = tuple((0x8022, bytes(60000)) for _ in range(2))
    with pytest.raises(ValueError):
        Message(Method.BINDING, MessageClass.REQUEST, TID, big).encode(KEY)
    with pytest.raises(ValueError):
        Message(0x1000, MessageClass.REQUEST, TID)
