"""Bounds-checked reading and writing of TLS presentation-language vectors (RFC 5246 §4)."""

from __future__ import annotations

import struct

from pywebrtc.dtls.errors import DecodeError

_U16 = struct.Struct("!H")


class Reader:
    """Reads big-endian integers and length-prefixed vectors; a short read is a DecodeError.

    The methods inline their bounds checks: handshake parsing is on the per-connection path.
    """

    __slots__ = ("_data", "_len", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._len = len(data)
        self._pos = 0

    def _short(self, n: int) -> DecodeError:
        return DecodeError(f"truncated: need {n} bytes at offset {self._pos}, have {self._len}")

    def u8(self) -> int:
        pos = self._pos
        if pos >= self._len:
            raise self._short(1)
        self._pos = pos + 1
        return self._data[pos]

    def u16(self) -> int:
        pos = self._pos
        if pos + 2 > self._len:
            raise self._short(2)
        self._pos = pos + 2
        data = self._data
        return (data[pos] << 8) | data[pos + 1]

    def u24(self) -> int:
        pos = self._pos
        if pos + 3 > self._len:
            raise self._short(3)
        self._pos = pos + 3
        return int.from_bytes(self._data[pos : pos + 3], "big")

    def take(self, n: int) -> bytes:
        pos = self._pos
        end = pos + n
        if end > self._len:
            raise self._short(n)
        self._pos = end
        return self._data[pos:end]

    def vec8(self) -> bytes:
        pos = self._pos
        if pos >= self._len:
            raise self._short(1)
        end = pos + 1 + self._data[pos]
        if end > self._len:
            raise self._short(end - pos)
        self._pos = end
        return self._data[pos + 1 : end]

    def vec16(self) -> bytes:
        pos = self._pos
        if pos + 2 > self._len:
            raise self._short(2)
        data = self._data
        end = pos + 2 + ((data[pos] << 8) | data[pos + 1])
        if end > self._len:
            raise self._short(end - pos)
        self._pos = end
        return data[pos + 2 : end]

    def vec24(self) -> bytes:
        return self.take(self.u24())

    def rest(self) -> bytes:
        data = self._data[self._pos :]
        self._pos = self._len
        return data

    @property
    def remaining(self) -> int:
        return self._len - self._pos

    def end(self) -> None:
        """Trailing bytes after a complete structure are a decode error (RFC 5246 §7.4)."""
        if self._pos != self._len:
            raise DecodeError(f"{self._len - self._pos} trailing bytes")


def vec8(data: bytes) -> bytes:
    if len(data) > 0xFF:
        raise ValueError("vector too long for an 8-bit length")
    return bytes((len(data),)) + data


def vec16(data: bytes) -> bytes:
    if len(data) > 0xFFFF:
        raise ValueError("vector too long for a 16-bit length")
    return _U16.pack(len(data)) + data


def vec24(data: bytes) -> bytes:
    if len(data) > 0xFFFFFF:
        raise ValueError("vector too long for a 24-bit length")
    return len(data).to_bytes(3, "big") + data


def u16_list(values: tuple[int, ...]) -> bytes:
    return vec16(struct.pack(f"!{len(values)}H", *values))


def parse_u16_list(data: bytes) -> tuple[int, ...]:
    if len(data) % 2:
        raise DecodeError("odd length for a list of 16-bit values")
    # struct caches the compiled format per length: one call instead of one per value.
    return struct.unpack(f"!{len(data) >> 1}H", data)
