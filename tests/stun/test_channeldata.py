"""TURN ChannelData framing (RFC 8656 §12.4, §12.5)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.stun import ChannelData, StunParseError

channels = st.integers(0x4000, 0x4FFF)


@given(channels, st.binary(max_size=300))
def test_round_trip_unpadded_and_padded(channel: int, data: bytes) -> None:
    message = ChannelData(channel, data)
    wire = bytes(message)
    assert wire[:2] == channel.to_bytes(2, "big")
    assert wire[2:4] == len(data).to_bytes(2, "big")
    assert ChannelData.parse(wire) == message
    padded = message.encode(pad=True)
    assert len(padded) % 4 == 0
    assert ChannelData.parse(padded) == message


@given(st.binary(max_size=80))
def test_random_input_raises_only_stun_parse_error(data: bytes) -> None:
    try:
        message = ChannelData.parse(data)
    except StunParseError:
        return
    assert bytes(message) == data[: 4 + len(message.data)]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x40\x00\x00",
        b"\x3f\xff\x00\x00",  # below the channel range
        b"\x50\x00\x00\x00",  # reserved range
        b"\x40\x00\x00\x05abcd",  # shorter than its length
        b"\x40\x00\x00\x01abcde",  # more than 3 bytes of trailing padding
    ],
)
def test_malformed(data: bytes) -> None:
    with pytest.raises(StunParseError):
        ChannelData.parse(data)


def test_constructor_checks_the_channel_range() -> None:
    with pytest.raises(ValueError):
        ChannelData(0x3FFF, b"")
    with pytest.raises(ValueError):
        ChannelData(0x5000, b"")
