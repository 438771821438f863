"""Byte-layout interop with FFmpeg through PyAV: libx264 access units go through our payloader
and assembler and FFmpeg's H.264 decoder gives the same pictures as from the encoder's output."""

from __future__ import annotations

import random
from fractions import Fraction

import av
import pytest

from pywebrtc.rtp import RtpPacket
from pywebrtc.rtp.video import H264, AssembledFrame, FrameAssembler, KeyframeNeeded
from pywebrtc.rtp.video.h264 import H264Payloader

pytestmark = pytest.mark.skipif(
    "libx264" not in av.codecs_available, reason="this PyAV wheel carries no libx264"
)

WIDTH, HEIGHT, FRAMES, GOP = 160, 96, 30, 10


def pattern(i: int) -> av.VideoFrame:
    frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
    for index, plane in enumerate(frame.planes):
        w, h = (WIDTH, HEIGHT) if index == 0 else (WIDTH // 2, HEIGHT // 2)
        rows = (
            bytes((x * (index + 1) + y * 2 + i * 5) & 0xFF for x in range(w)).ljust(plane.line_size)
            for y in range(h)
        )
        plane.update(b"".join(rows))
    frame.pts = i
    return frame


def encode(**x264: str) -> list[bytes]:
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    codec.time_base = Fraction(1, 30)
    codec.gop_size = GOP
    codec.options = {"preset": "ultrafast", "tune": "zerolatency", "profile": "baseline", **x264}
    codec.open()
    packets = [p for i in range(FRAMES) for p in codec.encode(pattern(i))]
    packets += codec.encode(None)
    return [bytes(p) for p in packets]


def decode(access_units: list[bytes]) -> list[bytes]:
    codec = av.CodecContext.create("h264", "r")
    pictures = [
        b"".join(bytes(plane) for plane in frame.planes)
        for unit in access_units
        for frame in codec.decode(av.Packet(unit))
    ]
    pictures += [b"".join(bytes(p) for p in f.planes) for f in codec.decode(None)]
    return pictures


def to_rtp(access_units: list[bytes], mtu: int) -> list[RtpPacket]:
    payloader = H264Payloader(mtu)
    packets: list[RtpPacket] = []
    for i, unit in enumerate(access_units):
        for payload, marker in payloader.packetize(unit):
            seq = (65000 + len(packets)) & 0xFFFF
            packets.append(RtpPacket(102, seq, i * 3000, 0x1234, payload, marker))
    return packets


def assemble(packets: list[RtpPacket]) -> list[AssembledFrame | KeyframeNeeded]:
    assembler = FrameAssembler(H264, max_wait=0.1)
    out: list[AssembledFrame | KeyframeNeeded] = []
    for i, packet in enumerate(packets):
        now = i * 0.001
        assembler.tick(now)
        assembler.receive(packet.sequence_number, packet.timestamp, packet.marker,
                          packet.payload, now)  # fmt: skip
        while (event := assembler.poll()) is not None:
            out.append(event)
    assembler.tick(len(packets) * 0.001 + 1.0)
    while (event := assembler.poll()) is not None:
        out.append(event)
    return out


@pytest.mark.parametrize("mtu", [200, 1200])
@pytest.mark.parametrize("slices", ["", "slice-max-size=300"])
def test_libx264_stream_survives_packetization_with_reordering(mtu: int, slices: str) -> None:
    encoded = encode(**({"x264-params": slices} if slices else {}))
    assert len(encoded) == FRAMES
    packets = to_rtp(encoded, mtu)
    kinds = {p.payload[0] & 0x1F for p in packets}
    assert 24 in kinds  # SPS + PPS + SEI aggregated ahead of every IDR
    assert 28 in kinds or mtu == 1200  # FU-A
    rng = random.Random(mtu)
    packets = [p for _, p in sorted(enumerate(packets), key=lambda a: a[0] + rng.uniform(0, 3))]
    events = assemble(packets)
    units = [e for e in events if isinstance(e, AssembledFrame)]
    assert len(units) == FRAMES and not [e for e in events if isinstance(e, KeyframeNeeded)]
    assert [u.keyframe for u in units] == [i % GOP == 0 for i in range(FRAMES)]
    reference = decode(encoded)
    assert len(reference) == FRAMES
    assert decode([u.data for u in units]) == reference


def test_a_lost_packet_costs_the_rest_of_its_gop_and_decoding_resumes_at_the_keyframe() -> None:
    encoded = encode()
    packets = to_rtp(encoded, 200)
    lost = next(i for i, p in enumerate(packets) if p.timestamp == 3 * 3000)
    events = assemble(packets[:lost] + packets[lost + 1 :])
    requests = [e for e in events if isinstance(e, KeyframeNeeded)]
    units = [e for e in events if isinstance(e, AssembledFrame)]
    assert [u.timestamp // 3000 for u in units] == [0, 1, 2, *range(GOP, FRAMES)]
    # the next keyframe was complete behind the hole: taken without waiting or asking
    assert requests == []
    reference = decode(encoded)
    assert decode([u.data for u in units]) == reference[:3] + reference[GOP:]
