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

_NEVER = -1e18


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
        # (sequence number, send time, the packet or its plain bytes) by sequence number, and
        # when each was last resent: a tuple per packet sent, no object of our own.
        self._slots: list[tuple[int, float, RtpPacket | bytes] | None] = [None] * size
        self._resent: list[float] = [_NEVER] * size
        self._queue: list[RtpPacket] = []
        self._requested_at = 0.0
        self.retransmitted = 0
        self.unavailable = 0

    def outgoing_rtp(self, packet: RtpPacket, now: float) -> RtpPacket:
        if packet.ssrc == self.ssrc:
            index = packet.sequence_number & self._mask
            self._slots[index] = (packet.sequence_number, now, packet)
            self._resent[index] = _NEVER
        return packet

    def record(self, data: bytes, now: float) -> None:
        """A plain RTP packet of our SSRC sent as bytes (no :class:`RtpPacket` made for it):
        kept as they are, parsed only if it is asked for."""
        seq = data[2] << 8 | data[3]
        index = seq & self._mask
        self._slots[index] = (seq, now, data)
        self._resent[index] = _NEVER

    def incoming_rtcp(self, packet: RtcpPacket, now: float) -> None:
        if not isinstance(packet, Nack) or packet.media_ssrc != self.ssrc:
            return
        for seq in packet.lost:
            index = seq & self._mask
            slot = self._slots[index]
            if slot is None or slot[0] != seq or now - slot[1] > self.max_age:
                self.unavailable += 1
            elif now - self._resent[index] >= self.min_interval:
                self._resent[index] = now
                if not self._queue:
                    self._requested_at = now
                sent = slot[2]
                self._queue.append(RtpPacket.parse(sent) if isinstance(sent, bytes) else sent)

    def deadline(self) -> float | None:
        return self._requested_at if self._queue else None

    def poll_rtp(self, now: float) -> list[RtpPacket]:
        queue, self._queue = self._queue, []
        self.retransmitted += len(queue)
        return queue
