"""The TLS 1.2 PRF and what is derived from it (RFC 5246 §5, §6.3, §7.4.9, §8.1).

Also the extended master secret (RFC 7627 §4) and the keying material exporter (RFC 5705 §4),
which DTLS-SRTP uses with the label EXTRACTOR-dtls_srtp (RFC 5764 §4.2). The context variant
of the exporter is not implemented (DTLS-SRTP does not use it).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

MASTER_SECRET_SIZE = 48
VERIFY_DATA_SIZE = 12

# HMAC (RFC 2104) is computed from the key's inner and outer pad states, hashed once per
# secret and copied per block: P_hash calls HMAC 2-4 times with one secret, and each
# ``hmac.digest`` call would set up a fresh OpenSSL MAC context (3x the cost of the hashing).
_CONSTRUCTORS: dict[str, Callable[..., hashlib._Hash]] = {
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
    "sha1": hashlib.sha1,
}
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))


def p_hash(hash_name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    """P_hash (RFC 5246 §5): HMAC chained until ``length`` bytes are produced."""
    new = _CONSTRUCTORS.get(hash_name)
    if new is None:
        return _p_hash_generic(hash_name, secret, seed, length)
    inner = new()
    block_size = inner.block_size
    if len(secret) > block_size:
        secret = new(secret).digest()
    key = secret.ljust(block_size, b"\0")
    inner.update(key.translate(_IPAD))
    outer = new(key.translate(_OPAD))
    out = b""
    a = seed
    while len(out) < length:
        h = inner.copy()
        h.update(a)
        o = outer.copy()
        o.update(h.digest())
        a = o.digest()
        h = inner.copy()
        h.update(a)
        h.update(seed)
        o = outer.copy()
        o.update(h.digest())
        out += o.digest()
    return out[:length]


def _p_hash_generic(hash_name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    out = bytearray()
    a = seed
    while len(out) < length:
        a = hmac.digest(secret, a, hash_name)
        out += hmac.digest(secret, a + seed, hash_name)
    return bytes(out[:length])


def prf(hash_name: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    return p_hash(hash_name, secret, label + seed, length)


def master_secret(
    hash_name: str, pre_master: bytes, client_random: bytes, server_random: bytes
) -> bytes:
    return prf(hash_name, pre_master, b"master secret", client_random + server_random, 48)


def extended_master_secret(hash_name: str, pre_master: bytes, session_hash: bytes) -> bytes:
    """RFC 7627 §4: the master secret bound to the hash of the handshake up to the CKE."""
    return prf(hash_name, pre_master, b"extended master secret", session_hash, 48)


def key_block(
    hash_name: str, master: bytes, client_random: bytes, server_random: bytes, length: int
) -> bytes:
    return prf(hash_name, master, b"key expansion", server_random + client_random, length)


def verify_data(hash_name: str, master: bytes, label: bytes, transcript_hash: bytes) -> bytes:
    """Finished.verify_data; ``label`` is b"client finished" or b"server finished"."""
    return prf(hash_name, master, label, transcript_hash, VERIFY_DATA_SIZE)


def export_keying_material(
    hash_name: str,
    master: bytes,
    client_random: bytes,
    server_random: bytes,
    label: str,
    length: int,
) -> bytes:
    """RFC 5705 §4 without context."""
    return prf(hash_name, master, label.encode("ascii"), client_random + server_random, length)
