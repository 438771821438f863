"""Application-defined packet, APP (RFC 3550 §6.7): subtype, SSRC, 4-character name and
application data (a multiple of 32 bits), kept raw."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Self

from .._fast import fast_constructor
from ..errors import RtcpParseError
from .common import APP, MAX_COUNT, pack_header, split_single

__all__ = ["App"]

_APP_HEAD = struct.Struct("!I4s")


@dataclass(frozen=True, slots=True)
class App:
    """APP: ``subtype`` (5 bits), ``name`` (4 ASCII bytes) and ``data``."""

    subtype: int
    ssrc: int
    name: bytes
    data: bytes = b""

    @classmethod
    def parse(cls, data: bytes) -> Self:
        count, start, end = split_single(data, APP)
        return cls._parse_body(data, start, end, count)

    @classmethod
    def _parse_body(cls, data: bytes, start: int, end: int, count: int) -> Self:
        if end - start < 8:
            raise RtcpParseError("APP is shorter than its SSRC and name")
        if (end - start) % 4:
            raise RtcpParseError("APP data is not a multiple of 4 bytes")
        ssrc, name = _APP_HEAD.unpack_from(data, start)
        return _make(cls, count, ssrc, name, data[start + 8 : end])

    def __bytes__(self) -> bytes:
        if len(self.name) != 4:
            raise ValueError("APP name is 4 bytes")
        if not 0 <= self.subtype <= MAX_COUNT:
            raise ValueError("APP subtype must be 0-31")
        try:
            head = _APP_HEAD.pack(self.ssrc, self.name)
        except struct.error as exc:
            raise ValueError(f"APP SSRC out of range: {exc}") from exc
        body = head + self.data
        return pack_header(self.subtype, APP, len(body)) + body


_make = fast_constructor(App)
