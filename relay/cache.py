"""The Redis route cache: client address → route, so a fresh relay can forward non-STUN first.

Keys are ``<prefix><frame header hex>`` (the client address as pywebrtc.framing encodes it),
values ``<cluster>:<transceiver>``, with a TTL. The forwarder writes a key when a flow is
created and refreshes it at most every few seconds on consent traffic — never per packet.

Redis is an optimisation, not a dependency: when it is unreachable every call fails fast
(short socket timeouts), a warning is logged at most every ``warn_interval`` seconds, the
relay keeps routing by ufrag, and calls are retried after ``retry_after`` seconds.

The same client serves the transceiver registry: ``pywebrtc:transceiver:<cluster>:<id>`` =
``host:port`` (the framed socket relays forward to) and, beside it for placement,
``pywebrtc:load:<cluster>:<id>`` = the transceiver's load (JSON, see :mod:`signaling.registry`),
both heartbeated by the transceiver with a TTL and deleted when it shuts down cleanly.
"""

from __future__ import annotations

import contextlib
import logging
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from relay.routing import Route

log = logging.getLogger(__name__)


class RouteCache:
    def __init__(
        self,
        url: str,
        ttl: float = 30.0,
        prefix: str = "pywebrtc:route:",
        timeout: float = 0.25,
        retry_after: float = 2.0,
        warn_interval: float = 30.0,
        what: str = "route cache",
        fallback: str = "routing by ufrag only",
    ) -> None:
        self.url = url
        self.ttl_ms = int(ttl * 1000)
        self.prefix = prefix
        self.registry_prefix = "pywebrtc:transceiver:"
        self.load_prefix = "pywebrtc:load:"
        self.what = what
        self.fallback = fallback
        self.retry_after = retry_after
        self.warn_interval = warn_interval
        self._client = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._down_until = 0.0
        self._last_warning = float("-inf")
        self.errors = 0

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, error: Exception) -> None:
        self.errors += 1
        now = time.monotonic()
        self._down_until = now + self.retry_after
        if now - self._last_warning >= self.warn_interval:
            self._last_warning = now
            log.warning("%s %s unavailable (%s); %s", self.what, self.url, error, self.fallback)

    async def write(self, entries: list[tuple[bytes, Route]]) -> bool:
        if not entries or not self.available:
            return False
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for header, route in entries:
                    pipe.set(
                        self.prefix + header.hex(),
                        f"{route.cluster}:{route.transceiver}",
                        px=self.ttl_ms,
                    )
                await pipe.execute()
        except (RedisError, OSError) as error:
            self._failed(error)
            return False
        return True

    async def ping(self) -> bool:
        """Connect now (a PING), so that the first lookup pays no connection set-up."""
        if not self.available:
            return False
        try:
            await self._client.ping()
        except (RedisError, OSError) as error:
            self._failed(error)
            return False
        return True

    async def lookup(self, header: bytes) -> Route | None:
        """The cached route for a client, None if unknown or the cache is unavailable."""
        if not self.available:
            return None
        try:
            value = await self._client.get(self.prefix + header.hex())
        except (RedisError, OSError) as error:
            self._failed(error)
            return None
        if value is None:
            return None
        try:
            cluster, transceiver = (value.decode() if isinstance(value, bytes) else value).split(
                ":"
            )
            return Route(int(cluster), int(transceiver))
        except ValueError:
            log.warning("ignoring malformed route cache entry %r", value)
            return None

    async def transceivers(self, cluster: int) -> dict[int, tuple[str, int]] | None:
        """The transceiver registry of ``cluster``: keys ``pywebrtc:transceiver:<cluster>:<id>``
        holding ``host:port`` (the transceiver's framed socket), kept alive by heartbeats with
        a TTL. None if the registry could not be read."""
        entries = await self._scan(f"{self.registry_prefix}{cluster}:")
        if entries is None:
            return None
        found: dict[int, tuple[str, int]] = {}
        for ident, text in entries.items():
            host, _, port = text.rpartition(":")
            try:
                found[ident] = (host.strip("[]"), int(port))
            except ValueError:
                log.warning("ignoring malformed registry entry %d = %r", ident, text)
        return found

    async def loads(self, cluster: int) -> dict[int, str] | None:
        """The load entries of ``cluster`` (``pywebrtc:load:<cluster>:<id>``, as written by
        :meth:`heartbeat`), unparsed. None if they could not be read."""
        return await self._scan(f"{self.load_prefix}{cluster}:")

    async def _scan(self, prefix: str) -> dict[int, str] | None:
        """``{id: value}`` of the keys ``<prefix><id>``; None if Redis could not be read."""
        if not self.available:
            return None
        try:
            keys = [key async for key in self._client.scan_iter(match=prefix + "*", count=1000)]
            values = await self._client.mget(keys) if keys else []
        except (RedisError, OSError) as error:
            self._failed(error)
            return None
        found: dict[int, str] = {}
        for key, value in zip(keys, values, strict=True):
            if value is None:  # expired between SCAN and MGET
                continue
            try:
                text_key = key.decode() if isinstance(key, bytes) else str(key)
                text = value.decode() if isinstance(value, bytes) else str(value)
                found[int(text_key[len(prefix) :])] = text
            except (ValueError, AttributeError):
                log.warning("ignoring malformed registry entry %r = %r", key, value)
        return found

    async def heartbeat(
        self,
        cluster: int,
        transceiver: int,
        address: tuple[str, int],
        ttl: float = 10.0,
        load: str | None = None,
    ) -> bool:
        """For a transceiver: (re)announce its framed socket in the registry relays read, and
        its ``load`` (if given) beside it. Call every ``ttl / 3`` seconds or so; the entries
        vanish ``ttl`` after the last call."""
        if not self.available:
            return False
        host, port = address
        value = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        ttl_ms = int(ttl * 1000)
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.set(f"{self.registry_prefix}{cluster}:{transceiver}", value, px=ttl_ms)
                if load is not None:
                    pipe.set(f"{self.load_prefix}{cluster}:{transceiver}", load, px=ttl_ms)
                await pipe.execute()
        except (RedisError, OSError) as error:
            self._failed(error)
            return False
        return True

    async def withdraw(self, cluster: int, transceiver: int) -> bool:
        """For a transceiver shutting down cleanly: delete its registry and load entries."""
        if not self.available:
            return False
        try:
            await self._client.delete(
                f"{self.registry_prefix}{cluster}:{transceiver}",
                f"{self.load_prefix}{cluster}:{transceiver}",
            )
        except (RedisError, OSError) as error:
            self._failed(error)
            return False
        return True

    async def close(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._client.aclose()
