"""One timer per event loop for every sans-IO machine on it.

:class:`LoopTimer` files its clients by deadline in millisecond buckets (a dict from the
millisecond to the clients due in it, and a heap of those milliseconds: ints, which compare
faster than entries would) and keeps one ``call_at`` armed for the earliest. A client whose
deadline moves later stays where it is filed rather than being moved per datagram; when that
bucket comes due it is filed again at the later deadline, without calling the client (an idle
session's deadline moves later with every consent check it receives). One whose deadline
moves earlier, or to never, leaves its bucket at once, so a closed session is freed then rather
than when its old deadline comes. Wake-ups follow the deadlines, not the number of clients:
with many sessions, deadlines that fall within a millisecond share one wake-up.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import weakref

logger = logging.getLogger(__name__)

# uvloop's timers have millisecond resolution and may fire up to 1 ms early: clients due within
# this slack are handled by the same wake-up.
_SLACK = 0.001


class Timed:
    """What :class:`LoopTimer` calls back: ``on_timer(now)`` once ``when`` has come."""

    __slots__ = ("wanted", "when")

    def __init__(self) -> None:
        self.when: float | None = None  # the deadline it is filed at (None: not filed)
        self.wanted: float | None = None  # the deadline it last asked for (may be later)

    def on_timer(self, now: float) -> None:
        raise NotImplementedError


class LoopTimer:
    """One ``call_at`` per event loop for all its sessions' deadlines (see the module doc)."""

    _by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopTimer] = (
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
        self._buckets: dict[int, list[Timed]] = {}  # millisecond -> the clients filed in it
        self._ticks: list[int] = []  # heap of milliseconds (some may have emptied since)
        self._handle: asyncio.TimerHandle | None = None
        self._armed_for = 0.0
        self._firing = False  # in _fire, which arms the loop timer once when it is done
        self.wakeups = 0  # times the loop timer fired (for benchmarks)
        self.calls = 0  # clients called back by those wake-ups

    def __len__(self) -> int:
        """Clients filed."""
        return sum(len(bucket) for bucket in self._buckets.values())

    def schedule(self, client: Timed, when: float | None, *, move: bool = False) -> None:
        """Call ``client.on_timer`` at ``when`` (None: never). A later ``when`` than the one
        already scheduled keeps the earlier filing, which moves to ``when`` once it is due
        (cheap for a deadline asked after every datagram); with ``move`` it moves at once (a
        deadline that only ever moves later, which would otherwise wake the loop for nothing
        at each earlier one)."""
        current = client.when
        client.wanted = when
        if current is not None:
            if when is not None and current <= when and (not move or current == when):
                return
            self._remove(client, current)
        if when is None:
            return
        self._file(client, when)
        if not self._firing and (self._handle is None or when < self._armed_for):
            self._arm(when)

    def _file(self, client: Timed, when: float) -> None:
        client.when = when
        tick = int(when * 1000.0)
        bucket = self._buckets.get(tick)
        if bucket is None:
            self._buckets[tick] = [client]
            heapq.heappush(self._ticks, tick)
        else:
            bucket.append(client)

    def _remove(self, client: Timed, when: float) -> None:
        client.when = None
        tick = int(when * 1000.0)
        bucket = self._buckets.get(tick)
        if bucket is not None:
            for i, filed in enumerate(bucket):
                if filed is client:
                    del bucket[i]
                    break
            if not bucket:
                del self._buckets[tick]  # its tick stays in the heap, skipped when popped

    def _arm(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed_for = when
        self._handle = self.loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._handle = None
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
                wanted = client.wanted
                if when > horizon or (wanted is not None and wanted > horizon):
                    # Not due yet (the last millisecond's bucket), or its deadline moved later
                    # since: file it there, no call.
                    later.append(client)
                else:
                    client.when = None
                    due.append(client)
        for client in later:
            wanted = client.wanted
            assert wanted is not None and client.when is not None
            self._file(client, max(wanted, client.when))
        self.calls += len(due)
        # The callbacks file their next deadlines without arming the loop timer (a call_at
        # each): it is armed once below, for the earliest client.
        self._firing = True
        try:
            for client in due:
                try:
                    client.on_timer(now)
                except Exception:  # a bug in one session must not stop every other's timers
                    logger.exception("session timer failed")
        finally:
            self._firing = False
        while ticks:
            bucket = buckets.get(ticks[0])
            if bucket:
                earliest = bucket[0].when
                for client in bucket:
                    w = client.when
                    assert w is not None and earliest is not None
                    if w < earliest:
                        earliest = w
                assert earliest is not None
                self._arm(earliest)
                return
            heapq.heappop(ticks)


__all__ = ["LoopTimer", "Timed"]
