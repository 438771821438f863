"""Attribute values: round trips for every type, and malformed values rejected."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywebrtc import stun
from pywebrtc.stun import Message, MessageClass, Method, StunParseError

from .strategies import attribute_values, hosts, ports, transaction_ids

TID = bytes(12)


def _same(a: stun.AttributeValue, b: stun.AttributeValue) -> bool:
    """Equality, with IP addresses compared as addresses (text forms of IPv6 vary)."""
    host_a, host_b = getattr(a, "host", None), getattr(b, "host", None)
    if isinstance(host_a, str) and isinstance(host_b, str):
        return type(a) is type(b) and (
            ipaddress.ip_address(host_a) == ipaddress.ip_address(host_b)
            and getattr(a, "port", None) == getattr(b, "port", None)
        )
    return a == b


def test_every_known_type_has_a_strategy() -> None:
    assert set(stun.ATTRIBUTE_VALUE_TYPES) == stun.KNOWN_ATTRIBUTE_TYPES
    assert len(stun.KNOWN_ATTRIBUTE_TYPES) == 32


@given(attribute_values, transaction_ids)
def test_attribute_value_round_trip(value: stun.AttributeValue, tid: bytes) -> None:
    encoded = value.encode(tid)
    assert _same(type(value).decode(encoded, tid), value)


@given(attribute_values, transaction_ids)
def test_attribute_round_trip_through_a_message(value: stun.AttributeValue, tid: bytes) -> None:
    data = bytes(Message.create(Method.BINDING, MessageClass.INDICATION, [value], tid))
    parsed = Message.parse(data)
    decoded = parsed.get(type(value))
    assert decoded is not None and _same(decoded, value)
    assert parsed.get_all(type(value)) == [decoded]


@given(attribute_values)
def test_raw_attribute_tlv_round_trip(value: stun.AttributeValue) -> None:
    raw = value.to_raw(TID)
    tlv = bytes(raw)
    assert len(tlv) % 4 == 0
    assert stun.RawAttribute.parse(tlv) == raw
    assert stun.RawAttribute.parse(tlv[: 4 + len(raw.value)]) == raw  # padding optional


@given(hosts, ports, transaction_ids)
def test_xor_address_differs_from_plain_and_round_trips(host: str, port: int, tid: bytes) -> None:
    plain = stun.encode_address((host, port))
    xored = stun.encode_xor_address((host, port), tid)
    assert len(plain) == len(xored) == (8 if "." in host and ":" not in host else 20)
    back_host, back_port = stun.decode_xor_address(xored, tid)
    assert ipaddress.ip_address(back_host) == ipaddress.ip_address(host)
    assert back_port == port


@pytest.mark.parametrize(
    ("cls", "value"),
    [
        (stun.MappedAddress, b"\x00\x01\x00\x01\x01\x02\x03"),  # IPv4 one byte short
        (stun.MappedAddress, b"\x00\x03\x00\x01\x01\x02\x03\x04"),  # unknown family
        (stun.XorMappedAddress, b"\x00\x02\x00\x01\x01\x02\x03\x04"),  # IPv6 family, 4 bytes
        (stun.Username, b"\xff\xfe"),
        (stun.Realm, b"\xc3"),
        (stun.Priority, b"\x00\x00\x01"),
        (stun.IceControlling, bytes(7)),
        (stun.IceControlled, bytes(9)),
        (stun.UseCandidate, b"\x00"),
        (stun.Fingerprint, bytes(3)),
        (stun.ErrorCode, b"\x00\x00\x04"),
        (stun.ErrorCode, b"\x00\x00\x02\x00"),  # class 2
        (stun.ErrorCode, b"\x00\x00\x04\x64"),  # number 100
        (stun.ErrorCode, b"\x00\x00\x04\x01\xff"),  # reason not UTF-8
        (stun.UnknownAttributes, b"\x00\x01\x00"),
        (stun.PasswordAlgorithm, b"\x00\x01\x00\x08\x00"),
        (stun.PasswordAlgorithm, b"\x00\x01\x00\x00\x00"),  # trailing byte
        (stun.PasswordAlgorithms, b"\x00\x01"),
        (stun.Userhash, bytes(31)),
        (stun.MessageIntegrity, bytes(19)),
        (stun.MessageIntegritySha256, bytes(12)),
        (stun.MessageIntegritySha256, bytes(17)),
        (stun.ReservationToken, bytes(4)),
        (stun.Lifetime, bytes(2)),
        (stun.ChannelNumber, bytes(2)),
        (stun.RequestedTransport, bytes(1)),
        (stun.EvenPort, bytes(2)),
        (stun.RequestedAddressFamily, bytes(1)),
        (stun.AddressErrorCode, bytes(3)),
    ],
)
def test_malformed_values_raise_stun_parse_error(
    cls: type[stun.AttributeValue], value: bytes
) -> None:
    with pytest.raises(StunParseError):
        cls.decode(value, TID)


@given(
    st.sampled_from(sorted(stun.ATTRIBUTE_VALUE_TYPES.values(), key=lambda c: c.TYPE)),
    st.binary(max_size=48),
    transaction_ids,
)
def test_any_bytes_decode_or_raise_stun_parse_error(
    cls: type[stun.AttributeValue], value: bytes, tid: bytes
) -> None:
    try:
        decoded = cls.decode(value, tid)
    except StunParseError:
        return
    # What decodes re-encodes to something that decodes to the same thing.
    again = cls.decode(decoded.encode(tid), tid)
    assert _same(again, decoded)


def test_error_code_layout() -> None:
    assert stun.ErrorCode(487, "Role Conflict").encode(TID) == b"\x00\x00\x04\x57Role Conflict"
    assert stun.ErrorCode(401, "x").encode(TID) == b"\x00\x00\x04\x01x"
    assert stun.ErrorCode.decode(b"\x00\x00\x04\x14Unknown Attribute", TID) == stun.ErrorCode(
        420, "Unknown Attribute"
    )
    # The 21 reserved bits are ignored on receive.
    assert stun.ErrorCode.decode(b"\xff\xff\xfc\x00", TID).code == 400
    with pytest.raises(ValueError):
        stun.ErrorCode(200).encode(TID)


def test_fixed_layouts() -> None:
    assert stun.ChannelNumber(0x4001).encode(TID) == b"\x40\x01\x00\x00"
    assert stun.RequestedTransport().encode(TID) == b"\x11\x00\x00\x00"  # UDP = 17
    assert stun.EvenPort(True).encode(TID) == b"\x80"
    assert stun.Lifetime(600).encode(TID) == b"\x00\x00\x02\x58"
    assert stun.IceControlling(1).encode(TID) == b"\x00" * 7 + b"\x01"
    assert stun.PasswordAlgorithms(((1, b""), (2, b""))).encode(TID) == bytes.fromhex(
        "0001000000020000"
    )
    assert stun.PasswordAlgorithm(2, b"abcde").encode(TID) == b"\x00\x02\x00\x05abcde\x00\x00\x00"
    assert stun.UnknownAttributes((0x1234, 0x8001)).encode(TID) == b"\x12\x34\x80\x01"


def test_address_encoding_rejects_non_ip_hosts() -> None:
    with pytest.raises(ValueError):
        stun.encode_address(("example.com", 1))
    with pytest.raises(ValueError):
        stun.encode_xor_address(("1.2.3", 1), TID)
    with pytest.raises(ValueError):
        stun.encode_xor_address(("1.2.3.4", 70000), TID)


def test_scoped_ipv6_host_drops_the_scope() -> None:
    encoded = stun.encode_xor_address(("fe80::1%eth0", 9), TID)
    assert stun.decode_xor_address(encoded, TID) == ("fe80::1", 9)


def test_comprehension_required_flag() -> None:
    assert stun.RawAttribute(0x7FFF, b"").comprehension_required
    assert not stun.RawAttribute(0x8000, b"").comprehension_required


def test_raw_attribute_parse_rejects_bad_tlvs() -> None:
    for data in (b"", b"\x00\x06\x00", b"\x00\x06\x00\x05abc", b"\x00\x06\x00\x01abcde"):
        with pytest.raises(StunParseError):
            stun.RawAttribute.parse(data)
