"""Relay ↔ transceiver frame codec (pywebrtc.framing): layout, round trips, bad input."""

from __future__ import annotations

import contextlib
import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.framing import (
    HEADER_LENGTH_IPV4,
    HEADER_LENGTH_IPV6,
    FrameError,
    decode_address,
    encode_address,
    frame,
    header_length,
    split,
    unframe,
)


def test_ipv4_layout() -> None:
    assert frame(("192.0.2.1", 3478), b"xyz") == b"\xc4\x0d\x96\xc0\x00\x02\x01xyz"


def test_ipv6_layout() -> None:
    framed = frame(("2001:db8::1", 443, 0, 0), b"p")
    assert framed == b"\xc6\x01\xbb" + ipaddress.IPv6Address("2001:db8::1").packed + b"p"
    assert header_length(framed) == HEADER_LENGTH_IPV6


def test_v4_mapped_is_framed_as_ipv4() -> None:
    assert encode_address(("::ffff:10.0.0.1", 5)) == encode_address(("10.0.0.1", 5))


@given(
    st.ip_addresses(v=4).map(str) | st.ip_addresses(v=6).map(str),
    st.integers(0, 65535),
    st.binary(max_size=1500),
)
def test_round_trip(host: str, port: int, payload: bytes) -> None:
    framed = frame((host, port), payload)
    address, body = unframe(framed)
    assert body == payload
    assert address[1] == port
    assert ipaddress.ip_address(address[0]) == _unmapped(ipaddress.ip_address(host))
    header, rest = split(framed)
    assert rest == payload
    assert decode_address(header) == address
    assert len(header) in (HEADER_LENGTH_IPV4, HEADER_LENGTH_IPV6)


def _unmapped(a: ipaddress.IPv4Address | ipaddress.IPv6Address) -> object:
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
        return a.ipv4_mapped
    return a


@given(st.binary(max_size=40))
def test_garbage_raises_frame_error_or_parses(data: bytes) -> None:
    with contextlib.suppress(FrameError):
        unframe(data)


def test_bad_input() -> None:
    for bad in [b"", b"\x00\x01", b"\xc4\x00\x01\x7f", b"\xc6" + bytes(17)]:
        with pytest.raises(FrameError):
            header_length(bad)
    with pytest.raises(FrameError):
        encode_address(("not-an-ip", 1))
    with pytest.raises(FrameError):
        encode_address(("127.0.0.1", 70000))
    assert header_length(b"\xc4" + bytes(6)) == HEADER_LENGTH_IPV4
