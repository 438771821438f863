"""Alert protocol (RFC 5246 §7.2; DTLS carries it unchanged, RFC 6347 §4.1.2.7)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Self

from pywebrtc.dtls.errors import DecodeError


class AlertLevel(IntEnum):
    WARNING = 1
    FATAL = 2


class AlertDescription(IntEnum):
    CLOSE_NOTIFY = 0
    UNEXPECTED_MESSAGE = 10
    BAD_RECORD_MAC = 20
    RECORD_OVERFLOW = 22
    HANDSHAKE_FAILURE = 40
    BAD_CERTIFICATE = 42
    UNSUPPORTED_CERTIFICATE = 43
    CERTIFICATE_REVOKED = 44
    CERTIFICATE_EXPIRED = 45
    CERTIFICATE_UNKNOWN = 46
    ILLEGAL_PARAMETER = 47
    UNKNOWN_CA = 48
    ACCESS_DENIED = 49
    DECODE_ERROR = 50
    DECRYPT_ERROR = 51
    PROTOCOL_VERSION = 70
    INSUFFICIENT_SECURITY = 71
    INTERNAL_ERROR = 80
    USER_CANCELED = 90
    NO_RENEGOTIATION = 100
    UNSUPPORTED_EXTENSION = 110


def describe(description: int) -> str:
    try:
        return AlertDescription(description).name.lower()
    except ValueError:
        return f"alert({description})"


@dataclass(frozen=True, slots=True)
class Alert:
    level: int
    description: int

    @classmethod
    def parse(cls, data: bytes) -> Self:
        if len(data) != 2:
            raise DecodeError(f"alert of {len(data)} bytes")
        return cls(data[0], data[1])

    def __bytes__(self) -> bytes:
        return bytes((self.level, self.description))
