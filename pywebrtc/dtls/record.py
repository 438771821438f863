"""The DTLS record layer framing (RFC 6347 §4.1): 13-byte header with epoch and 48-bit sequence.

Several records may share one datagram; ``parse_datagram`` splits them. Protection of the
fragment lives in ``cipher.py``; replay detection in ``replay.py``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Self

from pywebrtc.dtls.errors import DecodeError

DTLS_1_0 = 0xFEFF
DTLS_1_2 = 0xFEFD
HEADER_SIZE = 13
# RFC 6347 §4.1 / RFC 5246 §6.2.3: a TLSCiphertext fragment is at most 2^14 + 2048 bytes.
MAX_FRAGMENT = 2**14 + 2048

_HEADER = struct.Struct("!BHHHIH")  # type, version, epoch, seq(high 16 bits), seq(low 32), length


class ContentType(IntEnum):
    CHANGE_CIPHER_SPEC = 20
    ALERT = 21
    HANDSHAKE = 22
    APPLICATION_DATA = 23


@dataclass(frozen=True, slots=True)
class Record:
    content_type: int
    version: int
    epoch: int
    sequence_number: int
    fragment: bytes

    @classmethod
    def parse(cls, data: bytes) -> Self:
        record, end = cls.parse_from(data, 0)
        if end != len(data):
            raise DecodeError("trailing bytes after record")
        return record

    @classmethod
    def parse_from(cls, data: bytes, offset: int) -> tuple[Self, int]:
        if len(data) - offset < HEADER_SIZE:
            raise DecodeError("truncated record header")
        ctype, version, epoch, seq_hi, seq_lo, length = _HEADER.unpack_from(data, offset)
        if version >> 8 != 0xFE:
            raise DecodeError(f"not a DTLS record version: {version:#06x}")
        if length > MAX_FRAGMENT:
            raise DecodeError(f"record length {length} too large")
        start = offset + HEADER_SIZE
        end = start + length
        if end > len(data):
            raise DecodeError("truncated record fragment")
        return cls(ctype, version, epoch, (seq_hi << 32) | seq_lo, data[start:end]), end

    def __bytes__(self) -> bytes:
        return (
            header(
                self.content_type,
                self.version,
                self.epoch,
                self.sequence_number,
                len(self.fragment),
            )
            + self.fragment
        )


def header(content_type: int, version: int, epoch: int, sequence_number: int, length: int) -> bytes:
    return _HEADER.pack(
        content_type, version, epoch, sequence_number >> 32, sequence_number & 0xFFFFFFFF, length
    )


def parse_datagram(data: bytes) -> tuple[list[Record], bool]:
    """Split a datagram into records; the flag says whether a malformed tail was dropped."""
    records: list[Record] = []
    offset = 0
    while offset < len(data):
        try:
            record, offset = Record.parse_from(data, offset)
        except DecodeError:
            return records, True
        records.append(record)
    return records, False
