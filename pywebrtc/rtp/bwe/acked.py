"""The acknowledged bitrate: what feedback says reached the receiver, per second.

draft-ietf-rmcat-gcc-02 §5.5 sets the rate after over-use from the *received* rate R(i),
"measured over the last 500 ms"; with send-side estimation the sender computes it from the
sizes of the packets feedback acknowledges, placed at their arrival times (receiver clock).
We sum the bytes that arrived in the last ``WINDOW`` seconds of arrival time; there is no rate
until the acknowledged packets span that long (a rate from a few packets is mostly noise).
"""

from __future__ import annotations

from collections import deque

__all__ = ["WINDOW", "AckedBitrate"]

WINDOW = 0.5  # seconds, §5.5


class AckedBitrate:
    __slots__ = ("_bytes", "_first", "_newest", "_packets")

    def __init__(self) -> None:
        self._packets: deque[tuple[float, int]] = deque()
        self._bytes = 0
        self._first: float | None = None
        self._newest = float("-inf")

    def add(self, arrival: float, size: int) -> None:
        """One acknowledged packet (receiver clock, bytes), in about arrival order."""
        if self._first is None or arrival < self._first:
            self._first = arrival
        self._packets.append((arrival, size))
        self._bytes += size
        self._newest = max(arrival, self._newest)
        cutoff = self._newest - WINDOW
        packets = self._packets
        while packets and packets[0][0] <= cutoff:
            self._bytes -= packets.popleft()[1]

    def reset(self) -> None:
        """The receiver's clock jumped: start over."""
        self._packets.clear()
        self._bytes = 0
        self._first = None
        self._newest = float("-inf")

    @property
    def bitrate(self) -> int | None:
        """Bits per second over the last window, None until the packets span one."""
        if self._first is None or not self._packets:
            return None
        if self._newest - self._first < WINDOW:
            return None
        return int(self._bytes * 8 / WINDOW)
