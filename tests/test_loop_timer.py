"""pywebrtc.shell.LoopTimer on a fake loop: one armed timer for all clients, called when due."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

from pywebrtc.timer import LoopTimer, Timed


class FakeHandle:
    def __init__(self, when: float, callback: Callable[[], object]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeLoop:
    """``time()`` and ``call_at()``; :meth:`run_until` fires what is due, in order."""

    def __init__(self) -> None:
        self.now = 0.0
        self.handles: list[FakeHandle] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], object]) -> FakeHandle:
        handle = FakeHandle(when, callback)
        self.handles.append(handle)
        return handle

    def run_until(self, end: float) -> None:
        while True:
            live = [h for h in self.handles if not h.cancelled and h.when <= end]
            if not live:
                break
            handle = min(live, key=lambda h: h.when)
            self.handles.remove(handle)
            self.now = max(self.now, handle.when)
            handle.callback()
        self.now = end


class Client(Timed):
    __slots__ = ("calls", "timer")

    def __init__(self, timer: LoopTimer) -> None:
        super().__init__()
        self.timer = timer
        self.calls: list[float] = []

    def on_timer(self, now: float) -> None:
        self.calls.append(now)


def timer_on_fake_loop() -> tuple[FakeLoop, LoopTimer]:
    loop = FakeLoop()
    return loop, LoopTimer(cast(asyncio.AbstractEventLoop, cast(Any, loop)))


def test_a_deadline_moved_later_is_not_called_early() -> None:
    loop, timer = timer_on_fake_loop()
    client = Client(timer)
    timer.schedule(client, 1.0)
    timer.schedule(client, 5.0)  # e.g. a datagram pushed the session's deadline back
    loop.run_until(4.9)
    assert client.calls == []
    loop.run_until(6.0)
    assert client.calls == [5.0]


def test_a_deadline_moved_earlier_is_called_then() -> None:
    loop, timer = timer_on_fake_loop()
    client = Client(timer)
    timer.schedule(client, 5.0)
    timer.schedule(client, 2.0)
    loop.run_until(10.0)
    assert client.calls == [2.0]  # the stale 5.0 entry calls nobody


def test_none_cancels() -> None:
    loop, timer = timer_on_fake_loop()
    client = Client(timer)
    timer.schedule(client, 1.0)
    timer.schedule(client, None)
    loop.run_until(10.0)
    assert client.calls == []


def test_clients_due_together_share_one_wakeup() -> None:
    loop, timer = timer_on_fake_loop()
    clients = [Client(timer) for _ in range(100)]
    for i, client in enumerate(clients):
        timer.schedule(client, 1.0 + i * 0.000005)  # within the timer's slack of each other
    loop.run_until(2.0)
    assert all(len(c.calls) == 1 for c in clients)
    assert timer.wakeups == 1 and timer.calls == 100
