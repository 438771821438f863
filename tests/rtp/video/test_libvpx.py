"""The byte layout against libvpx through PyAV: frames encoded by libvpx (VP8, VP9) are
packetized, sent through the FrameAssembler (in order, reordered, with loss), decoded by
FFmpeg's own VP8/VP9 decoder and compared pixel for pixel with the direct decode of the
encoder's output. Our keyframe detection must agree with libvpx's keyframe flag."""

from __future__ import annotations

import random
from fractions import Fraction

import av
import pytest

from pywebrtc.rtp.video import (
    VP8,
    VP9,
    AssembledFrame,
    FrameAssembler,
    KeyframeNeeded,
    packetize_vp8,
    packetize_vp9,
)

WIDTH, HEIGHT, FPS = 160, 120, 30
CODECS = {"vp8": ("libvpx", "vp8"), "vp9": ("libvpx-vp9", "vp9")}


def _pattern(index: int) -> av.VideoFrame:
    frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
    for p, plane in enumerate(frame.planes):
        rows = bytearray()
        for y in range(plane.height):
            rows += bytes(((x + y) * (p + 1) + index * 3) & 0xFF for x in range(plane.width))
            rows += bytes(plane.line_size - plane.width)
        plane.update(bytes(rows))
    frame.pts = index
    frame.time_base = Fraction(1, FPS)
    return frame


def _encode(codec: str, count: int) -> list[tuple[bytes, bool]]:
    encoder_name = CODECS[codec][0]
    assert encoder_name in av.codecs_available, f"this PyAV wheel has no {encoder_name}"
    enc = av.CodecContext.create(encoder_name, "w")
    assert isinstance(enc, av.VideoCodecContext)
    enc.width, enc.height, enc.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    enc.time_base = Fraction(1, FPS)
    enc.framerate = Fraction(FPS)
    enc.bit_rate = 300_000
    enc.gop_size = 10
    enc.options = {"deadline": "realtime", "lag-in-frames": "0", "cpu-used": "8"}
    out: list[tuple[bytes, bool]] = []
    for i in range(count):
        for packet in enc.encode(_pattern(i)):
            out.append((bytes(packet), packet.is_keyframe))
    for packet in enc.encode(None):
        out.append((bytes(packet), packet.is_keyframe))
    return out


def _decode(codec: str, frames: list[bytes]) -> list[bytes]:
    dec = av.CodecContext.create(CODECS[codec][1], "r")
    assert isinstance(dec, av.VideoCodecContext)
    pictures: list[bytes] = []
    for data in frames:
        for picture in dec.decode(av.Packet(data)):
            assert isinstance(picture, av.VideoFrame)
            rows = bytearray()
            for plane in picture.planes:
                raw = bytes(plane)
                for y in range(plane.height):
                    rows += raw[y * plane.line_size : y * plane.line_size + plane.width]
            pictures.append(bytes(rows))
    return pictures


def _packets(codec: str, encoded: list[tuple[bytes, bool]], mtu: int
             ) -> list[tuple[int, int, bool, bytes, int]]:  # fmt: skip
    out = []
    seq = 65_000  # wraps during the run
    for i, (data, key) in enumerate(encoded):
        if codec == "vp8":
            payloads = packetize_vp8(data, mtu, picture_id=i)
        else:
            payloads = packetize_vp9(data, mtu, keyframe=key, picture_id=i)
        for k, payload in enumerate(payloads):
            out.append((seq & 0xFFFF, i * 3000, k == len(payloads) - 1, payload, i))
            seq += 1
    return out


def _assemble(codec: str, packets: list[tuple[int, int, bool, bytes, int]]
              ) -> tuple[list[AssembledFrame], int]:  # fmt: skip
    assembler = FrameAssembler(VP8 if codec == "vp8" else VP9,
                               max_wait=0.05)  # fmt: skip
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


@pytest.mark.parametrize("codec", ["vp8", "vp9"])
@pytest.mark.parametrize("mtu", [200, 1200])
def test_libvpx_frames_survive_packetization(codec: str, mtu: int) -> None:
    encoded = _encode(codec, 40)
    packets = _packets(codec, encoded, mtu)
    assert all(len(p[3]) <= mtu for p in packets)
    frames, requests = _assemble(codec, packets)
    assert requests == 0
    assert [f.data for f in frames] == [data for data, _ in encoded]
    assert [f.keyframe for f in frames] == [key for _, key in encoded]  # agrees with libvpx
    assert sum(f.keyframe for f in frames) >= 4  # gop_size 10
    assert _decode(codec, [f.data for f in frames]) == _decode(codec, [d for d, _ in encoded])


@pytest.mark.parametrize("codec", ["vp8", "vp9"])
def test_reordered_and_lossy_stream_decodes_to_the_same_pictures(codec: str) -> None:
    encoded = _encode(codec, 60)
    packets = _packets(codec, encoded, 200)
    rng = random.Random(3)
    lost_frames = {12, 33}
    damaged = [p for p in packets if p[4] not in lost_frames]
    for k in range(0, len(damaged) - 4, 4):  # swap neighbours: mild reordering
        if rng.random() < 0.5:
            damaged[k], damaged[k + 1] = damaged[k + 1], damaged[k]
    frames, requests = _assemble(codec, damaged)
    assert requests == 2  # one per loss, before the next keyframe
    reference = _decode(codec, [d for d, _ in encoded])
    got = _decode(codec, [f.data for f in frames])
    indices = [f.picture_id for f in frames]
    assert 12 not in indices and 33 not in indices
    assert indices == [i for i in range(len(encoded)) if not 12 <= i < 20 and not 33 <= i < 40]
    assert got == [reference[i] for i in indices if i is not None]
