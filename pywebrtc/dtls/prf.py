"""The TLS 1.2 PRF and what is derived from it (RFC 5246 §5, §6.3, §7.4.9, §8.1).

Also the extended master secret (RFC 7627 §4) and the keying material exporter (RFC 5705 §4),
which DTLS-SRTP uses with the label EXTRACTOR-dtls_srtp (RFC 5764 §4.2). The context variant
of the exporter is not implemented (DTLS-SRTP does not use it).
"""

from __future__ import annotations

import hmac

MASTER_SECRET_SIZE = 48
VERIFY_DATA_SIZE = 12


def p_hash(hash_name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    """P_hash (RFC 5246 §5): HMAC chained until ``length`` bytes are produced."""
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
