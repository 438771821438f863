"""Receiver estimated maximum bitrate, REMB (draft-alvestrand-rmcat-remb-03 §2.2).

An application layer feedback message (PSFB, FMT 15) with the unique identifier "REMB", the
bitrate as a 6-bit exponent and 18-bit mantissa (bps = mantissa * 2**exp) and the SSRCs it
applies to. :meth:`Remb.create` rounds a bitrate down to what the format carries;
``bytes()`` refuses one it cannot carry exactly, so that parse and serialize round-trip.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self

from .._fast import fast_constructor
from ..errors import RtcpParseError
from .common import PSFB, U32, NotThisType, pack_header, split_single

__all__ = ["AFB_FMT", "REMB_IDENTIFIER", "Remb", "remb_bitrate_round"]

AFB_FMT = 15  # RFC 4585 §6.4, application layer feedback
REMB_IDENTIFIER = b"REMB"
_MANTISSA_BITS = 18
_MAX_EXPONENT = 63
_HEAD = struct.Struct("!II4sI")
# Fixed fields and SSRC list in one unpack, by SSRC count.
_unpack_remb = [struct.Struct(f"!II4sI{n}I").unpack_from for n in range(256)]


def _split_bitrate(bitrate: int) -> tuple[int, int]:
    if bitrate < 0:
        raise ValueError("REMB bitrate must not be negative")
    exponent = max(0, bitrate.bit_length() - _MANTISSA_BITS)
    if exponent > _MAX_EXPONENT:
        raise ValueError("REMB bitrate is too large")
    return exponent, bitrate >> exponent


def remb_bitrate_round(bitrate: int) -> int:
    """The bitrate as REMB can carry it (rounded down to 18 significant bits)."""
    exponent, mantissa = _split_bitrate(bitrate)
    return mantissa << exponent


@dataclass(frozen=True, slots=True)
class Remb:
    """REMB from ``sender_ssrc``: ``bitrate`` in bits per second for ``ssrcs``."""

    sender_ssrc: int
    bitrate: int
    ssrcs: tuple[int, ...] = ()
    media_ssrc: int = 0

    @classmethod
    def create(cls, sender_ssrc: int, bitrate: int, ssrcs: Iterable[int]) -> Self:
        """A REMB with ``bitrate`` rounded to what the wire format carries."""
        return cls(sender_ssrc, remb_bitrate_round(bitrate), tuple(ssrcs))

    @classmethod
    def parse(cls, data: bytes) -> Self:
        _, start, end = split_single(data, PSFB, AFB_FMT)
        return cls._parse_body(data, start, end, AFB_FMT)

    @classmethod
    def _parse_body(cls, data: bytes, start: int, end: int, count: int) -> Self:
        if end - start < 16:
            raise NotThisType("application layer feedback too short for REMB")
        num_ssrcs = data[start + 12]
        if end - start != 16 + 4 * num_ssrcs:
            if data[start + 8 : start + 12] != REMB_IDENTIFIER:
                raise NotThisType("application layer feedback without the REMB identifier")
            raise RtcpParseError("REMB length does not match its SSRC count")
        values = _unpack_remb[num_ssrcs](data, start)
        if values[2] != REMB_IDENTIFIER:
            raise NotThisType("application layer feedback without the REMB identifier")
        word = values[3]  # num SSRC (8) | BR exp (6) | BR mantissa (18)
        bitrate = (word & 0x3FFFF) << ((word >> 18) & 0x3F)
        return _make(cls, values[0], bitrate, values[4:], values[1])

    def __bytes__(self) -> bytes:
        exponent, mantissa = _split_bitrate(self.bitrate)
        if mantissa << exponent != self.bitrate:
            raise ValueError("REMB bitrate is not representable; use Remb.create")
        if len(self.ssrcs) > 0xFF:
            raise ValueError("REMB carries at most 255 SSRCs")
        try:
            body = _HEAD.pack(
                self.sender_ssrc,
                self.media_ssrc,
                REMB_IDENTIFIER,
                (len(self.ssrcs) << 24) | (exponent << _MANTISSA_BITS) | mantissa,
            ) + b"".join(U32.pack(ssrc) for ssrc in self.ssrcs)
        except struct.error as exc:
            raise ValueError(f"REMB field out of range: {exc}") from exc
        return pack_header(AFB_FMT, PSFB, len(body)) + body


_make = fast_constructor(Remb)
