"""RTP header extensions: the RFC 8285 element forms and the extensions WebRTC uses.

Implements:

* RFC 8285 §4.2 one-byte form (profile 0xBEDE): IDs 1-14, 1-16 byte values, padding bytes
  (ID 0) between elements, and the ID 15 rule (stop processing, keep what came before).
* RFC 8285 §4.3 two-byte form (profile 0x100 + 4 appbits): IDs 1-255, 0-255 byte values,
  padding bytes between elements.
* :func:`serialize_header_extensions` picks the form automatically (§4.1.2 / §6: the two-byte
  form is needed when an ID is above 14 or a value is empty or longer than 16 bytes).
* Value codecs with their URIs: sdes:mid (RFC 8843 §15.1), client-to-mixer audio level
  (RFC 6464 §3), abs-send-time (webrtc.org experiment, 6.18 fixed point seconds) and the
  transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2).

Left out: the extmap negotiation (``a=extmap``, in the SDP layer), RFC 6464 in the two-byte form
beyond its first value byte, and encrypted header extensions (RFC 6904).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from .errors import RtpParseError

__all__ = [
    "ABS_SEND_TIME_URI",
    "AUDIO_LEVEL_URI",
    "ONE_BYTE_PROFILE",
    "SDES_MID_URI",
    "TRANSPORT_WIDE_CC_URI",
    "TWO_BYTE_PROFILE",
    "AudioLevel",
    "ExtensionForm",
    "abs_send_time_from_seconds",
    "extension_value_offset",
    "abs_send_time_to_seconds",
    "is_rfc8285_profile",
    "pack_abs_send_time",
    "pack_mid",
    "pack_transport_sequence_number",
    "parse_header_extensions",
    "serialize_header_extensions",
    "unpack_abs_send_time",
    "unpack_mid",
    "unpack_transport_sequence_number",
]

SDES_MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"  # RFC 8843 §15.1
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"  # RFC 6464 §4
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
TRANSPORT_WIDE_CC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

ONE_BYTE_PROFILE = 0xBEDE  # RFC 8285 §4.2
TWO_BYTE_PROFILE = 0x1000  # RFC 8285 §4.3: 0x100 in the top 12 bits, then 4 "appbits"
_TWO_BYTE_MASK = 0xFFF0
_ONE_BYTE_STOP_ID = 15  # RFC 8285 §4.2: reserved; stops processing of the block
_ONE_BYTE_MAX_ID = 14
_ONE_BYTE_MAX_LENGTH = 16

ExtensionForm = Literal["auto", "one-byte", "two-byte"]


def extension_value_offset(data: bytes | bytearray, ext_id: int) -> tuple[int, int] | None:
    """Where extension ``ext_id``'s value sits in an RTP packet's bytes: (offset, length), or
    None when the packet carries none (or is too short or malformed to tell). For rewriting a
    value in place (a pacer stamps the send time and transport-wide number as a packet
    leaves) without parsing the packet."""
    n = len(data)
    if n < 12 or not data[0] & 0x10:
        return None
    pos = 12 + 4 * (data[0] & 0x0F)
    if pos + 4 > n:
        return None
    profile = data[pos] << 8 | data[pos + 1]
    end = pos + 4 + 4 * (data[pos + 2] << 8 | data[pos + 3])
    if end > n:
        return None
    i = pos + 4
    if profile == ONE_BYTE_PROFILE:
        while i < end:
            b = data[i]
            ident = b >> 4
            if ident == 0:
                i += 1
                continue
            if ident == _ONE_BYTE_STOP_ID:
                return None
            length = (b & 0x0F) + 1
            if ident == ext_id:
                return (i + 1, length) if i + 1 + length <= end else None
            i += 1 + length
    elif profile & _TWO_BYTE_MASK == TWO_BYTE_PROFILE:
        while i + 1 < end:
            ident = data[i]
            if ident == 0:
                i += 1
                continue
            length = data[i + 1]
            if ident == ext_id:
                return (i + 2, length) if i + 2 + length <= end else None
            i += 2 + length
    return None


def is_rfc8285_profile(profile: int) -> bool:
    """Whether ``profile`` (the "defined by profile" field) is one of the RFC 8285 forms."""
    return profile == ONE_BYTE_PROFILE or (profile & _TWO_BYTE_MASK) == TWO_BYTE_PROFILE


def parse_header_extensions(profile: int, data: bytes) -> list[tuple[int, bytes]]:
    """Split an RFC 8285 extension block into ``(id, value)`` elements, in wire order.

    Blocks of other profiles have no element structure and give ``[]``. Raises
    :class:`RtpParseError` when an element runs past the end of the block.
    """
    out: list[tuple[int, bytes]] = []
    n = len(data)
    i = 0
    if profile == ONE_BYTE_PROFILE:
        while i < n:
            b = data[i]
            ext_id = b >> 4
            if ext_id == 0:  # padding byte (ID 0); its length nibble is not used
                i += 1
                continue
            if ext_id == _ONE_BYTE_STOP_ID:
                break
            start = i + 1
            i = start + (b & 0x0F) + 1
            if i > n:
                raise RtpParseError("one-byte header extension element is truncated")
            out.append((ext_id, data[start:i]))
    elif (profile & _TWO_BYTE_MASK) == TWO_BYTE_PROFILE:
        while i < n:
            ext_id = data[i]
            if ext_id == 0:  # padding byte
                i += 1
                continue
            if i + 1 >= n:
                raise RtpParseError("two-byte header extension element is truncated")
            start = i + 2
            i = start + data[i + 1]
            if i > n:
                raise RtpParseError("two-byte header extension element is truncated")
            out.append((ext_id, data[start:i]))
    return out


def serialize_header_extensions(
    elements: Mapping[int, bytes] | Iterable[tuple[int, bytes]],
    *,
    form: ExtensionForm = "auto",
    appbits: int = 0,
) -> tuple[int, bytes]:
    """Encode elements as an RFC 8285 block; return ``(profile, block)``.

    The block is zero-padded to a multiple of 4 bytes. With ``form="auto"`` the one-byte
    form is used unless an ID is above 14 or a value is empty or longer than 16 bytes.
    Raises :class:`ValueError` for elements the chosen form cannot carry.
    """
    items = list(elements.items()) if isinstance(elements, Mapping) else list(elements)
    if form == "auto":
        one_byte = all(
            1 <= ext_id <= _ONE_BYTE_MAX_ID and 1 <= len(value) <= _ONE_BYTE_MAX_LENGTH
            for ext_id, value in items
        )
    else:
        one_byte = form == "one-byte"
    parts: list[bytes] = []
    if one_byte:
        profile = ONE_BYTE_PROFILE
        for ext_id, value in items:
            if not 1 <= ext_id <= _ONE_BYTE_MAX_ID:
                raise ValueError(f"one-byte header extension id must be 1-14, got {ext_id}")
            if not 1 <= len(value) <= _ONE_BYTE_MAX_LENGTH:
                raise ValueError("one-byte header extension value must be 1-16 bytes")
            parts.append(bytes(((ext_id << 4) | (len(value) - 1),)))
            parts.append(value)
    else:
        if not 0 <= appbits <= 0x0F:
            raise ValueError("appbits must be 0-15")
        profile = TWO_BYTE_PROFILE | appbits
        for ext_id, value in items:
            if not 1 <= ext_id <= 255:
                raise ValueError(f"two-byte header extension id must be 1-255, got {ext_id}")
            if len(value) > 255:
                raise ValueError("two-byte header extension value must be 0-255 bytes")
            parts.append(bytes((ext_id, len(value))))
            parts.append(value)
    block = b"".join(parts)
    return profile, block + bytes(-len(block) % 4)


# -- sdes:mid -------------------------------------------------------------------------------


def pack_mid(mid: str) -> bytes:
    """Value of the sdes:mid extension (the SDP ``a=mid`` token, UTF-8)."""
    return mid.encode()


def unpack_mid(value: bytes) -> str:
    """Decode an sdes:mid value. Raises :class:`RtpParseError` if it is not UTF-8."""
    try:
        return value.decode()
    except UnicodeDecodeError as exc:
        raise RtpParseError("sdes:mid value is not UTF-8") from exc


# -- audio level (RFC 6464) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AudioLevel:
    """Client-to-mixer audio level (RFC 6464 §3).

    ``level`` is the magnitude of the level in -dBov, 0 (loudest) to 127 (silence);
    ``voice`` is the V flag (the sender believes the packet contains voice).
    """

    voice: bool
    level: int

    @classmethod
    def parse(cls, value: bytes) -> AudioLevel:
        if not value:
            raise RtpParseError("audio level value is empty")
        b = value[0]
        return cls(voice=bool(b & 0x80), level=b & 0x7F)

    def __bytes__(self) -> bytes:
        if not 0 <= self.level <= 127:
            raise ValueError("audio level must be 0-127 (-dBov)")
        return bytes(((0x80 if self.voice else 0) | self.level,))


# -- abs-send-time --------------------------------------------------------------------------

# 24-bit 6.18 fixed point seconds: the value wraps every 64 s.
_ABS_SEND_TIME_FRACTION_BITS = 18
_ABS_SEND_TIME_MASK = 0xFFFFFF


def pack_abs_send_time(value: int) -> bytes:
    """Encode a 24-bit abs-send-time value (3 bytes, network order)."""
    if not 0 <= value <= _ABS_SEND_TIME_MASK:
        raise ValueError("abs-send-time must fit 24 bits")
    return value.to_bytes(3, "big")


def unpack_abs_send_time(value: bytes) -> int:
    """Decode a 3-byte abs-send-time value. Raises :class:`RtpParseError` otherwise."""
    if len(value) != 3:
        raise RtpParseError("abs-send-time value must be 3 bytes")
    return int.from_bytes(value, "big")


def abs_send_time_from_seconds(seconds: float) -> int:
    """The 24-bit abs-send-time for a time in seconds (kept modulo 64 s)."""
    return round(seconds * (1 << _ABS_SEND_TIME_FRACTION_BITS)) & _ABS_SEND_TIME_MASK


def abs_send_time_to_seconds(value: int) -> float:
    """Seconds (0 <= s < 64) of a 24-bit abs-send-time value."""
    return (value & _ABS_SEND_TIME_MASK) / (1 << _ABS_SEND_TIME_FRACTION_BITS)


# -- transport-wide sequence number ---------------------------------------------------------


def pack_transport_sequence_number(sequence_number: int) -> bytes:
    """Encode a transport-wide sequence number (16 bits, network order)."""
    if not 0 <= sequence_number <= 0xFFFF:
        raise ValueError("transport-wide sequence number must fit 16 bits")
    return sequence_number.to_bytes(2, "big")


def unpack_transport_sequence_number(value: bytes) -> int:
    """Decode a transport-wide sequence number. Raises :class:`RtpParseError` unless 2 bytes."""
    if len(value) != 2:
        raise RtpParseError("transport-wide sequence number value must be 2 bytes")
    return int.from_bytes(value, "big")
