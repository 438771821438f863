"""Per-client rate limits on the session-creating endpoints (``--rate-limit``, 429).

A token bucket per client address: it holds at most ``burst`` tokens, refills at ``rate`` tokens
per second, and each request takes one; a request finding less than one token is refused with
the seconds until one will be there (the ``Retry-After``). Sans-IO: the caller passes the time.

Memory is bounded: beyond ``max_clients`` buckets, the ones that have refilled (indistinguishable
from a client never seen) are forgotten; if that is not enough, all are (a flood of distinct
addresses then goes briefly unlimited rather than growing the table without end).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_CLIENTS = 100_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float  # when ``tokens`` was counted


class RateLimiter:
    def __init__(self, rate: float, burst: float, max_clients: int = MAX_CLIENTS) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limit needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self._buckets: dict[str, _Bucket] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, client: str, now: float) -> float:
        """Take a token for ``client``: 0.0 if it may go on, else the seconds until it may."""
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) >= self.max_clients:
                self._prune(now)
            bucket = self._buckets[client] = _Bucket(self.burst, now)
        elif now > bucket.stamp:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def _prune(self, now: float) -> None:
        full = [
            client
            for client, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.stamp) * self.rate >= self.burst
        ]
        for client in full:
            del self._buckets[client]
        if len(self._buckets) >= self.max_clients:
            self._buckets.clear()
