"""The TLS 1.3 key schedule as DTLS 1.3 uses it (RFC 8446 §7.1-§7.5, RFC 9147 §5.9).

HKDF (RFC 5869) on the suite's hash; ``HKDF-Expand-Label`` with the ``"dtls13"`` label prefix
that RFC 9147 §5.9 puts in place of TLS 1.3's ``"tls13 "`` (the prefix is a parameter so that
the RFC 8448 vectors can check the rest). Secrets: early (no PSK: all zeros), handshake,
master; traffic secrets per direction, their keys, IVs and record-number keys (RFC 9147
§4.2.3, label ``"sn"``); Finished keys; the exporter (RFC 8446 §7.5) that DTLS-SRTP uses
with ``EXTRACTOR-dtls_srtp`` and an empty context (RFC 5764 §4.2); KeyUpdate's next secret.
Left out: PSK binders, resumption and early (0-RTT) secrets.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import struct
from collections.abc import Callable

DTLS13_PREFIX = b"dtls13"  # RFC 9147 §5.9
TLS13_PREFIX = b"tls13 "  # RFC 8446 §7.1

_DIGEST_SIZE = {"sha256": 32, "sha384": 48}

# HMAC (RFC 2104) written out on hashlib for the suites' hashes: ``hmac.digest`` sets up an
# OpenSSL MAC context per call, ~3.4 us where two plain hashes take ~2 (a handshake makes ~25
# HMACs a side, every one with a key of its own). Constructor and block size by hash name.
_HASHES: dict[str, tuple[Callable[..., hashlib._Hash], int]] = {
    "sha256": (hashlib.sha256, 64),
    "sha384": (hashlib.sha384, 128),
}
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def _hmac(key: bytes, message: bytes, hash_name: str) -> bytes:
    """``hmac.digest(key, message, hash_name)``."""
    known = _HASHES.get(hash_name)
    if known is None:
        return hmac.digest(key, message, hash_name)
    new, block = known
    if len(key) > block:
        key = new(key).digest()
    key = key.ljust(block, b"\0")
    inner = new(key.translate(_IPAD) + message).digest()
    return new(key.translate(_OPAD) + inner).digest()


def hkdf_extract(hash_name: str, salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract (RFC 5869 §2.2); an empty salt is a string of zeros."""
    return _hmac(salt or bytes(_DIGEST_SIZE[hash_name]), ikm, hash_name)


def hkdf_expand(hash_name: str, prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand (RFC 5869 §2.3)."""
    if length <= _DIGEST_SIZE.get(hash_name, 0):
        # One block, T(1) = HMAC(PRK, info | 0x01): every length TLS 1.3 asks for.
        return _hmac(prk, info + b"\x01", hash_name)[:length]
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = _hmac(prk, block + info + bytes((counter,)), hash_name)
        out += block
        counter += 1
    return out[:length]


def expand_label(
    hash_name: str,
    secret: bytes,
    label: bytes,
    context: bytes,
    length: int,
    prefix: bytes = DTLS13_PREFIX,
) -> bytes:
    """HKDF-Expand-Label (RFC 8446 §7.1) with the DTLS 1.3 label prefix by default."""
    key = (prefix, label, length)
    head = _LABELS.get(key)
    if head is None:
        full = prefix + label
        head = struct.pack("!HB", length, len(full)) + full
        if len(_LABELS) < 64:  # the labels are the RFC's few constants (exporters aside)
            _LABELS[key] = head
    return hkdf_expand(hash_name, secret, head + bytes((len(context),)) + context, length)


# The HkdfLabel bytes before the context, by (prefix, label, length): constants, made once.
_LABELS: dict[tuple[bytes, bytes, int], bytes] = {}


def derive_secret(
    hash_name: str,
    secret: bytes,
    label: bytes,
    transcript_hash: bytes,
    prefix: bytes = DTLS13_PREFIX,
) -> bytes:
    """Derive-Secret (RFC 8446 §7.1), given the transcript's hash rather than the messages."""
    return expand_label(hash_name, secret, label, transcript_hash, _DIGEST_SIZE[hash_name], prefix)


@functools.cache
def _constants(hash_name: str, prefix: bytes) -> tuple[bytes, bytes, bytes]:
    """What a key schedule without a PSK starts from, the same for every handshake (public
    values, no secret in them): Hash(""), the early secret HKDF-Extract(0, 0) and the salt of
    the handshake secret, Derive-Secret(early secret, "derived", "")."""
    empty_hash = hashlib.new(hash_name).digest()
    early = hkdf_extract(hash_name, b"", bytes(_DIGEST_SIZE[hash_name]))
    return empty_hash, early, derive_secret(hash_name, early, b"derived", empty_hash, prefix)


class KeySchedule:
    """One handshake's secrets, advanced stage by stage (RFC 8446 §7.1 figure)."""

    __slots__ = ("_early_derived", "_empty_hash", "hash_name", "hash_size", "prefix", "secret")

    def __init__(self, hash_name: str, prefix: bytes = DTLS13_PREFIX) -> None:
        self.hash_name = hash_name
        self.hash_size = _DIGEST_SIZE[hash_name]
        self.prefix = prefix
        self._empty_hash, self.secret, self._early_derived = _constants(hash_name, prefix)

    def _derive(self, label: bytes, transcript_hash: bytes) -> bytes:
        return derive_secret(self.hash_name, self.secret, label, transcript_hash, self.prefix)

    def handshake(self, shared_secret: bytes, transcript_hash: bytes) -> tuple[bytes, bytes]:
        """From the (EC)DHE/KEM shared secret and Hash(ClientHello..ServerHello): the client
        and server handshake traffic secrets."""
        salt = self._derive(b"derived", self._empty_hash)
        self.secret = hkdf_extract(self.hash_name, salt, shared_secret)
        return (
            self._derive(b"c hs traffic", transcript_hash),
            self._derive(b"s hs traffic", transcript_hash),
        )

    def application(self, transcript_hash: bytes) -> tuple[bytes, bytes, bytes]:
        """From Hash(ClientHello..server Finished): the client and server application traffic
        secrets and the exporter master secret."""
        salt = self._derive(b"derived", self._empty_hash)
        self.secret = hkdf_extract(self.hash_name, salt, bytes(self.hash_size))
        return (
            self._derive(b"c ap traffic", transcript_hash),
            self._derive(b"s ap traffic", transcript_hash),
            self._derive(b"exp master", transcript_hash),
        )

    def finished(self, base_key: bytes, transcript_hash: bytes) -> bytes:
        """Finished verify_data (RFC 8446 §4.4.4)."""
        key = expand_label(self.hash_name, base_key, b"finished", b"", self.hash_size, self.prefix)
        return _hmac(key, transcript_hash, self.hash_name)

    def traffic_keys(self, secret: bytes, key_length: int) -> tuple[bytes, bytes, bytes]:
        """write_key, write_iv (RFC 8446 §7.3) and the record-number key (RFC 9147 §4.2.3)."""
        h, p = self.hash_name, self.prefix
        return (
            expand_label(h, secret, b"key", b"", key_length, p),
            expand_label(h, secret, b"iv", b"", 12, p),
            expand_label(h, secret, b"sn", b"", key_length, p),
        )

    def next_traffic_secret(self, secret: bytes) -> bytes:
        """application_traffic_secret_N+1 after a KeyUpdate (RFC 8446 §7.2)."""
        return expand_label(
            self.hash_name, secret, b"traffic upd", b"", self.hash_size, self.prefix
        )

    def export(self, exporter_master: bytes, label: str, context: bytes, length: int) -> bytes:
        """TLS-Exporter (RFC 8446 §7.5)."""
        h = self.hash_name
        secret = derive_secret(h, exporter_master, label.encode(), self._empty_hash, self.prefix)
        context_hash = hashlib.new(h, context).digest()
        return expand_label(h, secret, b"exporter", context_hash, length, self.prefix)


__all__ = [
    "DTLS13_PREFIX",
    "TLS13_PREFIX",
    "KeySchedule",
    "derive_secret",
    "expand_label",
    "hkdf_expand",
    "hkdf_extract",
]
