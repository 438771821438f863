"""Extended reports, XR (RFC 3611 §2, §3).

Implements the XR packet with report blocks of any type: Receiver Reference Time (RRTR,
§4.4) and DLRR (§4.5) are decoded, other block types (loss RLE, statistics summary, VoIP
metrics …) are kept raw as :class:`UnknownXrBlock`. The 5 reserved header bits are ignored.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple, Self

from .._fast import fast_constructor
from ..errors import RtcpParseError
from .common import U32, XR, pack_header, split_single

__all__ = ["DlrrBlock", "DlrrSubBlock", "ExtendedReport", "RrtrBlock", "UnknownXrBlock", "XrBlock"]

RRTR_BLOCK_TYPE = 4  # RFC 3611 §4.4
DLRR_BLOCK_TYPE = 5  # RFC 3611 §4.5
_BLOCK_HEAD = struct.Struct("!BBH")
_U64 = struct.Struct("!Q")
_SUB_BLOCK = struct.Struct("!III")


@dataclass(frozen=True, slots=True)
class RrtrBlock:
    """Receiver reference time: a 64-bit NTP timestamp."""

    ntp_timestamp: int


class DlrrSubBlock(NamedTuple):
    """Delay since the last RRTR from ``ssrc`` (``last_rr`` and ``delay`` in 1/65536 s)."""

    ssrc: int
    last_rr: int
    delay_since_last_rr: int


@dataclass(frozen=True, slots=True)
class DlrrBlock:
    sub_blocks: tuple[DlrrSubBlock, ...] = ()


@dataclass(frozen=True, slots=True)
class UnknownXrBlock:
    """A block kept raw: type, the type-specific byte and the contents (multiple of 4)."""

    block_type: int
    type_specific: int
    data: bytes = b""


XrBlock = RrtrBlock | DlrrBlock | UnknownXrBlock


def _block_bytes(block: XrBlock) -> bytes:
    if isinstance(block, RrtrBlock):
        block_type, type_specific = RRTR_BLOCK_TYPE, 0
        content = _U64.pack(block.ntp_timestamp)
    elif isinstance(block, DlrrBlock):
        block_type, type_specific = DLRR_BLOCK_TYPE, 0
        content = b"".join(_SUB_BLOCK.pack(*sub) for sub in block.sub_blocks)
    else:
        block_type, type_specific, content = block.block_type, block.type_specific, block.data
        if len(content) % 4:
            raise ValueError("XR block contents must be a multiple of 4 bytes")
    words = len(content) // 4
    if words > 0xFFFF:
        raise ValueError("XR block is too long")
    return _BLOCK_HEAD.pack(block_type, type_specific, words) + content


@dataclass(frozen=True, slots=True)
class ExtendedReport:
    """XR from ``ssrc`` carrying report ``blocks``."""

    ssrc: int
    blocks: tuple[XrBlock, ...] = ()

    @classmethod
    def parse(cls, data: bytes) -> Self:
        count, start, end = split_single(data, XR)
        return cls._parse_body(data, start, end, count)

    @classmethod
    def _parse_body(cls, data: bytes, start: int, end: int, count: int) -> Self:
        if end - start < 4 or (end - start) % 4:
            raise RtcpParseError("XR length is invalid")
        (ssrc,) = U32.unpack_from(data, start)
        blocks: list[XrBlock] = []
        pos = start + 4
        while pos < end:
            if pos + 4 > end:
                raise RtcpParseError("XR block header is truncated")
            block_type, type_specific, words = _BLOCK_HEAD.unpack_from(data, pos)
            content = pos + 4
            pos = content + 4 * words
            if pos > end:
                raise RtcpParseError("XR block is truncated")
            if block_type == RRTR_BLOCK_TYPE:
                if words != 2:
                    raise RtcpParseError("RRTR block length must be 2")
                blocks.append(RrtrBlock(_U64.unpack_from(data, content)[0]))
            elif block_type == DLRR_BLOCK_TYPE:
                if words % 3:
                    raise RtcpParseError("DLRR block length must be a multiple of 3")
                subs = tuple(DlrrSubBlock(*s) for s in _SUB_BLOCK.iter_unpack(data[content:pos]))
                blocks.append(DlrrBlock(subs))
            else:
                blocks.append(UnknownXrBlock(block_type, type_specific, data[content:pos]))
        return _make(cls, ssrc, tuple(blocks))

    def __bytes__(self) -> bytes:
        try:
            head = U32.pack(self.ssrc)
            body = b"".join([head, *map(_block_bytes, self.blocks)])
        except struct.error as exc:
            raise ValueError(f"XR field out of range: {exc}") from exc
        return pack_header(0, XR, len(body)) + body


_make = fast_constructor(ExtendedReport)
