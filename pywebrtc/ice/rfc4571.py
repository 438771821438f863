"""RFC 4571 framing: datagrams (STUN, DTLS, SRTP, ...) over a TCP byte stream.

ICE-TCP (RFC 6544 §3) carries every packet of a TCP candidate pair as an RFC 4571 §2 frame: a
16-bit length in network order, then that many bytes. :class:`Deframer` is the sans-IO reading
side: feed it whatever ``recv`` returned and it hands back the whole frames it completed. A
frame longer than ``max_length`` is skipped (its body is read and thrown away, so the stream
stays in sync) and counted; zero-length frames carry nothing and are skipped too (RFC 4571 §2
allows them, ICE has no use for them). Bytes left over when the stream ends are a truncated
frame (:meth:`Deframer.close` counts it).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MAX_FRAME = 0xFFFF  # the 16-bit length field's limit (RFC 4571 §2)
_LENGTH = struct.Struct("!H")


class FramingError(ValueError):
    """A payload that does not fit in one RFC 4571 frame."""


def frame(payload: bytes) -> bytes:
    """``payload`` with its RFC 4571 §2 length prefix."""
    if len(payload) > MAX_FRAME:
        raise FramingError(f"{len(payload)} bytes do not fit in an RFC 4571 frame")
    return _LENGTH.pack(len(payload)) + payload


@dataclass(slots=True)
class DeframerCounters:
    frames: int = 0
    dropped_oversized: int = 0
    dropped_empty: int = 0
    dropped_truncated: int = 0  # a frame cut off by the end of the stream


class Deframer:
    """Splits a TCP byte stream into RFC 4571 frames (sans-IO)."""

    __slots__ = ("_buffer", "_skip", "counters", "max_length")

    def __init__(self, max_length: int = MAX_FRAME) -> None:
        if not 0 < max_length <= MAX_FRAME:
            raise FramingError(f"max_length must be 1..{MAX_FRAME}")
        self.max_length = max_length
        self.counters = DeframerCounters()
        self._buffer = bytearray()
        self._skip = 0  # bytes of an oversized frame still to throw away

    @property
    def pending(self) -> int:
        """Bytes held (or still to be skipped) towards an incomplete frame."""
        return len(self._buffer) + self._skip

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """The frames ``data`` completes, in order."""
        if self._skip:
            taken = min(self._skip, len(data))
            self._skip -= taken
            data = memoryview(data)[taken:]
        buffer = self._buffer
        buffer += data
        frames: list[bytes] = []
        offset = 0
        counters = self.counters
        while len(buffer) - offset >= 2:
            (length,) = _LENGTH.unpack_from(buffer, offset)
            if length > self.max_length:
                counters.dropped_oversized += 1
                available = len(buffer) - offset - 2
                if available >= length:
                    offset += 2 + length
                    continue
                self._skip = length - available
                offset = len(buffer)
                break
            if len(buffer) - offset - 2 < length:
                break
            start = offset + 2
            offset = start + length
            if length == 0:
                counters.dropped_empty += 1
                continue
            frames.append(bytes(buffer[start:offset]))
            counters.frames += 1
        del buffer[:offset]
        return frames

    def close(self) -> None:
        """The stream ended: an incomplete frame left over is counted as truncated."""
        if self._buffer or self._skip:
            self.counters.dropped_truncated += 1
        self._buffer.clear()
        self._skip = 0
