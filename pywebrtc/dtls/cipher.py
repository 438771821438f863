"""Cipher suites and AEAD record protection (RFC 5246 §6.2.3.3, RFC 6347 §4.1.2.1).

Suites: ECDHE_ECDSA and ECDHE_RSA with AES_128_GCM_SHA256, AES_256_GCM_SHA384 (RFC 5289) and
CHACHA20_POLY1305_SHA256 (RFC 7905). Only AEAD suites exist here, so there is no MAC-then-
encrypt, no CBC padding oracle and no encrypt_then_mac. The DTLS additional data and nonce use
the 64-bit epoch‖sequence_number in place of TLS's implicit sequence number.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from pywebrtc.dtls.errors import BadRecordMac

_AAD = struct.Struct("!QBHH")
_SEQ = struct.Struct("!Q")
# A record header (RFC 6347 §4.1: type, version, epoch‖sequence as one 64-bit field, length),
# alone and followed by the explicit AES-GCM nonce (RFC 5288 §3).
_HEADER = struct.Struct("!BHQH")
_HEADER_NONCE = struct.Struct("!BHQHQ")
TAG_SIZE = 16


class CipherSuiteId(IntEnum):
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 = 0xC02B
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 = 0xC02C
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 = 0xC02F
    TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 = 0xC030
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 = 0xCCA9
    TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 = 0xCCA8


# RFC 5746 §3.3: the signalling cipher suite value that stands for an empty renegotiation_info.
TLS_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00FF


@dataclass(frozen=True, slots=True)
class CipherSuite:
    id: CipherSuiteId
    signature: str  # "ecdsa" or "rsa": the server certificate's key type
    chacha: bool
    key_length: int
    fixed_iv_length: int
    hash_name: str  # PRF and transcript hash

    @property
    def name(self) -> str:
        return self.id.name

    @property
    def record_overhead(self) -> int:
        """Bytes a protected record adds to its plaintext (explicit nonce + tag)."""
        return TAG_SIZE + (0 if self.chacha else 8)


def _suite(id: CipherSuiteId, sig: str, chacha: bool, key: int, iv: int, h: str) -> CipherSuite:
    return CipherSuite(id, sig, chacha, key, iv, h)


_ID = CipherSuiteId
SUITES: dict[int, CipherSuite] = {
    s.id: s
    for s in (
        _suite(_ID.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ecdsa", False, 16, 4, "sha256"),
        _suite(_ID.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ecdsa", False, 32, 4, "sha384"),
        _suite(_ID.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ecdsa", True, 32, 12, "sha256"),
        _suite(_ID.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "rsa", False, 16, 4, "sha256"),
        _suite(_ID.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "rsa", False, 32, 4, "sha384"),
        _suite(_ID.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "rsa", True, 32, 12, "sha256"),
    )
}

DEFAULT_SUITES: tuple[CipherSuiteId, ...] = (
    CipherSuiteId.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    CipherSuiteId.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    CipherSuiteId.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    CipherSuiteId.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    CipherSuiteId.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    CipherSuiteId.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
)


class RecordProtection:
    """One direction's AEAD state for one epoch: seals and opens record fragments."""

    __slots__ = ("_aead", "_chacha", "_iv")

    def __init__(self, suite: CipherSuite, key: bytes, iv: bytes) -> None:
        self._chacha = suite.chacha
        self._aead: AESGCM | ChaCha20Poly1305 = (
            ChaCha20Poly1305(key) if suite.chacha else AESGCM(key)
        )
        self._iv = iv

    def _nonce(self, seq64: int) -> bytes:
        if self._chacha:
            # RFC 7905 §2: the 64-bit sequence, left-padded, XORed into the 12-byte IV.
            padded = (seq64).to_bytes(12, "big")
            return bytes(a ^ b for a, b in zip(self._iv, padded, strict=True))
        return self._iv + _SEQ.pack(seq64)

    def seal(
        self, content_type: int, version: int, epoch: int, seq: int, plaintext: bytes
    ) -> bytes:
        seq64 = (epoch << 48) | seq
        aad = _AAD.pack(seq64, content_type, version, len(plaintext))
        sealed = self._aead.encrypt(self._nonce(seq64), plaintext, aad)
        # RFC 5288 §3: the explicit nonce is sent; we use the record's epoch‖sequence for it.
        return sealed if self._chacha else _SEQ.pack(seq64) + sealed

    def seal_record(
        self, content_type: int, version: int, epoch: int, seq: int, plaintext: bytes
    ) -> bytes:
        """The whole protected record, header included: ``header() + seal()`` in one step."""
        seq64 = (epoch << 48) | seq
        n = len(plaintext)
        aad = _AAD.pack(seq64, content_type, version, n)
        if self._chacha:
            sealed = self._aead.encrypt(self._nonce(seq64), plaintext, aad)
            return _HEADER.pack(content_type, version, seq64, n + TAG_SIZE) + sealed
        sealed = self._aead.encrypt(self._iv + _SEQ.pack(seq64), plaintext, aad)
        head = _HEADER_NONCE.pack(content_type, version, seq64, n + 8 + TAG_SIZE, seq64)
        return head + sealed

    def open(
        self, content_type: int, version: int, epoch: int, seq: int, fragment: bytes | memoryview
    ) -> bytes:
        seq64 = (epoch << 48) | seq
        if self._chacha:
            nonce = self._nonce(seq64)
            body = fragment
        else:
            if len(fragment) < 8 + TAG_SIZE:
                raise BadRecordMac("record too short for AES-GCM")
            nonce = self._iv + fragment[:8]
            body = fragment[8:]
        if len(body) < TAG_SIZE:
            raise BadRecordMac("record too short for its tag")
        aad = _AAD.pack(seq64, content_type, version, len(body) - TAG_SIZE)
        try:
            return self._aead.decrypt(nonce, body, aad)
        except InvalidTag:
            raise BadRecordMac("record authentication failed") from None
