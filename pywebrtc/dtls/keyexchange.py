"""Ephemeral ECDH for ECDHE suites (RFC 8422 §5.10, RFC 7748 for x25519).

Groups: x25519, secp256r1 and secp384r1. Peer points are validated by ``cryptography`` when
loaded (on-curve checks for NIST curves); an all-zero x25519 result is refused (RFC 7748 §6.1).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pywebrtc.dtls.errors import IllegalParameter
from pywebrtc.dtls.extensions import NamedGroup

SUPPORTED_GROUPS: tuple[NamedGroup, ...] = (
    NamedGroup.X25519,
    NamedGroup.SECP256R1,
    NamedGroup.SECP384R1,
)

_CURVES: dict[int, ec.EllipticCurve] = {
    NamedGroup.SECP256R1: ec.SECP256R1(),
    NamedGroup.SECP384R1: ec.SECP384R1(),
}


class KeyShare:
    """One ephemeral key pair for one handshake."""

    __slots__ = ("_ec", "_x25519", "group", "public_key")

    def __init__(self, group: int) -> None:
        self.group = group
        self._x25519: x25519.X25519PrivateKey | None = None
        self._ec: ec.EllipticCurvePrivateKey | None = None
        if group == NamedGroup.X25519:
            self._x25519 = x25519.X25519PrivateKey.generate()
            self.public_key = self._x25519.public_key().public_bytes_raw()
        elif group in _CURVES:
            self._ec = ec.generate_private_key(_CURVES[group])
            self.public_key = self._ec.public_key().public_bytes(
                Encoding.X962, PublicFormat.UncompressedPoint
            )
        else:
            raise IllegalParameter(f"unsupported group {group}")

    def exchange(self, peer_public: bytes) -> bytes:
        """The premaster secret; a malformed or invalid peer point is IllegalParameter."""
        if self._x25519 is not None:
            if len(peer_public) != 32:
                raise IllegalParameter("x25519 public key must be 32 bytes")
            peer = x25519.X25519PublicKey.from_public_bytes(peer_public)
            try:
                shared = self._x25519.exchange(peer)
            except ValueError:
                raise IllegalParameter("x25519 shared secret is zero") from None
            return shared
        assert self._ec is not None
        if not peer_public or peer_public[0] != 4:
            raise IllegalParameter("only uncompressed EC points are accepted")
        try:
            point = ec.EllipticCurvePublicKey.from_encoded_point(_CURVES[self.group], peer_public)
        except ValueError:
            raise IllegalParameter("invalid EC point") from None
        return self._ec.exchange(ec.ECDH(), point)


# ------------------------------------------------------------------ TLS 1.3 key shares

# draft-ietf-tls-ecdhe-mlkem §4.1: X25519MLKEM768 puts the ML-KEM part first, in the client's
# share (encapsulation key ‖ x25519 share), the server's (ciphertext ‖ x25519 share) and the
# shared secret (ML-KEM secret ‖ x25519 secret).
MLKEM768_PUBLIC_SIZE = 1184
MLKEM768_CIPHERTEXT_SIZE = 1088
X25519_SIZE = 32
TLS13_GROUPS: tuple[NamedGroup, ...] = (
    NamedGroup.X25519MLKEM768,
    NamedGroup.X25519,
    NamedGroup.SECP256R1,
)
_SHARE_SIZES = {
    NamedGroup.X25519: (X25519_SIZE, X25519_SIZE),
    NamedGroup.SECP256R1: (65, 65),
    NamedGroup.SECP384R1: (97, 97),
    NamedGroup.X25519MLKEM768: (
        MLKEM768_PUBLIC_SIZE + X25519_SIZE,
        MLKEM768_CIPHERTEXT_SIZE + X25519_SIZE,
    ),
}


def client_share_size(group: int) -> int | None:
    """The size a client's key_share entry for ``group`` must have (None: unknown group)."""
    sizes = _SHARE_SIZES.get(group)  # type: ignore[call-overload]
    return None if sizes is None else sizes[0]


class ClientKeyShare:
    """A TLS 1.3 client's share for one group (RFC 8446 §4.2.8): ECDHE or the hybrid KEM."""

    __slots__ = ("_ecdh", "_mlkem", "group", "public_key")

    def __init__(self, group: int) -> None:
        self.group = group
        self._mlkem: mlkem.MLKEM768PrivateKey | None = None
        if group == NamedGroup.X25519MLKEM768:
            self._mlkem = mlkem.MLKEM768PrivateKey.generate()
            self._ecdh = KeyShare(NamedGroup.X25519)
            self.public_key = self._mlkem.public_key().public_bytes_raw() + self._ecdh.public_key
        else:
            self._ecdh = KeyShare(group)
            self.public_key = self._ecdh.public_key

    def shared_secret(self, server_share: bytes) -> bytes:
        """The shared secret from the server's share; a share of the wrong size or an invalid
        point is IllegalParameter (RFC 8446 §4.2.8)."""
        if self._mlkem is None:
            if len(server_share) != _SHARE_SIZES[NamedGroup(self.group)][1]:
                raise IllegalParameter("server key share has the wrong size")
            return self._ecdh.exchange(server_share)
        if len(server_share) != MLKEM768_CIPHERTEXT_SIZE + X25519_SIZE:
            raise IllegalParameter("X25519MLKEM768 server share has the wrong size")
        ciphertext = server_share[:MLKEM768_CIPHERTEXT_SIZE]
        try:
            kem_secret = self._mlkem.decapsulate(ciphertext)
        except ValueError:
            raise IllegalParameter("invalid ML-KEM ciphertext") from None
        return kem_secret + self._ecdh.exchange(server_share[MLKEM768_CIPHERTEXT_SIZE:])


def server_key_share(group: int, client_share: bytes) -> tuple[bytes, bytes]:
    """A TLS 1.3 server's answer to a client's share: (server share, shared secret)."""
    sizes = _SHARE_SIZES.get(group)  # type: ignore[call-overload]
    if sizes is None:
        raise IllegalParameter(f"unsupported group {group}")
    if len(client_share) != sizes[0]:
        raise IllegalParameter("client key share has the wrong size")
    if group != NamedGroup.X25519MLKEM768:
        ours = KeyShare(group)
        return ours.public_key, ours.exchange(client_share)
    try:
        peer = mlkem.MLKEM768PublicKey.from_public_bytes(client_share[:MLKEM768_PUBLIC_SIZE])
    except ValueError:
        raise IllegalParameter("invalid ML-KEM encapsulation key") from None
    kem_secret, ciphertext = peer.encapsulate()
    ecdh = KeyShare(NamedGroup.X25519)
    ecdh_secret = ecdh.exchange(client_share[MLKEM768_PUBLIC_SIZE:])
    return ciphertext + ecdh.public_key, kem_secret + ecdh_secret
