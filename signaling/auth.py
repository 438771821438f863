"""Bearer tokens (RFC 6750): the configured ``--token`` values, and the ephemeral ``ek_`` keys
minted by ``POST /v1/realtime/client_secrets``, which are accepted until they expire. With no
configured token there is no authentication at all."""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

MIN_EPHEMERAL_SECONDS = 10
MAX_EPHEMERAL_SECONDS = 7200
DEFAULT_EPHEMERAL_SECONDS = 600
MAX_EPHEMERAL_KEYS = 100_000


@dataclass(frozen=True, slots=True)
class EphemeralKey:
    value: str
    expires_at: int  # Unix seconds
    session: dict[str, object] | None

    def __repr__(self) -> str:
        return f"EphemeralKey(ek_…, expires_at={self.expires_at})"


class Auth:
    def __init__(self, tokens: Iterable[str], clock: Callable[[], float] = time.time) -> None:
        self.tokens = tuple(t for t in tokens if t)
        self._clock = clock
        self._ephemeral: dict[str, EphemeralKey] = {}

    @property
    def enabled(self) -> bool:
        return bool(self.tokens)

    def is_configured_token(self, header: str | None) -> bool:
        """``Authorization: Bearer <one of --token>`` (true for anyone when auth is off)."""
        if not self.tokens:
            return True
        token = _bearer(header)
        return token is not None and any(hmac.compare_digest(token, t) for t in self.tokens)

    def check(self, header: str | None) -> EphemeralKey | bool:
        """A configured token (True), a live ephemeral key (the key), or neither (False)."""
        if self.is_configured_token(header):
            return True
        token = _bearer(header)
        if token is None or not token.startswith("ek_"):
            return False
        key = self._ephemeral.get(token)
        if key is None:
            return False
        if key.expires_at <= self._clock():
            del self._ephemeral[token]
            return False
        return key

    def mint(self, seconds: int, session: dict[str, object] | None) -> EphemeralKey:
        now = self._clock()
        if len(self._ephemeral) >= MAX_EPHEMERAL_KEYS:
            self._ephemeral = {k: v for k, v in self._ephemeral.items() if v.expires_at > now}
        key = EphemeralKey("ek_" + secrets.token_urlsafe(24), int(now) + seconds, session)
        self._ephemeral[key.value] = key
        return key


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
