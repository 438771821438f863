"""Two SCTP endpoints (associations, or data-channel managers) on the simulated network
(:mod:`tests.simnet`): hosts ``a`` and ``b``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pywebrtc.sctp.association import SctpAssociation
from pywebrtc.sctp.datachannel import DataChannelManager
from tests.simnet import Datagram, Duplicate, Loss, Network, Reorder

A, B = ("192.0.2.1", 5000), ("192.0.2.2", 5000)
Endpoint = SctpAssociation | DataChannelManager


class Link:
    """``a`` and ``b`` on a network of their own; a data-channel manager's events are also
    dispatched (its W3C events run), as the peer connection does."""

    def __init__(
        self,
        a: Endpoint,
        b: Endpoint,
        delay: float = 0.01,
        loss: float = 0.0,
        duplicate: float = 0.0,
        reorder: float = 0.0,
        seed: int = 1,
        drop: Callable[[Datagram], bool] | None = None,
    ) -> None:
        self.net = Network(
            Loss(loss), Duplicate(duplicate), Reorder(reorder, 3 * delay), delay=delay, seed=seed
        )
        self.net.drop = drop
        self.a, self.b = a, b
        self._a = self.net.attach(a, A, peer=B, name="a", on_event=_dispatcher(a))
        self._b = self.net.attach(b, B, peer=A, name="b", on_event=_dispatcher(b))

    @property
    def events_a(self) -> list[Any]:
        return self._a.events

    @property
    def events_b(self) -> list[Any]:
        return self._b.events

    @property
    def now(self) -> float:
        return self.net.now

    @property
    def drop(self) -> Callable[[Datagram], bool] | None:
        return self.net.drop

    @drop.setter
    def drop(self, rule: Callable[[Datagram], bool] | None) -> None:
        self.net.drop = rule

    def step(self) -> bool:
        return self.net.step()

    def run_until(self, done: Callable[[], bool], limit: float = 600.0) -> None:
        self.net.run_until(done, limit)


def _dispatcher(endpoint: Endpoint) -> Callable[[Any], object] | None:
    return endpoint.dispatch if isinstance(endpoint, DataChannelManager) else None
