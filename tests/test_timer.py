"""pywebrtc/timer.py: one LoopTimer for many clients (on the simulated network's clock), and
it lets go of a client as soon as its deadline is cancelled or replaced."""

from __future__ import annotations

import asyncio
import gc
import random
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
        timer.schedule(client, loop.time() + 10)  # earlier: it leaves the 30 s bucket
        ref = weakref.ref(client)
        timer.schedule(client, None)
        del client
        gc.collect()
        assert ref() is None
        assert len(timer) == 0
    finally:
        loop.close()


def _run_until(loop: VirtualTimeLoop, end: float) -> None:
    loop.run_until_complete(asyncio.sleep(end - loop.time()))


def _timer_on_virtual_time() -> tuple[VirtualTimeLoop, LoopTimer]:
    loop = VirtualTimeLoop(Network())
    return loop, LoopTimer(loop)


def test_a_deadline_moved_later_is_not_called_early() -> None:
    loop, timer = _timer_on_virtual_time()
    client = Recorder()
    try:
        timer.schedule(client, 1.0)
        timer.schedule(client, 5.0)  # e.g. a datagram pushed the session's deadline back
        _run_until(loop, 4.9)
        assert client.fired == []
        _run_until(loop, 6.0)
        assert client.fired == [5.0]
    finally:
        loop.close()


def test_a_deadline_moved_earlier_is_called_then() -> None:
    loop, timer = _timer_on_virtual_time()
    client = Recorder()
    try:
        timer.schedule(client, 5.0)
        timer.schedule(client, 2.0)
        _run_until(loop, 10.0)
        assert client.fired == [2.0]  # nothing is left at 5.0
    finally:
        loop.close()


def test_none_cancels() -> None:
    loop, timer = _timer_on_virtual_time()
    client = Recorder()
    try:
        timer.schedule(client, 1.0)
        timer.schedule(client, None)
        _run_until(loop, 10.0)
        assert client.fired == []
    finally:
        loop.close()


def test_clients_due_together_share_one_wakeup() -> None:
    loop, timer = _timer_on_virtual_time()
    clients = [Recorder() for _ in range(100)]
    try:
        for i, client in enumerate(clients):
            timer.schedule(client, 1.0 + i * 0.000005)  # within the timer's slack of each other
        _run_until(loop, 2.0)
        assert all(len(c.fired) == 1 for c in clients)
        assert timer.wakeups == 1 and timer.calls == 100
    finally:
        loop.close()


def test_many_clients_moved_about_are_each_called_once_at_their_last_deadline() -> None:
    loop, timer = _timer_on_virtual_time()
    rng = random.Random(7)
    clients = [Recorder() for _ in range(500)]
    final: dict[int, float | None] = {}
    try:
        for i, client in enumerate(clients):
            when: float | None = rng.uniform(0.5, 5.0)
            timer.schedule(client, when)
            for _ in range(rng.randrange(3)):
                roll = rng.random()
                if roll < 0.1:
                    when = None
                else:
                    when = rng.uniform(0.5, 5.0) + (0.0005 if roll < 0.5 else 0.0)
                timer.schedule(client, when)
            final[i] = when
        _run_until(loop, 10.0)
        for i, client in enumerate(clients):
            want = final[i]
            if want is None:
                assert client.fired == []
            else:
                assert len(client.fired) == 1
                assert want - 0.001 <= client.fired[0] <= want + 0.001
        assert len(timer) == 0
    finally:
        loop.close()


def test_a_deadline_moved_later_wakes_nobody_at_the_old_one() -> None:
    # An idle session's consent checks move its deadline later each time: the loop is not
    # woken at each old deadline to find nothing due (the timer is armed for the new one).
    loop, timer = _timer_on_virtual_time()
    client = Recorder()
    try:
        timer.schedule(client, 1.0)
        for when in (2.0, 3.0, 4.0, 5.0):
            timer.schedule(client, when)
        _run_until(loop, 6.0)
        assert client.fired == [5.0]
        assert timer.wakeups == 1 and timer.calls == 1
    finally:
        loop.close()


def test_a_cancelled_deadline_wakes_nobody_and_the_next_one_still_comes() -> None:
    loop, timer = _timer_on_virtual_time()
    first, second = Recorder(), Recorder()
    try:
        timer.schedule(first, 1.0)
        timer.schedule(second, 3.0)
        timer.schedule(first, None)  # the bucket the loop timer was armed for empties
        _run_until(loop, 10.0)
        assert first.fired == [] and second.fired == [3.0]
        assert timer.wakeups == 1
        timer.schedule(first, 12.0)
        timer.schedule(first, None)
        _run_until(loop, 20.0)
        assert timer.wakeups == 1  # armed for nothing now
    finally:
        loop.close()


def test_the_same_deadline_asked_again_changes_nothing() -> None:
    # A session asks for its deadline after every datagram, mostly the same one.
    loop, timer = _timer_on_virtual_time()
    clients = [Recorder() for _ in range(3)]
    try:
        for _ in range(5):
            for i, client in enumerate(clients):
                timer.schedule(client, 1.0 + i)
        assert len(timer) == 3 and len(timer._ticks) == 3
        _run_until(loop, 5.0)
        assert [c.fired for c in clients] == [[1.0], [2.0], [3.0]]
        assert timer.wakeups == 3
    finally:
        loop.close()


def test_clients_moved_about_far_ahead_do_not_grow_the_heap_without_bound() -> None:
    loop, timer = _timer_on_virtual_time()
    client = Recorder()
    try:
        for i in range(10_000):
            timer.schedule(client, 100.0 + i * 0.01)  # a new millisecond each time
        assert len(timer) == 1 and len(timer._ticks) <= 66
        _run_until(loop, 300.0)
        assert client.fired == [100.0 + 9_999 * 0.01]
    finally:
        loop.close()
