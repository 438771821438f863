"""Precomputed header layouts (pywebrtc.rtp.layout) against the general serializer."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.rtp import AudioLevel, RtpPacket, serialize_header_extensions
from pywebrtc.rtp.layout import LayoutElement, one_byte_layout
from pywebrtc.rtp.sender import ExtensionIds, RtpSender, TransportSequence

_KINDS = ("constant", "audio-level", "abs-send-time", "transport-cc")


@st.composite
def elements(draw: st.DrawFn) -> list[LayoutElement]:
    ids = draw(st.lists(st.integers(1, 14), unique=True, max_size=4))
    kinds = draw(st.lists(st.sampled_from(_KINDS), min_size=len(ids), max_size=len(ids)))
    return [
        LayoutElement(ext_id, kind, draw(st.binary(min_size=1, max_size=16)))
        if kind == "constant"
        else LayoutElement(ext_id, kind)
        for ext_id, kind in zip(ids, kinds, strict=True)
    ]


@given(
    elements(),
    st.integers(0, 0xFF),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFF),
    st.integers(0, 0xFFFFFF),
    st.integers(0, 0xFFFF),
    st.binary(max_size=40),
)
def test_layout_writes_what_the_general_serializer_writes(
    layout_elements: list[LayoutElement],
    b1: int,
    seq: int,
    timestamp: int,
    ssrc: int,
    level: int,
    abs_send_time: int,
    transport_seq: int,
    payload: bytes,
) -> None:
    layout = one_byte_layout(layout_elements)
    assert layout is not None
    values = {
        "audio-level": bytes((level,)),
        "abs-send-time": abs_send_time.to_bytes(3),
        "transport-cc": transport_seq.to_bytes(2),
    }
    items = [(e.ext_id, e.value if e.kind == "constant" else values[e.kind])
             for e in layout_elements]  # fmt: skip
    profile, block = serialize_header_extensions(items) if items else (None, b"")
    expected = bytes(
        RtpPacket(b1 & 0x7F, seq, timestamp, ssrc, payload, b1 > 0x7F, (), profile, block)
    )
    header = layout.pack(b1, seq, timestamp, ssrc, level, abs_send_time, transport_seq)
    assert len(header) == layout.size
    assert header + payload == expected
    kinds = {e.kind for e in layout_elements}
    assert layout.transport_cc == ("transport-cc" in kinds)
    assert layout.abs_send_time == ("abs-send-time" in kinds)


def test_what_the_one_byte_form_cannot_carry_has_no_layout() -> None:
    assert one_byte_layout([LayoutElement(15, "transport-cc")]) is None
    assert one_byte_layout([LayoutElement(3, "constant", b"x" * 17)]) is None
    assert one_byte_layout([LayoutElement(3, "constant", b"")]) is None


_ID = st.one_of(st.none(), st.integers(1, 16))


@given(
    st.tuples(_ID, _ID, _ID, _ID),
    st.one_of(st.none(), st.text(min_size=1, max_size=18)),
    st.lists(st.tuples(st.booleans(), st.one_of(st.none(), st.integers(0, 127))), max_size=6),
    st.integers(0, 2**32),
)
def test_packetize_wire_gives_the_bytes_of_packetize(
    ids: tuple[int | None, int | None, int | None, int | None],
    mid: str | None,
    packets: list[tuple[bool, int | None]],
    seed: int,
) -> None:
    """Any extension ids (one-byte or not), any mid, with or without an audio level: the same
    bytes and counters as the general path, the transport-wide counter advanced the same."""
    extension_ids = ExtensionIds(*ids)

    def sender() -> RtpSender:
        return RtpSender(9, 111, 48000, extension_ids=extension_ids, mid=mid,
                         transport_sequence=TransportSequence(0xFFFE),
                         rng=random.Random(seed))  # fmt: skip

    general, wire = sender(), sender()
    for i, (marker, level) in enumerate(packets):
        audio_level = AudioLevel(level < 50, level) if level is not None else None
        now = 3.7 + 0.02 * i
        payload = b"opus%d" % i
        expected = general.packetize(payload, 960 * i, now, marker=marker, audio_level=audio_level)
        got = wire.packetize_wire(payload, 960 * i, now, marker, audio_level)
        assert got == bytes(expected)
    for name in ("sequence_number", "packet_count", "octet_count", "last_rtp_timestamp",
                 "last_send_time"):  # fmt: skip
        assert getattr(wire, name) == getattr(general, name), name
    assert wire.transport_sequence is not None and general.transport_sequence is not None
    assert wire.transport_sequence.next == general.transport_sequence.next


def test_packetize_wire_follows_a_renegotiation_of_ids_and_mid() -> None:
    s = RtpSender(9, 111, 48000, extension_ids=ExtensionIds(mid=1), mid="0")
    assert RtpPacket.parse(s.packetize_wire(b"a", 0, 0.0, True)).extensions == {1: b"0"}
    s.extension_ids = ExtensionIds(mid=5, transport_cc=3)
    s.transport_sequence = TransportSequence(7)
    s.set_mid("audio")
    got = RtpPacket.parse(s.packetize_wire(b"b", 960, 0.02, False)).extensions
    assert got == {5: b"audio", 3: b"\x00\x07"}
