"""The transceiver registry (``--redis``): where relays find this transceiver, and where other
transceivers find a place for the offers this one cannot take.

Every ``interval`` seconds (``--heartbeat``) the transceiver writes, with a TTL of three
intervals, through :meth:`relay.cache.RouteCache.heartbeat`:

* ``pywebrtc:transceiver:<cluster>:<id>`` = ``host:port`` of its framed UDP socket: the entry
  ``pywebrtc-relay --redis`` reads to route ufrags naming this transceiver;
* ``pywebrtc:load:<cluster>:<id>`` = ``{"sessions": N, "capacity": M, "draining": false,
  "http": "http://host:port"}``: its live sessions, ``--max-sessions``, whether it drains, and
  the base URL other transceivers redirect offers to (``--advertise-http``, or ``--http``).

and reads the cluster's load entries back. When it is full or draining, a new offer is
redirected (``307``) to :func:`choose`'s pick from that snapshot: the least loaded other live
transceiver of the cluster that is not draining and has room. With ``--rebalance F`` an offer
is also redirected while this transceiver has room, when that pick's utilization
(sessions/capacity) is lower than this one's by more than F. The snapshot is used only while
younger than the TTL, and each redirect counts one session against its target until the next
read, so a burst of redirects spreads instead of piling onto one transceiver. On clean shutdown
(after the drain) both entries are deleted; after a kill they expire with the TTL.

Redis is not a dependency of serving: when it is unreachable the heartbeat logs a warning (at
most every 30 s), sessions go on, offers beyond capacity get 503, and the entries are written
again as soon as Redis answers. Without ``--redis`` there is no registry (in memory, 503 only).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from relay.cache import RouteCache

logger = logging.getLogger(__name__)

Address = tuple[str, int]
TTL_INTERVALS = 3  # an entry outlives two missed heartbeats


class LoadError(ValueError):
    """A load entry that is not the JSON object this module writes."""


@dataclass(frozen=True, slots=True)
class Load:
    """One transceiver's ``pywebrtc:load:<cluster>:<id>`` entry."""

    sessions: int
    capacity: int
    draining: bool = False
    http: str | None = None  # base URL for redirects; None: not reachable for them

    @property
    def has_room(self) -> bool:
        return not self.draining and self.sessions < self.capacity and bool(self.http)

    @property
    def utilization(self) -> float:
        return self.sessions / self.capacity if self.capacity > 0 else 1.0

    @classmethod
    def parse(cls, text: str) -> Load:
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise LoadError("load entry is not JSON") from None
        if not isinstance(value, dict):
            raise LoadError("load entry is not a JSON object")
        sessions, capacity = value.get("sessions"), value.get("capacity")
        draining, http = value.get("draining", False), value.get("http")
        if not isinstance(sessions, int) or not isinstance(capacity, int):
            raise LoadError("load entry needs integer sessions and capacity")
        if not isinstance(draining, bool) or not (http is None or isinstance(http, str)):
            raise LoadError("load entry has a bad draining or http field")
        return cls(sessions, capacity, draining, http)

    def __str__(self) -> str:
        return json.dumps(
            {
                "sessions": self.sessions,
                "capacity": self.capacity,
                "draining": self.draining,
                "http": self.http,
            },
            separators=(",", ":"),
        )


def choose(loads: Mapping[int, Load], exclude: int) -> tuple[int, Load] | None:
    """The least loaded transceiver with room other than ``exclude``: lowest utilization, then
    fewest sessions, then lowest id. None if none has room."""
    candidates = [(i, load) for i, load in loads.items() if i != exclude and load.has_room]
    if not candidates:
        return None
    return min(candidates, key=lambda item: (item[1].utilization, item[1].sessions, item[0]))


class Registry:
    """Heartbeats this transceiver's entries and keeps a snapshot of its cluster's loads."""

    def __init__(
        self,
        url: str,
        cluster: int,
        ident: int,
        udp: Address,
        load: Callable[[], Load],
        interval: float = 2.0,
        rebalance: float = 0.0,
    ) -> None:
        self.cache = RouteCache(
            url,
            what="transceiver registry",
            fallback="serving on without registration or redirects",
        )
        self.cluster = cluster
        self.ident = ident
        self.udp = udp
        self.interval = interval
        self.ttl = interval * TTL_INTERVALS
        self.rebalance = rebalance  # > 0: placement by load while there is room (--rebalance)
        self._load = load
        self._loads: dict[int, Load] = {}
        self._read_at = float("-inf")
        self._registered = False
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Register now (logged, not fatal, if Redis is down), then heartbeat in the background."""
        await self._beat()
        self._task = asyncio.get_running_loop().create_task(self._run())

    def poke(self) -> None:
        """Heartbeat now (the load changed in a way others must see soon: draining)."""
        self._wake.set()

    def target(self, rebalance: bool = False) -> str | None:
        """The base URL to redirect a new offer to, or None (no live transceiver has room).
        With ``rebalance`` (this transceiver has room itself), only a transceiver whose
        utilization is lower than this one's by more than the ``rebalance`` margin."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._read_at > self.ttl:
            return None
        pick = choose(self._loads, self.ident)
        if pick is None:
            return None
        ident, load = pick
        if rebalance and not (0 < self.rebalance < self._load().utilization - load.utilization):
            return None
        self._loads[ident] = replace(load, sessions=load.sessions + 1)
        return load.http

    @property
    def registered(self) -> bool:
        """True while the last heartbeat was written."""
        return self._registered

    async def close(self) -> None:
        """Stop the heartbeat and delete this transceiver's entries."""
        # The loop is asked to stop, not cancelled: redis-py (8.2) can swallow a cancel that
        # lands inside a command, and the loop would then never end.
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        if await self.cache.withdraw(self.cluster, self.ident):
            logger.info("left the transceiver registry (%s)", self.cache.url)
        await self.cache.close()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            if self._closing:
                return
            self._wake.clear()
            try:
                await self._beat()
            except Exception:  # a bug here must not stop the heartbeat (relays would lose us)
                logger.exception("registry heartbeat failed")

    async def _beat(self) -> None:
        ok = await self.cache.heartbeat(
            self.cluster, self.ident, self.udp, self.ttl, load=str(self._load())
        )
        if ok and not self._registered:
            logger.info(
                "registered as transceiver %d of cluster %d at %s:%d in %s",
                self.ident, self.cluster, *self.udp, self.cache.url,
            )  # fmt: skip
        self._registered = ok
        entries = await self.cache.loads(self.cluster) if ok else None
        if entries is None:
            return
        loads: dict[int, Load] = {}
        for ident, text in entries.items():
            try:
                loads[ident] = Load.parse(text)
            except LoadError as error:
                logger.warning("ignoring transceiver %d's load entry: %s", ident, error)
        self._loads = loads
        self._read_at = asyncio.get_running_loop().time()
