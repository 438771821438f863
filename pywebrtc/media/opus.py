"""Opus (RFC 6716, RTP payload RFC 7587) through PyAV's libopus wrapper: the fallback when
libopus cannot be loaded directly (:mod:`pywebrtc.media.libopus`, the default both ways).

:class:`OpusEncoder` takes any audio frame, resamples it to 48 kHz s16 when needed, and emits
one 20 ms packet per 960 samples. ``useinbandfec=1`` in the peer's fmtp turns on libopus
in-band FEC with an expected loss of ``packet_loss`` percent (``fec=False`` overrides it: FEC
roughly doubles encoding CPU, see ``DEFAULT_COMPLEXITY``); ``maxaveragebitrate`` caps the
bitrate; ``stereo=1`` makes it encode two channels (mono otherwise: cheaper, and what a voice
peer wants). Codec threading is fixed to one thread: per-session threads would multiply by
thousands of sessions.

:class:`OpusDecoder` returns s16 frames at 48 kHz, mono or stereo as asked.

What PyAV does *not* expose: libopus packet-loss concealment is reached by decoding a NULL
packet and in-band FEC by ``decode_fec=1``; FFmpeg's libopus decoder passes neither through
(an empty packet means end of stream, and it has no FEC option). So this decoder's
:meth:`OpusDecoder.conceal` repeats the last decoded frame at -6 dB per consecutive loss and
then goes silent, ignoring ``next_payload``. It is the fallback: by default sessions decode
with :class:`pywebrtc.media.libopus.LibopusDecoder` (the same libopus through ctypes), which
does both. Our encoder's in-band FEC helps peers either way (Chrome's decoder uses it).
"""

from __future__ import annotations

import av
from av.codec.context import ThreadType

from .codec import AudioCodec, EncodedPacket
from .frames import FrameConverter, pcm_frame, scale_pcm, time_base

__all__ = ["OpusDecoder", "OpusEncoder"]

SAMPLE_RATE = 48000  # RFC 7587 §4.1: the RTP clock is always 48 kHz
FRAME_SAMPLES = 960  # 20 ms
_MAX_CONCEALED = 4  # after this many consecutive losses, silence
# libopus defaults to 10; libwebrtc uses 5 on mobile. With in-band FEC the encoder runs SILK
# (speech) coding, whose cost grows with complexity: on this host 20 ms mono at 32 kbit/s takes
# about 290 µs at 10, 240 µs at 5, 180 µs at 2. Without FEC, CELT-only coding
# (``application="lowdelay"``) takes about 95 µs.
DEFAULT_COMPLEXITY = 5


def _single_threaded(ctx: av.codec.context.CodecContext) -> None:
    ctx.thread_count = 1
    ctx.thread_type = ThreadType.SLICE  # with one thread: no threading at all


class OpusEncoder:
    def __init__(
        self,
        codec: AudioCodec,
        *,
        bitrate: int = 32000,
        channels: int = 0,
        packet_loss: int = 10,
        fec: bool | None = None,
        complexity: int = DEFAULT_COMPLEXITY,
        application: str = "voip",
    ) -> None:
        self.codec = codec
        self.channels = channels or (2 if codec.flag("stereo") else 1)
        cap = codec.parameters.get("maxaveragebitrate")
        if cap is not None and cap.strip().isdigit():
            bitrate = max(6000, min(bitrate, int(cap)))
        self.bitrate = bitrate
        self.fec = codec.flag("useinbandfec") if fec is None else fec
        if not 0 <= complexity <= 10:
            raise ValueError("Opus complexity is 0-10")
        if application not in ("voip", "audio", "lowdelay"):
            raise ValueError("Opus application is voip, audio or lowdelay")
        self.complexity = complexity
        ctx = av.CodecContext.create("libopus", "w")
        assert isinstance(ctx, av.AudioCodecContext)
        ctx.sample_rate = SAMPLE_RATE
        ctx.layout = "stereo" if self.channels == 2 else "mono"
        ctx.format = "s16"
        ctx.bit_rate = bitrate
        ctx.time_base = time_base(SAMPLE_RATE)
        _single_threaded(ctx)
        ctx.options = {
            "application": application,
            "frame_duration": "20",
            "fec": "1" if self.fec else "0",
            "packet_loss": str(packet_loss if self.fec else 0),
            "compression_level": str(complexity),  # OPUS_SET_COMPLEXITY
        }
        ctx.open()
        self._ctx = ctx
        self._converter = FrameConverter(SAMPLE_RATE, self.channels, FRAME_SAMPLES)
        self._pts = 0
        self._media_time = 0

    def encode(self, frame: av.AudioFrame) -> list[EncodedPacket]:
        out: list[EncodedPacket] = []
        for f in self._converter.frames(frame):
            f.pts = self._pts
            self._pts += FRAME_SAMPLES
            for packet in self._ctx.encode(f):
                out.append(EncodedPacket(bytes(packet), self._media_time, FRAME_SAMPLES))
                self._media_time += FRAME_SAMPLES
        return out


class OpusDecoder:
    def __init__(self, codec: AudioCodec, *, channels: int = 1) -> None:
        self.codec = codec
        self.channels = channels
        ctx = av.CodecContext.create("libopus", "r")
        assert isinstance(ctx, av.AudioCodecContext)
        ctx.sample_rate = SAMPLE_RATE
        ctx.layout = "stereo" if channels == 2 else "mono"
        ctx.format = "s16"
        _single_threaded(ctx)
        self._ctx = ctx
        self._last: av.AudioFrame | None = None
        self._losses = 0
        self.decode_errors = 0

    def decode(self, payload: bytes, timestamp: int) -> av.AudioFrame | None:
        if not payload:
            return None
        try:
            frames = self._ctx.decode(av.Packet(payload))
        except av.FFmpegError:
            self.decode_errors += 1
            return None
        if not frames:
            return None
        frame = frames[0]
        frame.pts = timestamp
        frame.time_base = time_base(SAMPLE_RATE)
        self._last = frame
        self._losses = 0
        return frame

    def conceal(self, timestamp: int, next_payload: bytes | None) -> av.AudioFrame:
        self._losses += 1
        size = FRAME_SAMPLES * 2 * self.channels
        last = self._last
        if last is None or self._losses > _MAX_CONCEALED:
            pcm = bytes(size)
        else:
            previous = bytes(last.planes[0])[: last.samples * 2 * self.channels]
            pcm = scale_pcm(previous, 0.5**self._losses)
            pcm = pcm[:size].ljust(size, b"\0")
        return pcm_frame(pcm, SAMPLE_RATE, self.channels, timestamp)
