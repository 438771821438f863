"""Video encoders and decoders through PyAV (FFmpeg): VP8 (libvpx), VP9 (libvpx-vp9), H.264
(libx264 to encode, FFmpeg's h264 to decode) and AV1 (libsvtav1 to encode, libdav1d to decode),
set up for real-time WebRTC the way libwebrtc sets up its own: no lookahead and no B-frames,
constant-bitrate rate control with a 1 s buffer, keyframes only at the start, on a resolution
change and on demand (``force_keyframe``, i.e. a PLI or FIR from the receiver), error-resilient
mode where the codec has one.

An encoder takes :class:`av.VideoFrame` objects with ``pts``/``time_base`` (as aiortc's tracks
give them) and returns :class:`~pywebrtc.media.video.EncodedVideoFrame` objects whose
``timestamp`` is the pts on the 90 kHz clock (as aiortc's encoders compute it, not masked to 32
bits: the RTP sender adds its offset and wraps). VP8/VP9/AV1 frames are the codec's own frames
(AV1: a temporal unit in low-overhead bitstream format); H.264 is an access unit in Annex B with
SPS and PPS before every IDR.

The bitrate :meth:`VideoEncoder.set_target` asks for takes effect at once, without a keyframe,
for every codec whose rate control budgets frames from their timestamps (libvpx's VP8 and VP9,
measured): FFmpeg's libvpx and SVT-AV1 wrappers read the bitrate only when the context opens
(and its libx264 wrapper reconfigures VBV only from ``rc_max_rate``, which PyAV does not let us
change), so the encoder runs on a clock of its own whose seconds are ``target / open bitrate``
of real ones: at half the opened rate it sees twice the frames a second and gives each half the
bits. Reopening at a keyframe (forced, or due to a new resolution) puts the clock back in step
when the target moved more than 10 %; a target beyond ``RESCALE_RANGE`` of the opened one
reopens at once (a keyframe), at most every ``REOPEN_INTERVAL`` of stream time. x264 and
SVT-AV1 budget from the configured frame rate, not the timestamps (measured: no change), so for
H.264 and AV1 a target (or frame rate) more than ``REOPEN_RANGE`` away from the opened one
reopens the encoder, a keyframe, at most every ``REOPEN_INTERVAL``. The frame rate
``set_target`` gives is a ceiling: frames coming faster are dropped before the encoder (``[]``).

A decoder takes encoded frames in decode order (from the frame assembler) and returns
:class:`av.VideoFrame` objects with ``pts`` = the RTP timestamp and ``time_base`` 1/90000, as
aiortc's remote tracks produce them. Input FFmpeg refuses raises :class:`CorruptFrameError`;
input it conceals or skips gives ``[]``. Neither leaves the decoder unusable: the next keyframe
decodes. ``stats.qp_sum`` counts each frame's QP as libwebrtc reports it: for H.264 and VP9 the one
FFmpeg exports (``venc_params`` side data: the slice QP, the base q index), for VP8 the base q
index read from the frame header here (FFmpeg's VP8 decoder exports none); libdav1d exports none
either and AV1's frame header is not parsed, so for AV1 it stays ``None``.

Threads: an encoder or decoder holds one FFmpeg context and is not thread-safe; one thread at a
time may use one instance (the asyncio layer runs each stream's codec in an executor, one call at
a time). Different instances may run in parallel.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar, Protocol, cast

import av
from av.sidedata.sidedata import SideDataContainer
from av.video.codeccontext import VideoCodecContext

from ...rtp.video.h264_profile import H264Level, H264Profile, profile_level_id_of
from . import VIDEO_CLOCK, EncodedVideoFrame, VideoCodec

__all__ = [
    "DEFAULT_BITRATE",
    "MAX_BITRATE",
    "MIN_BITRATE",
    "RECEIVE_CODECS",
    "SEND_CODECS",
    "CorruptFrameError",
    "DecoderStats",
    "EncodeError",
    "UnsupportedCodecError",
    "VideoCodecError",
    "VideoDecoder",
    "VideoEncoder",
    "create_decoder",
    "create_encoder",
]

logger = logging.getLogger(__name__)

DEFAULT_BITRATE = 500_000  # start rate, before the bandwidth estimator has a figure
MIN_BITRATE = 50_000
MAX_BITRATE = 4_000_000
DEFAULT_FRAMERATE = 30.0
KEYFRAME_INTERVAL = 3000  # frames; keyframes come on demand (libwebrtc's kf_max_dist)
VIDEO_TIME_BASE = Fraction(1, VIDEO_CLOCK)
AV1_MIN_SIZE = 64  # SVT-AV1's smallest picture side
RESCALE_RANGE = 8.0  # the encoder clock runs at most this much slower or faster than real time
REOPEN_RANGE = 1.25  # H.264, AV1: how far the target may move before a reopening (a keyframe)
REOPEN_INTERVAL = 2 * VIDEO_CLOCK  # least stream time between two reopenings for a new target


class VideoCodecError(ValueError):
    """Root of the errors of the video codecs."""


class UnsupportedCodecError(VideoCodecError):
    """A codec, or an H.264 profile, this PyAV build cannot encode or decode."""


class EncodeError(VideoCodecError):
    """FFmpeg refused to open the encoder for a frame, or to encode it."""


class CorruptFrameError(VideoCodecError):
    """FFmpeg refused an encoded frame (corrupt, truncated, or not decodable without a keyframe
    it has not seen). The decoder stays usable."""


class VideoEncoder(Protocol):
    """One encoded stream. Not thread-safe: one thread at a time per instance."""

    target_bitrate: int  # bit/s, as set_target clamped it

    @property
    def codec(self) -> str:  # VideoCodec.key
        ...

    def encode(self, frame: av.VideoFrame, force_keyframe: bool = False
               ) -> list[EncodedVideoFrame]: ...  # fmt: skip

    def set_target(self, bitrate_bps: int, framerate: float | None = None) -> None: ...

    def close(self) -> None: ...


def _to_90khz(pts: int, time_base: Fraction | None) -> int:
    if time_base is None or time_base == VIDEO_TIME_BASE:
        return pts
    return int(pts * time_base * VIDEO_CLOCK)


class _PyAvEncoder:
    """What the four encoders share: the context opened for the frame size and target, reopened
    for a new size (and, for codecs that cannot reconfigure, at a keyframe for a new target)."""

    codec: ClassVar[str]
    encoder_name: ClassVar[str]
    rescales: ClassVar[bool] = False  # rate control follows the timestamps (see above)

    def __init__(self) -> None:
        if self.encoder_name not in av.codecs_available:
            raise UnsupportedCodecError(f"this PyAV build has no {self.encoder_name} encoder")
        self.target_bitrate = DEFAULT_BITRATE
        self.framerate = DEFAULT_FRAMERATE
        self.max_framerate: float | None = None  # frames coming faster are dropped
        self._context: VideoCodecContext | None = None
        self._open_bitrate = 0
        self._open_framerate = DEFAULT_FRAMERATE
        self._opened_at: int | None = None  # stream time (90 kHz) of the last opening
        self._next_pts = 0  # for frames without a pts
        self._last_input: int | None = None  # the last frame's timestamp (90 kHz)
        self._clock = 0.0  # the encoder's own clock (see the module docstring), 90 kHz
        self._next_due: float | None = None  # the earliest timestamp the frame rate allows
        self._stamps: dict[int, int] = {}  # encoder clock -> timestamp, frames in the encoder

    def set_target(self, bitrate_bps: int, framerate: float | None = None) -> None:
        """Set the bitrate (clamped to [MIN_BITRATE, MAX_BITRATE]) and, if given, the most
        frames a second to encode (frames without a pts are numbered at it). See the module
        docstring for when it takes effect."""
        self.target_bitrate = max(MIN_BITRATE, min(int(bitrate_bps), MAX_BITRATE))
        if framerate is not None and framerate > 0:
            self.framerate = self.max_framerate = float(framerate)

    def _skip(self, timestamp: int) -> bool:
        """Whether the frame rate ceiling drops the frame at ``timestamp`` (90 kHz). Frames a
        fifth of an interval early still pass: a source at the ceiling's rate with jittery
        timestamps loses none."""
        if self.max_framerate is None:
            return False
        interval = VIDEO_CLOCK / self.max_framerate
        due = self._next_due
        if due is not None and due - 2 * interval < timestamp < due - interval / 5:
            return True  # (a timestamp far before the due one: the source restarted)
        self._next_due = max((due or timestamp) + interval, timestamp - interval / 2)
        return False

    def _encoder_time(self, timestamp: int) -> int:
        """``timestamp`` on the encoder's clock: real time scaled by target / opened rate."""
        last, self._last_input = self._last_input, timestamp
        step = timestamp - last if last is not None and timestamp > last else 1
        scale = self.target_bitrate / max(self._open_bitrate, 1) if self.rescales else 1.0
        self._clock += max(1.0, step * scale)
        return int(self._clock)

    def encode(self, frame: av.VideoFrame, force_keyframe: bool = False
               ) -> list[EncodedVideoFrame]:  # fmt: skip
        """Encode one frame; ``force_keyframe`` makes it a keyframe (answering a PLI/FIR).
        Returns the encoded frames ready now: one, or none when rate control dropped it.
        Raises :class:`EncodeError` if FFmpeg refuses the frame (the next one starts over)."""
        if frame.pts is None:
            timestamp = self._next_pts
            self._next_pts += round(VIDEO_CLOCK / self.framerate)
        else:
            timestamp = _to_90khz(frame.pts, frame.time_base)
        ctx = self._context
        if ctx is not None and not force_keyframe and self._skip(timestamp):
            return []
        picture = self._fit(frame)
        if ctx is not None and (picture.width != ctx.width or picture.height != ctx.height):
            logger.debug("%s: %dx%d -> %dx%d, reopening", self.codec, ctx.width, ctx.height,
                         picture.width, picture.height)  # fmt: skip
            self._close_context()
            ctx = None
        elif ctx is not None and force_keyframe and self._target_changed():
            self._close_context()  # a keyframe is due anyway: apply the target now
            ctx = None
        elif ctx is not None and self._out_of_range(timestamp):
            logger.debug("%s: target %d far from %d, reopening", self.codec,
                         self.target_bitrate, self._open_bitrate)  # fmt: skip
            self._close_context()
            ctx = None
        if ctx is None:
            ctx = self._open(picture.width, picture.height)
            self._opened_at = timestamp
        saved = picture.pts, picture.time_base, picture.pict_type
        picture_pts = self._encoder_time(timestamp)
        picture.pts, picture.time_base = picture_pts, VIDEO_TIME_BASE
        picture.pict_type = (av.video.frame.PictureType.I if force_keyframe
                             else av.video.frame.PictureType.NONE)  # fmt: skip
        try:
            packets = ctx.encode(picture)  # opens the context on the first frame
        except av.FFmpegError as exc:
            self._context = None
            raise EncodeError(f"{self.encoder_name} refused a {picture.width}x"
                              f"{picture.height} frame: {exc}") from exc  # fmt: skip
        finally:  # the caller's frame may go to other tracks (MediaRelay): leave it as it was
            picture.pts, picture.pict_type = saved[0], saved[2]
            if saved[1] is not None:  # PyAV cannot unset it: a frame without one keeps ours
                picture.time_base = saved[1]
        stamps = self._stamps
        stamps[picture_pts] = timestamp
        out = [self._encoded(bytes(p), stamps.pop(p.pts, timestamp) if p.pts is not None
                             else timestamp, p.is_keyframe, ctx) for p in packets]  # fmt: skip
        while len(stamps) > 16:  # frames the encoder dropped
            del stamps[next(iter(stamps))]
        return out

    def _fit(self, frame: av.VideoFrame) -> av.VideoFrame:
        """The frame in the pixel format (and, where the codec needs it, size) to encode."""
        return frame if frame.format.name == "yuv420p" else frame.reformat(format="yuv420p")

    def _encoded(self, data: bytes, timestamp: int, keyframe: bool, ctx: VideoCodecContext
                 ) -> EncodedVideoFrame:  # fmt: skip
        return EncodedVideoFrame(data=data, timestamp=timestamp, keyframe=keyframe,
                                 codec=self.codec, width=ctx.width, height=ctx.height)  # fmt: skip

    def _target_changed(self) -> bool:
        return abs(self.target_bitrate - self._open_bitrate) > self._open_bitrate // 10

    def _out_of_range(self, timestamp: int) -> bool:
        ratio = self.target_bitrate / max(self._open_bitrate, 1)
        limit = RESCALE_RANGE if self.rescales else REOPEN_RANGE
        # x264 and SVT-AV1 budget per frame from the frame rate they opened with, too
        fps = 1.0 if self.rescales else self.framerate / self._open_framerate
        if 1 / limit <= ratio <= limit and 1 / REOPEN_RANGE <= fps <= REOPEN_RANGE:
            return False
        opened = self._opened_at
        return opened is None or not 0 <= timestamp - opened < REOPEN_INTERVAL

    def _open(self, width: int, height: int) -> VideoCodecContext:
        ctx = av.CodecContext.create(self.encoder_name, "w")
        assert isinstance(ctx, VideoCodecContext)
        ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
        ctx.time_base = VIDEO_TIME_BASE
        ctx.framerate = Fraction(self.framerate).limit_denominator(1001)
        ctx.bit_rate = self.target_bitrate
        ctx.gop_size = KEYFRAME_INTERVAL
        ctx.thread_count = _threads(width * height)
        ctx.options = dict(self._options(width, height))
        self._context = ctx
        self._open_bitrate = self.target_bitrate
        self._open_framerate = self.framerate
        return ctx

    def _options(self, width: int, height: int) -> Mapping[str, str]:
        raise NotImplementedError

    def _close_context(self) -> None:
        ctx, self._context = self._context, None
        if ctx is not None and ctx.is_open:
            try:
                ctx.encode(None)  # end of stream: with no lag nothing is held back
            except av.FFmpegError as exc:  # pragma: no cover - FFmpeg refusing a flush
                logger.debug("%s: flush on close: %s", self.codec, exc)

    def close(self) -> None:
        self._close_context()


def _threads(pixels: int) -> int:
    """Encoder threads: one up to VGA (the machines we run on are shared), more for HD."""
    if pixels > 1280 * 720:
        return 4
    return 2 if pixels > 640 * 480 else 1


def _cbr(bitrate: int) -> dict[str, str]:
    """libvpx CBR with a 1 s buffer (FFmpeg: rc_buf_sz = bufsize * 1000 / bit_rate ms)."""
    return {"minrate": str(bitrate), "maxrate": str(bitrate), "bufsize": str(bitrate)}


class Vp8Encoder(_PyAvEncoder):
    rescales = True
    codec = "vp8"
    encoder_name = "libvpx"

    def _options(self, width: int, height: int) -> Mapping[str, str]:
        return {
            **_cbr(self.target_bitrate),
            "deadline": "realtime",
            "cpu-used": "-6",  # libwebrtc's speed on x86: adaptive, real time
            "lag-in-frames": "0",
            "error-resilient": "1",
            "auto-alt-ref": "0",
            "static-thresh": "1",
            "undershoot-pct": "100",
            "overshoot-pct": "15",
            "partitions": "0",  # one token partition, as libwebrtc
            "qmin": "2",
            "qmax": "56",
        }


class Vp9Encoder(_PyAvEncoder):
    rescales = True
    codec = "vp9"
    encoder_name = "libvpx-vp9"

    def _options(self, width: int, height: int) -> Mapping[str, str]:
        return {
            **_cbr(self.target_bitrate),
            "deadline": "realtime",
            "cpu-used": "8" if width * height <= 640 * 480 else "7",
            "lag-in-frames": "0",
            "error-resilient": "1",
            "auto-alt-ref": "0",
            "aq-mode": "3",  # cyclic refresh, libwebrtc's real-time mode
            "row-mt": "1",
            "undershoot-pct": "50",
            "overshoot-pct": "50",
            "qmin": "2",
            "qmax": "52",
        }


class Av1Encoder(_PyAvEncoder):
    codec = "av1"
    encoder_name = "libsvtav1"

    def _open(self, width: int, height: int) -> VideoCodecContext:
        # Run as root, SVT-AV1 moves the thread that opens an encoder, and the worker threads
        # it starts, to SCHED_FIFO (measured here: a process that had encoded AV1 ran at
        # real-time priority, and so did every program it started afterwards: a spinning
        # headless Chromium starved the whole machine). Open it here, not lazily at the first
        # frame, and put those threads back. SVT_LOG=1 (errors only, unless the user set it)
        # keeps its version banner, printed at every opening, off stderr.
        os.environ.setdefault("SVT_LOG", "1")
        realtime = _realtime_threads()
        ctx = super()._open(width, height)
        try:
            ctx.open()
        finally:
            _demote_threads(_realtime_threads() - realtime)
        return ctx

    def _fit(self, frame: av.VideoFrame) -> av.VideoFrame:
        # SVT-AV1 refuses pictures below 64x64: scale those up (tiny video is rare)
        if frame.width >= AV1_MIN_SIZE and frame.height >= AV1_MIN_SIZE:
            return super()._fit(frame)
        return frame.reformat(width=max(frame.width, AV1_MIN_SIZE),
                              height=max(frame.height, AV1_MIN_SIZE), format="yuv420p")  # fmt: skip

    def _options(self, width: int, height: int) -> Mapping[str, str]:
        # pred-struct=1: low delay (no lookahead, no reordering); rc=2: CBR, the only mode
        # SVT-AV1 allows with low delay
        return {"preset": "10", "svtav1-params": "pred-struct=1:rc=2:scd=0"}


def _realtime_threads() -> set[int]:
    """This process's threads under a real-time policy (Linux; empty elsewhere)."""
    try:
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        return set()
    found = set()
    for tid in tids:
        try:
            if os.sched_getscheduler(tid) in (os.SCHED_FIFO, os.SCHED_RR):
                found.add(tid)
        except OSError:  # the thread has ended
            continue
    return found


def _demote_threads(tids: set[int]) -> None:
    for tid in tids:
        try:
            os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
        except OSError:
            logger.warning("thread %d stays at real-time priority", tid)
        else:
            logger.debug("thread %d moved back from real-time priority", tid)


_X264_PROFILE = {
    H264Profile.CONSTRAINED_BASELINE: "baseline",  # x264's baseline is constrained baseline
    H264Profile.BASELINE: "baseline",
    H264Profile.MAIN: "main",
    H264Profile.CONSTRAINED_HIGH: "high",  # high without B-frames
    H264Profile.HIGH: "high",
}
_START_CODE = b"\x00\x00\x00\x01"


def _nal_units(access_unit: bytes) -> list[bytes]:
    """The NAL units of an Annex B access unit, start codes removed."""
    out = []
    for part in access_unit.split(b"\x00\x00\x01"):
        part = part.rstrip(b"\x00")  # a NAL unit never ends in 0 (its trailing bits)
        if part:
            out.append(part)
    return out


class H264Encoder(_PyAvEncoder):
    """libx264 in Annex B, zero latency (no B-frames, no lookahead), one slice per frame,
    IDR on demand (``forced-idr``), SPS and PPS repeated before every IDR."""

    codec = "h264"
    encoder_name = "libx264"

    def __init__(self, parameters: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.profile_level_id = profile_level_id_of(parameters or {})
        if self.profile_level_id.profile not in _X264_PROFILE:
            raise UnsupportedCodecError(f"H.264 profile {self.profile_level_id.profile.value}")
        self._parameter_sets = b""  # the last SPS and PPS seen, for an IDR without them

    def _options(self, width: int, height: int) -> Mapping[str, str]:
        level = self.profile_level_id.level
        return {
            "preset": "veryfast",
            "tune": "zerolatency",  # no B-frames, no lookahead, no frame threads
            "profile": _X264_PROFILE[self.profile_level_id.profile],
            "level": "1b" if level is H264Level.L1B else f"{level.level_idc / 10:.1f}",
            "forced-idr": "1",  # a forced keyframe is an IDR, not a recovery point
            "maxrate": str(self.target_bitrate),  # CBR: VBV at the target, 1 s buffer
            "bufsize": str(self.target_bitrate),
            "x264-params": "scenecut=0:repeat-headers=1:annexb=1:slices=1",
        }

    def _fit(self, frame: av.VideoFrame) -> av.VideoFrame:
        # x264 needs even sides in 4:2:0: an odd one (a screen-shared window) loses a pixel
        if frame.width % 2 == 0 and frame.height % 2 == 0:
            return super()._fit(frame)
        return frame.reformat(width=frame.width & ~1, height=frame.height & ~1, format="yuv420p")

    def _encoded(self, data: bytes, timestamp: int, keyframe: bool, ctx: VideoCodecContext
                 ) -> EncodedVideoFrame:  # fmt: skip
        if keyframe:
            nals = _nal_units(data)
            kinds = {n[0] & 0x1F for n in nals}
            if 7 in kinds and 8 in kinds:
                self._parameter_sets = b"".join(
                    _START_CODE + n for n in nals if n[0] & 0x1F in (7, 8)
                )
            elif self._parameter_sets:  # pragma: no cover - x264 repeats them itself
                data = self._parameter_sets + data
        return super()._encoded(data, timestamp, keyframe, ctx)


_ENCODERS: dict[str, type[_PyAvEncoder]] = {"vp8": Vp8Encoder, "vp9": Vp9Encoder,
                                            "av1": Av1Encoder}  # fmt: skip


def create_encoder(codec: VideoCodec) -> VideoEncoder:
    """An encoder for a negotiated send format (H.264: its ``profile-level-id``)."""
    if codec.key == "h264":
        return H264Encoder(codec.parameters)
    try:
        return _ENCODERS[codec.key]()
    except KeyError:
        raise UnsupportedCodecError(f"no encoder for {codec.name}") from None


@dataclass(slots=True)
class DecoderStats:
    """For getStats (inbound-rtp): framesDecoded, keyFramesDecoded, qpSum (``None`` where
    FFmpeg exports no QP for the codec), and frames FFmpeg refused."""

    frames_decoded: int = 0
    keyframes_decoded: int = 0
    qp_sum: int | None = None
    corrupt_frames: int = 0


_DECODER_NAMES = {"vp8": "vp8", "vp9": "vp9", "h264": "h264", "av1": "libdav1d"}
_VIDEO_ENC_PARAMS = "VIDEO_ENC_PARAMS"
_ENC_PARAMS_QP_OFFSET = 28  # AVVideoEncParams.qp (after nb_blocks, two size_t, type) on 64-bit


class VideoDecoder:
    """Decodes one received stream. Not thread-safe: one thread at a time per instance."""

    def __init__(self, codec: str) -> None:
        name = _DECODER_NAMES.get(codec.lower())
        if name is None or name not in av.codecs_available:
            raise UnsupportedCodecError(f"no decoder for {codec}")
        self.codec = codec.lower()
        self.stats = DecoderStats()
        ctx = av.CodecContext.create(name, "r")
        assert isinstance(ctx, VideoCodecContext)
        ctx.thread_count = 1  # frame threads would hold frames back: latency
        options = {"export_side_data": "venc_params"}
        if name == "libdav1d":
            options["max_frame_delay"] = "1"
        ctx.options = options
        self._context: VideoCodecContext | None = ctx

    def decode(self, frame: EncodedVideoFrame) -> list[av.VideoFrame]:
        """Decode one encoded frame; raise :class:`CorruptFrameError` if FFmpeg refuses it."""
        ctx = self._context
        if ctx is None:
            raise VideoCodecError("decoder is closed")
        if not frame.data:  # an empty packet would tell FFmpeg the stream ended
            self.stats.corrupt_frames += 1
            raise CorruptFrameError(f"{self.codec} frame at {frame.timestamp} is empty")
        packet = av.Packet(frame.data)
        packet.pts = frame.timestamp
        packet.time_base = VIDEO_TIME_BASE
        try:
            decoded = ctx.decode(packet)
        except (av.FFmpegError, ValueError) as exc:
            self.stats.corrupt_frames += 1
            raise CorruptFrameError(f"{self.codec} frame at {frame.timestamp}: {exc}") from exc
        out: list[av.VideoFrame] = []
        for f in decoded:
            assert isinstance(f, av.VideoFrame)
            f.pts = frame.timestamp if f.pts is None else f.pts
            f.time_base = VIDEO_TIME_BASE
            self.stats.frames_decoded += 1
            if f.key_frame:
                self.stats.keyframes_decoded += 1
            qp = _vp8_qp(frame.data) if self.codec == "vp8" else _frame_qp(f)
            if qp is not None:
                self.stats.qp_sum = (self.stats.qp_sum or 0) + qp
            out.append(f)
        return out

    def close(self) -> None:
        self._context = None


def _frame_qp(frame: av.VideoFrame) -> int | None:
    """The frame QP from FFmpeg's ``AVVideoEncParams`` side data, if the decoder exported it."""
    for sd in cast("SideDataContainer", frame.side_data):  # PyAV's stub says SideData
        if str(sd.type).rsplit(".", 1)[-1] == _VIDEO_ENC_PARAMS:
            raw = bytes(sd)
            if len(raw) >= _ENC_PARAMS_QP_OFFSET + 4:
                return int(struct.unpack_from("<i", raw, _ENC_PARAMS_QP_OFFSET)[0])
    return None


class _BoolDecoder:
    """The VP8 boolean entropy decoder (RFC 6386 §7.3), enough to read header literals."""

    __slots__ = ("bit_count", "data", "pos", "range", "value")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.value = int.from_bytes(data[:2].ljust(2, b"\0"), "big")
        self.pos = 2
        self.range = 255
        self.bit_count = 0

    def bool(self, probability: int = 128) -> int:
        split = 1 + (((self.range - 1) * probability) >> 8)
        big_split = split << 8
        if self.value >= big_split:
            bit = 1
            self.range -= split
            self.value -= big_split
        else:
            bit = 0
            self.range = split
        while self.range < 128:
            self.value <<= 1
            self.range <<= 1
            self.bit_count += 1
            if self.bit_count == 8:
                self.bit_count = 0
                if self.pos < len(self.data):  # past the end reads zeros (RFC 6386 §7.3)
                    self.value |= self.data[self.pos]
                self.pos += 1
        return bit

    def literal(self, bits: int) -> int:
        value = 0
        for _ in range(bits):
            value = value << 1 | self.bool()
        return value

    def skip_signed(self, bits: int) -> None:
        """A flag and, when set, a ``bits``-bit magnitude and a sign."""
        if self.bool():
            self.literal(bits + 1)


def _vp8_qp(frame: bytes) -> int | None:
    """The base quantizer index (``y_ac_qi``, 0-127) from a VP8 frame header (RFC 6386 §9.2-9.6,
    §19.2), what libwebrtc reports as the frame's QP; ``None`` if the header is cut short."""
    if len(frame) < 3:
        return None
    keyframe = not frame[0] & 0x01
    start = 10 if keyframe else 3  # frame tag, and on keyframes start code and dimensions
    if len(frame) <= start:
        return None
    d = _BoolDecoder(frame[start:])
    if keyframe:
        d.literal(2)  # color_space, clamping_type
    if d.bool():  # segmentation_enabled
        update_map = d.bool()
        if d.bool():  # update_segment_feature_data
            d.bool()  # segment_feature_mode
            for _ in range(4):
                d.skip_signed(7)  # quantizer
            for _ in range(4):
                d.skip_signed(6)  # loop filter level
        if update_map:
            for _ in range(3):
                if d.bool():
                    d.literal(8)  # segment probabilities
    d.literal(1 + 6 + 3)  # filter_type, loop_filter_level, sharpness_level
    if d.bool() and d.bool():  # loop_filter_adj_enable, mode_ref_lf_delta_update
        for _ in range(8):
            d.skip_signed(6)  # ref_frame and mb_mode deltas
    d.literal(2)  # log2_nbr_of_dct_partitions
    qp = d.literal(7)
    return qp if d.pos <= len(frame) - start + 2 else None


def create_decoder(codec: VideoCodec | str) -> VideoDecoder:
    return VideoDecoder(codec if isinstance(codec, str) else codec.key)


def _h264(payload_type: int, profile_level_id: str) -> VideoCodec:
    return VideoCodec("H264", payload_type, {"level-asymmetry-allowed": "1",
                      "packetization-mode": "1", "profile-level-id": profile_level_id},
                      payload_type + 1)  # fmt: skip


# What offer/answer may put in a video m-section, in preference order, with Chrome's usual
# payload types (the negotiation may renumber them). AV1 is sent too: SVT-AV1 encodes 640x480
# in real time here at a few ms of CPU per frame (see the tests).
SEND_CODECS: tuple[VideoCodec, ...] = (
    VideoCodec("VP8", 96, {}, 97),
    VideoCodec("VP9", 98, {"profile-id": "0"}, 99),
    _h264(102, "42001f"),
    _h264(106, "42e01f"),
    _h264(112, "640c1f"),
    VideoCodec("AV1", 45, {}, 46),
)
RECEIVE_CODECS: tuple[VideoCodec, ...] = SEND_CODECS
