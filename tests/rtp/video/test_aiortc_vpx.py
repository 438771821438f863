"""Our VP8 payload format against aiortc's (aiortc.codecs.vpx): aiortc's encoder output, as it
packetizes it, goes through our FrameAssembler; our payloads parse in aiortc's descriptor
parser. aiortc writes the same layout as we do (X, I, M with a 15-bit picture ID, S, PID 0)."""

from __future__ import annotations

from fractions import Fraction

import av
from aiortc.codecs.vpx import Vp8Encoder, VpxPayloadDescriptor, vp8_depayload

from pywebrtc.rtp.video import VP8, FrameAssembler, KeyframeNeeded, packetize_vp8

WIDTH, HEIGHT = 320, 240


def _pattern(index: int) -> av.VideoFrame:
    frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
    for p, plane in enumerate(frame.planes):
        row = bytes(((x * (p + 2)) ^ index * 5) & 0xFF for x in range(plane.line_size))
        plane.update(b"".join(row[y % 7 :] + row[: y % 7] for y in range(plane.height)))
    frame.pts = index * 3000
    frame.time_base = Fraction(1, 90000)
    return frame


def test_aiortc_vp8_stream_assembles_into_its_frames() -> None:
    encoder = Vp8Encoder()
    assembler = FrameAssembler(VP8)
    seq, now = 40_000, 0.0
    sent: list[bytes] = []
    got = []
    for i in range(20):
        payloads, timestamp = encoder.encode(_pattern(i), force_keyframe=i == 10)
        sent.append(b"".join(vp8_depayload(p) for p in payloads))
        for k, payload in enumerate(payloads):
            now += 0.001
            assembler.receive(seq & 0xFFFF, timestamp, k == len(payloads) - 1, payload, now)
            seq += 1
        while (event := assembler.poll()) is not None:
            assert not isinstance(event, KeyframeNeeded)
            got.append(event)
    assert [f.data for f in got] == sent
    assert [f.keyframe for f in got] == [i in (0, 10) for i in range(20)]
    assert len({f.picture_id for f in got}) == 20
    assert any(f.last_sequence > f.first_sequence for f in got)  # multi-packet frames


def test_our_payloads_parse_in_aiortc() -> None:
    frame = bytes([0x10, 0x02, 0x00]) + bytes(range(256)) * 20
    payloads = packetize_vp8(frame, 1200, picture_id=0x4321)
    parsed = [VpxPayloadDescriptor.parse(p) for p in payloads]
    assert [d.partition_start for d, _ in parsed] == [1] + [0] * (len(payloads) - 1)
    assert {d.partition_id for d, _ in parsed} == {0}
    assert {d.picture_id for d, _ in parsed} == {0x4321}
    assert b"".join(data for _, data in parsed) == frame
