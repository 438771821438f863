"""pywebrtc/timer.py: one LoopTimer for many clients (on the simulated network's clock), and
it lets go of a client as soon as its deadline is cancelled or replaced."""

from __future__ import annotations

import asyncio
import gc
import weakref

from pywebrtc.timer import LoopTimer, Timed
from tests.simnet import Network, VirtualTimeLoop


class Client(Timed):
    """Records when it is called; then asks to be called again at ``again`` (once)."""

    def __init__(self, timer: LoopTimer, name: str, log: list[tuple[str, float]]) -> None:
        super().__init__()
        self.timer, self.name, self.log = timer, name, log
        self.again: float | None = None

    def on_timer(self, now: float) -> None:
        self.log.append((self.name, now))
        again, self.again = self.again, None
        self.timer.schedule(self, again)


def test_a_client_rescheduling_later_does_not_delay_an_earlier_one() -> None:
    # a fires at 1 s and asks for 10 s: b, due at 2 s, must still fire at 2 s.
    loop = VirtualTimeLoop(Network())
    timer = LoopTimer.for_loop(loop)
    log: list[tuple[str, float]] = []
    a, b = Client(timer, "a", log), Client(timer, "b", log)
    a.again = 10.0
    timer.schedule(a, 1.0)
    timer.schedule(b, 2.0)
    try:
        loop.run_until_complete(asyncio.sleep(11.0))
    finally:
        loop.close()
    assert log == [("a", 1.0), ("b", 2.0), ("a", 10.0)]
    assert timer.wakeups == 3


class Recorder(Timed):
    def __init__(self) -> None:
        super().__init__()
        self.fired: list[float] = []

    def on_timer(self, now: float) -> None:
        self.fired.append(now)


def test_a_cancelled_client_is_freed_before_its_old_deadline() -> None:
    loop = asyncio.new_event_loop()
    try:
        timer = LoopTimer(loop)
        client = Recorder()
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

