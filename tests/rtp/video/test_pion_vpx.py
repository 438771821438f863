"""Our VP8/VP9 payloads against Pion's payload code (Debian's github.com/pion/rtp/codecs, run
by the Go program in ``pionvpx/``): Pion parses what we packetize to the same fields and data,
and what Pion packetizes goes through our FrameAssembler into the frames it was given."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

from conformance.pion.driver import BUILD, build_go
from pywebrtc.rtp.video import (
    VP8,
    VP9,
    FrameAssembler,
    KeyframeNeeded,
    packetize_vp8,
    packetize_vp9,
)

SOURCE = Path(__file__).resolve().parent / "pionvpx"


def _pion(requests: list[dict[str, Any]]) -> list[Any]:
    binary = build_go(SOURCE, "pionvpx", BUILD / "pion-vpx")
    lines = "".join(
        json.dumps({**r, "b": base64.b64encode(r["b"]).decode()}) + "\n" for r in requests
    )
    done = subprocess.run(
        [str(binary)], input=lines, capture_output=True, text=True, check=True, timeout=60
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def _b(value: str) -> bytes:
    return base64.b64decode(value)


def _frame(index: int, size: int, key: bool) -> bytes:
    return bytes([0x10 if key else 0x11]) + bytes((index * 31 + i) & 0xFF for i in range(size))


def test_pion_parses_our_vp8_payloads() -> None:
    frames = [(_frame(i, 50 + 900 * i, i == 0), i * 1000) for i in range(4)]
    ours = [packetize_vp8(f, 400, picture_id=pid) for f, pid in frames]
    answers = _pion([{"op": "parse8", "b": p} for payloads in ours for p in payloads])
    k = 0
    for (frame, pid), payloads in zip(frames, ours, strict=True):
        data = b""
        for n in range(len(payloads)):
            a = answers[k]
            k += 1
            assert (a["S"], a["PID"], a["I"], a["PictureID"]) == (int(n == 0), 0, 1, pid)
            assert a["head"] == (n == 0)
            data += _b(a["Payload"])
        assert data == frame


def test_pion_parses_our_vp9_payloads() -> None:
    frame = _frame(0, 3000, True)
    ours = packetize_vp9(frame, 1200, keyframe=True, picture_id=300, resolution=(640, 360))
    delta = packetize_vp9(_frame(1, 500, False), 1200, keyframe=False, picture_id=301)
    answers = _pion([{"op": "parse9", "b": p} for p in ours + delta])
    assert [(a["B"], a["E"], a["P"], a["I"], a["L"], a["F"]) for a in answers] == [
        (True, False, False, True, True, False),
        (False, False, False, True, True, False),
        (False, True, False, True, True, False),
        (True, True, True, True, True, False),
    ]
    first = answers[0]
    assert first["V"] and first["Y"] and first["G"]
    assert (first["NS"], first["Width"], first["Height"], first["NG"]) == (0, [640], [360], 1)
    # Go's JSON writes []uint8 as base64
    pg_diffs = [_b(d) for d in first["PGPDiff"]]
    assert (_b(first["PGTID"]), first["PGU"], pg_diffs) == (b"\x00", [False], [b"\x01"])
    assert [a["PictureID"] for a in answers] == [300, 300, 300, 301]
    assert [a["TL0PICIDX"] for a in answers] == [44, 44, 44, 45]  # picture ID & 0xFF
    assert b"".join(_b(a["Payload"]) for a in answers[:3]) == frame


def _assemble(codec: str, frames: list[list[bytes]]) -> list[tuple[bytes, bool]]:
    assembler = FrameAssembler(VP8 if codec == "vp8" else VP9)
    seq, now = 65_530, 0.0
    out: list[tuple[bytes, bool]] = []
    for i, payloads in enumerate(frames):
        for k, payload in enumerate(payloads):
            now += 0.001
            assembler.receive(seq & 0xFFFF, i * 3000, k == len(payloads) - 1, payload, now)
            seq += 1
        while (event := assembler.poll()) is not None:
            assert not isinstance(event, KeyframeNeeded)
            out.append((event.data, event.keyframe))
    return out


def test_pion_vp8_payloads_assemble_into_its_frames() -> None:
    # Pion's picture ID starts at 0 (no I field), then 7 bits, then 15 bits
    frames = [_frame(i, 30 + 700 * (i % 4), i % 50 == 0) for i in range(140)]
    answers = _pion([{"op": "pay8", "mtu": 500, "b": f} for f in frames])
    got = _assemble("vp8", [[_b(p) for p in a] for a in answers])
    assert got == [(f, i % 50 == 0) for i, f in enumerate(frames)]


def test_pion_vp9_payloads_assemble_into_its_frames() -> None:
    frames = [_frame(i, 30 + 700 * (i % 4), i == 0) for i in range(20)]
    answers = _pion([{"op": "pay9", "mtu": 500, "b": f} for f in frames])
    got = _assemble("vp9", [[_b(p) for p in a] for a in answers])
    assert [data for data, _ in got] == frames
    # This Pion writes flexible mode with P=0 on every frame: each one claims to be a keyframe.
    assert all(key for _, key in got)
