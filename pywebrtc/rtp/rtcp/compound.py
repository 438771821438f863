"""Compound RTCP packets (RFC 3550 §6.1, §A.2) and reduced-size RTCP (RFC 5506 §3).

:func:`parse_rtcp` splits a datagram into its RTCP packets and decodes each one. It checks the
version and the length of every packet, that they tile the datagram exactly, and that only the
last one carries padding (§A.2). Packet types (and feedback FMTs) that are not decoded here
come back as :class:`UnknownRtcp` rather than failing the whole datagram.

RFC 3550 requires a compound packet to start with SR or RR; RFC 5506 allows a reduced-size
packet that does not. Chrome (rtcp-rsize) also sends several feedback messages in one datagram
without a report, so by default any sequence of valid packets is accepted; ``strict=True``
applies the RFC 3550 §A.2 rule to datagrams of more than one packet.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable

from .._fast import fast_constructor
from ..errors import RtcpParseError
from .app import App
from .bye import Bye
from .ccfb import CCFB_FMT, CongestionControlFeedback
from .common import (
    APP,
    BYE,
    MAX_COUNT,
    PSFB,
    RR,
    RTPFB,
    SDES,
    SR,
    XR,
    NotThisType,
    packet_bounds,
)
from .fir import FIR_FMT, Fir
from .nack import NACK_FMT, Nack
from .pli import PLI_FMT, Pli
from .remb import AFB_FMT, Remb
from .rr import ReceiverReport
from .sdes import SourceDescription
from .sr import SenderReport
from .twcc import TWCC_FMT, TransportCcFeedback
from .unknown import UnknownRtcp
from .xr import ExtendedReport

__all__ = ["RtcpPacket", "parse_rtcp", "serialize_rtcp"]

RtcpPacket = (
    SenderReport
    | ReceiverReport
    | SourceDescription
    | Bye
    | App
    | Nack
    | TransportCcFeedback
    | CongestionControlFeedback
    | Pli
    | Fir
    | Remb
    | ExtendedReport
    | UnknownRtcp
)

_unpack_header = struct.Struct("!HH").unpack_from
_BodyParser = Callable[[bytes, int, int, int], RtcpPacket]


_new_unknown = fast_constructor(UnknownRtcp)


def _raw(data: bytes, start: int, end: int, count: int, packet_type: int = -1) -> UnknownRtcp:
    """Keep a packet of a type (or FMT) not decoded here; its type is read back from the
    header that precedes ``start``."""
    if packet_type < 0:
        packet_type = data[start - 3]
    return _new_unknown(UnknownRtcp, packet_type, count, data[start:end])


def _dispatch_table() -> list[_BodyParser]:
    """Body parsers indexed by ``count/FMT << 8 | packet type``: one lookup per packet."""
    table: list[_BodyParser] = [_raw] * (1 << 13)
    by_type: dict[int, _BodyParser] = {
        SR: SenderReport._parse_body,
        RR: ReceiverReport._parse_body,
        SDES: SourceDescription._parse_body,
        BYE: Bye._parse_body,
        APP: App._parse_body,
        XR: ExtendedReport._parse_body,
    }
    for count in range(MAX_COUNT + 1):
        for packet_type, parser in by_type.items():
            table[(count << 8) | packet_type] = parser
    table[(NACK_FMT << 8) | RTPFB] = Nack._parse_body
    table[(TWCC_FMT << 8) | RTPFB] = TransportCcFeedback._parse_body
    table[(CCFB_FMT << 8) | RTPFB] = CongestionControlFeedback._parse_body
    table[(PLI_FMT << 8) | PSFB] = Pli._parse_body
    table[(FIR_FMT << 8) | PSFB] = Fir._parse_body
    table[(AFB_FMT << 8) | PSFB] = Remb._parse_body
    return table


_PARSERS = _dispatch_table()


def parse_rtcp(data: bytes, *, strict: bool = False) -> list[RtcpPacket]:
    """Parse a (compound or reduced-size) RTCP datagram.

    Raises :class:`RtcpParseError` if any packet in it is malformed.
    """
    packets: list[RtcpPacket] = []
    pos = 0
    n = len(data)
    try:
        while pos < n:
            # Common header (RFC 3550 §6.4.1). The usual packet (V=2, no padding, fits) costs
            # one test; everything else goes through packet_bounds.
            first, words = _unpack_header(data, pos)
            start = pos + 4
            end = pos = start + 4 * words
            if first & 0xE000 != 0x8000 or end > n:
                _, _, start, end, pos = packet_bounds(data, start - 4)
            key = first & 0x1FFF
            try:
                packets.append(_PARSERS[key](data, start, end, key >> 8))
            except NotThisType:
                packets.append(_raw(data, start, end, key >> 8, key & 0xFF))
    except struct.error as exc:
        raise RtcpParseError("RTCP header is truncated") from exc
    if not packets:
        raise RtcpParseError("empty RTCP datagram")
    if strict and len(packets) > 1 and not isinstance(packets[0], SenderReport | ReceiverReport):
        raise RtcpParseError("a compound RTCP packet must start with SR or RR")
    return packets


def serialize_rtcp(packets: Iterable[RtcpPacket]) -> bytes:
    """Concatenate packets into one compound (or reduced-size) RTCP datagram."""
    return b"".join(map(bytes, packets))
