"""The H.264 payload format (RFC 6184 mode 1): payloader layout, round trips, parser errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.rtp import RtpParseError
from pywebrtc.rtp.video.h264 import (
    NAL_FU_A,
    NAL_STAP_A,
    FuFragment,
    H264Payloader,
    H264PayloadError,
    join_annexb,
    parse_payload,
    split_annexb,
)

from .h264_streams import PPS, SPS, access_unit, slice_nal


def depayload(payloads: list[bytes]) -> list[bytes]:
    """In-order reassembly of one access unit's payloads (the assembler's job, inlined)."""
    nals: list[bytes] = []
    fragments: list[bytes] = []
    for payload in payloads:
        units = parse_payload(payload)
        if isinstance(units, FuFragment):
            if units.start:
                fragments = [bytes([units.nal_header])]
            fragments.append(units.data)
            if units.end:
                nals.append(b"".join(fragments))
        else:
            nals.extend(units)
    return nals


def test_sps_pps_and_a_small_idr_slice_go_in_one_stap_a() -> None:
    nals = [SPS, PPS, slice_nal(300, idr=True)]
    [(payload, marker)] = H264Payloader(1200).packetize(join_annexb(nals))
    assert marker
    assert payload[0] & 0x1F == NAL_STAP_A
    assert payload[0] & 0x60 == 0x60  # NRI: the highest of the aggregated units
    assert parse_payload(payload) == tuple(nals)


def test_a_large_nal_unit_is_fragmented_in_near_equal_fu_a_packets() -> None:
    nal = slice_nal(5000, idr=True)
    packets = H264Payloader(1200).packetize(join_annexb([nal]))
    assert len(packets) == 5  # 4999 body bytes / 1198 per fragment
    assert [m for _, m in packets] == [False] * 4 + [True]
    sizes = [len(p) for p, _ in packets]
    assert max(sizes) <= 1200 and max(sizes) - min(sizes) <= 1
    headers = [(p[0], p[1]) for p, _ in packets]
    assert all(ind == (nal[0] & 0xE0) | NAL_FU_A for ind, _ in headers)
    assert [h & 0xC0 for _, h in headers] == [0x80, 0, 0, 0, 0x40]
    assert all(h & 0x1F == 5 for _, h in headers)
    assert depayload([p for p, _ in packets]) == [nal]


def test_a_nal_unit_of_exactly_the_mtu_goes_alone() -> None:
    nal = slice_nal(1200, idr=False)
    assert H264Payloader(1200).packetize(join_annexb([SPS, nal])) == [(SPS, False), (nal, True)]


def test_a_nal_unit_over_65535_bytes_is_never_aggregated() -> None:
    big, small = slice_nal(70000, idr=True), slice_nal(10, idr=True, first=False)
    packets = H264Payloader(100_000).packetize(join_annexb([SPS, PPS, big, small, small]))
    assert [p[0] & 0x1F for p, _ in packets] == [NAL_STAP_A, 5, NAL_STAP_A]
    assert depayload([p for p, _ in packets]) == [SPS, PPS, big, small, small]


@pytest.mark.parametrize("mtu", [3, 4, 10, 100, 576, 1200, 1400, 9000])
@pytest.mark.parametrize("seed", range(6))
def test_round_trip_for_many_sizes_and_mtus(mtu: int, seed: int) -> None:
    import random

    rng = random.Random(seed * 1000 + mtu)
    sizes = [rng.choice([2, 3, 40, 700, 1199, 1200, 1201, 3000, 20000]) for _ in range(4)]
    nals = access_unit(sizes, keyframe=seed % 2 == 0, seed=seed)
    packets = H264Payloader(mtu).packetize(join_annexb(nals))
    assert all(len(p) <= mtu for p, _ in packets)
    assert [m for _, m in packets] == [False] * (len(packets) - 1) + [True]
    assert depayload([p for p, _ in packets]) == nals


def test_annexb_with_three_and_four_byte_start_codes_and_trailing_zeros() -> None:
    data = b"\x00\x00\x00\x01" + SPS + b"\x00\x00\x01" + PPS + b"\x00\x00" + b"\x00\x00\x01\x41\x9a"
    assert split_annexb(data) == [SPS, PPS, b"\x41\x9a"]
    assert split_annexb(join_annexb([SPS, PPS])) == [SPS, PPS]


def test_annexb_without_a_start_code_is_rejected() -> None:
    with pytest.raises(H264PayloadError):
        split_annexb(b"\x67\x42\x00\x1f")


def test_an_access_unit_holding_an_rtp_only_nal_type_is_rejected() -> None:
    with pytest.raises(H264PayloadError):
        H264Payloader().packetize(join_annexb([b"\x7c\x85\x00"]))


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "empty"),
        (b"\x00\x11", "type 0"),
        (b"\x19\x00\x01\x41", "STAP-B (mode 2)"),
        (b"\x1a\x00", "MTAP16"),
        (b"\x1d\x85\x00", "FU-B"),
        (b"\x1e", "reserved 30"),
        (b"\x18", "STAP-A without units"),
        (b"\x18\x00", "STAP-A truncated size"),
        (b"\x18\x00\x05\x67\x42", "STAP-A unit overruns"),
        (b"\x18\x00\x00", "STAP-A unit of 0 bytes"),
        (b"\x18\x00\x01\x1c", "STAP-A holding an FU-A"),
        (b"\x7c\x85", "FU-A without data"),
        (b"\x7c\xc5\x00", "FU-A start and end"),
        (b"\x7c\x98\x00", "FU-A of a STAP-A"),
    ],
)
def test_malformed_payloads_raise_h264_payload_error(payload: bytes, reason: str) -> None:
    with pytest.raises(H264PayloadError):
        parse_payload(payload)


def test_payload_errors_are_rtp_parse_errors() -> None:
    assert issubclass(H264PayloadError, RtpParseError)
    assert issubclass(H264PayloadError, ValueError)


def _parse_or_reject(payload: bytes) -> None:
    try:
        result = parse_payload(payload)
    except H264PayloadError:
        return
    if isinstance(result, FuFragment):
        assert 1 <= result.nal_header & 0x1F <= 23
    else:
        assert result and all(1 <= n[0] & 0x1F <= 23 for n in result)


@given(st.binary(max_size=64))
def test_random_payloads_parse_or_raise_the_documented_error(payload: bytes) -> None:
    _parse_or_reject(payload)


@given(st.binary(max_size=64))
def test_random_annexb_splits_or_raises_the_documented_error(data: bytes) -> None:
    try:
        nals = split_annexb(data)
    except H264PayloadError:
        return
    assert all(n and b"\x00\x00\x01" not in n for n in nals)


@given(st.integers(3, 1500), st.integers(0, 10), st.data())
def test_truncated_and_mutated_payloads_parse_or_raise(
    mtu: int, seed: int, data: st.DataObject
) -> None:
    nals = access_unit([data.draw(st.integers(2, 4000)), 30], keyframe=True, seed=seed)
    for payload, _ in H264Payloader(mtu).packetize(join_annexb(nals)):
        cut = data.draw(st.integers(0, len(payload)))
        _parse_or_reject(payload[:cut])
        pos = data.draw(st.integers(0, len(payload) - 1))
        flipped = bytearray(payload)
        flipped[pos] ^= data.draw(st.integers(1, 255))
        _parse_or_reject(bytes(flipped))


@given(
    st.lists(st.integers(1, 5000), min_size=1, max_size=8),
    st.integers(3, 3000),
    st.integers(0, 2**16),
)
def test_any_access_unit_round_trips_within_the_mtu(sizes: list[int], mtu: int, seed: int) -> None:
    nals = access_unit(sizes, keyframe=seed % 2 == 0, seed=seed)
    packets = H264Payloader(mtu).packetize(join_annexb(nals))
    assert all(len(p) <= mtu for p, _ in packets)
    assert [m for _, m in packets].count(True) == 1 and packets[-1][1]
    assert depayload([p for p, _ in packets]) == nals
