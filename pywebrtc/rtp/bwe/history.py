"""What the sender sent, by transport-wide sequence number, for matching feedback to it
(draft-holmer-rmcat-transport-wide-cc-extensions-01 §2: the sender keeps the send time and size
of each packet it numbered; feedback reports only numbers and arrival times).

16-bit numbers are unwrapped against the newest one sent, so feedback for packets sent before a
wrap, reordered or duplicated feedback all find their packet; a number no longer (or never) in
the history is reported as unknown. Each packet is acknowledged once: a second report of the
same packet (a duplicated or overlapping feedback) is ignored.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from .._fast import fast_constructor

__all__ = ["SentPacket", "SentPacketHistory"]

_HISTORY_SECONDS = 10.0  # older packets are forgotten; feedback for them is unknown
_REPORTED_SECONDS = 1.0  # ... and reported ones sooner (memory: a connection holds ~50 a second)
_MAX_PACKETS = 0x4000  # a quarter of the 16-bit space: unwrapping stays unambiguous


@dataclass(slots=True)
class SentPacket:
    sequence: int  # unwrapped transport-wide sequence number
    send_time: float  # sender clock, seconds
    size: int  # bytes on the wire, as the caller counts them
    arrival: float | None = None  # receiver clock, once feedback reported it received
    reported: bool = False  # feedback has mentioned it (received or lost)


_make = fast_constructor(SentPacket)


class SentPacketHistory:
    """Sent packets for the last ``_HISTORY_SECONDS`` (at most ``_MAX_PACKETS``)."""

    __slots__ = ("_order", "_packets", "_newest", "in_flight_bytes")

    def __init__(self) -> None:
        self._packets: dict[int, SentPacket] = {}
        # The same packets in send order, oldest first: pruning looks at the oldest one per
        # packet sent, and the first key of a dict whose oldest keys were deleted is found
        # only past their dummies.
        self._order: deque[SentPacket] = deque()
        self._newest: int | None = None
        self.in_flight_bytes = 0  # sent, not yet reported by feedback

    def _unwrap(self, seq: int) -> int:
        newest = self._newest
        if newest is None:
            return seq & 0xFFFF
        delta = (seq - newest) & 0xFFFF
        if delta >= 0x8000:
            delta -= 0x10000
        return newest + delta

    def add(self, seq: int, size: int, now: float) -> SentPacket | None:
        """Record a sent packet; None when the number repeats one still in the history."""
        ext = self._unwrap(seq)
        packets = self._packets
        if ext in packets:
            return None
        packet = _make(SentPacket, ext, now, size, None, False)  # one per packet sent
        packets[ext] = packet
        self._order.append(packet)
        newest = self._newest
        if newest is None or ext > newest:
            self._newest = newest = ext
        self.in_flight_bytes += size
        # Prune (inline: once per packet sent).
        order = self._order
        while order:
            oldest = order[0]
            age = now - oldest.send_time
            if (
                age <= _HISTORY_SECONDS
                and newest - oldest.sequence < _MAX_PACKETS
                and not (oldest.reported and age > _REPORTED_SECONDS)
            ):
                break
            order.popleft()
            del packets[oldest.sequence]
            if not oldest.reported:
                self.in_flight_bytes -= oldest.size
        return packet

    def lookup(self, seq: int) -> SentPacket | None:
        """The packet a feedback's 16-bit number names, None if unknown."""
        if self._newest is None:
            return None
        return self._packets.get(self._unwrap(seq))

    def mark_reported(self, packet: SentPacket) -> None:
        if not packet.reported:
            packet.reported = True
            self.in_flight_bytes -= packet.size

    def __len__(self) -> int:
        return len(self._packets)
