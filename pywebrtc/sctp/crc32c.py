"""CRC32c (Castagnoli), the SCTP checksum (RFC 9260 §6.8 and Appendix B).

The pure-Python path processes four bytes per step with two 65536-entry tables (the
"slicing" idea with 16-bit indexes): about 4x fewer interpreter steps than the classic
byte-at-a-time table. The ``google_crc32c`` C extension (a dependency in pyproject.toml) is
used when it imports with its C implementation; the pure path is the fallback for a platform
without a wheel. ``PURE_PYTHON`` says which path is active.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

_POLY = 0x82F63B78  # reflected Castagnoli polynomial, RFC 9260 Appendix B


def _byte_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        table.append(c)
    return table


_T8 = _byte_table()
_LO: list[int] | None = None
_HI: list[int] | None = None


def _wide_tables() -> tuple[list[int], list[int]]:
    global _LO, _HI
    if _LO is None or _HI is None:
        t8 = _T8
        # Tables for the CRC of a 32-bit word's low and high 16 bits: four byte steps folded.
        t1 = [(t8[n] >> 8) ^ t8[t8[n] & 0xFF] for n in range(256)]  # byte then one zero byte
        t2 = [(t1[n] >> 8) ^ t8[t1[n] & 0xFF] for n in range(256)]
        t3 = [(t2[n] >> 8) ^ t8[t2[n] & 0xFF] for n in range(256)]
        _LO = [t3[n & 0xFF] ^ t2[n >> 8] for n in range(65536)]
        _HI = [t1[n & 0xFF] ^ t8[n >> 8] for n in range(65536)]
    return _LO, _HI


def crc32c_pure(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC32c of ``data`` in pure Python (continuing from ``crc``)."""
    lo, hi = _wide_tables()
    t8 = _T8
    crc ^= 0xFFFFFFFF
    n = len(data)
    words = n >> 2
    if words:
        for w in struct.unpack_from(f"<{words}I", data):
            crc ^= w
            crc = lo[crc & 0xFFFF] ^ hi[crc >> 16]
    for b in bytes(data[words << 2 :]):
        crc = t8[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _select() -> tuple[Callable[[bytes], int], bool]:
    try:
        import google_crc32c  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:  # pragma: no cover - depends on the environment
        return crc32c_pure, True
    if getattr(google_crc32c, "implementation", "") != "c":  # pragma: no cover
        return crc32c_pure, True
    fast: Callable[[bytes], int] = google_crc32c.value
    return fast, False


crc32c, PURE_PYTHON = _select()

__all__ = ["PURE_PYTHON", "crc32c", "crc32c_pure"]
