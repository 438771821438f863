"""Keys for MESSAGE-INTEGRITY(-SHA256): short-term and long-term credentials.

RFC 8489 §9.1.1 (short-term key = the password), §9.2.2 (long-term key = MD5 or SHA-256 of
"username:realm:password"), §14.4 (USERHASH = SHA-256 of "username:realm").

Left out: the RFC runs passwords (and, for long-term keys, username and realm) through the
OpaqueString profile of RFC 8265 (earlier SASLprep). We encode the strings as UTF-8 unchanged,
which is identical for the ASCII that ICE credentials (RFC 8445 §5.3: ice-char) and nearly all
TURN deployments use; pass a pre-profiled string if you need more.
"""

from __future__ import annotations

import hashlib

from .constants import PasswordAlgorithmId


def short_term_key(password: str) -> bytes:
    """The HMAC key for short-term credentials, e.g. the ICE password (RFC 8489 §9.1.1)."""
    return password.encode("utf-8")


def long_term_key(
    username: str,
    realm: str,
    password: str,
    algorithm: int = PasswordAlgorithmId.MD5,
) -> bytes:
    """The HMAC key for long-term credentials (RFC 8489 §9.2.2): MD5 (16 bytes) or SHA-256
    (32 bytes) of "username:realm:password"."""
    material = f"{username}:{realm}:{password}".encode()
    if algorithm == PasswordAlgorithmId.MD5:
        # Not a security choice of ours: RFC 8489 §9.2.2 fixes MD5 for this key.
        return hashlib.md5(material, usedforsecurity=False).digest()
    if algorithm == PasswordAlgorithmId.SHA256:
        return hashlib.sha256(material).digest()
    raise ValueError(f"unknown password algorithm {algorithm:#06x}")


def userhash(username: str, realm: str) -> bytes:
    """The USERHASH value (RFC 8489 §14.4): SHA-256 of "username:realm"."""
    return hashlib.sha256(f"{username}:{realm}".encode()).digest()
