"""LoopTimer lets go of a client as soon as its deadline is cancelled or replaced."""

from __future__ import annotations

import asyncio
import gc
import weakref

from pywebrtc.timer import LoopTimer, Timed


class Client(Timed):
    def __init__(self) -> None:
        super().__init__()
        self.fired: list[float] = []

    def on_timer(self, now: float) -> None:
        self.fired.append(now)


def test_a_cancelled_client_is_freed_before_its_old_deadline() -> None:
    loop = asyncio.new_event_loop()
    try:
        timer = LoopTimer(loop)
        client = Client()
        timer.schedule(client, loop.time() + 30)
        timer.schedule(client, loop.time() + 10)  # earlier: a second entry, the first is stale
        ref = weakref.ref(client)
        timer.schedule(client, None)
        del client
        gc.collect()
        assert ref() is None
        assert len(timer) == 2  # the stale entries stay until popped, empty
    finally:
        loop.close()

