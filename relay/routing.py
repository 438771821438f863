"""Routing ufrags: the ICE username fragment that tells a relay where a session lives.

The transceiver generates its own ICE ufrag (RFC 8445 §5.3) through a hook, and this module
makes that ufrag carry a route — cluster id and transceiver id — so that a stateless relay can
forward the first STUN Binding Request of a flow without any lookup.

The default codec is in the spirit of QUIC-LB routable connection ids
(draft-ietf-quic-load-balancers, "block cipher" algorithm): the route, a random nonce and
zero check bits fill exactly one AES-128 block, encrypted with a fleet key. A client can
neither read the route nor forge one: any change to the ciphertext decrypts to a random block
whose 48 check bits are all zero with probability 2**-48.

Wire form (23 characters, all legal ICE characters, RFC 8445 §5.3 ``ice-char``)::

    K  BBBBBBBBBBBBBBBBBBBBBB
    |  `- the 16-byte ciphertext, base64 with ``+/`` and no padding (22 chars, the last
    |     one's 4 spare bits must be zero: non-canonical spellings are rejected)
    `- key id 0..63 as one base64 character, for key rotation

Plaintext block: cluster (uint16) | transceiver (uint32) | nonce (32 random bits) |
check (48 zero bits), all network order.

A plaintext codec exists for debugging only: its ufrags are readable and forgeable.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

# RFC 8445 §5.3: ice-char = ALPHA / DIGIT / "+" / "/"; base64's alphabet is exactly this set.
ICE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_INDEX = {c: i for i, c in enumerate(ICE_CHARS)}

MAX_CLUSTER = 0xFFFF
MAX_TRANSCEIVER = 0xFFFF_FFFF
MAX_KEY_ID = len(ICE_CHARS) - 1
KEY_LENGTH = 16  # AES-128
UFRAG_LENGTH = 23

_BLOCK = struct.Struct("!HI4s6s")
_CHECK = bytes(6)


class RoutingError(ValueError):
    """Bad configuration for a routing codec (key, key id, route out of range)."""


@dataclass(frozen=True, slots=True)
class Route:
    """Where a session lives: which cluster, and which transceiver inside it."""

    cluster: int
    transceiver: int

    def __post_init__(self) -> None:
        if not 0 <= self.cluster <= MAX_CLUSTER:
            raise RoutingError(f"cluster {self.cluster} out of range 0..{MAX_CLUSTER}")
        if not 0 <= self.transceiver <= MAX_TRANSCEIVER:
            raise RoutingError(f"transceiver {self.transceiver} out of range 0..{MAX_TRANSCEIVER}")


class UfragCodec(Protocol):
    def encode(self, route: Route) -> str: ...

    def decode(self, ufrag: str) -> Route | None: ...


class RouteCodec:
    """The default, encrypted and authenticated routing-ufrag codec.

    ``keys`` maps key id (0..63) to a 16-byte AES key; every configured key decodes, the
    ``active`` one encodes. ``decode`` never raises: anything it cannot authenticate is None.
    One instance per thread: it reuses its cipher contexts.
    """

    def __init__(self, keys: dict[int, bytes], active: int) -> None:
        if active not in keys:
            raise RoutingError(f"active key id {active} is not among the configured keys")
        self._decryptors: dict[str, CipherContext] = {}
        for key_id, key in keys.items():
            if not 0 <= key_id <= MAX_KEY_ID:
                raise RoutingError(f"key id {key_id} out of range 0..{MAX_KEY_ID}")
            if len(key) != KEY_LENGTH:
                raise RoutingError(f"key {key_id} must be {KEY_LENGTH} bytes, got {len(key)}")
            # ECB over exactly one block is a keyed permutation; a context can be reused
            # for any number of single-block calls, which saves building one per ufrag.
            self._decryptors[ICE_CHARS[key_id]] = _ecb(key).decryptor()
        self._prefix = ICE_CHARS[active]
        self._encryptor = _ecb(keys[active]).encryptor()

    def encode(self, route: Route) -> str:
        block = _BLOCK.pack(route.cluster, route.transceiver, os.urandom(4), _CHECK)
        ciphertext = self._encryptor.update(block)
        return self._prefix + base64.b64encode(ciphertext)[:22].decode("ascii")

    def decode(self, ufrag: str) -> Route | None:
        if len(ufrag) != UFRAG_LENGTH:
            return None
        decryptor = self._decryptors.get(ufrag[0])
        # The 22nd base64 character carries 2 data bits and 4 spare bits that must be zero,
        # otherwise two spellings would decode to one block.
        last = _INDEX.get(ufrag[22])
        if decryptor is None or last is None or last & 0x0F:
            return None
        try:
            ciphertext = base64.b64decode(ufrag[1:] + "==", validate=True)
        except (binascii.Error, ValueError):
            return None
        cluster, transceiver, _nonce, check = _BLOCK.unpack(decryptor.update(ciphertext))
        if check != _CHECK:
            return None
        return Route(cluster, transceiver)


class PlaintextRouteCodec:
    """Readable ``Pc<cluster>t<transceiver>n<8 hex>`` ufrags. Debugging only: forgeable."""

    _PATTERN = re.compile(r"Pc(\d{1,5})t(\d{1,10})n[0-9a-f]{8}")

    def encode(self, route: Route) -> str:
        return f"Pc{route.cluster}t{route.transceiver}n{os.urandom(4).hex()}"

    def decode(self, ufrag: str) -> Route | None:
        match = self._PATTERN.fullmatch(ufrag)
        if match is None:
            return None
        try:
            return Route(int(match[1]), int(match[2]))
        except RoutingError:
            return None


def _ecb(key: bytes) -> Cipher[modes.ECB]:
    return Cipher(algorithms.AES(key), modes.ECB())


def parse_keys(text: str) -> tuple[dict[int, bytes], int]:
    """Parse a keys file: one ``ID HEX`` a line (16-byte keys), the first line is active.

    Blank lines and ``#`` comments are ignored. Returns ``(keys, active_id)``.
    """
    keys: dict[int, bytes] = {}
    active: int | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise RoutingError(f"keys line {number}: expected 'ID HEX'")
        try:
            key_id, key = int(parts[0]), bytes.fromhex(parts[1])
        except ValueError:
            raise RoutingError(f"keys line {number}: bad id or hex") from None
        if not 0 <= key_id <= MAX_KEY_ID or len(key) != KEY_LENGTH:
            raise RoutingError(
                f"keys line {number}: id must be 0..{MAX_KEY_ID}, key {KEY_LENGTH} bytes"
            )
        if key_id in keys:
            raise RoutingError(f"keys line {number}: duplicate key id {key_id}")
        keys[key_id] = key
        if active is None:
            active = key_id
    if active is None:
        raise RoutingError("keys file holds no key")
    return keys, active


def load_codec(path: str | Path) -> RouteCodec:
    """Build the default codec from a keys file (see :func:`parse_keys`)."""
    keys, active = parse_keys(Path(path).read_text())
    return RouteCodec(keys, active)
