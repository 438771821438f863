"""Real encoded video for the session tests: a moving test pattern through libvpx (VP8, VP9),
libx264 and SVT-AV1, encoded once per process."""

from __future__ import annotations

import functools
from fractions import Fraction

import av

from pywebrtc.media.video import VIDEO_CLOCK, EncodedVideoFrame, VideoCodec
from pywebrtc.media.video.codecs import create_encoder

WIDTH, HEIGHT, FPS = 160, 120, 30
TICKS = VIDEO_CLOCK // FPS
_ENCODERS = {"vp8": "libvpx", "vp9": "libvpx-vp9", "h264": "libx264"}


def pattern(index: int) -> av.VideoFrame:
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


@functools.cache
def encoded(codec: str, count: int = 90, gop: int = 30) -> tuple[EncodedVideoFrame, ...]:
    """``count`` frames of the pattern, a keyframe every ``gop``; timestamps from 0."""
    if codec == "av1":  # SVT-AV1 through the codecs module (its real-time settings)
        encoder = create_encoder(VideoCodec("AV1", 45))
        frames = [f for i in range(count)
                  for f in encoder.encode(pattern(i), force_keyframe=i % gop == 0)]  # fmt: skip
        return tuple(
            EncodedVideoFrame(f.data, i * TICKS, f.keyframe, codec, WIDTH, HEIGHT)
            for i, f in enumerate(frames)
        )
    name = _ENCODERS[codec]
    assert name in av.codecs_available, f"this PyAV wheel has no {name}"
    enc = av.CodecContext.create(name, "w")
    assert isinstance(enc, av.VideoCodecContext)
    enc.width, enc.height, enc.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    enc.time_base = Fraction(1, FPS)
    enc.framerate = Fraction(FPS)
    enc.bit_rate = 400_000
    enc.gop_size = gop
    enc.thread_count = 1  # the same bytes every run: a seed replays a scenario
    if codec == "h264":
        enc.options = {"preset": "ultrafast", "tune": "zerolatency", "bf": "0",
                       "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"}  # fmt: skip
    else:
        enc.options = {"deadline": "realtime", "lag-in-frames": "0", "cpu-used": "8"}
    packets = [p for i in range(count) for p in enc.encode(pattern(i))]
    packets += enc.encode(None)
    return tuple(
        EncodedVideoFrame(bytes(p), i * TICKS, p.is_keyframe, codec, WIDTH, HEIGHT)
        for i, p in enumerate(packets)
    )


class LiveEncoder:
    """An encoder the test drives frame by frame, that makes a keyframe when asked (as the
    encoder side does on :class:`~pywebrtc.media.video.session.KeyframeRequested`)."""

    def __init__(self, codec: str, gop: int = 1000) -> None:
        self.codec = codec
        self.sent: list[EncodedVideoFrame] = []
        self._av1 = create_encoder(VideoCodec("AV1", 45)) if codec == "av1" else None
        if self._av1 is not None:
            return
        enc = av.CodecContext.create(_ENCODERS[codec], "w")
        assert isinstance(enc, av.VideoCodecContext)
        enc.width, enc.height, enc.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        enc.time_base = Fraction(1, FPS)
        enc.framerate = Fraction(FPS)
        enc.bit_rate = 400_000
        enc.gop_size = gop
        enc.thread_count = 1
        if codec == "h264":
            enc.options = {
                "preset": "ultrafast", "tune": "zerolatency", "bf": "0", "forced-idr": "1",
                "x264-params": f"keyint={gop}:scenecut=0",
            }  # fmt: skip
        else:
            enc.options = {"deadline": "realtime", "lag-in-frames": "0", "cpu-used": "8"}
        self._enc = enc

    def encode(self, index: int, keyframe: bool = False) -> list[EncodedVideoFrame]:
        frame = pattern(index)
        if self._av1 is not None:
            made = self._av1.encode(frame, force_keyframe=keyframe or index == 0)
            out = [
                EncodedVideoFrame(f.data, index * TICKS, f.keyframe, "av1", WIDTH, HEIGHT)
                for f in made
            ]
            self.sent += out
            return out
        if keyframe:
            frame.pict_type = av.video.frame.PictureType.I
        out = [
            EncodedVideoFrame(bytes(p), index * TICKS, p.is_keyframe, self.codec, WIDTH, HEIGHT)
            for p in self._enc.encode(frame)
        ]
        self.sent += out
        return out
