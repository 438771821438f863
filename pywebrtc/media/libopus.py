"""Opus on libopus itself (ctypes), for what PyAV cannot do.

Decoding: real packet-loss concealment and in-band FEC (RFC 6716 §4.4; libopus
``opus_decode`` with a NULL packet, and with ``decode_fec=1`` on the packet after a loss).

Encoding: settings that change while the stream runs. PyAV opens libopus once with fixed
options; :class:`LibopusEncoder` keeps the encoder and adjusts the expected packet loss from the
peer's RTCP receiver reports (:meth:`LibopusEncoder.set_packet_loss`), as libwebrtc does. That
is what makes in-band FEC affordable: FEC data only exists in SILK coding, which costs about
three times what CELT costs, and libopus switches to SILK with FEC only once the expected loss
passes a threshold (5% with the "audio" application). On a clean path the stream stays CELT.

The library is the one PyAV's wheel bundles (``av.libs/libopus-*.so*``) or the system's
``libopus``; :func:`load_libopus` returns None when neither loads, and
:func:`pywebrtc.media.codecs.create_decoder` then falls back to PyAV's decoder with its
fade-out concealment. Decoding goes straight into one reusable ``int16`` buffer: no codec
context, packet or frame objects per packet besides the output ``av.AudioFrame``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import logging
import os

import av

from .codec import AudioCodec, EncodedPacket
from .frames import FrameConverter, pcm_frame

__all__ = ["LibopusDecoder", "LibopusEncoder", "load_libopus", "opus_mode"]

log = logging.getLogger(__name__)

SAMPLE_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms: the size concealment and FEC reconstruct
_MAX_SAMPLES = 5760  # 120 ms, the longest Opus packet (RFC 6716 §3.2.5)

_lib: ctypes.CDLL | None = None
_tried = False


def _candidates() -> list[str]:
    paths: list[str] = []
    av_dir = os.path.dirname(os.path.dirname(os.path.abspath(av.__file__)))
    paths.extend(sorted(glob.glob(os.path.join(av_dir, "av.libs", "libopus*.so*"))))
    found = ctypes.util.find_library("opus")
    if found:
        paths.append(found)
    return paths


def load_libopus() -> ctypes.CDLL | None:
    """libopus with the encoder and decoder functions typed, or None."""
    global _lib, _tried
    if _tried:
        return _lib
    _tried = True
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
            lib.opus_decoder_create.restype = ctypes.c_void_p
            lib.opus_decoder_create.argtypes = [
                ctypes.c_int32, ctypes.c_int, ctypes.POINTER(ctypes.c_int),
            ]  # fmt: skip
            lib.opus_decode.restype = ctypes.c_int
            lib.opus_decode.argtypes = [
                ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32,
                ctypes.POINTER(ctypes.c_int16), ctypes.c_int, ctypes.c_int,
            ]  # fmt: skip
            lib.opus_decoder_destroy.restype = None
            lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
            lib.opus_encoder_create.restype = ctypes.c_void_p
            lib.opus_encoder_create.argtypes = [
                ctypes.c_int32, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int),
            ]  # fmt: skip
            lib.opus_encode.restype = ctypes.c_int32
            lib.opus_encode.argtypes = [
                ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int32,
            ]  # fmt: skip
            lib.opus_encoder_destroy.restype = None
            lib.opus_encoder_destroy.argtypes = [ctypes.c_void_p]
            # opus_encoder_ctl is variadic: called with explicit c_int arguments, no argtypes.
            lib.opus_encoder_ctl.restype = ctypes.c_int
        except (OSError, AttributeError):
            continue
        _lib = lib
        return lib
    log.info("libopus not loadable: Opus decoding uses PyAV, without PLC/FEC")
    return None


class LibopusDecoder:
    """Opus decoder with libopus PLC and FEC. Raises :class:`RuntimeError` when libopus is
    not available (use :func:`load_libopus` to check)."""

    def __init__(self, codec: AudioCodec, *, channels: int = 1) -> None:
        lib = load_libopus()
        if lib is None:
            raise RuntimeError("libopus is not available")
        if channels not in (1, 2):
            raise ValueError("Opus decodes to 1 or 2 channels")
        self.codec = codec
        self.channels = channels
        self._lib = lib
        error = ctypes.c_int(0)
        handle = lib.opus_decoder_create(SAMPLE_RATE, channels, ctypes.byref(error))
        if error.value != 0 or not handle:
            raise RuntimeError(f"opus_decoder_create failed ({error.value})")
        self._handle: int | None = handle
        self._pcm = (ctypes.c_int16 * (_MAX_SAMPLES * channels))()
        self._decode = lib.opus_decode
        self.decode_errors = 0
        self.fec_recovered = 0
        self.plc_frames = 0

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle:
            self._lib.opus_decoder_destroy(handle)
            self._handle = None

    def _frame(self, samples: int, timestamp: int) -> av.AudioFrame:
        size = samples * 2 * self.channels
        return pcm_frame(ctypes.string_at(self._pcm, size), SAMPLE_RATE, self.channels, timestamp)

    def decode(self, payload: bytes, timestamp: int) -> av.AudioFrame | None:
        if not payload:
            return None
        n = self._decode(self._handle, payload, len(payload), self._pcm, _MAX_SAMPLES, 0)
        if n <= 0:
            self.decode_errors += 1
            return None
        return self._frame(n, timestamp)

    def conceal(self, timestamp: int, next_payload: bytes | None) -> av.AudioFrame | None:
        """Audio for a lost 20 ms packet: the FEC copy in ``next_payload`` when it has one,
        else libopus concealment."""
        if next_payload:
            n = self._decode(
                self._handle, next_payload, len(next_payload), self._pcm, FRAME_SAMPLES, 1
            )
            if n > 0:
                self.fec_recovered += 1
                return self._frame(n, timestamp)
        n = self._decode(self._handle, None, 0, self._pcm, FRAME_SAMPLES, 0)
        if n <= 0:
            self.decode_errors += 1
            return None
        self.plc_frames += 1
        return self._frame(n, timestamp)


# opus_defines.h
_APPLICATIONS = {"voip": 2048, "audio": 2049, "lowdelay": 2051}
_SET_BITRATE = 4002
_SET_COMPLEXITY = 4010
_SET_INBAND_FEC = 4012
_SET_PACKET_LOSS_PERC = 4014
_SET_DTX = 4016
_SET_SIGNAL = 4024
_SIGNAL_VOICE = 3001
_MAX_PACKET = 1500
# Expected-loss steps handed to libopus, with hysteresis (a step is left only when the
# smoothed loss falls well below it), so the coding mode does not flap with every report.
_LOSS_STEPS = (0, 2, 5, 8, 10, 15, 20, 30)


def opus_mode(payload: bytes) -> str:
    """"SILK", "hybrid" or "CELT": the coding mode of an Opus packet (RFC 6716 §3.1 TOC)."""
    if not payload:
        raise ValueError("empty Opus packet")
    config = payload[0] >> 3
    return "SILK" if config < 12 else "hybrid" if config < 16 else "CELT"


class LibopusEncoder:
    """Opus encoder (20 ms frames, 48 kHz) whose expected packet loss follows the peer's
    reports. Raises :class:`RuntimeError` when libopus is not available.

    ``fec``/``dtx`` None: as the peer's fmtp asks (``useinbandfec``, ``usedtx``). With DTX a
    silent frame yields no packet (libopus marks it with a packet of at most 2 bytes; like
    libwebrtc we do not send those), so the RTP timestamp jumps over the silence.
    ``application``: "audio" (default: CELT on a clean path, SILK with FEC under loss),
    "voip" (SILK or hybrid coding for speech at these rates, about 3x the CPU), "lowdelay"
    (CELT only, never FEC).
    """

    def __init__(
        self,
        codec: AudioCodec,
        *,
        bitrate: int = 32000,
        channels: int = 0,
        fec: bool | None = None,
        dtx: bool | None = None,
        complexity: int = 5,
        application: str = "audio",
    ) -> None:
        lib = load_libopus()
        if lib is None:
            raise RuntimeError("libopus is not available")
        if not 0 <= complexity <= 10:
            raise ValueError("Opus complexity is 0-10")
        if application not in _APPLICATIONS:
            raise ValueError("Opus application is voip, audio or lowdelay")
        self.codec = codec
        self.channels = channels or (2 if codec.flag("stereo") else 1)
        if self.channels not in (1, 2):
            raise ValueError("Opus encodes 1 or 2 channels")
        self.bitrate = self._capped(bitrate)
        self.fec = codec.flag("useinbandfec") if fec is None else fec
        self.dtx = codec.flag("usedtx") if dtx is None else dtx
        self.complexity = complexity
        self.application = application
        self._lib = lib
        error = ctypes.c_int(0)
        handle = lib.opus_encoder_create(
            SAMPLE_RATE, self.channels, _APPLICATIONS[application], ctypes.byref(error)
        )
        if error.value != 0 or not handle:
            raise RuntimeError(f"opus_encoder_create failed ({error.value})")
        self._handle: int | None = handle
        self._ctl(_SET_BITRATE, self.bitrate)
        self._ctl(_SET_COMPLEXITY, complexity)
        self._ctl(_SET_INBAND_FEC, 1 if self.fec else 0)
        self._ctl(_SET_DTX, 1 if self.dtx else 0)
        if application == "voip":
            self._ctl(_SET_SIGNAL, _SIGNAL_VOICE)
        self.packet_loss = 0  # percent, as last handed to libopus
        self._smoothed_loss = 0.0
        self._out = ctypes.create_string_buffer(_MAX_PACKET)
        self._encode = lib.opus_encode
        self._frame_bytes = FRAME_SAMPLES * 2 * self.channels
        self._layout = "stereo" if self.channels == 2 else "mono"
        self._converter: FrameConverter | None = None
        self._media_time = 0
        self.dtx_frames = 0
        self.encode_errors = 0

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle:
            self._lib.opus_encoder_destroy(handle)
            self._handle = None

    def _ctl(self, request: int, value: int) -> None:
        result = self._lib.opus_encoder_ctl(
            ctypes.c_void_p(self._handle), ctypes.c_int(request), ctypes.c_int(value)
        )
        if result != 0:
            raise RuntimeError(f"opus_encoder_ctl({request}, {value}) failed ({result})")

    def _capped(self, bitrate: int) -> int:
        """``bitrate`` within 6000-510000 bit/s and the peer's maxaveragebitrate."""
        cap = self.codec.parameters.get("maxaveragebitrate")
        if cap is not None and cap.strip().isdigit():
            bitrate = min(bitrate, int(cap))
        return max(6000, min(bitrate, 510000))

    def set_bitrate(self, bitrate: int) -> None:
        """Encode at ``bitrate`` from the next frame on (capped as at creation): what the
        transport's bandwidth estimate leaves for this stream."""
        capped = self._capped(bitrate)
        if capped != self.bitrate:
            self._ctl(_SET_BITRATE, capped)
            self.bitrate = capped

    def set_packet_loss(self, fraction: float) -> None:
        """Feed one loss report (0.0-1.0, the RTCP fraction lost for our stream). Rises at
        once, decays by half per report, and moves libopus's expected loss between a few
        steps with hysteresis."""
        fraction = min(max(fraction, 0.0), 1.0) * 100
        smoothed = self._smoothed_loss
        smoothed = fraction if fraction > smoothed else (smoothed + fraction) / 2
        self._smoothed_loss = smoothed
        step = self.packet_loss
        up = max((s for s in _LOSS_STEPS if smoothed >= s), default=0)
        if up > step:
            step = up
        else:
            while step > 0 and smoothed < step * 0.6:
                step = max(s for s in _LOSS_STEPS if s < step)
        if step != self.packet_loss:
            self.packet_loss = step
            self._ctl(_SET_PACKET_LOSS_PERC, step)

    def encode(self, frame: av.AudioFrame) -> list[EncodedPacket]:
        out: list[EncodedPacket] = []
        if self._converter is None and (
            frame.samples == FRAME_SAMPLES
            and frame.sample_rate == SAMPLE_RATE
            and frame.format.name == "s16"
            and frame.layout.name == self._layout
        ):
            pcms = [bytes(frame.planes[0])[: self._frame_bytes]]
        else:
            if self._converter is None:
                self._converter = FrameConverter(SAMPLE_RATE, self.channels, FRAME_SAMPLES)
            pcms = self._converter.convert(frame)
        for pcm in pcms:
            n = self._encode(self._handle, pcm, FRAME_SAMPLES, self._out, _MAX_PACKET)
            media_time = self._media_time
            self._media_time += FRAME_SAMPLES
            if n < 0:
                self.encode_errors += 1
            elif n <= 2 and self.dtx:
                self.dtx_frames += 1  # silence under DTX: nothing to send
            else:
                out.append(EncodedPacket(ctypes.string_at(self._out, n), media_time, FRAME_SAMPLES))
        return out
