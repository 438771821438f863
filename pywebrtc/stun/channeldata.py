"""TURN ChannelData messages (RFC 8656 §12.4, §12.5).

A 4-byte header (channel number, length) and the application data. Channel numbers are
0x4000–0x4FFF (RFC 8656 §12); the first byte 0x40–0x4F is also how RFC 7983 tells ChannelData
from STUN, DTLS and RTP on one port. Over UDP the padding to a multiple of 4 is optional
(§12.5), so ``parse`` accepts 0–3 trailing bytes after the data; ``__bytes__`` sends none and
:meth:`ChannelData.encode` adds it for stream transports.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Self

from .errors import StunParseError

_pack = struct.Struct("!HH").pack
_unpack = struct.Struct("!HH").unpack_from

CHANNEL_MIN = 0x4000  # RFC 8656 §12
CHANNEL_MAX = 0x4FFF


@dataclass(frozen=True, slots=True)
class ChannelData:
    channel_number: int
    data: bytes

    def __post_init__(self) -> None:
        if not CHANNEL_MIN <= self.channel_number <= CHANNEL_MAX:
            raise ValueError(f"channel number out of range: {self.channel_number:#x}")
        if len(self.data) > 0xFFFF:
            raise ValueError("ChannelData payload longer than 65535 bytes")

    @classmethod
    def parse(cls, data: bytes) -> Self:
        if len(data) < 4:
            raise StunParseError("ChannelData shorter than its header")
        channel, length = _unpack(data)
        if not CHANNEL_MIN <= channel <= CHANNEL_MAX:
            raise StunParseError(f"not a ChannelData channel number: {channel:#x}")
        if not 0 <= len(data) - 4 - length <= 3:
            raise StunParseError("ChannelData length does not match the datagram")
        return cls(channel, bytes(data[4 : 4 + length]))

    def __bytes__(self) -> bytes:
        return _pack(self.channel_number, len(self.data)) + self.data

    def encode(self, *, pad: bool = False) -> bytes:
        """The message, padded to a multiple of 4 if ``pad`` (required over TCP/TLS)."""
        out = _pack(self.channel_number, len(self.data)) + self.data
        return out + b"\x00" * (-len(self.data) & 3) if pad else out
