"""A socket readiness loop in a thread of its own: the relay's ``--io thread`` forwarding path.

The thread blocks in ``epoll_wait`` (``select.epoll`` releases the GIL while it sleeps), so a
datagram's wake-up runs its handler at once: no event-loop iteration, timer check or handle
object in between, and housekeeping on the asyncio loop (timers, Redis, metrics) never queues
in front of a packet. Whatever the handlers touch belongs to this thread; other threads hand
work over with :meth:`IOThread.call` (a deque and an eventfd wake-up), never by sharing state.
Linux only (``epoll``, ``eventfd``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)

_MAX_EVENTS = 64  # ready sockets per wake-up; level-triggered, so the rest come next time


class IOThread:
    """Runs ``handler()`` in one thread whenever its file descriptor is readable.

    Register readers before :meth:`start` or from inside the thread (a handler or a
    :meth:`call`); :meth:`call` is the only method other threads may use once it runs.
    """

    def __init__(self, name: str = "relay-io") -> None:
        self._epoll = select.epoll()
        self._handlers: dict[int, Callable[[], None]] = {}
        self._calls: deque[tuple[Callable[..., object], tuple[object, ...]]] = deque()
        self._wake = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._epoll.register(self._wake, select.EPOLLIN)
        self._running = True
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def add_reader(self, fd: int, handler: Callable[[], None]) -> None:
        self._handlers[fd] = handler
        self._epoll.register(fd, select.EPOLLIN)

    def remove_reader(self, fd: int) -> None:
        if self._handlers.pop(fd, None) is not None:
            self._epoll.unregister(fd)

    def call(self, fn: Callable[..., object], *args: object) -> None:
        """Run ``fn(*args)`` in the thread, after the handlers already running; any thread.
        Once stopped, calls are dropped (a Redis answer arriving during shutdown, say)."""
        if self._wake < 0:
            return
        self._calls.append((fn, args))
        os.eventfd_write(self._wake, 1)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Let the thread finish what it is doing, then end it (waits up to ``timeout``)."""
        if self._thread.is_alive():
            self.call(self._halt)
            self._thread.join(timeout)
        if not self._thread.is_alive() and self._wake >= 0:
            self._epoll.close()
            os.close(self._wake)
            self._wake = -1

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _halt(self) -> None:
        self._running = False

    def _run(self) -> None:
        poll, handlers, wake = self._epoll.poll, self._handlers, self._wake
        while self._running:
            try:
                # A small maxevents: the default (FD_SETSIZE) mallocs 12 KiB per call.
                for fd, _ in poll(-1, _MAX_EVENTS):
                    if fd == wake:
                        self._run_calls()
                    else:
                        handlers[fd]()
            except Exception:
                # A bug in a handler: keep forwarding (epoll is level-triggered, so nothing
                # ready is lost), as the event loop would.
                log.exception("relay I/O handler failed")

    def _run_calls(self) -> None:
        with contextlib.suppress(BlockingIOError):  # already read by an earlier wake-up
            os.eventfd_read(self._wake)
        calls = self._calls
        while calls:
            fn, args = calls.popleft()
            try:
                fn(*args)
            except Exception:
                log.exception("relay I/O call %r failed", fn)
