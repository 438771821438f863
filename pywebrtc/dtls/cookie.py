"""Stateless HelloVerifyRequest cookies (RFC 6347 §4.2.1).

The cookie is an HMAC, under a server secret, of the client's address and the ClientHello
fields the client must repeat unchanged, plus a coarse time bucket so that cookies expire.
Verifying it needs no per-client state, so a spoofed ClientHello costs the server one HMAC.
Extensions are left out of the MAC: some clients legitimately change them (padding) between
the two ClientHellos, and nothing in them is committed to before the handshake hash starts.
"""

from __future__ import annotations

import hmac
import os
import struct

from pywebrtc.dtls.codec import u16_list, vec8
from pywebrtc.dtls.handshake import ClientHello

COOKIE_SIZE = 16


class CookieVerifier:
    """Makes and checks cookies; one per server (or per fleet, with a shared secret)."""

    __slots__ = ("_secret", "lifetime")

    def __init__(self, secret: bytes | None = None, lifetime: float = 60.0) -> None:
        self._secret = secret if secret is not None else os.urandom(32)
        self.lifetime = lifetime

    def _mac(self, hello: ClientHello, address: bytes, bucket: int) -> bytes:
        message = b"".join(
            (
                struct.pack("!qH", bucket, hello.client_version),
                vec8(address),
                hello.random,
                vec8(hello.session_id),
                u16_list(hello.cipher_suites),
                vec8(hello.compression_methods),
            )
        )
        return hmac.digest(self._secret, message, "sha256")[:COOKIE_SIZE]

    def make(self, hello: ClientHello, address: bytes, now: float) -> bytes:
        return self._mac(hello, address, int(now // self.lifetime))

    def verify(self, hello: ClientHello, address: bytes, now: float) -> bool:
        """True for a cookie made in this or the previous time bucket for this client."""
        if len(hello.cookie) != COOKIE_SIZE:
            return False
        bucket = int(now // self.lifetime)
        return any(
            hmac.compare_digest(hello.cookie, self._mac(hello, address, b))
            for b in (bucket, bucket - 1)
        )
