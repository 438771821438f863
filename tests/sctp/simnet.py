"""A scripted network between two sans-IO SCTP endpoints on a fake clock."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from pywebrtc.sctp.association import Event as AssociationEvent
from pywebrtc.sctp.datachannel import ChannelEvent, DataChannelManager
from pywebrtc.transmit import Transmit


class Endpoint(Protocol):
    def receive(self, data: bytes, now: float) -> None: ...
    def tick(self, now: float) -> None: ...
    def poll(self) -> Transmit | ChannelEvent | AssociationEvent | None: ...
    def deadline(self) -> float | None: ...


@dataclass
class SimNet:
    """Moves packets between ``a`` and ``b`` with delay, loss, duplication and reordering."""

    a: Endpoint
    b: Endpoint
    delay: float = 0.01
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    seed: int = 1
    now: float = 0.0
    events_a: list[object] = field(default_factory=list)
    events_b: list[object] = field(default_factory=list)
    drop: Callable[[str, bytes], bool] | None = None  # scripted loss: (direction, packet)
    delivered: int = 0
    _queue: list[tuple[float, int, str, bytes]] = field(default_factory=list)
    _seq: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def _drain(self, side: str) -> None:
        ep = self.a if side == "a" else self.b
        events = self.events_a if side == "a" else self.events_b
        while (item := ep.poll()) is not None:
            if isinstance(item, Transmit):
                self._send(side, item.data)
            else:
                events.append(item)
                if isinstance(ep, DataChannelManager):
                    ep.dispatch(item)

    def _send(self, side: str, data: bytes) -> None:
        direction = "a->b" if side == "a" else "b->a"
        if self.drop is not None and self.drop(direction, data):
            return
        if self.rng.random() < self.loss:
            return
        copies = 2 if self.rng.random() < self.duplicate else 1
        for _ in range(copies):
            at = self.now + self.delay
            if self.rng.random() < self.reorder:
                at += self.delay * self.rng.random() * 3
            self._seq += 1
            heapq.heappush(self._queue, (at, self._seq, "b" if side == "a" else "a", data))

    def pump(self) -> None:
        self._drain("a")
        self._drain("b")

    def step(self) -> bool:
        """Advance to the next packet arrival or timer; False when nothing is left."""
        self.pump()
        times = [t for t in (self.a.deadline(), self.b.deadline()) if t is not None]
        if self._queue:
            times.append(self._queue[0][0])
        if not times:
            return False
        self.now = max(self.now, min(times))
        while self._queue and self._queue[0][0] <= self.now:
            _, _, dst, data = heapq.heappop(self._queue)
            (self.a if dst == "a" else self.b).receive(data, self.now)
            self.delivered += 1
            self._drain(dst)
        for ep in (self.a, self.b):
            d = ep.deadline()
            if d is not None and d <= self.now:
                ep.tick(self.now)
        self.pump()
        return True

    def run_until(self, done: Callable[[], bool], limit: float = 600.0) -> None:
        start = self.now
        while not done():
            if not self.step() or self.now - start > limit:
                raise AssertionError(f"condition not reached by t={self.now:.3f}")
