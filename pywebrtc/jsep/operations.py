"""The W3C operations chain (webrtc-pc §4.4.1.2): createOffer, createAnswer,
setLocalDescription, setRemoteDescription and addIceCandidate run one at a time, in call
order; an operation with none ahead of it starts at once.

The negotiation-needed flag is not updated while operations are chained (§4.7.3): a check
asked for meanwhile (:attr:`OperationsChain.update_on_empty`) runs once the chain is empty.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

_T = TypeVar("_T")


class OperationsChain:
    def __init__(self, on_empty: Callable[[], None]) -> None:
        self._on_empty = on_empty
        self._length = 0  # [[Operations]]: running and waiting
        self._lock = asyncio.Lock()
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
            async with self._lock:
                return await operation()
        finally:
            self._length -= 1
            if not self._length and self.update_on_empty:
                self.update_on_empty = False
                self._on_empty()


__all__ = ["OperationsChain"]


def _nothing() -> None:
    pass
