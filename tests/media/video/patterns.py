"""Test pictures for the video codec tests: four flat quadrants of known luma (checked after
decoding) with moving texture, built from bytes (no numpy here)."""

from __future__ import annotations

import random
from fractions import Fraction

import av

QUADRANTS = (40, 100, 160, 220)  # luma of top-left, top-right, bottom-left, bottom-right
# byte -> low-amplitude noise around mid grey, for content that makes rate control work
_NOISE = bytes(96 + (b & 0x3F) for b in range(256))


def quadrants(
    index: int, width: int = 320, height: int = 240, *, noise: bool = False,
    pts: int | None = None, time_base: Fraction = Fraction(1, 90000),
) -> av.VideoFrame:  # fmt: skip
    """Frame ``index``: the quadrants, a 16-pixel textured band moving across the middle rows
    (so consecutive frames differ), or, with ``noise``, fresh noise over the whole picture."""
    frame = av.VideoFrame(width, height, "yuv420p")
    y = frame.planes[0]
    pad = bytes(y.line_size - width)
    rnd = random.Random(index)
    half_w, half_h = width // 2, height // 2
    rows = bytearray()
    for r in range(height):
        if noise:
            rows += rnd.randbytes(width).translate(_NOISE) + pad
            continue
        top = r < half_h
        row = bytearray(bytes([QUADRANTS[0 if top else 2]]) * half_w
                        + bytes([QUADRANTS[1 if top else 3]]) * (width - half_w))  # fmt: skip
        if abs(r - half_h) < 8:  # texture near the horizontal border only
            x = (index * 8) % (width - 32)
            row[x : x + 32] = rnd.randbytes(32)
        rows += row + pad
    y.update(bytes(rows))
    for plane in frame.planes[1:]:
        plane.update(bytes([128]) * (plane.line_size * plane.height))
    frame.pts = index * 3000 if pts is None else pts
    frame.time_base = time_base
    return frame


def mean_luma(frame: av.VideoFrame, x0: int, y0: int, x1: int, y1: int) -> float:
    plane = frame.planes[0]
    data = bytes(plane)
    total = 0
    for r in range(y0, y1):
        total += sum(data[r * plane.line_size + x0 : r * plane.line_size + x1])
    return total / ((x1 - x0) * (y1 - y0))


def quadrant_means(frame: av.VideoFrame) -> tuple[float, float, float, float]:
    """Mean luma of the four quadrants, 16 pixels in from every edge and away from the band."""
    w, h = frame.width, frame.height
    hw, hh = w // 2, h // 2
    m = 16
    return (mean_luma(frame, m, m, hw - m, hh - m), mean_luma(frame, hw + m, m, w - m, hh - m),
            mean_luma(frame, m, hh + m, hw - m, h - m),
            mean_luma(frame, hw + m, hh + m, w - m, h - m))  # fmt: skip
