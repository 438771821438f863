"""Property tests: round trips of every packet type and robustness against bad input."""

import contextlib

from hypothesis import assume, given
from hypothesis import strategies as st

from pywebrtc.rtp import (
    RtcpPacket,
    RtcpParseError,
    RtpPacket,
    RtpParseError,
    TransportCcFeedback,
    nack_lost,
    nack_pairs,
    parse_header_extensions,
    parse_rtcp,
    serialize_header_extensions,
    serialize_rtcp,
)

from .strategies import extension_elements, rtcp_packets, rtp_packets


@given(rtp_packets())
def test_rtp_round_trip(packet: RtpPacket) -> None:
    assert RtpPacket.parse(bytes(packet)) == packet


@given(extension_elements)
def test_header_extensions_round_trip_in_the_chosen_form(elements: dict[int, bytes]) -> None:
    profile, block = serialize_header_extensions(elements)
    assert len(block) % 4 == 0
    assert dict(parse_header_extensions(profile, block)) == elements
    packet = RtpPacket(96, 1, 2, 3, b"payload").with_extensions(elements)
    assert RtpPacket.parse(bytes(packet)).extensions == elements


@given(rtcp_packets)
def test_rtcp_round_trip_each_type(packet: RtcpPacket) -> None:
    data = bytes(packet)
    assert len(data) % 4 == 0
    assert type(packet).parse(data) == packet
    assert parse_rtcp(data) == [packet]


@given(st.lists(rtcp_packets, min_size=1, max_size=5))
def test_rtcp_compound_round_trip(packets: list[RtcpPacket]) -> None:
    assert parse_rtcp(serialize_rtcp(packets)) == packets


@given(rtp_packets(), st.data())
def test_truncated_rtp_raises_only_rtp_parse_error(packet: RtpPacket, data: st.DataObject) -> None:
    raw = bytes(packet)
    cut = data.draw(st.integers(0, len(raw) - 1))
    try:
        parsed = RtpPacket.parse(raw[:cut])
        _ = parsed.extensions
    except RtpParseError:
        pass


@given(rtp_packets(), st.data())
def test_mutated_rtp_raises_only_rtp_parse_error(packet: RtpPacket, data: st.DataObject) -> None:
    raw = bytearray(bytes(packet))
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        parsed = RtpPacket.parse(bytes(raw))
        _ = parsed.extensions
    except RtpParseError:
        pass


@given(st.binary(max_size=200))
def test_random_bytes_as_rtp(raw: bytes) -> None:
    try:
        parsed = RtpPacket.parse(raw)
        _ = parsed.extensions
    except RtpParseError:
        pass


@given(st.integers(0, 0xFFFF), st.binary(max_size=64))
def test_random_extension_blocks(profile: int, block: bytes) -> None:
    with contextlib.suppress(RtpParseError):
        parse_header_extensions(profile, block)


def _parse_rtcp_or_reject(raw: bytes) -> None:
    try:
        packets = parse_rtcp(raw)
    except RtcpParseError:
        return
    for packet in packets:
        if isinstance(packet, TransportCcFeedback):
            packet.packets()


@given(st.lists(rtcp_packets, min_size=1, max_size=3), st.data())
def test_truncated_rtcp_raises_only_rtcp_parse_error(
    packets: list[RtcpPacket], data: st.DataObject
) -> None:
    raw = serialize_rtcp(packets)
    _parse_rtcp_or_reject(raw[: data.draw(st.integers(0, len(raw) - 1))])


@given(st.lists(rtcp_packets, min_size=1, max_size=3), st.data())
def test_mutated_rtcp_raises_only_rtcp_parse_error(
    packets: list[RtcpPacket], data: st.DataObject
) -> None:
    raw = bytearray(serialize_rtcp(packets))
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    _parse_rtcp_or_reject(bytes(raw))


@given(st.binary(max_size=200))
def test_random_bytes_as_rtcp(raw: bytes) -> None:
    _parse_rtcp_or_reject(raw)


@given(st.binary(max_size=120))
def test_random_bodies_behind_valid_rtcp_headers(body: bytes) -> None:
    body += bytes(-len(body) % 4)
    for first, packet_type in [
        (0x81, 200), (0x81, 201), (0x82, 202), (0x81, 203), (0x80, 204), (0x81, 205),
        (0x8B, 205), (0x8F, 205), (0x81, 206), (0x84, 206), (0x8F, 206), (0x80, 207),
    ]:  # fmt: skip
        _parse_rtcp_or_reject(
            bytes((first, packet_type)) + (len(body) // 4).to_bytes(2, "big") + body
        )


# -- TWCC encoder ---------------------------------------------------------------------------


@st.composite
def arrivals(draw: st.DrawFn) -> list[tuple[int, float | None]]:
    seq = draw(st.integers(0, 0xFFFF))
    time = draw(st.floats(0, 100_000))
    out: list[tuple[int, float | None]] = []
    for _ in range(draw(st.integers(1, 300))):
        received = draw(st.booleans()) if draw(st.integers(0, 4)) == 0 else True
        if received:
            time += draw(st.floats(-1.0, 1.0))
            out.append((seq, max(time, 0.0)))
        else:
            out.append((seq, None))
        seq = (seq + draw(st.integers(1, 3))) & 0xFFFF
    return out


@given(arrivals())
def test_twcc_encode_decode_keeps_status_and_arrival_times(
    packets: list[tuple[int, float | None]],
) -> None:
    fb = TransportCcFeedback.from_arrivals(1, 2, packets, feedback_count=9)
    decoded = TransportCcFeedback.parse(bytes(fb))
    assert decoded == fb
    reported = dict(decoded.packets())
    # Every listed packet keeps its status; the gaps between listed ones are "not received".
    assert len(reported) == fb.status_count
    for seq, arrival in packets:
        got = reported.pop(seq)
        if arrival is None:
            assert got is None
        else:
            assert got is not None
            assert abs(got - arrival) <= 125e-6 + 1e-6  # 250 us resolution, rounded
    assert all(v is None for v in reported.values())


# -- NACK helper ----------------------------------------------------------------------------


@given(st.integers(0, 0xFFFF), st.sets(st.integers(0, 0x7FFF), min_size=1, max_size=100))
def test_nack_pairs_round_trip(start: int, offsets: set[int]) -> None:
    lost = [(start + o) & 0xFFFF for o in sorted(offsets)]
    pairs = nack_pairs(lost)
    assert all(0 <= pid <= 0xFFFF and 0 <= blp <= 0xFFFF for pid, blp in pairs)
    assert nack_lost(pairs) == lost
    assume(len(lost) > 1)
    assert len(pairs) <= len(lost)
