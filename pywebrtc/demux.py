"""Classify a datagram on a WebRTC 5-tuple by its first byte (RFC 7983 §7, RFC 5761 §4).

One UDP flow carries STUN, DTLS, SRTP and SRTCP (and, through TURN, ChannelData). The first
byte tells them apart without parsing; RTP and RTCP share 128–191 and are told apart by the
second byte (RTCP packet types 192–223 sit where RTP payload types 64–95 would be, which
RFC 5761 forbids for RTP).
"""

from __future__ import annotations

import enum


class PacketKind(enum.Enum):
    STUN = "stun"
    ZRTP = "zrtp"
    DTLS = "dtls"
    TURN_CHANNEL = "turn-channel"
    RTP = "rtp"
    RTCP = "rtcp"
    UNKNOWN = "unknown"


# RFC 7983 §7: the ranges of the first byte.
KIND_BY_FIRST_BYTE: tuple[PacketKind, ...] = tuple(
    PacketKind.STUN
    if b <= 3
    else PacketKind.ZRTP
    if 16 <= b <= 19
    else PacketKind.DTLS
    if 20 <= b <= 63
    else PacketKind.TURN_CHANNEL
    if 64 <= b <= 79
    else PacketKind.RTP
    if 128 <= b <= 191
    else PacketKind.UNKNOWN
    for b in range(256)
)


def is_rtcp(datagram: bytes) -> bool:
    """Of an RTP-range datagram (first byte 128-191): RTCP rather than RTP (RFC 5761 §4)."""
    return len(datagram) >= 2 and 192 <= datagram[1] <= 223


def classify(datagram: bytes | bytearray | memoryview) -> PacketKind:
    """Return the kind of ``datagram``; ``UNKNOWN`` for empty or unassigned first bytes."""
    if not datagram:
        return PacketKind.UNKNOWN
    kind = KIND_BY_FIRST_BYTE[datagram[0]]
    if kind is PacketKind.RTP:
        if len(datagram) < 2:
            return PacketKind.UNKNOWN
        if is_rtcp(bytes(datagram[:2])):
            return PacketKind.RTCP
    return kind
