"""Bounds-checked reading and writing of TLS presentation-language vectors (RFC 5246 §4)."""

from __future__ import annotations

import struct

from pywebrtc.dtls.errors import DecodeError

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")


class Reader:
    """Reads big-endian integers and length-prefixed vectors; a short read is a DecodeError."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def _need(self, n: int) -> int:
        pos = self._pos
        if pos + n > len(self._data):
            raise DecodeError(f"truncated: need {n} bytes at offset {pos}, have {len(self._data)}")
        self._pos = pos + n
        return pos

    def u8(self) -> int:
        return self._data[self._need(1)]

    def u16(self) -> int:
        value: int = _U16.unpack_from(self._data, self._need(2))[0]
        return value

    def u24(self) -> int:
        pos = self._need(3)
        return int.from_bytes(self._data[pos : pos + 3], "big")

    def u48(self) -> int:
        pos = self._need(6)
        return int.from_bytes(self._data[pos : pos + 6], "big")

    def u32(self) -> int:
        value: int = _U32.unpack_from(self._data, self._need(4))[0]
        return value

    def take(self, n: int) -> bytes:
        pos = self._need(n)
        return self._data[pos : pos + n]

    def vec8(self) -> bytes:
        return self.take(self.u8())

    def vec16(self) -> bytes:
        return self.take(self.u16())

    def vec24(self) -> bytes:
        return self.take(self.u24())

    def rest(self) -> bytes:
        data = self._data[self._pos :]
        self._pos = len(self._data)
        return data

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def end(self) -> None:
        """Trailing bytes after a complete structure are a decode error (RFC 5246 §7.4)."""
        if self._pos != len(self._data):
            raise DecodeError(f"{len(self._data) - self._pos} trailing bytes")


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
    return vec16(b"".join(_U16.pack(v) for v in values))


def parse_u16_list(data: bytes) -> tuple[int, ...]:
    if len(data) % 2:
        raise DecodeError("odd length for a list of 16-bit values")
    return tuple(v for (v,) in _U16.iter_unpack(data))
