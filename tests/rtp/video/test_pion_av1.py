"""Our AV1 payloads against Pion's AV1 payload code (Debian's github.com/pion/rtp/codecs, run by
the Go program in ``pionav1/``): Pion reads what we packetize from SVT-AV1 to the same Z/Y/W/N
bits and OBU elements, and what Pion packetizes (one OBU per call: its payloader does not split
a temporal unit into OBUs) comes back out of our depacketizer as that OBU."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

from conformance.pion.driver import BUILD, build_go
from pywebrtc.media.video import VideoCodec
from pywebrtc.media.video.codecs import create_encoder
from pywebrtc.rtp.video.av1 import depacketize_av1, depacketize_av1_frame, packetize_av1
from tests.media.video.patterns import quadrants

SOURCE = Path(__file__).resolve().parent / "pionav1"


def _pion(requests: list[dict[str, Any]]) -> list[Any]:
    binary = build_go(SOURCE, "pionav1", BUILD / "pion-av1")
    lines = "".join(
        json.dumps({**r, "b": base64.b64encode(r["b"]).decode()}) + "\n" for r in requests
    )
    done = subprocess.run(
        [str(binary)], input=lines, capture_output=True, text=True, check=True, timeout=60
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def _elements(payload: bytes) -> list[bytes]:
    """Our reading of a payload's elements, from the chunk depacketize_av1 writes."""
    data = depacketize_av1(payload).data
    pos, out = 2 if data[1] < 0x80 else 3, []
    while pos < len(data):
        n, shift, size = 0, 0, 0
        while True:
            size |= (data[pos + n] & 0x7F) << shift
            shift += 7
            n += 1
            if not data[pos + n - 1] & 0x80:
                break
        out.append(data[pos + n : pos + n + size])
        pos += n + size
    return out


def test_pion_reads_our_payloads_of_svt_av1_frames() -> None:
    encoder = create_encoder(VideoCodec("AV1", 45))
    encoder.set_target(2_000_000)
    frames = [e.data for i in range(6) for e in encoder.encode(quadrants(i, noise=i % 2 == 1))]
    ours = [p for f in frames for p in packetize_av1(f, 300)]
    assert len(ours) > len(frames)
    answers = _pion([{"op": "parse", "b": p} for p in ours])
    assert len(answers) == len(ours)
    for payload, answer in zip(ours, answers, strict=True):
        assert "error" not in answer, answer
        head = payload[0]
        assert (answer["Z"], answer["Y"], answer["N"]) == (
            bool(head & 0x80),
            bool(head & 0x40),
            bool(head & 0x08),
        )
        assert answer["W"] == (head >> 4) & 3
        assert [base64.b64decode(e) for e in answer["OBUElements"]] == _elements(payload)


def test_we_read_pions_payloads_of_one_obu() -> None:
    frame_obu = bytes([0x30]) + bytes((i * 7) & 0xFF for i in range(1000))  # OBU_FRAME, no size
    for mtu in (100, 400, 1200):
        (payloads,) = _pion([{"op": "pay", "mtu": mtu, "b": frame_obu}])
        pion = [base64.b64decode(p) for p in payloads]
        assert all(len(p) <= mtu for p in pion)
        rebuilt = depacketize_av1_frame(pion)
        assert rebuilt == bytes([0x12, 0x00, 0x32, 0xE8, 0x07]) + frame_obu[1:]  # TD, size 1000
