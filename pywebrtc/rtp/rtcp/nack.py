"""Generic NACK (RFC 4585 §6.2.1): transport-layer feedback, FMT 1.

Each FCI entry is a packet ID (PID) and a bitmask of the 16 following lost packets (BLP).
:func:`nack_pairs` and :func:`nack_lost` convert between lost sequence numbers and entries,
modulo 2**16.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self

from .._fast import fast_constructor
from ..errors import RtcpParseError
from .common import RTPFB, U32X2, feedback_ssrcs, pack_header, split_single

__all__ = ["NACK_FMT", "Nack", "nack_lost", "nack_pairs"]

NACK_FMT = 1  # RFC 4585 §6.2.1
_PAIR = struct.Struct("!HH")


def nack_pairs(lost: Iterable[int]) -> list[tuple[int, int]]:
    """Pack lost sequence numbers (in sending order, wrapping at 2**16) into (PID, BLP)."""
    pairs: list[tuple[int, int]] = []
    pid = -1
    blp = 0
    for seq in lost:
        seq &= 0xFFFF
        if pid >= 0:
            distance = (seq - pid - 1) & 0xFFFF
            if distance < 16:
                blp |= 1 << distance
                continue
            if seq == pid:
                continue
            pairs.append((pid, blp))
        pid = seq
        blp = 0
    if pid >= 0:
        pairs.append((pid, blp))
    return pairs


def nack_lost(pairs: Iterable[tuple[int, int]]) -> list[int]:
    """The sequence numbers that (PID, BLP) entries report lost, in order, without repeats."""
    lost: list[int] = []
    seen: set[int] = set()
    for pid, blp in pairs:
        for seq in [pid] + [(pid + 1 + i) & 0xFFFF for i in range(16) if blp >> i & 1]:
            if seq not in seen:
                seen.add(seq)
                lost.append(seq)
    return lost


@dataclass(frozen=True, slots=True)
class Nack:
    """Generic NACK from ``sender_ssrc`` about ``media_ssrc``; ``pairs`` are (PID, BLP)."""

    sender_ssrc: int
    media_ssrc: int
    pairs: tuple[tuple[int, int], ...] = ()

    @classmethod
    def from_lost(cls, sender_ssrc: int, media_ssrc: int, lost: Iterable[int]) -> Self:
        return cls(sender_ssrc, media_ssrc, tuple(nack_pairs(lost)))

    @property
    def lost(self) -> list[int]:
        return nack_lost(self.pairs)

    @classmethod
    def parse(cls, data: bytes) -> Self:
        _, start, end = split_single(data, RTPFB, NACK_FMT)
        return cls._parse_body(data, start, end, NACK_FMT)

    @classmethod
    def _parse_body(cls, data: bytes, start: int, end: int, count: int) -> Self:
        sender, media = feedback_ssrcs(data, start, end)
        if (end - start) % 4:
            raise RtcpParseError("NACK FCI is not a multiple of 4 bytes")
        pairs = tuple(_PAIR.iter_unpack(data[start + 8 : end]))
        return _make(cls, sender, media, pairs)

    def __bytes__(self) -> bytes:
        try:
            body = U32X2.pack(self.sender_ssrc, self.media_ssrc) + b"".join(
                _PAIR.pack(pid, blp) for pid, blp in self.pairs
            )
        except struct.error as exc:
            raise ValueError(f"NACK field out of range: {exc}") from exc
        return pack_header(NACK_FMT, RTPFB, len(body)) + body


_make = fast_constructor(Nack)
