"""VP8 (RFC 7741) and VP9 (RFC 9628) payload descriptors and packetization: exact bytes,
round trips over many frame sizes and budgets, and Hypothesis on the parsers (random,
truncated, mutated input raises only PayloadDescriptorError)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.rtp import PayloadDescriptorError, RtpParseError
from pywebrtc.rtp.video import (
    PayloadChunk,
    Vp8Descriptor,
    Vp9Descriptor,
    Vp9ScalabilityStructure,
    depacketize_vp8,
    depacketize_vp9,
    packetize_vp8,
    packetize_vp9,
    parse_vp8_descriptor,
    parse_vp9_descriptor,
)

# A VP8 keyframe starts with a payload header whose P bit (bit 0 of byte 0) is 0 (§4.3).
VP8_KEY = bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A]) + bytes(range(200))
VP8_DELTA = bytes([0x31, 0x02, 0x00]) + bytes(range(100))


def test_vp8_first_packet_layout_is_x_s_i_m_picture_id() -> None:
    [payload] = packetize_vp8(VP8_KEY, 1200, picture_id=0x1234)
    # X=1 S=1 PID=0 | I=1 | M=1 + 15-bit picture ID, then the frame untouched (RFC 7741 §4.2)
    assert payload[:4] == bytes([0x90, 0x80, 0x92, 0x34])
    assert payload[4:] == VP8_KEY


def test_vp8_continuation_packets_clear_s() -> None:
    packets = packetize_vp8(VP8_KEY, 50, picture_id=5)
    assert [p[0] for p in packets] == [0x90] + [0x80] * (len(packets) - 1)
    assert all(p[1:4] == bytes([0x80, 0x80, 0x05]) for p in packets)


def test_vp8_without_picture_id_is_one_byte() -> None:
    packets = packetize_vp8(VP8_DELTA, 30)
    assert packets[0][0] == 0x10 and all(p[0] == 0x00 for p in packets[1:])
    assert b"".join(p[1:] for p in packets) == VP8_DELTA


def test_vp8_keyframe_from_payload_header() -> None:
    key = depacketize_vp8(packetize_vp8(VP8_KEY, 1200, picture_id=1)[0])
    delta = depacketize_vp8(packetize_vp8(VP8_DELTA, 1200, picture_id=2)[0])
    assert key == PayloadChunk(start=True, keyframe=True, picture_id=1, data=VP8_KEY)
    assert delta.start and not delta.keyframe and delta.picture_id == 2
    # S=1 with a partition index other than 0 does not start a frame (§4.2)
    assert not depacketize_vp8(bytes([0x11]) + VP8_KEY).start


def test_vp8_descriptor_all_fields() -> None:
    d = Vp8Descriptor(
        start=True,
        partition_index=3,
        non_reference=True,
        picture_id=17,
        long_picture_id=False,
        tl0_pic_idx=200,
        tid=2,
        layer_sync=True,
        key_idx=9,
    )
    raw = bytes(d)
    assert raw == bytes([0xB3, 0xF0, 17, 200, 0x80 | 0x20 | 9])
    assert parse_vp8_descriptor(raw + b"x") == d
    assert d.size == 5


def test_vp9_layout_as_libwebrtc_receives_it() -> None:
    packets = packetize_vp9(bytes(3000), 1000, keyframe=False, picture_id=0x7FFF)
    assert len(packets) == 4
    # I=1 P=1 L=1, B on the first, E on the last; M=1 + 15-bit picture ID; TID=0 U=0 SID=0
    # D=0; TL0PICIDX (RFC 9628 §4.2)
    assert [p[0] for p in packets] == [0xE8, 0xE0, 0xE0, 0xE4]
    assert all(p[1:5] == bytes([0xFF, 0xFF, 0x00, 0xFF]) for p in packets)
    first, *rest = packetize_vp9(bytes(2000), 1200, keyframe=True, picture_id=258,
                                 resolution=(640, 480))  # fmt: skip
    # I L B V, picture ID, layer byte, TL0PICIDX 2; SS (§4.2.1): N_S=0 Y=1 G=1, 640x480,
    # N_G=1, TID=0 U=0 R=1, P_DIFF=1
    assert first[:15] == bytes([0xAA, 0x81, 0x02, 0x00, 0x02, 0x18, 0x02, 0x80, 0x01, 0xE0,
                                0x01, 0x04, 0x01, 0x00, 0x00])  # fmt: skip
    assert rest[0][:5] == bytes([0xA4, 0x81, 0x02, 0x00, 0x02])
    d = parse_vp9_descriptor(first)
    assert d.ss == Vp9ScalabilityStructure(1, ((640, 480),), ((0, False, (1,)),))
    [single] = packetize_vp9(b"\x82\x49\x83", 100, keyframe=True, picture_id=1)
    assert single[:5] == bytes([0xAE, 0x80, 0x01, 0x00, 0x01])
    assert depacketize_vp9(single) == PayloadChunk(True, True, 1, b"\x82\x49\x83")


def test_vp9_descriptor_with_layers_flexible_refs_and_ss() -> None:
    ss = Vp9ScalabilityStructure(
        spatial_layers=2,
        resolutions=((320, 180), (640, 360)),
        group=((0, False, (1,)), (1, True, (1, 2))),
    )
    d = Vp9Descriptor(
        start_of_frame=True,
        end_of_frame=False,
        inter_predicted=True,
        flexible=True,
        picture_id=300,
        tid=1,
        switching_up=True,
        sid=1,
        inter_layer=True,
        p_diffs=(1, 4, 9),
        ss=ss,
    )
    assert parse_vp9_descriptor(bytes(d) + b"data") == d
    nonflex = Vp9Descriptor(
        True,
        True,
        inter_predicted=False,
        picture_id=3,
        long_picture_id=False,
        tid=0,
        sid=0,
        tl0_pic_idx=77,
    )
    assert parse_vp9_descriptor(bytes(nonflex) + b"\x00") == nonflex
    # a keyframe in an upper spatial layer does not start the frame
    upper = Vp9Descriptor(True, True, inter_predicted=False, tid=0, sid=1, tl0_pic_idx=0)
    assert not depacketize_vp9(bytes(upper) + b"\x00").start


def test_vp9_more_than_three_references_is_malformed() -> None:
    with pytest.raises(PayloadDescriptorError):
        parse_vp9_descriptor(bytes([0x50, 0x03, 0x05, 0x07, 0x09, 0x00]))


@pytest.mark.parametrize("size", [1, 2, 3, 7, 99, 100, 101, 999, 1000, 1001, 5000, 65_000])
@pytest.mark.parametrize("budget", [10, 13, 100, 1100, 1200])
@pytest.mark.parametrize("codec", ["vp8", "vp9"])
def test_round_trip_sizes_and_budgets(size: int, budget: int, codec: str) -> None:
    frame = bytes([0x10]) + bytes((i * 7) & 0xFF for i in range(size - 1))
    if codec == "vp8":
        packets = packetize_vp8(frame, budget, picture_id=size)
        chunks = [depacketize_vp8(p) for p in packets]
    else:
        packets = packetize_vp9(frame, budget, keyframe=True, picture_id=size)
        chunks = [depacketize_vp9(p) for p in packets]
    assert all(len(p) <= budget for p in packets)
    sizes = [len(c.data) for c in chunks]
    assert max(sizes) - min(sizes) <= 1  # balanced
    assert b"".join(c.data for c in chunks) == frame
    assert [c.start for c in chunks] == [True] + [False] * (len(chunks) - 1)
    assert chunks[0].keyframe and chunks[0].picture_id == size & 0x7FFF


def test_budget_without_room_is_refused() -> None:
    with pytest.raises(ValueError):
        packetize_vp8(VP8_KEY, 4, picture_id=1)
    with pytest.raises(ValueError):
        packetize_vp9(b"x", 3, keyframe=True, picture_id=1)
    with pytest.raises(ValueError):
        packetize_vp8(b"", 1200)


PARSERS: list[Callable[[bytes], object]] = [
    parse_vp8_descriptor,
    parse_vp9_descriptor,
    depacketize_vp8,
    depacketize_vp9,
]


def _parse_or_reject(parse: Callable[[bytes], object], raw: bytes) -> None:
    with contextlib.suppress(PayloadDescriptorError):
        parse(raw)


@pytest.mark.parametrize("parse", PARSERS)
@given(raw=st.binary(max_size=40))
def test_random_bytes(parse: Callable[[bytes], object], raw: bytes) -> None:
    _parse_or_reject(parse, raw)


vp8_descriptors = st.builds(
    Vp8Descriptor,
    start=st.booleans(),
    partition_index=st.integers(0, 7),
    non_reference=st.booleans(),
    picture_id=st.integers(0, 0x7F),
    long_picture_id=st.just(False),
    tl0_pic_idx=st.none() | st.integers(0, 255),
    tid=st.none() | st.integers(0, 3),
    layer_sync=st.booleans(),
    key_idx=st.none() | st.integers(0, 31),
).filter(lambda d: d.tid is not None or not d.layer_sync) | st.builds(
    Vp8Descriptor,
    start=st.booleans(),
    partition_index=st.integers(0, 7),
    picture_id=st.none() | st.integers(0, 0x7FFF),
)


@st.composite
def vp9_descriptors(draw: st.DrawFn) -> Vp9Descriptor:
    flexible = draw(st.booleans())
    inter = draw(st.booleans())
    layers = draw(st.booleans())
    picture_id = draw(st.none() | st.integers(0, 0x7FFF))
    long_id = picture_id is None or picture_id > 0x7F or draw(st.booleans())
    ss = draw(
        st.none()
        | st.builds(
            Vp9ScalabilityStructure,
            spatial_layers=st.integers(1, 8),
            group=st.none()
            | st.lists(
                st.tuples(
                    st.integers(0, 7),
                    st.booleans(),
                    st.lists(st.integers(0, 255), max_size=3).map(tuple),
                ),
                max_size=5,
            ).map(tuple),
        )
    )
    if ss is not None and draw(st.booleans()):
        ss = Vp9ScalabilityStructure(
            ss.spatial_layers,
            tuple(
                (draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 0xFFFF)))
                for _ in range(ss.spatial_layers)
            ),
            ss.group,
        )
    return Vp9Descriptor(
        start_of_frame=draw(st.booleans()),
        end_of_frame=draw(st.booleans()),
        inter_predicted=inter,
        flexible=flexible,
        not_reference=draw(st.booleans()),
        picture_id=picture_id,
        long_picture_id=long_id,
        tid=draw(st.integers(0, 7)) if layers else None,
        switching_up=layers and draw(st.booleans()),
        sid=draw(st.integers(0, 7)) if layers else 0,
        inter_layer=layers and draw(st.booleans()),
        tl0_pic_idx=draw(st.integers(0, 255)) if layers and not flexible else None,
        p_diffs=tuple(draw(st.lists(st.integers(0, 127), min_size=1, max_size=3)))
        if flexible and inter
        else (),
        ss=ss,
    )


@given(d=vp8_descriptors, tail=st.binary(max_size=8))
def test_vp8_descriptor_round_trip(d: Vp8Descriptor, tail: bytes) -> None:
    raw = bytes(d)
    assert len(raw) == d.size
    assert parse_vp8_descriptor(raw + tail) == d


@given(d=vp9_descriptors(), tail=st.binary(max_size=8))
def test_vp9_descriptor_round_trip(d: Vp9Descriptor, tail: bytes) -> None:
    assert parse_vp9_descriptor(bytes(d) + tail) == d


@given(d=vp8_descriptors, data=st.data())
def test_vp8_truncated_and_mutated(d: Vp8Descriptor, data: st.DataObject) -> None:
    raw = bytearray(bytes(d) + b"\x00\x01")
    _parse_or_reject(depacketize_vp8, bytes(raw[: data.draw(st.integers(0, len(raw) - 1))]))
    raw[data.draw(st.integers(0, len(raw) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    _parse_or_reject(depacketize_vp8, bytes(raw))


@given(d=vp9_descriptors(), data=st.data())
def test_vp9_truncated_and_mutated(d: Vp9Descriptor, data: st.DataObject) -> None:
    raw = bytearray(bytes(d))
    with pytest.raises(PayloadDescriptorError):  # nothing after the descriptor
        depacketize_vp9(bytes(raw))
    if len(raw) > 1:
        with pytest.raises(PayloadDescriptorError):
            parse_vp9_descriptor(bytes(raw[: data.draw(st.integers(0, len(raw) - 1))]))
    raw += b"\x00"
    raw[data.draw(st.integers(0, len(raw) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    _parse_or_reject(depacketize_vp9, bytes(raw))


def test_error_is_an_rtp_parse_error() -> None:
    assert issubclass(PayloadDescriptorError, RtpParseError)
    assert issubclass(PayloadDescriptorError, ValueError)
