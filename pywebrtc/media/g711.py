"""G.711 μ-law (PCMU) and A-law (PCMA) companding (ITU-T G.711; RTP payload types 0 and 8,
RFC 3551 §4.5.14), in pure Python: ``audioop`` is gone from Python 3.13.

The tables are computed once at import from the segment definitions of G.711: 256 decoded
values per law, and a 65536-entry encode table indexed by the unsigned 16-bit sample, so a
20 ms frame (160 samples at 8 kHz) costs one table lookup per sample.
"""

from __future__ import annotations

from array import array

import av

from .codec import AudioCodec, EncodedPacket
from .frames import FrameConverter, pcm_frame, scale_pcm

__all__ = [
    "G711Decoder",
    "G711Encoder",
    "alaw_decode",
    "alaw_encode",
    "ulaw_decode",
    "ulaw_encode",
]

_BIAS = 0x84  # μ-law bias (G.711 Table 2a: 33 in 14-bit units, here scaled to 16 bits)
_CLIP = 32635


def _ulaw_encode_one(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample if sample < 0 else sample, _CLIP) + _BIAS
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not magnitude & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def _ulaw_decode_one(code: int) -> int:
    code = ~code & 0xFF
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return -magnitude if code & 0x80 else magnitude


def _alaw_encode_one(sample: int) -> int:
    sign = 0x80 if sample >= 0 else 0  # A-law sets the bit for positive values
    magnitude = min(-sample - 1 if sample < 0 else sample, 0x7FFF) >> 3  # 13-bit magnitude
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5  # 1..7
        code = (exponent << 4) | ((magnitude >> exponent) & 0x0F)
    return (sign | code) ^ 0x55  # even bits inverted (G.711 §A)


def _alaw_decode_one(code: int) -> int:
    code ^= 0x55
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    step = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    magnitude = step
    return magnitude if code & 0x80 else -magnitude


def _encode_table(encode_one: object) -> bytes:
    assert callable(encode_one)
    return bytes(encode_one(s - 0x10000 if s >= 0x8000 else s) for s in range(0x10000))


_ULAW_ENCODE = _encode_table(_ulaw_encode_one)
_ALAW_ENCODE = _encode_table(_alaw_encode_one)
_ULAW_DECODE = array("h", (_ulaw_decode_one(c) for c in range(256)))
_ALAW_DECODE = array("h", (_alaw_decode_one(c) for c in range(256)))


def _encode(pcm: bytes, table: bytes) -> bytes:
    if len(pcm) % 2:
        raise ValueError("16-bit PCM must have an even number of bytes")
    samples = memoryview(pcm).cast("H")
    return bytes(map(table.__getitem__, samples))


def _decode(payload: bytes, table: array[int]) -> bytes:
    return array("h", map(table.__getitem__, payload)).tobytes()


def ulaw_encode(pcm: bytes) -> bytes:
    """μ-law bytes of native-endian signed 16-bit PCM."""
    return _encode(pcm, _ULAW_ENCODE)


def ulaw_decode(payload: bytes) -> bytes:
    """Native-endian signed 16-bit PCM of μ-law bytes."""
    return _decode(payload, _ULAW_DECODE)


def alaw_encode(pcm: bytes) -> bytes:
    """A-law bytes of native-endian signed 16-bit PCM."""
    return _encode(pcm, _ALAW_ENCODE)


def alaw_decode(payload: bytes) -> bytes:
    """Native-endian signed 16-bit PCM of A-law bytes."""
    return _decode(payload, _ALAW_DECODE)


class G711Encoder:
    """PCMU/PCMA encoder: any frame in, 20 ms packets (160 samples at 8 kHz) out."""

    def __init__(self, codec: AudioCodec) -> None:
        self.codec = codec
        self._encode = ulaw_encode if codec.key == "pcmu" else alaw_encode
        self._converter = FrameConverter(8000, 1, 160)
        self._media_time = 0

    def encode(self, frame: av.AudioFrame) -> list[EncodedPacket]:
        out: list[EncodedPacket] = []
        for pcm in self._converter.convert(frame):
            out.append(EncodedPacket(self._encode(pcm), self._media_time, 160))
            self._media_time += 160
        return out


class G711Decoder:
    """PCMU/PCMA decoder: 8 kHz mono s16 frames; concealment repeats the last frame, fading."""

    def __init__(self, codec: AudioCodec) -> None:
        self.codec = codec
        self._decode = ulaw_decode if codec.key == "pcmu" else alaw_decode
        self._last = b""
        self._losses = 0

    def decode(self, payload: bytes, timestamp: int) -> av.AudioFrame | None:
        if not payload:
            return None
        pcm = self._decode(payload)
        self._last = pcm
        self._losses = 0
        return pcm_frame(pcm, 8000, 1, timestamp)

    def conceal(self, timestamp: int, next_payload: bytes | None) -> av.AudioFrame | None:
        self._losses += 1
        pcm = scale_pcm(self._last or bytes(320), 0.5**self._losses if self._losses < 4 else 0)
        return pcm_frame(pcm, 8000, 1, timestamp)
