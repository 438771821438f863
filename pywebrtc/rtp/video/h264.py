"""The H.264 RTP payload format, packetization-mode 1 (RFC 6184 §5.6, §5.7.1, §5.8, §6.3).

:class:`H264Payloader` turns one Annex B access unit (ITU-T H.264 Annex B: NAL units behind
``00 00 01`` / ``00 00 00 01`` start codes) into RTP payloads no larger than an MTU: runs of
small NAL units are aggregated in STAP-A packets (§5.7.1; typically SPS + PPS + the start of an
IDR slice), a NAL unit too large for one packet is split in FU-A fragments of near-equal size
(§5.8), anything else goes as a single NAL unit packet (§5.6). The marker bit belongs on the
last packet of the access unit (§5.1).

:func:`parse_payload` decodes one received payload: the complete NAL units of a single NAL unit
or STAP-A packet, or an :class:`FuFragment`. :data:`H264` is the H.264 part of the frame
assembler (:mod:`pywebrtc.rtp.video.assembler`): which packets open an access unit, and the
reassembly of fragments and NAL units into one.

Left out: packetization-mode 0 needs no code beyond never aggregating or fragmenting (not
offered), and the interleaved mode 2 (STAP-B, MTAP16/24, FU-B) is rejected as malformed, as
mode 1 forbids those types (§6.3). Bad input raises :class:`H264PayloadError`, a
:class:`ValueError`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import RtpError, RtpParseError
from .assembler import CERTAIN, LIKELY, JoinedFrame, PayloadFormat

__all__ = [
    "NAL_AUD",
    "NAL_FU_A",
    "NAL_IDR",
    "NAL_PPS",
    "NAL_SEI",
    "NAL_SLICE",
    "NAL_SPS",
    "NAL_STAP_A",
    "H264",
    "FuFragment",
    "H264Error",
    "H264PayloadError",
    "H264Format",
    "H264Part",
    "H264Payloader",
    "join_annexb",
    "parse_payload",
    "split_annexb",
]

logger = logging.getLogger(__name__)

# nal_unit_type values (H.264 Table 7-1; 24-29 from RFC 6184 Table 1)
NAL_SLICE = 1
NAL_IDR = 5
NAL_SEI = 6
NAL_SPS = 7
NAL_PPS = 8
NAL_AUD = 9
NAL_STAP_A = 24
NAL_FU_A = 28
_TYPE_MASK = 0x1F
_FU_START = 0x80
_FU_END = 0x40
_START_CODE = b"\x00\x00\x00\x01"


class H264Error(RtpError):
    """Root of the errors of the H.264 payload format and its fmtp parameters."""


class H264PayloadError(H264Error, RtpParseError):
    """An H.264 RTP payload or Annex B access unit is malformed."""


def split_annexb(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte stream (3- or 4-byte start codes; empty units dropped).

    Zero bytes before a start code or at the end are trailing_zero_8bits (H.264 §B.1), not
    part of the NAL unit, so they are stripped. Raises :class:`H264PayloadError` when ``data``
    does not begin with a start code.
    """
    start = data.find(b"\x00\x00\x01")
    if start < 0 or data[:start].strip(b"\x00"):
        raise H264PayloadError("Annex B stream without a leading start code")
    nals: list[bytes] = []
    pos = start + 3
    while True:
        nxt = data.find(b"\x00\x00\x01", pos)
        end = len(data) if nxt < 0 else nxt
        nal = data[pos:end].rstrip(b"\x00")
        if nal:
            nals.append(nal)
        if nxt < 0:
            return nals
        pos = nxt + 3


def join_annexb(nals: Iterable[bytes]) -> bytes:
    """NAL units as an Annex B byte stream with 4-byte start codes."""
    return b"".join(_START_CODE + nal for nal in nals)


@dataclass(frozen=True, slots=True)
class FuFragment:
    """One FU-A fragment (RFC 6184 §5.8). ``nal_header`` is the header of the fragmented NAL
    unit, rebuilt from the FU indicator's F/NRI bits and the FU header's type."""

    start: bool
    end: bool
    nal_header: int
    data: bytes


def parse_payload(payload: bytes) -> tuple[bytes, ...] | FuFragment:
    """Decode one packetization-mode 1 payload: the NAL units it carries whole (single NAL
    unit packet, STAP-A), or a :class:`FuFragment`."""
    if not payload:
        raise H264PayloadError("empty H.264 payload")
    kind = payload[0] & _TYPE_MASK
    if 1 <= kind <= 23:
        return (bytes(payload),)
    if kind == NAL_STAP_A:
        nals: list[bytes] = []
        pos, size = 1, len(payload)
        while pos < size:
            if pos + 2 > size:
                raise H264PayloadError("STAP-A: truncated NAL unit size")
            length = int.from_bytes(payload[pos : pos + 2], "big")
            pos += 2
            if length == 0 or pos + length > size:
                raise H264PayloadError(f"STAP-A: NAL unit of {length} bytes does not fit")
            nal = bytes(payload[pos : pos + length])
            if not 1 <= nal[0] & _TYPE_MASK <= 23:
                raise H264PayloadError(f"STAP-A: aggregated NAL unit of type {nal[0] & 31}")
            nals.append(nal)
            pos += length
        if not nals:
            raise H264PayloadError("STAP-A without NAL units")
        return tuple(nals)
    if kind == NAL_FU_A:
        if len(payload) < 3:
            raise H264PayloadError("FU-A shorter than its two header bytes and one data byte")
        header = payload[1]
        start, end = bool(header & _FU_START), bool(header & _FU_END)
        inner = header & _TYPE_MASK
        if start and end:
            raise H264PayloadError("FU-A with both start and end bits (RFC 6184 §5.8)")
        if not 1 <= inner <= 23:
            raise H264PayloadError(f"FU-A fragmenting a NAL unit of type {inner}")
        return FuFragment(start, end, (payload[0] & 0xE0) | inner, bytes(payload[2:]))
    raise H264PayloadError(f"NAL unit type {kind} is not allowed in packetization-mode 1")


class H264Payloader:
    """Annex B access units to packetization-mode 1 payloads of at most ``mtu`` bytes."""

    __slots__ = ("mtu",)

    def __init__(self, mtu: int = 1200) -> None:
        if mtu < 3:
            raise ValueError("an H.264 payload needs at least 3 bytes (FU-A headers + data)")
        self.mtu = mtu

    def packetize(self, access_unit: bytes) -> list[tuple[bytes, bool]]:
        """The RTP payloads of one Annex B access unit with their marker bits (set on the
        last, RFC 6184 §5.1)."""
        return self.packetize_nals(split_annexb(access_unit))

    def packetize_nals(self, nals: Iterable[bytes]) -> list[tuple[bytes, bool]]:
        payloads: list[bytes] = []
        pending: list[bytes] = []  # NAL units for the next STAP-A
        pending_size = 1  # its STAP-A header byte

        def flush() -> None:
            nonlocal pending_size
            if len(pending) == 1:
                payloads.append(pending[0])
            elif pending:
                # F is the OR of the aggregated F bits, NRI their maximum (§5.7.1)
                f = any(n[0] & 0x80 for n in pending)
                nri = max(n[0] & 0x60 for n in pending)
                parts = [bytes([(0x80 if f else 0) | nri | NAL_STAP_A])]
                for n in pending:
                    parts += (len(n).to_bytes(2, "big"), n)
                payloads.append(b"".join(parts))
            pending.clear()
            pending_size = 1

        for nal in nals:
            if not nal:
                continue
            if not 1 <= nal[0] & _TYPE_MASK <= 23:
                raise H264PayloadError(f"NAL unit of type {nal[0] & 31} in an access unit")
            if len(nal) > self.mtu:
                flush()
                payloads += self._fragment(nal)
                continue
            if pending_size + 2 + len(nal) > self.mtu or len(nal) > 0xFFFF:
                flush()
            if pending_size + 2 + len(nal) <= self.mtu and len(nal) <= 0xFFFF:
                pending.append(nal)
                pending_size += 2 + len(nal)
            else:  # fits alone but not with the STAP-A overhead or its 16-bit size
                payloads.append(nal)
        flush()
        last = len(payloads) - 1
        return [(p, i == last) for i, p in enumerate(payloads)]

    def _fragment(self, nal: bytes) -> list[bytes]:
        indicator = bytes([(nal[0] & 0xE0) | NAL_FU_A])
        kind = nal[0] & _TYPE_MASK
        data = memoryview(nal)[1:]
        count = -(-len(data) // (self.mtu - 2))
        # near-equal fragments, as libwebrtc does: no runt last packet
        base, extra = divmod(len(data), count)
        out: list[bytes] = []
        pos = 0
        for i in range(count):
            size = base + (1 if i < extra else 0)
            header = kind | (_FU_START if i == 0 else 0) | (_FU_END if i == count - 1 else 0)
            out.append(indicator + bytes([header]) + data[pos : pos + size])
            pos += size
        return out


_OPENING_TYPES = frozenset({6, 7, 8, 9, 14, 15, 16, 17, 18})  # H.264 §7.4.1.2.3

H264Part = tuple[bytes, ...] | FuFragment


class H264Format(PayloadFormat[H264Part]):
    """H.264 access units for the frame assembler.

    A packet surely opens an access unit when its first NAL unit is AUD or SPS (encoders put
    nothing before them); likely when it is another type that may only open one (PPS, SEI,
    types 14-18) or the first slice of a picture (``first_mb_in_slice`` = 0, the first bit of
    the slice header: WebRTC senders use no arbitrary slice order). A keyframe holds an IDR
    slice, or SPS and PPS (some encoders send a recovery-point I picture after them, not an
    IDR). An access unit whose fragment runs are broken is no access unit.
    """

    name = "h264"

    def parse(self, payload: bytes) -> H264Part:
        return parse_payload(payload)

    def opens(self, part: H264Part) -> int:
        if isinstance(part, FuFragment):
            if not part.start:
                return 0
            header, first = part.nal_header, part.data[0]
        else:
            nal = part[0]
            header, first = nal[0], (nal[1] if len(nal) > 1 else 0)
        kind = header & _TYPE_MASK
        if kind in (NAL_SPS, NAL_AUD):
            return CERTAIN
        if kind in _OPENING_TYPES:
            return LIKELY
        # ue(v) first_mb_in_slice = 0 is a single 1 bit
        return LIKELY if kind in (NAL_SLICE, NAL_IDR) and first & 0x80 else 0

    def join(self, parts: Sequence[H264Part]) -> JoinedFrame | None:
        nals: list[bytes] = []
        fragments: list[bytes] | None = None
        header = 0
        for part in parts:
            if isinstance(part, FuFragment):
                if part.start:
                    if fragments is not None:
                        return None
                    fragments, header = [bytes([part.nal_header])], part.nal_header
                elif fragments is None or part.nal_header != header:
                    return None
                fragments.append(part.data)
                if part.end:
                    nals.append(b"".join(fragments))
                    fragments = None
            elif fragments is not None:
                return None
            else:
                nals.extend(part)
        if fragments is not None:
            return None
        kinds = {nal[0] & _TYPE_MASK for nal in nals}
        keyframe = NAL_IDR in kinds or {NAL_SPS, NAL_PPS} <= kinds
        return JoinedFrame(join_annexb(nals), keyframe)


H264 = H264Format()
