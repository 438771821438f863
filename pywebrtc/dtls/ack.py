"""The DTLS 1.3 ACK message (RFC 9147 §7): which records of the peer's flight arrived.

An ACK is its own content type (26) and lists record numbers, each a 64-bit epoch and a 64-bit
sequence number, in increasing order. Receivers stop retransmitting what it lists (§7.1).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Self

from pywebrtc.dtls.codec import Reader, vec16
from pywebrtc.dtls.errors import DecodeError

CONTENT_TYPE_ACK = 26
_RECORD_NUMBER = struct.Struct("!QQ")
MAX_RECORD_NUMBERS = 4096  # 2^16 - 1 bytes of 16-byte entries


@dataclass(frozen=True, slots=True)
class Ack:
    records: tuple[tuple[int, int], ...]  # (epoch, sequence number)

    @classmethod
    def parse(cls, data: bytes) -> Self:
        reader = Reader(data)
        body = reader.vec16()
        reader.end()
        if len(body) % _RECORD_NUMBER.size:
            raise DecodeError("ACK length is not a whole number of record numbers")
        return cls(tuple(_RECORD_NUMBER.iter_unpack(body)))

    def __bytes__(self) -> bytes:
        return vec16(b"".join(_RECORD_NUMBER.pack(e, s) for e, s in sorted(self.records)))
