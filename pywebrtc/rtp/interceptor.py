"""Chained RTP/RTCP processors, in the way of Pion's interceptors (sans-IO).

An :class:`Interceptor` sees one RTP session's traffic at four points and may produce RTCP
(reports, NACK, TWCC feedback) and RTP (retransmissions) of its own:

* ``outgoing_rtp(packet, now) -> packet`` — a packet about to be protected and sent; may add
  header extensions or record it (retransmission buffer);
* ``incoming_rtp(packet, now)`` — a received, decrypted, parsed packet (statistics, NACK, TWCC);
* ``incoming_rtcp(packet, now)`` — each received RTCP packet of a compound datagram;
* ``poll_rtcp(now)``/``poll_rtp(now)`` — what is due at ``now``; ``deadline()`` — when to
  call again (``None``: only when something arrives).

:class:`InterceptorChain` runs several in order, so a session owner (the peer connection's
transceiver, or the audio pipelines in :mod:`pywebrtc.media.pipeline`) holds one object and the
features stay out of the sender and receiver. Nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable

from pywebrtc._mypyc import mypyc_attr

from .packet import RtpPacket
from .rtcp import RtcpPacket

__all__ = ["Interceptor", "InterceptorChain", "earliest"]


# Subclassed by the features outside the compiled modules (NACK, TWCC feedback, retransmission).
@mypyc_attr(allow_interpreted_subclasses=True)
class Interceptor:
    """Base class: every hook does nothing. Override the ones a feature needs."""

    __slots__ = ()  # (a subclass without slots of its own still has a __dict__)

    def outgoing_rtp(self, packet: RtpPacket, now: float) -> RtpPacket:
        return packet

    def incoming_rtp(self, packet: RtpPacket, now: float) -> None:
        return None

    def incoming_rtcp(self, packet: RtcpPacket, now: float) -> None:
        return None

    def poll_rtcp(self, now: float) -> list[RtcpPacket]:
        return []

    def poll_rtp(self, now: float) -> list[RtpPacket]:
        return []

    def deadline(self) -> float | None:
        return None


def earliest(deadlines: Iterable[float | None]) -> float | None:
    """The smallest deadline, ignoring ``None``."""
    best: float | None = None
    for d in deadlines:
        if d is not None and (best is None or d < best):
            best = d
    return best


class InterceptorChain(Interceptor):
    """Interceptors applied in order (outgoing packets pass through each in turn)."""

    __slots__ = ("interceptors",)

    def __init__(self, interceptors: Iterable[Interceptor] = ()) -> None:
        self.interceptors: list[Interceptor] = list(interceptors)

    def add(self, interceptor: Interceptor) -> None:
        self.interceptors.append(interceptor)

    def outgoing_rtp(self, packet: RtpPacket, now: float) -> RtpPacket:
        for i in self.interceptors:
            packet = i.outgoing_rtp(packet, now)
        return packet

    def incoming_rtp(self, packet: RtpPacket, now: float) -> None:
        for i in self.interceptors:
            i.incoming_rtp(packet, now)

    def incoming_rtcp(self, packet: RtcpPacket, now: float) -> None:
        for i in self.interceptors:
            i.incoming_rtcp(packet, now)

    def poll_rtcp(self, now: float) -> list[RtcpPacket]:
        out: list[RtcpPacket] = []
        for i in self.interceptors:
            out.extend(i.poll_rtcp(now))
        return out

    def poll_rtp(self, now: float) -> list[RtpPacket]:
        out: list[RtpPacket] = []
        for i in self.interceptors:
            out.extend(i.poll_rtp(now))
        return out

    def deadline(self) -> float | None:
        # Asked after every datagram (no generator: this is on the per-packet path).
        best: float | None = None
        for i in self.interceptors:
            d = i.deadline()
            if d is not None and (best is None or d < best):
                best = d
        return best
