"""The W3C operations chain (webrtc-pc §4.4.1.2): createOffer, createAnswer,
setLocalDescription, setRemoteDescription and addIceCandidate run one at a time, in call
order; an operation with none ahead of it starts at once.

The negotiation-needed flag is not updated while operations are chained (§4.7.3): a check
asked for meanwhile (:attr:`OperationsChain.update_on_empty`) runs once the chain is empty.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable
from typing import TypeVar

_T = TypeVar("_T")


class OperationsChain:
    def __init__(self, on_empty: Callable[[], None]) -> None:
        self._on_empty = on_empty
        self._length = 0  # [[Operations]]: running and waiting
        # One operation runs at a time; those called meanwhile wait here, in call order, for
        # the one before them to hand the chain on. (Not an asyncio.Lock: its three coroutine
        # frames per operation were most of the chain's cost, for a chain that is almost
        # always empty.)
        self._running = False
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self.update_on_empty = False  # [[UpdateNegotiationNeededFlagOnEmptyChain]]

    def detach(self) -> None:
        """The owner is closed: let go of its callback (no cycle through the owner)."""
        self._on_empty = _nothing

    @property
    def busy(self) -> bool:
        return self._length > 0

    async def run(self, operation: Callable[[], Awaitable[_T]]) -> _T:
        self._length += 1
        try:
            if self._running:
                waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._waiting.append(waiter)
                try:
                    await waiter
                except BaseException:
                    if waiter.cancelled():
                        if waiter in self._waiting:  # (not if _hand_on skipped it already)
                            self._waiting.remove(waiter)
                    else:  # handed the chain, then cancelled before running: pass it on
                        self._hand_on()
                    raise
            else:
                self._running = True
            try:
                return await operation()
            finally:
                self._hand_on()
        finally:
            self._length -= 1
            if not self._length and self.update_on_empty:
                self.update_on_empty = False
                self._on_empty()

    def _hand_on(self) -> None:
        """The running operation is done: the next waiting one runs (the chain stays taken)."""
        waiting = self._waiting
        while waiting:
            waiter = waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._running = False


__all__ = ["OperationsChain"]


def _nothing() -> None:
    pass
