"""The RTP packet (RFC 3550 §5.1, §5.3.1).

Implements the fixed header (version 2 only), CSRC list, header extension block and padding.
The extension block is kept raw (profile + bytes) so that parsing a packet costs no per-element
work; :attr:`RtpPacket.extensions` and :meth:`RtpPacket.extension` split it on access
(RFC 8285, see :mod:`pywebrtc.rtp.extensions`). Blocks of other profiles are kept raw as well.

Padding is described by its size; the padding bytes themselves are not kept, and are written
as zeros followed by the count. Left out: payload formats (Opus, VP8 …) and RFC 3550 §A.1
sequence-number validation, which are stateful and belong to the receiving stream.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Self

from ._fast import fast_constructor
from .errors import RtpParseError
from .extensions import ExtensionForm, parse_header_extensions, serialize_header_extensions

__all__ = ["RTP_HEADER_SIZE", "RTP_VERSION", "RtpPacket"]

RTP_VERSION = 2  # RFC 3550 §5.1
RTP_HEADER_SIZE = 12  # RFC 3550 §5.1, fixed part
_MAX_CSRCS = 15  # RFC 3550 §5.1, 4-bit CC

_HEADER = struct.Struct("!BBHII")
_EXTENSION_HEADER = struct.Struct("!HH")
_CSRCS = [struct.Struct(f"!{n}I") for n in range(_MAX_CSRCS + 1)]
_unpack_header = _HEADER.unpack_from
_unpack_extension_header = _EXTENSION_HEADER.unpack_from
_unpack_csrcs = [s.unpack_from for s in _CSRCS]


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """An RTP packet.

    ``extension_profile`` is ``None`` when the X bit is clear; otherwise it is the 16-bit
    "defined by profile" field and ``extension_data`` the block (a multiple of 4 bytes).
    ``padding_size`` counts the padding bytes including the final count byte (0: no P bit).
    """

    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension_profile: int | None = None
    extension_data: bytes = b""
    padding_size: int = 0

    @classmethod
    def parse(cls, data: bytes) -> Self:
        """Parse one RTP packet. Raises :class:`RtpParseError` if it is malformed."""
        n = len(data)
        if n < RTP_HEADER_SIZE:
            raise RtpParseError(f"RTP packet is shorter than {RTP_HEADER_SIZE} bytes")
        b0, b1, seq, timestamp, ssrc = _unpack_header(data)
        if b0 & 0xC0 != 0x80:
            raise RtpParseError(f"RTP version is {b0 >> 6}, not 2")
        cc = b0 & 0x0F
        pos = RTP_HEADER_SIZE
        csrcs: tuple[int, ...] = ()
        if cc:
            pos += cc * 4
            if pos > n:
                raise RtpParseError("RTP CSRC list is truncated")
            csrcs = _unpack_csrcs[cc](data, RTP_HEADER_SIZE)
        profile: int | None = None
        extension = b""
        if b0 & 0x10:
            if pos + 4 > n:
                raise RtpParseError("RTP header extension header is truncated")
            profile, words = _unpack_extension_header(data, pos)
            start = pos + 4
            pos = start + words * 4
            if pos > n:
                raise RtpParseError("RTP header extension is truncated")
            extension = data[start:pos]
        if b0 & 0x20:
            padding = data[-1]
            if padding == 0 or padding > n - pos:
                raise RtpParseError("RTP padding size is invalid")
            payload = data[pos : n - padding]
        else:
            padding = 0
            payload = data[pos:]
        return _make(
            cls, b1 & 0x7F, seq, timestamp, ssrc, payload, b1 > 0x7F, csrcs, profile, extension,
            padding,
        )  # fmt: skip

    def __bytes__(self) -> bytes:
        if not self.csrcs and self.extension_profile is None and not self.padding_size:
            # The usual audio packet: a bare 12-byte header (one per packet sent).
            if not 0 <= self.payload_type <= 0x7F:
                raise ValueError("RTP payload type must be 0-127")
            try:
                header = _HEADER.pack(
                    0x80,
                    (0x80 if self.marker else 0) | self.payload_type,
                    self.sequence_number,
                    self.timestamp,
                    self.ssrc,
                )
            except struct.error as exc:
                raise ValueError(f"RTP header field out of range: {exc}") from exc
            return b"".join((header, self.payload))
        cc = len(self.csrcs)
        if cc > _MAX_CSRCS:
            raise ValueError("an RTP packet carries at most 15 CSRCs")
        if not 0 <= self.payload_type <= 0x7F:
            raise ValueError("RTP payload type must be 0-127")
        if not 0 <= self.padding_size <= 0xFF:
            raise ValueError("RTP padding size must be 0-255")
        b0 = 0x80 | cc
        if self.padding_size:
            b0 |= 0x20
        profile = self.extension_profile
        if profile is not None:
            b0 |= 0x10
        try:
            parts = [
                _HEADER.pack(
                    b0,
                    (0x80 if self.marker else 0) | self.payload_type,
                    self.sequence_number,
                    self.timestamp,
                    self.ssrc,
                )
            ]
            if cc:
                parts.append(_CSRCS[cc].pack(*self.csrcs))
            if profile is not None:
                size = len(self.extension_data)
                if size % 4:
                    raise ValueError("RTP header extension must be a multiple of 4 bytes")
                parts.append(_EXTENSION_HEADER.pack(profile, size // 4))
                parts.append(self.extension_data)
        except struct.error as exc:
            raise ValueError(f"RTP header field out of range: {exc}") from exc
        parts.append(self.payload)
        if self.padding_size:
            parts.append(bytes(self.padding_size - 1))
            parts.append(bytes((self.padding_size,)))
        return b"".join(parts)

    @property
    def extensions(self) -> dict[int, bytes]:
        """The RFC 8285 elements by id (the first wins if an id repeats); ``{}`` when there is
        no block or it has another profile. Raises :class:`RtpParseError` if malformed."""
        if self.extension_profile is None:
            return {}
        out: dict[int, bytes] = {}
        for ext_id, value in parse_header_extensions(self.extension_profile, self.extension_data):
            out.setdefault(ext_id, value)
        return out

    def extension(self, ext_id: int) -> bytes | None:
        """The value of one RFC 8285 element, or ``None``."""
        if self.extension_profile is None:
            return None
        for element_id, value in parse_header_extensions(
            self.extension_profile, self.extension_data
        ):
            if element_id == ext_id:
                return value
        return None

    def with_extensions(
        self,
        elements: Mapping[int, bytes] | Iterable[tuple[int, bytes]],
        *,
        form: ExtensionForm = "auto",
    ) -> Self:
        """A copy carrying ``elements`` as an RFC 8285 block (form chosen automatically unless
        given); no elements removes the block."""
        items = list(elements.items()) if isinstance(elements, Mapping) else list(elements)
        if not items:
            return dataclasses.replace(self, extension_profile=None, extension_data=b"")
        profile, block = serialize_header_extensions(items, form=form)
        return dataclasses.replace(self, extension_profile=profile, extension_data=block)


_make = fast_constructor(RtpPacket)
