"""Bearer tokens (RFC 6750): the configured ``--token`` values, and the ephemeral ``ek_`` keys
minted by ``POST /v1/realtime/client_secrets``, which are accepted until they expire. With no
configured token there is no authentication at all.

An ephemeral key is stateless and signed: ``ek_`` + base64url(zlib(JSON {expiry, session})) +
``.`` + base64url(HMAC-SHA256 of that, truncated to 128 bits). The signing secrets come from the
fleet keys file (``--keys``: one secret per fleet key, the active key's signs, every key's
verifies, so keys rotate as ufrags do), so a key minted by one transceiver is accepted by every
transceiver of the fleet — a Realtime call redirected (307) to another transceiver keeps
working. Without ``--keys`` the secret is random per process and only this process accepts its
keys. A key cannot be revoked before it expires (at most two hours).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

MIN_EPHEMERAL_SECONDS = 10
MAX_EPHEMERAL_SECONDS = 7200
DEFAULT_EPHEMERAL_SECONDS = 600
MAX_EPHEMERAL_KEY_LENGTH = 6000  # it travels in an Authorization header
_MAC_LENGTH = 16
_LABEL = b"pywebrtc ephemeral key v1"


class EphemeralKeyTooLarge(ValueError):
    """The ``session`` to embed makes the key longer than a header should be."""


@dataclass(frozen=True, slots=True)
class EphemeralKey:
    value: str
    expires_at: int  # Unix seconds
    session: dict[str, object] | None

    def __repr__(self) -> str:
        return f"EphemeralKey(ek_…, expires_at={self.expires_at})"


def fleet_secrets(fleet_keys: Sequence[bytes]) -> list[bytes]:
    """Signing secrets from fleet keys (active key first): one HMAC-derived secret each."""
    return [hmac.new(key, _LABEL, hashlib.sha256).digest() for key in fleet_keys]


class Auth:
    def __init__(
        self,
        tokens: Iterable[str],
        clock: Callable[[], float] = time.time,
        signing_secrets: Sequence[bytes] = (),
    ) -> None:
        self.tokens = tuple(t for t in tokens if t)
        self._clock = clock
        self._secrets = list(signing_secrets) or [secrets.token_bytes(32)]

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
        if token is None or not token.startswith("ek_") or len(token) > MAX_EPHEMERAL_KEY_LENGTH:
            return False
        body, dot, mac = token[3:].partition(".")
        if not dot or not any(
            hmac.compare_digest(mac, _mac(secret, body)) for secret in self._secrets
        ):
            return False
        try:
            claims = json.loads(zlib.decompress(_unb64(body)))
            expires_at, session = claims["e"], claims.get("s")
        except (ValueError, zlib.error, binascii.Error, KeyError, TypeError):
            return False  # signed by us but unreadable: a bug elsewhere, never a pass
        if not isinstance(expires_at, int) or expires_at <= self._clock():
            return False
        return EphemeralKey(token, expires_at, session if isinstance(session, dict) else None)

    def mint(self, seconds: int, session: dict[str, object] | None) -> EphemeralKey:
        expires_at = int(self._clock()) + seconds
        claims: dict[str, object] = {"e": expires_at, "n": secrets.token_urlsafe(9)}
        if session is not None:
            claims["s"] = session
        packed = zlib.compress(json.dumps(claims, separators=(",", ":")).encode(), 9)
        body = base64.urlsafe_b64encode(packed).rstrip(b"=").decode()
        value = f"ek_{body}.{_mac(self._secrets[0], body)}"
        if len(value) > MAX_EPHEMERAL_KEY_LENGTH:
            raise EphemeralKeyTooLarge(
                f"the session is too large for an ephemeral key ({len(value)} > "
                f"{MAX_EPHEMERAL_KEY_LENGTH} characters)"
            )
        return EphemeralKey(value, expires_at, session)


def _mac(secret: bytes, body: str) -> str:
    digest = hmac.new(secret, body.encode(), hashlib.sha256).digest()[:_MAC_LENGTH]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
