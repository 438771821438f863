"""DCEP message codec (RFC 8832 §5)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.sctp.dcep import ChannelType, DataChannelAck, DataChannelOpen, parse_dcep
from pywebrtc.sctp.errors import DcepError


def test_open_wire_format() -> None:
    msg = DataChannelOpen(ChannelType.PARTIAL_RELIABLE_REXMIT_UNORDERED, 256, 3, "chat", "p")
    wire = bytes(msg)
    assert wire == bytes.fromhex("03 81 0100 00000003 0004 0001") + b"chatp"
    assert parse_dcep(wire) == msg
    assert parse_dcep(b"\x02") == DataChannelAck()


@given(
    st.sampled_from(list(ChannelType)),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.text(max_size=20),
    st.text(max_size=20),
)
def test_open_round_trips(ct: ChannelType, prio: int, rel: int, label: str, proto: str) -> None:
    msg = DataChannelOpen(ct, prio, rel, label, proto)
    assert DataChannelOpen.parse(bytes(msg)) == msg


@given(st.binary(max_size=64))
def test_random_dcep_raises_only_dcep_error(data: bytes) -> None:
    with contextlib.suppress(DcepError):
        parse_dcep(data)


@pytest.mark.parametrize(
    "wire",
    [
        b"",
        b"\x05",
        b"\x02\x00",
        bytes.fromhex("03 07 0100 00000000 0000 0000"),  # unknown channel type
        bytes.fromhex("03 00 0100 00000000 0005 0000") + b"ab",  # label length lies
        bytes.fromhex("03 00 0100 00000000 0002 0000") + b"\xff\xfe",  # not UTF-8
    ],
)
def test_bogus_dcep_is_rejected(wire: bytes) -> None:
    with pytest.raises(DcepError):
        parse_dcep(wire)
