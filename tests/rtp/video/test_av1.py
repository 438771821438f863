"""AV1 RTP payload format: byte layouts written by hand from the AOM spec (aggregation header,
W, Z/Y, N, element lengths, size fields removed), real SVT-AV1 temporal units through the
packetizer, the FrameAssembler (reordered, with loss) and libdav1d, and Hypothesis on the
parser (random, truncated and mutated payloads raise Av1PayloadError and nothing else)."""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pywebrtc.media.video import EncodedVideoFrame, VideoCodec
from pywebrtc.media.video.codecs import create_decoder, create_encoder
from pywebrtc.rtp import PayloadDescriptorError, RtpParseError
from pywebrtc.rtp.video import AV1 as AV1_PART
from pywebrtc.rtp.video import AssembledFrame, FrameAssembler, KeyframeNeeded
from pywebrtc.rtp.video.av1 import (
    Av1PayloadError,
    assemble_av1_frame,
    depacketize_av1,
    depacketize_av1_frame,
    packetize_av1,
)
from tests.media.video.patterns import QUADRANTS, quadrant_means, quadrants

TD = bytes([0x12, 0x00])  # temporal delimiter, has_size_field, size 0


def obu(obu_type: int, payload: bytes, *, size_field: bool = True,
        extension: int | None = None) -> bytes:  # fmt: skip
    """An OBU in low-overhead format (payloads here are < 128 bytes: 1-byte obu_size)."""
    header = obu_type << 3 | (0x04 if extension is not None else 0) | (0x02 if size_field else 0)
    out = bytes([header]) + (bytes([extension]) if extension is not None else b"")
    return out + (bytes([len(payload)]) if size_field else b"") + payload


def test_one_obu_goes_in_one_packet_with_w1_and_no_size_field() -> None:
    tu = TD + obu(6, b"frame!")
    assert packetize_av1(tu, 1200) == [bytes([0b0001_0000, 0x30]) + b"frame!"]


def test_sequence_header_sets_n_and_w_counts_elements() -> None:
    tu = TD + obu(1, b"seq") + obu(6, b"keyframe")
    (payload,) = packetize_av1(tu, 1200)
    # N=1, W=2: the first element has a length, the last none
    assert payload == bytes([0b0010_1000, 4, 0x08]) + b"seq" + bytes([0x30]) + b"keyframe"
    chunk = depacketize_av1(payload)
    assert chunk.start and chunk.keyframe and chunk.picture_id is None
    assert depacketize_av1_frame([payload]) == tu


def test_four_elements_use_w0_with_every_length() -> None:
    tu = obu(1, b"s") + obu(5, b"meta") + obu(3, b"hdr") + obu(4, b"tiles")
    (payload,) = packetize_av1(tu, 1200)
    assert payload[0] == 0b0000_1000  # W=0, N=1
    assert payload[1:] == (bytes([2, 0x08]) + b"s" + bytes([5, 0x28]) + b"meta"
                           + bytes([4, 0x18]) + b"hdr" + bytes([6, 0x20]) + b"tiles")  # fmt: skip
    assert depacketize_av1_frame([payload]) == TD + tu


def test_padding_tile_lists_and_temporal_delimiters_are_not_sent() -> None:
    tu = TD + obu(15, b"pad") + obu(6, b"f") + obu(8, b"tile list")
    assert packetize_av1(tu, 1200) == [bytes([0b0001_0000, 0x30]) + b"f"]


def test_extension_header_is_kept_and_a_last_obu_without_size_runs_to_the_end() -> None:
    tu = obu(6, b"layer", extension=0b001_00_000) + obu(6, b"rest", size_field=False)
    (payload,) = packetize_av1(tu, 1200)
    assert payload == bytes([0b0010_0000, 7, 0x34, 0x20]) + b"layer" + bytes([0x30]) + b"rest"
    assert depacketize_av1_frame([payload]) == TD + obu(6, b"layer", extension=0x20) + obu(
        6, b"rest"
    )


def test_a_large_obu_is_fragmented_with_z_and_y() -> None:
    body = bytes(range(200))
    tu = TD + obu(1, b"seq") + bytes([0x32, 0xC8, 0x01]) + body  # frame OBU, obu_size 200
    payloads = packetize_av1(tu, 100)
    assert all(len(p) <= 100 for p in payloads)
    assert [p[0] & 0xC8 for p in payloads] == [0x48, 0xC0, 0x80]  # N;Y  Z;Y  Z
    chunks = [depacketize_av1(p) for p in payloads]
    assert [c.start for c in chunks] == [True, False, False]
    assert depacketize_av1_frame(payloads) == tu


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"", "empty"),
        (bytes([0x10]), "W=1 and no element"),
        (bytes([0x20, 5, 1, 2]), "element longer than the packet"),
        (bytes([0x30, 1, 0x30, 1, 0x30]), "W=3, two elements"),
        (bytes([0x00, 0]), "zero-length element"),
        (bytes([0x88, 0x30, 1]), "N with Z"),
        (bytes([0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]), "LEB128 too long"),
        (bytes([0x10, 0xB0]), "forbidden bit"),
    ],
)
def test_malformed_payloads_raise(payload: bytes, why: str) -> None:
    with pytest.raises(Av1PayloadError):
        depacketize_av1(payload)
    assert issubclass(Av1PayloadError, PayloadDescriptorError)
    assert issubclass(Av1PayloadError, RtpParseError)


def test_fragments_that_do_not_line_up_are_refused() -> None:
    first, middle = packetize_av1(TD + obu(6, bytes(100)), 40)[:2]
    with pytest.raises(Av1PayloadError):
        depacketize_av1_frame([first, first])  # Y=1, then a packet with Z=0
    with pytest.raises(Av1PayloadError):
        depacketize_av1_frame([middle])  # Z=1 with nothing before
    with pytest.raises(Av1PayloadError):
        depacketize_av1_frame([first])  # ends inside the OBU


# --- real AV1 through the RTP path ---------------------------------------------------------

AV1 = VideoCodec("AV1", 45)


def _svt_frames(count: int, keyframes: frozenset[int] = frozenset(),
                noise: bool = True) -> list[EncodedVideoFrame]:  # fmt: skip
    encoder = create_encoder(AV1)
    encoder.set_target(2_000_000)
    return [e for i in range(count)
            for e in encoder.encode(quadrants(i, noise=noise and i % 2 == 1),
                                    force_keyframe=i in keyframes)]  # fmt: skip


def _rtp(frames: list[EncodedVideoFrame], mtu: int) -> list[tuple[int, int, bool, bytes, int]]:
    out = []
    seq = 65_500  # wraps
    for i, frame in enumerate(frames):
        payloads = packetize_av1(frame.data, mtu)
        for k, payload in enumerate(payloads):
            out.append((seq & 0xFFFF, frame.timestamp, k == len(payloads) - 1, payload, i))
            seq += 1
    return out


def _assemble(packets: list[tuple[int, int, bool, bytes, int]]
              ) -> tuple[list[AssembledFrame], int]:  # fmt: skip
    assembler = FrameAssembler(AV1_PART, max_wait=0.05)
    frames: list[AssembledFrame] = []
    requests = 0
    now = 0.0
    for seq, ts, marker, payload, _ in packets:
        now += 0.01
        deadline = assembler.deadline()
        if deadline is not None and deadline <= now:
            assembler.tick(now)
        assembler.receive(seq, ts, marker, payload, now)
        while (event := assembler.poll()) is not None:
            if isinstance(event, KeyframeNeeded):
                requests += 1
            else:
                frames.append(event)
    return frames, requests


@pytest.mark.parametrize("mtu", [120, 1200])
def test_svt_av1_through_packetizer_assembler_and_dav1d(mtu: int) -> None:
    frames = _svt_frames(12, frozenset({6}))
    packets = _rtp(frames, mtu)
    assert all(len(p[3]) <= mtu for p in packets)
    assert len(packets) > len(frames)  # fragmentation happened
    for k in range(0, len(packets) - 2, 3):  # mild reordering
        packets[k], packets[k + 1] = packets[k + 1], packets[k]
    assembled, requests = _assemble(packets)
    assert requests == 0
    assert [a.keyframe for a in assembled] == [f.keyframe for f in frames]
    assert [a.timestamp for a in assembled] == [f.timestamp for f in frames]
    decoder = create_decoder(AV1)
    decoded = []
    for a in assembled:
        tu = a.data  # the AV1 part gives the temporal unit
        decoded += decoder.decode(EncodedVideoFrame(tu, a.timestamp, a.keyframe, "av1"))
    assert len(decoded) == len(frames)
    for picture in decoded[::2]:  # the even frames are the quadrants (odd ones noise)
        for got, want in zip(quadrant_means(picture), QUADRANTS, strict=True):
            assert abs(got - want) < 8
    assert decoder.stats.keyframes_decoded == 2


def test_a_lost_packet_waits_for_the_next_keyframe() -> None:
    frames = _svt_frames(10, frozenset({6}), noise=False)
    packets = [p for p in _rtp(frames, 60) if not (p[4] == 3 and not p[2])]  # frame 3 loses one
    assembled, requests = _assemble(packets)
    assert requests == 1
    assert [a.timestamp for a in assembled] == [f.timestamp for f in frames[:3] + frames[6:]]
    decoder = create_decoder(AV1)
    for a in assembled:
        tu = a.data  # the AV1 part gives the temporal unit
        (picture,) = decoder.decode(EncodedVideoFrame(tu, a.timestamp, a.keyframe, "av1"))
        assert picture.pts == a.timestamp


# --- Hypothesis ------------------------------------------------------------------------------

_types = st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8, 15])


@st.composite
def temporal_units(draw: st.DrawFn) -> bytes:
    out = bytearray()
    for _ in range(draw(st.integers(1, 6))):
        payload = draw(st.binary(max_size=300))
        kind = draw(_types)
        ext = draw(st.none() | st.integers(0, 255).map(lambda b: b & 0xF8))
        header = kind << 3 | (0x04 if ext is not None else 0) | 0x02
        out.append(header)
        if ext is not None:
            out.append(ext)
        size = len(payload)
        while size >= 0x80:
            out.append(size & 0x7F | 0x80)
            size >>= 7
        out.append(size)
        out += payload
    return bytes(out)


def _sent(tu: bytes) -> bytes:
    """What the receiver should rebuild: a TD, then the OBUs RTP carries."""
    out = bytearray(TD)
    pos = 0
    while pos < len(tu):
        head = 2 if tu[pos] & 0x04 else 1
        size, shift, p = 0, 0, pos + head
        while True:
            size |= (tu[p] & 0x7F) << shift
            shift += 7
            p += 1
            if not tu[p - 1] & 0x80:
                break
        if (tu[pos] >> 3) & 0x0F not in (2, 8, 15):
            out += tu[pos : p + size]
        pos = p + size
    return bytes(out)


@settings(max_examples=300, deadline=None)
@given(tu=temporal_units(), mtu=st.integers(3, 400))
def test_any_temporal_unit_survives_any_packet_size(tu: bytes, mtu: int) -> None:
    expected = _sent(tu)
    if expected == TD:
        with pytest.raises(Av1PayloadError):
            packetize_av1(tu, mtu)
        return
    payloads = packetize_av1(tu, mtu)
    assert all(len(p) <= mtu for p in payloads)
    assert depacketize_av1_frame(payloads) == expected


@settings(max_examples=500, deadline=None)
@given(raw=st.binary(max_size=64))
def test_random_payloads_raise_only_av1_payload_error(raw: bytes) -> None:
    try:
        chunk = depacketize_av1(raw)
    except Av1PayloadError:
        return
    with contextlib.suppress(Av1PayloadError):
        assemble_av1_frame(chunk.data)


@settings(max_examples=300, deadline=None)
@given(tu=temporal_units(), mtu=st.integers(3, 200), data=st.data())
def test_truncated_and_mutated_payloads_raise_only_av1_payload_error(
    tu: bytes, mtu: int, data: st.DataObject
) -> None:
    try:
        payloads = packetize_av1(tu, mtu)
    except Av1PayloadError:
        return
    k = data.draw(st.integers(0, len(payloads) - 1))
    p = bytearray(payloads[k])
    if data.draw(st.booleans()):
        del p[data.draw(st.integers(0, len(p))) :]
    else:
        for _ in range(data.draw(st.integers(1, 4))):
            i = data.draw(st.integers(0, len(p) - 1))
            p[i] = data.draw(st.integers(0, 255))
    payloads[k] = bytes(p)
    with contextlib.suppress(Av1PayloadError):
        depacketize_av1_frame(payloads)


def test_random_bytes_to_the_frame_rebuilder_raise_only_av1_payload_error() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        with contextlib.suppress(Av1PayloadError):
            assemble_av1_frame(rng.randbytes(rng.randrange(40)))
