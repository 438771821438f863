"""A test-pattern video track and its check after decoding, for video tests against any peer
(pywebrtc, aiortc, the browsers): four flat quadrants of known luma (tests/media/video/
patterns.py) with a moving textured band, so frames differ and the encoder works.

:class:`PatternTrack` paces 30 frames a second on the loop clock (``VideoStreamTrack``'s
pacer, aiortc's shape); :func:`pattern_frames` waits for decoded frames from any track whose
``recv()`` gives ``av.VideoFrame`` s (ours or aiortc's) and checks them with
:func:`shows_pattern`. A browser's fake camera (``--use-fake-device-for-media-stream``) shows
another picture: its frames are checked by size and count only.
"""

from __future__ import annotations

import asyncio
import fractions
from typing import Any

import av

from pywebrtc import VideoStreamTrack
from tests.media.video.patterns import QUADRANTS, quadrant_means, quadrants

TOLERANCE = 14.0  # luma levels a quadrant's mean may move through encode + decode


class PatternTrack(VideoStreamTrack):
    """The quadrant pattern at ``width`` x ``height``, 30 frames a second. ``frames_sent``
    counts the frames handed out. The pictures are drawn once (``cycle`` of them) and copied
    into each new frame: drawing costs more than encoding."""

    def __init__(self, width: int = 320, height: int = 240, cycle: int = 30) -> None:
        super().__init__()
        self.width, self.height = width, height
        self._planes = [
            [bytes(p) for p in quadrants(i, width, height).planes] for i in range(cycle)
        ]
        self.frames_sent = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        for plane, data in zip(
            frame.planes, self._planes[self.frames_sent % len(self._planes)], strict=True
        ):
            plane.update(data)
        frame.pts = pts
        frame.time_base = time_base
        self.frames_sent += 1
        return frame


class NoiseTrack(VideoStreamTrack):
    """320x240 noise at 30 frames a second (30 pictures drawn once, then cycled): an encoder
    fills whatever bitrate it is given with it (bandwidth tests)."""

    def __init__(self) -> None:
        super().__init__()
        self._planes = [[bytes(p) for p in quadrants(i, noise=True).planes] for i in range(30)]
        self.frames = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(320, 240, "yuv420p")
        for plane, data in zip(frame.planes, self._planes[self.frames % 30], strict=True):
            plane.update(data)
        frame.pts, frame.time_base = pts, time_base
        self.frames += 1
        return frame


def shows_pattern(frame: av.VideoFrame) -> bool:
    """Whether ``frame`` (any size the sender chose) shows the four quadrants."""
    gray = frame if frame.format.name == "yuv420p" else frame.reformat(format="yuv420p")
    means = quadrant_means(gray)
    return all(abs(m - q) <= TOLERANCE for m, q in zip(means, QUADRANTS, strict=True))


async def pattern_frames(
    track: Any, count: int = 10, timeout: float = 20.0, check: bool = True
) -> list[av.VideoFrame]:
    """``count`` decoded frames from ``track`` (each checked against the pattern when
    ``check``), after any that arrive before the first one showing it."""
    frames: list[av.VideoFrame] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while len(frames) < count:
        frame = await asyncio.wait_for(track.recv(), max(0.01, end - loop.time()))
        assert isinstance(frame, av.VideoFrame), type(frame)
        if not check:
            frames.append(frame)
            continue
        if shows_pattern(frame):
            frames.append(frame)
        else:
            assert not frames, f"frame {len(frames)} lost the pattern: {quadrant_means(frame)}"
    return frames


def assert_aiortc_timing(frames: list[av.VideoFrame]) -> None:
    """pts on the 90 kHz RTP clock with time_base 1/90000, increasing, as aiortc's remote
    video frames have them."""
    assert all(f.time_base == fractions.Fraction(1, 90000) for f in frames)
    pts = [int(f.pts or 0) for f in frames]
    steps = [(b - a) % (1 << 32) for a, b in zip(pts, pts[1:], strict=False)]
    assert all(0 < s < 90000 for s in steps), steps
