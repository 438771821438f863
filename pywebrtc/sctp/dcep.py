"""The Data Channel Establishment Protocol (RFC 8832) and WebRTC PPIDs (RFC 8831 §8).

DCEP messages travel on the data channel's own stream with PPID 50, ordered and reliable.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Self

from pywebrtc.sctp.errors import DcepError


class Ppid(enum.IntEnum):
    """SCTP payload protocol identifiers used by WebRTC (RFC 8831 §8, RFC 8832 §8.1)."""

    DCEP = 50
    STRING = 51
    BINARY_PARTIAL = 52  # deprecated
    BINARY = 53
    STRING_PARTIAL = 54  # deprecated
    STRING_EMPTY = 56
    BINARY_EMPTY = 57


class ChannelType(enum.IntEnum):
    """RFC 8832 §5.1 channel types; 0x80 marks unordered."""

    RELIABLE = 0x00
    RELIABLE_UNORDERED = 0x80
    PARTIAL_RELIABLE_REXMIT = 0x01
    PARTIAL_RELIABLE_REXMIT_UNORDERED = 0x81
    PARTIAL_RELIABLE_TIMED = 0x02
    PARTIAL_RELIABLE_TIMED_UNORDERED = 0x82

    @property
    def ordered(self) -> bool:
        return not self.value & 0x80


MSG_OPEN = 0x03
MSG_ACK = 0x02
_OPEN = struct.Struct("!BBHIHH")


@dataclass(frozen=True, slots=True)
class DataChannelOpen:
    """DATA_CHANNEL_OPEN (RFC 8832 §5.1). ``reliability`` is retransmissions or milliseconds."""

    channel_type: ChannelType
    priority: int
    reliability: int
    label: str
    protocol: str

    @classmethod
    def parse(cls, data: bytes) -> Self:
        if len(data) < _OPEN.size or data[0] != MSG_OPEN:
            raise DcepError("not a DATA_CHANNEL_OPEN message")
        _, ctype, priority, reliability, label_len, proto_len = _OPEN.unpack_from(data)
        if len(data) != _OPEN.size + label_len + proto_len:
            raise DcepError("DATA_CHANNEL_OPEN lengths do not match the message")
        try:
            channel_type = ChannelType(ctype)
        except ValueError:
            raise DcepError(f"unknown DCEP channel type 0x{ctype:02x}") from None
        try:
            label = data[_OPEN.size : _OPEN.size + label_len].decode()
            protocol = data[_OPEN.size + label_len :].decode()
        except UnicodeDecodeError:
            raise DcepError("DCEP label or protocol is not UTF-8") from None
        return cls(channel_type, priority, reliability, label, protocol)

    def __bytes__(self) -> bytes:
        label, protocol = self.label.encode(), self.protocol.encode()
        return (
            _OPEN.pack(
                MSG_OPEN,
                self.channel_type,
                self.priority,
                self.reliability,
                len(label),
                len(protocol),
            )
            + label
            + protocol
        )


@dataclass(frozen=True, slots=True)
class DataChannelAck:
    """DATA_CHANNEL_ACK (RFC 8832 §5.2)."""

    @classmethod
    def parse(cls, data: bytes) -> Self:
        if data != bytes([MSG_ACK]):
            raise DcepError("malformed DATA_CHANNEL_ACK")
        return cls()

    def __bytes__(self) -> bytes:
        return bytes([MSG_ACK])


def parse_dcep(data: bytes) -> DataChannelOpen | DataChannelAck:
    if not data:
        raise DcepError("empty DCEP message")
    if data[0] == MSG_OPEN:
        return DataChannelOpen.parse(data)
    if data[0] == MSG_ACK:
        return DataChannelAck.parse(data)
    raise DcepError(f"unknown DCEP message type 0x{data[0]:02x}")
