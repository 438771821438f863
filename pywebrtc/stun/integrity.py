"""HMAC and CRC primitives behind MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT.

RFC 8489 §14.5 (HMAC-SHA1), §14.6 (HMAC-SHA256) and §14.7 (CRC-32 XOR "STUN"). What is hashed —
the message up to the attribute, with the header length patched — is ``message``'s business;
this module only computes the codes, fast.

``hmac.digest`` sets up an OpenSSL HMAC context on every call, which costs more than hashing a
100-byte STUN message. An ICE agent signs and checks thousands of messages with the same few keys,
so we keep the keyed inner and outer hash states per key (RFC 2104 §2) and copy them per
message. The cache is bounded; clearing it only costs speed.
"""

from __future__ import annotations

import hashlib
import hmac
import zlib
from collections.abc import Callable
from typing import Protocol

from .constants import FINGERPRINT_XOR


class _Hash(Protocol):
    def copy(self) -> _Hash: ...
    def update(self, data: bytes, /) -> None: ...
    def digest(self) -> bytes: ...


_BLOCK_SIZE = 64  # RFC 2104 §2: B = 64 for SHA-1 and SHA-256
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
_CACHE_LIMIT = 4096

_Pads = tuple[_Hash, _Hash]
_sha1_cache: dict[bytes, _Pads] = {}
_sha256_cache: dict[bytes, _Pads] = {}


def _pads(key: bytes, constructor: Callable[[bytes], _Hash], cache: dict[bytes, _Pads]) -> _Pads:
    pads = cache.get(key)
    if pads is None:
        block = key if len(key) <= _BLOCK_SIZE else constructor(key).digest()
        block = block.ljust(_BLOCK_SIZE, b"\x00")
        pads = (constructor(block.translate(_IPAD)), constructor(block.translate(_OPAD)))
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[bytes(key)] = pads
    return pads


def sha1_pads(key: bytes) -> tuple[_Hash, _Hash]:
    """SHA-1 states keyed with ``key`` XOR ipad and XOR opad, for callers that inline HMAC."""
    pads = _sha1_cache.get(key)
    return pads if pads is not None else _pads(key, hashlib.sha1, _sha1_cache)


def hmac_sha1(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA1(key, data), as ``hmac.digest(key, data, "sha1")``."""
    inner, outer = _pads(key, hashlib.sha1, _sha1_cache)
    h = inner.copy()
    h.update(data)
    o = outer.copy()
    o.update(h.digest())
    return o.digest()


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256(key, data), as ``hmac.digest(key, data, "sha256")``."""
    inner, outer = _pads(key, hashlib.sha256, _sha256_cache)
    h = inner.copy()
    h.update(data)
    o = outer.copy()
    o.update(h.digest())
    return o.digest()


def fingerprint(data: bytes) -> int:
    """The FINGERPRINT value for ``data`` (everything before the FINGERPRINT attribute)."""
    return zlib.crc32(data) ^ FINGERPRINT_XOR


compare_digest = hmac.compare_digest
