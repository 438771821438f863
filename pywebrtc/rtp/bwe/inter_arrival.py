"""Packet groups and their inter-arrival delay variation (draft-ietf-rmcat-gcc-02 §5.1-§5.2).

Packets sent within ``BURST_TIME`` (5 ms) of a group's first packet form one group (a video
frame, a pacer burst); a packet that arrives within ``BURST_TIME`` of the group's last one and
earlier than its send spacing predicts (its delay variation is negative: it queued behind the
group) joins it too, as §5.2 prescribes. When a group completes, the delay variation against the
previous group is ``d(i) = t(i) - t(i-1) - (T(i) - T(i-1))``, arrival minus send spacing of the
groups' last packets (§5.1).

What we chose beyond the draft: a packet sent before the current group started (feedback for a
reordered or retransmitted packet) is left out; an arrival time that goes backwards or jumps by
more than ``_MAX_ARRIVAL_JUMP`` (the receiver's clock was reset, or the reference time wrapped)
restarts grouping instead of producing a bogus delta.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BURST_TIME", "GroupDelta", "InterArrival"]

BURST_TIME = 0.005  # draft-ietf-rmcat-gcc-02 §5.2, burst_time
_MAX_BURST_SPAN = 0.1  # a burst that keeps growing past this is a new group anyway
_MAX_ARRIVAL_JUMP = 3.0


@dataclass(frozen=True, slots=True)
class GroupDelta:
    """The spacing of one completed group against the one before (seconds, bytes)."""

    send_delta: float
    arrival_delta: float
    arrival_time: float  # the completed group's last arrival, receiver clock
    size: int  # bytes in the completed group

    @property
    def delay_variation(self) -> float:
        return self.arrival_delta - self.send_delta


@dataclass(slots=True)
class _Group:
    first_send: float
    last_send: float
    first_arrival: float
    last_arrival: float
    size: int


class InterArrival:
    __slots__ = ("_current", "_previous", "resets")

    def __init__(self) -> None:
        self._current: _Group | None = None
        self._previous: _Group | None = None
        self.resets = 0

    def add(self, send_time: float, arrival: float, size: int) -> GroupDelta | None:
        """Feed one received packet, in send order; the delta of a group it completes."""
        current = self._current
        if current is None:
            self._current = _Group(send_time, send_time, arrival, arrival, size)
            return None
        if send_time < current.first_send:
            return None
        if abs(arrival - current.last_arrival) > _MAX_ARRIVAL_JUMP:
            self._reset(send_time, arrival, size)
            return None
        if self._in_group(current, send_time, arrival):
            current.last_send = max(current.last_send, send_time)
            current.last_arrival = max(current.last_arrival, arrival)
            current.size += size
            return None
        previous = self._previous
        delta = None
        if previous is not None:
            arrival_delta = current.last_arrival - previous.last_arrival
            if arrival_delta < 0:
                # The receiver saw this group before the previous one: no usable spacing.
                self._reset(send_time, arrival, size)
                return None
            delta = GroupDelta(
                current.last_send - previous.last_send,
                arrival_delta,
                current.last_arrival,
                current.size,
            )
        self._previous = current
        self._current = _Group(send_time, send_time, arrival, arrival, size)
        return delta

    @staticmethod
    def _in_group(group: _Group, send_time: float, arrival: float) -> bool:
        if send_time - group.first_send <= BURST_TIME:
            return True
        arrival_delta = arrival - group.last_arrival
        send_delta = send_time - group.last_send
        return (
            arrival_delta - send_delta < 0
            and arrival_delta <= BURST_TIME
            and arrival - group.first_arrival < _MAX_BURST_SPAN
        )

    def _reset(self, send_time: float, arrival: float, size: int) -> None:
        self.resets += 1
        self._previous = None
        self._current = _Group(send_time, send_time, arrival, arrival, size)
