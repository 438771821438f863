"""Chunk, packet and CRC32c codecs: known vectors, round trips, and hostile bytes."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.sctp import chunk as c
from pywebrtc.sctp.crc32c import PURE_PYTHON, crc32c, crc32c_pure
from pywebrtc.sctp.errors import SctpError
from pywebrtc.sctp.packet import Packet, encode_packet

u32 = st.integers(0, 0xFFFFFFFF)
u16 = st.integers(0, 0xFFFF)
blob = st.binary(max_size=64)


def test_crc32c_check_value() -> None:
    # RFC 3720 B.4 / the usual "123456789" check value of CRC-32C.
    assert crc32c_pure(b"123456789") == 0xE3069283
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c_pure(bytes(32)) == 0x8A9136AA


def test_the_c_crc32c_is_the_one_in_use() -> None:
    # google-crc32c is a declared dependency: without its C path every test below compares the
    # pure path with itself, and each packet's checksum costs ~500x more. A broken install fails.
    assert not PURE_PYTHON


@given(st.binary(max_size=2000))
def test_pure_crc_matches_selected_implementation(data: bytes) -> None:
    assert crc32c_pure(data) == crc32c(data)


def test_packet_checksum_is_verified() -> None:
    wire = encode_packet(5000, 5000, 1234, bytes(c.CookieAckChunk()))
    assert Packet.parse(wire).chunks == (c.CookieAckChunk(),)
    broken = wire[:-1] + bytes([wire[-1] ^ 1])
    with pytest.raises(SctpError, match="checksum"):
        Packet.parse(broken)


params = st.lists(st.builds(c.Param, st.integers(0, 0xFFFF), blob), max_size=3).map(tuple)
reconfig_params = st.one_of(
    st.builds(c.OutgoingResetRequest, u32, u32, u32, st.lists(u16, max_size=5).map(tuple)),
    st.builds(c.IncomingResetRequest, u32, st.lists(u16, max_size=5).map(tuple)),
    st.builds(c.ReconfigResponse, u32, u32),
)
causes = st.lists(st.builds(c.ErrorCause, u16, blob), max_size=3).map(tuple)

chunks = st.one_of(
    st.builds(
        c.DataChunk, st.integers(0, 15), u32, u16, u16, u32, st.binary(min_size=1, max_size=100)
    ),
    st.builds(c.InitChunk, u32, u32, u16, u16, u32, params),
    st.builds(c.InitAckChunk, u32, u32, u16, u16, u32, params),
    st.builds(
        c.SackChunk,
        u32,
        u32,
        st.lists(st.tuples(u16, u16), max_size=5).map(tuple),
        st.lists(u32, max_size=5).map(tuple),
    ),
    st.builds(c.HeartbeatChunk, blob),
    st.builds(c.HeartbeatAckChunk, blob),
    st.builds(c.AbortChunk, st.booleans(), causes),
    st.builds(c.ErrorChunk, causes),
    st.builds(c.ShutdownChunk, u32),
    st.just(c.ShutdownAckChunk()),
    st.just(c.CookieAckChunk()),
    st.builds(c.ShutdownCompleteChunk, st.booleans()),
    st.builds(c.CookieEchoChunk, blob),
    st.builds(c.ForwardTsnChunk, u32, st.lists(st.tuples(u16, u16), max_size=5).map(tuple)),
    st.builds(c.ReconfigChunk, st.lists(reconfig_params, min_size=1, max_size=2).map(tuple)),
    st.builds(c.UnknownChunk, st.integers(200, 255), st.integers(0, 255), blob),
)


@given(chunks)
def test_every_chunk_round_trips(chunk: c.Chunk) -> None:
    wire = bytes(chunk)
    assert len(wire) % 4 == 0
    assert c.parse_chunk(wire) == chunk


@given(st.lists(chunks, min_size=1, max_size=4), u32)
def test_packet_round_trips(body: list[c.Chunk], tag: int) -> None:
    packet = Packet(5000, 5001, tag, tuple(body))
    assert Packet.parse(bytes(packet)) == packet


@given(chunks, st.data())
def test_truncated_or_mutated_chunks_raise_only_sctp_error(
    chunk: c.Chunk, data: st.DataObject
) -> None:
    wire = bytearray(bytes(chunk))
    cut = data.draw(st.integers(0, len(wire)))
    for candidate in (bytes(wire[:cut]), _mutate(wire, data)):
        with contextlib.suppress(SctpError):
            c.parse_chunks(candidate)


def _mutate(wire: bytearray, data: st.DataObject) -> bytes:
    out = bytearray(wire)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(out) - 1))
        out[i] = data.draw(st.integers(0, 255))
    return bytes(out)


@given(st.binary(max_size=300))
def test_random_bytes_raise_only_sctp_error(data: bytes) -> None:
    with contextlib.suppress(SctpError):
        c.parse_chunks(data)
    with contextlib.suppress(SctpError):
        Packet.parse(data, verify_checksum=False)


def test_chunk_length_below_header_is_rejected() -> None:
    with pytest.raises(SctpError):
        c.parse_chunks(struct.pack("!BBH", 0, 0, 2))
    with pytest.raises(SctpError):
        c.parse_chunks(struct.pack("!BBH", 3, 0, 40) + bytes(8))  # SACK longer than data


def test_sack_gap_counts_must_fit() -> None:
    value = struct.pack("!IIHH", 1, 2, 10, 0)
    with pytest.raises(SctpError, match="truncated"):
        c.SackChunk.parse_value(0, value)
