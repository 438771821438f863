"""The sending side of NACK: remember what was sent, resend what is asked for (RFC 4585
§6.2.1, RFC 4588 §3 for why audio resends on the original SSRC).

:class:`RetransmitBuffer` keeps the last ``size`` packets of one SSRC in a ring indexed by
sequence number. A NACK for a packet still in the ring, younger than ``max_age`` seconds and
not resent within ``min_interval``, queues it for :meth:`poll_rtp` (``deadline()`` is then
the time of the request: resend at once). Requests for unknown or
evicted packets are counted, not errors.
"""

from __future__ import annotations

from .interceptor import Interceptor
from .packet import RtpPacket
from .rtcp import Nack, RtcpPacket

__all__ = ["RetransmitBuffer"]


class _Sent:
    __slots__ = ("last_resend", "packet", "sent")

    def __init__(self, packet: RtpPacket, sent: float) -> None:
        self.packet = packet
        self.sent = sent
        self.last_resend = -1e18


class RetransmitBuffer(Interceptor):
    def __init__(
        self,
        ssrc: int,
        *,
        size: int = 512,
        max_age: float = 1.0,
        min_interval: float = 0.01,
    ) -> None:
        if size <= 0 or size & (size - 1):
            raise ValueError("retransmission buffer size must be a power of two")
        self.ssrc = ssrc
        self.max_age = max_age
        self.min_interval = min_interval
        self._mask = size - 1
        self._slots: list[_Sent | None] = [None] * size
        self._queue: list[RtpPacket] = []
        self._requested_at = 0.0
        self.retransmitted = 0
        self.unavailable = 0

    def outgoing_rtp(self, packet: RtpPacket, now: float) -> RtpPacket:
        if packet.ssrc == self.ssrc:
            self._slots[packet.sequence_number & self._mask] = _Sent(packet, now)
        return packet

    def incoming_rtcp(self, packet: RtcpPacket, now: float) -> None:
        if not isinstance(packet, Nack) or packet.media_ssrc != self.ssrc:
            return
        for seq in packet.lost:
            slot = self._slots[seq & self._mask]
            if slot is None or slot.packet.sequence_number != seq or now - slot.sent > self.max_age:
                self.unavailable += 1
            elif now - slot.last_resend >= self.min_interval:
                slot.last_resend = now
                if not self._queue:
                    self._requested_at = now
                self._queue.append(slot.packet)

    def deadline(self) -> float | None:
        return self._requested_at if self._queue else None

    def poll_rtp(self, now: float) -> list[RtpPacket]:
        queue, self._queue = self._queue, []
        self.retransmitted += len(queue)
        return queue
