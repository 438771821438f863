"""Ephemeral ECDH for ECDHE suites (RFC 8422 §5.10, RFC 7748 for x25519).

Groups: x25519, secp256r1 and secp384r1. Peer points are validated by ``cryptography`` when
loaded (on-curve checks for NIST curves); an all-zero x25519 result is refused (RFC 7748 §6.1).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, x25519
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
