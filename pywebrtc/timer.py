"""One timer per event loop for every sans-IO machine on it.

:class:`LoopTimer` files its clients by deadline in millisecond buckets (a dict from the
millisecond to the clients due in it, and a heap of those milliseconds: ints, which compare
faster than entries would) and keeps one ``call_at`` armed for the earliest bucket. Wake-ups
follow the deadlines, not the number of clients: clients due in the same millisecond share one.
Deadlines that need no precision are put on a coarse grid by the machines that know it (ICE's
consent, keepalive and timeouts and SCTP's heartbeats on the quarter second), so that an idle
server's sessions share a few wake-ups a second however many there are.

A client's filing follows its latest deadline: asking again for the same one costs nothing;
a deadline that moves, earlier or later, leaves its bucket at once. So a session whose deadline
moved later (a consent response received, a check answered at the mux) wakes nobody at the old
one, and a closed session is freed at once. When the bucket the loop timer is armed for
empties, the timer is armed for the next one.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import weakref
from typing import ClassVar

from pywebrtc._mypyc import mypyc_attr

logger = logging.getLogger(__name__)

# uvloop's timers have millisecond resolution and may fire up to 1 ms early: clients due within
# this slack are handled by the same wake-up.
_SLACK = 0.001


# Subclassed outside the compiled modules (ice.connection.Connection, peerconnection._Packer).
@mypyc_attr(allow_interpreted_subclasses=True)
class Timed:
    """What :class:`LoopTimer` calls back: ``on_timer(now)`` once ``when`` has come."""

    __slots__ = ("when",)

    def __init__(self) -> None:
        self.when: float | None = None  # the deadline it is filed for (None: not filed)

    def on_timer(self, now: float) -> None:
        raise NotImplementedError


class LoopTimer:
    """One ``call_at`` per event loop for all its sessions' deadlines (see the module doc)."""

    _by_loop: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopTimer]] = (
        weakref.WeakKeyDictionary()
    )

    @classmethod
    def for_loop(cls, loop: asyncio.AbstractEventLoop) -> LoopTimer:
        timer = cls._by_loop.get(loop)
        if timer is None:
            timer = cls._by_loop[loop] = cls(loop)
        return timer

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        # millisecond -> the clients filed in it (a dict: removal in O(1), insertion order kept)
        self._buckets: dict[int, dict[Timed, None]] = {}
        self._ticks: list[int] = []  # heap of milliseconds (some may have emptied since)
        self._handle: asyncio.TimerHandle | None = None
        self._armed_for = 0.0
        self._armed_tick = -1  # the bucket the loop timer is armed for
        self._firing = False  # in _fire, which arms the loop timer once when it is done
        self.wakeups = 0  # times the loop timer fired (for benchmarks)
        self.calls = 0  # clients called back by those wake-ups

    def __len__(self) -> int:
        """Clients filed."""
        return sum(len(bucket) for bucket in self._buckets.values())

    def schedule(self, client: Timed, when: float | None) -> None:
        """Call ``client.on_timer`` at ``when`` (None: never), instead of what it asked before."""
        current = client.when
        if when == current:
            return  # asked again after every datagram: nothing to do
        buckets = self._buckets
        if current is not None:
            tick = int(current * 1000.0)
            bucket = buckets.get(tick)
            if bucket is not None:
                del bucket[client]
                if not bucket:
                    del buckets[tick]  # its tick stays in the heap, skipped when popped
        client.when = when
        if when is not None:
            tick = int(when * 1000.0)
            bucket = buckets.get(tick)
            if bucket is None:
                buckets[tick] = {client: None}
                self._push(tick)
            else:
                bucket[client] = None
        if self._firing:
            return  # _fire arms the loop timer when the callbacks are done
        if when is not None and (self._handle is None or when < self._armed_for):
            self._arm(when, int(when * 1000.0))
        elif self._handle is not None and self._armed_tick not in buckets:
            self._arm_next()  # the bucket it was armed for emptied

    def _push(self, tick: int) -> None:
        ticks = self._ticks
        heapq.heappush(ticks, tick)
        if len(ticks) > 64 + 2 * len(self._buckets):
            # Ticks of buckets that emptied (moved clients) wait in the heap until they come
            # due; clients moved about far ahead must not make it grow without bound.
            self._ticks = list(self._buckets)
            heapq.heapify(self._ticks)

    def _arm(self, at: float, tick: int) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed_for = at
        self._armed_tick = tick
        self._handle = self.loop.call_at(at, self._fire)

    def _arm_next(self) -> None:
        """Arm the loop timer for the earliest client filed, or for nothing."""
        ticks, buckets = self._ticks, self._buckets
        while ticks:
            tick = ticks[0]
            bucket = buckets.get(tick)
            if bucket:
                earliest: float | None = None
                for client in bucket:
                    when = client.when
                    assert when is not None
                    if earliest is None or when < earliest:
                        earliest = when
                assert earliest is not None
                if self._handle is None or earliest != self._armed_for:
                    self._arm(earliest, tick)
                return
            heapq.heappop(ticks)
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._armed_tick = -1

    def _fire(self) -> None:
        self._handle = None
        self._armed_tick = -1
        self.wakeups += 1
        now = max(self.loop.time(), self._armed_for)
        horizon = now + _SLACK
        last = int(horizon * 1000.0)
        ticks, buckets = self._ticks, self._buckets
        due: list[Timed] = []
        later: list[Timed] = []  # filed again once the buckets due are emptied
        while ticks and ticks[0] <= last:
            bucket = buckets.pop(heapq.heappop(ticks), None)
            if bucket is None:
                continue
            for client in bucket:
                when = client.when
                assert when is not None
                if when > horizon:
                    later.append(client)  # due later in the last millisecond taken
                else:
                    client.when = None
                    due.append(client)
        # The callbacks file their next deadlines without arming the loop timer (a call_at
        # each): it is armed once below, for the earliest client.
        self._firing = True
        try:
            for client in later:
                when = client.when
                assert when is not None
                client.when = None
                self.schedule(client, when)
            self.calls += len(due)
            for client in due:
                try:
                    client.on_timer(now)
                except Exception:  # a bug in one session must not stop every other's timers
                    logger.exception("session timer failed")
        finally:
            self._firing = False
        self._arm_next()


__all__ = ["LoopTimer", "Timed"]
