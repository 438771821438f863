"""The DTLS 1.3 record layer (RFC 9147 §4): unified header, record number encryption.

Protected records (epoch 1 and up) carry the unified header ``001CSLEE``: no connection ID
(C=0; we never negotiate one, records with C=1 are dropped), a 16-bit sequence number (S=1),
a length (L=1) and the low two bits of the epoch. The sequence number is encrypted with a mask
from the record's first 16 ciphertext bytes (RFC 9147 §4.2.3: AES-ECB or the ChaCha20 block
function under the ``sn`` key). The AEAD nonce is the IV XORed with the 64-bit record sequence
number, the epoch left out (RFC 9147 §4); the additional data is the header as sent, with
the sequence number in clear. The plaintext is ``DTLSInnerPlaintext``: content, content type,
zero padding (we send none).

Receivers reconstruct the full epoch and sequence number (RFC 9147 §4.2.2):
:func:`reconstruct_sequence` picks the value closest to one more than the highest seen.
Epoch 0 keeps the DTLS 1.2 header (:mod:`pywebrtc.dtls.record`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from pywebrtc.dtls.errors import BadRecordMac, DecodeError
from pywebrtc.dtls.record import Record

TAG_SIZE = 16
UNIFIED_HEADER_SIZE = 5  # flags, 16-bit sequence number, 16-bit length
# What a protected record adds to its content: header, inner content type, tag.
RECORD_OVERHEAD = UNIFIED_HEADER_SIZE + 1 + TAG_SIZE
MAX_CIPHERTEXT = 2**14 + 256  # RFC 8446 §5.2

_FIXED_BITS, _CID, _SEQ16, _LENGTH = 0x20, 0x10, 0x08, 0x04
_HEADER = struct.Struct("!BHH")


class CipherSuite13Id(IntEnum):
    TLS_AES_128_GCM_SHA256 = 0x1301
    TLS_AES_256_GCM_SHA384 = 0x1302
    TLS_CHACHA20_POLY1305_SHA256 = 0x1303


@dataclass(frozen=True, slots=True)
class CipherSuite13:
    id: CipherSuite13Id
    key_length: int
    hash_name: str
    chacha: bool

    @property
    def name(self) -> str:
        return self.id.name


SUITES13: dict[int, CipherSuite13] = {
    s.id: s
    for s in (
        CipherSuite13(CipherSuite13Id.TLS_AES_128_GCM_SHA256, 16, "sha256", False),
        CipherSuite13(CipherSuite13Id.TLS_AES_256_GCM_SHA384, 32, "sha384", False),
        CipherSuite13(CipherSuite13Id.TLS_CHACHA20_POLY1305_SHA256, 32, "sha256", True),
    )
}
DEFAULT_SUITES13: tuple[int, ...] = tuple(SUITES13)


def is_unified_header(first_byte: int) -> bool:
    """Whether a record starts with a DTLS 1.3 unified header (RFC 9147 §4.1 demultiplexing)."""
    return first_byte & 0xE0 == _FIXED_BITS


@dataclass(frozen=True, slots=True)
class UnifiedHeader:
    """A parsed unified header: ``sequence`` is still the encrypted wire value."""

    flags: int
    sequence: int
    sequence_size: int  # 1 or 2 bytes
    header: bytes  # the header bytes as received
    ciphertext: bytes

    @property
    def epoch_bits(self) -> int:
        return self.flags & 3

    @classmethod
    def parse_from(cls, data: bytes, offset: int) -> tuple[UnifiedHeader, int]:
        """One record from ``data[offset:]``; returns it and where the next one starts."""
        size = len(data)
        if size - offset < 2:
            raise DecodeError("truncated unified header")
        flags = data[offset]
        if not is_unified_header(flags):
            raise DecodeError("not a unified header")
        if flags & _CID:
            raise DecodeError("connection IDs are not negotiated")
        pos = offset + 1
        seq_size = 2 if flags & _SEQ16 else 1
        if size - pos < seq_size:
            raise DecodeError("truncated sequence number")
        sequence = int.from_bytes(data[pos : pos + seq_size], "big")
        pos += seq_size
        if flags & _LENGTH:
            if size - pos < 2:
                raise DecodeError("truncated record length")
            length = int.from_bytes(data[pos : pos + 2], "big")
            pos += 2
            end = pos + length
            if end > size:
                raise DecodeError("truncated record")
        else:
            end = size  # RFC 9147 §4: without a length, the record fills the datagram
        if end - pos > MAX_CIPHERTEXT:
            raise DecodeError("record too long")
        if end - pos < 16 + 1:
            raise DecodeError("record too short for its sequence number mask")
        return cls(flags, sequence, seq_size, bytes(data[offset:pos]), bytes(data[pos:end])), end

    def __bytes__(self) -> bytes:
        return self.header + self.ciphertext


def reconstruct_sequence(low: int, bits: int, expected: int) -> int:
    """The full sequence number whose low ``bits`` are ``low``, closest to ``expected``
    (one more than the highest one authenticated so far; RFC 9147 §4.2.2)."""
    span = 1 << bits
    candidate = (expected & ~(span - 1)) | low
    if candidate - expected > span // 2 and candidate >= span:
        candidate -= span
    elif expected - candidate > span // 2:
        candidate += span
    return candidate


# The cipher contexts of the protections that sealed or opened a record lately, least recently
# used first (see RecordProtection13). A connection keeps only its keys: an AES-GCM context
# holds ~2.4 KiB and the record number mask's AES-ECB context ~1 KiB, ~7 KiB for the two
# directions of an idle connection, which seals or opens a record a few times a minute (SCTP
# heartbeats). Making them again costs a few microseconds, little beside the rest of a record's
# way, so the cache need not hold every busy connection either.
CONTEXT_CACHE_SIZE = 256
_Contexts = tuple[AESGCM | ChaCha20Poly1305, CipherContext | None]
_CONTEXTS: dict[RecordProtection13, _Contexts] = {}


class RecordProtection13:
    """One direction's keys for one epoch: seals and opens protected records.

    It keeps the keys, not the cipher contexts: those are made when a record needs them and
    kept in a cache of the :data:`CONTEXT_CACHE_SIZE` protections used last (a busy connection
    finds them there; one idle for long makes them again, a few microseconds, instead of
    holding them all the time)."""

    __slots__ = ("_iv", "_key", "_sn_key", "chacha", "epoch")

    def __init__(self, suite: CipherSuite13, epoch: int, key: bytes, iv: bytes, sn_key: bytes):
        self.epoch = epoch
        self.chacha = suite.chacha
        self._key = key
        self._iv = int.from_bytes(iv, "big")
        self._sn_key = sn_key

    def _contexts(self) -> _Contexts:
        cache = _CONTEXTS
        contexts = cache.pop(self, None)
        if contexts is None:
            if self.chacha:
                contexts = (ChaCha20Poly1305(self._key), None)
            else:
                # ECB keeps no state between blocks: one encryptor serves every mask.
                ecb = Cipher(algorithms.AES(self._sn_key), modes.ECB()).encryptor()
                contexts = (AESGCM(self._key), ecb)
            if len(cache) >= CONTEXT_CACHE_SIZE:
                cache.pop(next(iter(cache)), None)
        cache[self] = contexts
        return contexts

    def _nonce(self, seq: int) -> bytes:
        return (self._iv ^ seq).to_bytes(12, "big")

    def mask(self, ciphertext: bytes, ecb: CipherContext | None = None) -> bytes:
        """The record number mask from the first 16 ciphertext bytes (RFC 9147 §4.2.3);
        ``ecb`` is the AES encryptor when the caller holds it already."""
        sample = ciphertext[:16]
        if self.chacha:
            # ChaCha20 with the first 4 bytes as block counter and the next 12 as nonce:
            # exactly the 16-byte nonce ``cryptography`` takes.
            chacha = Cipher(algorithms.ChaCha20(self._sn_key, sample), mode=None)
            return chacha.encryptor().update(bytes(16))
        if ecb is None:
            ecb = self._contexts()[1]
            assert ecb is not None
        return ecb.update(sample)

    def seal(self, seq: int, content_type: int, content: bytes) -> bytes:
        """A whole protected record: unified header (encrypted sequence number) and ciphertext."""
        inner = content + bytes((content_type,))
        flags = _FIXED_BITS | _SEQ16 | _LENGTH | (self.epoch & 3)
        seq16 = seq & 0xFFFF
        header = _HEADER.pack(flags, seq16, len(inner) + TAG_SIZE)
        aead, ecb = self._contexts()
        ciphertext = aead.encrypt(self._nonce(seq), inner, header)
        mask = self.mask(ciphertext, ecb)
        encrypted = seq16 ^ ((mask[0] << 8) | mask[1])
        return _HEADER.pack(flags, encrypted, len(inner) + TAG_SIZE) + ciphertext

    def sequence_low(self, record: UnifiedHeader) -> int:
        """The record's sequence number bits, decrypted."""
        mask = self.mask(record.ciphertext)
        if record.sequence_size == 2:
            return record.sequence ^ ((mask[0] << 8) | mask[1])
        return record.sequence ^ mask[0]

    def open(self, record: UnifiedHeader, seq: int, low: int) -> tuple[int, bytes]:
        """Authenticate and decrypt: (content type, content). BadRecordMac when it fails."""
        header = bytearray(record.header)
        header[1 : 1 + record.sequence_size] = low.to_bytes(record.sequence_size, "big")
        try:
            inner = self._contexts()[0].decrypt(self._nonce(seq), record.ciphertext, bytes(header))
        except InvalidTag:
            raise BadRecordMac("record authentication failed") from None
        end = len(inner)
        while end and inner[end - 1] == 0:
            end -= 1
        if not end:
            raise BadRecordMac("record without a content type")  # RFC 8446 §5.4
        return inner[end - 1], inner[: end - 1]


def parse_datagram13(data: bytes) -> tuple[list[UnifiedHeader | tuple[int, int, int, bytes]], bool]:
    """Split a datagram into unified-header records and plaintext (DTLS 1.2 header) records,
    the latter as (content type, epoch, sequence number, fragment); the flag says whether a
    malformed tail was dropped."""
    out: list[UnifiedHeader | tuple[int, int, int, bytes]] = []
    offset = 0
    while offset < len(data):
        try:
            if is_unified_header(data[offset]):
                record, offset = UnifiedHeader.parse_from(data, offset)
                out.append(record)
            else:
                plain, offset = Record.parse_from(data, offset)
                out.append((plain.content_type, plain.epoch, plain.sequence_number, plain.fragment))
        except DecodeError:
            return out, True
    return out, False
