"""An Opus decoder on libopus itself (ctypes), for what PyAV cannot do: real packet-loss
concealment and in-band FEC (RFC 6716 §4.4; libopus ``opus_decode`` with a NULL packet, and
with ``decode_fec=1`` on the packet after a loss).

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

from .codecs import AudioCodec
from .frames import pcm_frame

__all__ = ["LibopusDecoder", "load_libopus"]

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
    """libopus with the decoder functions typed, or None."""
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
