"""One timer per event loop for every sans-IO machine on it.

:class:`LoopTimer` keeps a heap of its clients' deadlines and one ``call_at`` armed for the
earliest. A client whose deadline moves later keeps its heap entry rather than pushing an entry per
datagram; when that entry comes due it is filed again at the later deadline, without calling
the client (an idle session's deadline moves later with every consent check it receives). One
whose deadline moves earlier gets a new entry. Wake-ups follow the deadlines, not the number
of clients: with many sessions, deadlines that fall within a millisecond share one wake-up.

Only a client's live entry refers to it: a new entry or ``schedule(client, None)`` empties the
previous one, so a closed session is freed at once rather than when its old deadline comes.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import weakref

logger = logging.getLogger(__name__)

# uvloop's timers have millisecond resolution and may fire up to 1 ms early: entries due within
# this slack are handled by the same wake-up.
_SLACK = 0.001


class Timed:
    """What :class:`LoopTimer` calls back: ``on_timer(now)`` once ``when`` has come."""

    __slots__ = ("_entry", "wanted", "when")

    def __init__(self) -> None:
        self.when: float | None = None  # the deadline this client's live heap entry is for
        self.wanted: float | None = None  # the deadline it last asked for (may be later)
        self._entry: list[object] | None = None  # that entry: [when, seq, client or None]

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
        self._heap: list[list[object]] = []  # [when, seq, client or None (stale)]
        self._seq = 0
        self._handle: asyncio.TimerHandle | None = None
        self._armed_for = 0.0
        self._firing = False  # in _fire, which arms the loop timer once when it is done
        self.wakeups = 0  # times the loop timer fired (for benchmarks)
        self.calls = 0  # clients called back by those wake-ups

    def __len__(self) -> int:
        return len(self._heap)

    def schedule(self, client: Timed, when: float | None) -> None:
        """Call ``client.on_timer`` at ``when`` (None: never). A later ``when`` than the one
        already scheduled keeps the earlier entry, which moves to ``when`` once it is due."""
        current = client.when
        client.wanted = when
        if when is None:
            client.when = None  # its heap entry, if any, is now stale
            _release(client)
            return
        if current is not None and current <= when:
            return
        _release(client)
        client.when = when
        self._seq += 1
        entry: list[object] = [when, self._seq, client]
        client._entry = entry
        heapq.heappush(self._heap, entry)
        if not self._firing and (self._handle is None or when < self._armed_for):
            self._arm(when)

    def _arm(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed_for = when
        self._handle = self.loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self.wakeups += 1
        now = self.loop.time()
        heap = self._heap
        due: list[Timed] = []
        horizon = max(now, self._armed_for) + _SLACK
        while heap and heap[0][0] <= horizon:  # type: ignore[operator]
            entry = heapq.heappop(heap)
            when, client = entry[0], entry[2]
            if not isinstance(client, Timed) or client.when != when:
                continue  # a stale entry: that client was rescheduled earlier, or to never
            wanted = client.wanted
            if wanted is not None and wanted > horizon:
                # Its deadline moved later since: file it there, no call.
                client.when = wanted
                self._seq += 1
                entry = [wanted, self._seq, client]
                client._entry = entry
                heapq.heappush(heap, entry)
                continue
            client.when = None
            client._entry = None
            due.append(client)
        now = max(now, self._armed_for)
        self.calls += len(due)
        # The callbacks file their next deadlines without arming the loop timer (a call_at
        # each): it is armed once below, for the earliest entry.
        self._firing = True
        try:
            for client in due:
                try:
                    client.on_timer(now)
                except Exception:  # a bug in one session must not stop every other's timers
                    logger.exception("session timer failed")
        finally:
            self._firing = False
        while heap and heap[0][2] is None:
            heapq.heappop(heap)
        if heap:
            self._arm(heap[0][0])  # type: ignore[arg-type]


def _release(client: Timed) -> None:
    """The client's heap entry, if any, becomes stale and lets go of the client."""
    entry = client._entry
    if entry is not None:
        entry[2] = None
        client._entry = None


__all__ = ["LoopTimer", "Timed"]
