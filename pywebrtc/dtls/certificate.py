"""Certificates for DTLS-SRTP: self-signed ECDSA or RSA, fingerprints, signatures, PEM.

WebRTC does not use PKI: each side presents a self-signed certificate and the peer checks its
hash against the a=fingerprint line from signaling (RFC 8122 §5, RFC 8827 §6.5). Generation
is slow (RSA especially), so a ``Certificate`` is meant to be made once and reused.
"""

from __future__ import annotations

import datetime
import hashlib
import os
from dataclasses import dataclass
from typing import Literal, Self, cast

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from pywebrtc.dtls.errors import BadCertificate, DecodeError, DecryptError
from pywebrtc.dtls.extensions import SignatureScheme

KeyType = Literal["ecdsa", "rsa"]
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey

FINGERPRINT_HASHES = ("sha-256", "sha-384", "sha-512", "sha-1")
_HASHLIB = {"sha-1": "sha1", "sha-256": "sha256", "sha-384": "sha384", "sha-512": "sha512"}
# Direct constructors: ``hashlib.new(name)`` looks the name up in OpenSSL on every call.
_DIGESTS = {
    "sha-1": hashlib.sha1,
    "sha-256": hashlib.sha256,
    "sha-384": hashlib.sha384,
    "sha-512": hashlib.sha512,
}

_HASHES: dict[int, hashes.HashAlgorithm] = {
    SignatureScheme.ECDSA_SECP256R1_SHA256: hashes.SHA256(),
    SignatureScheme.ECDSA_SECP384R1_SHA384: hashes.SHA384(),
    SignatureScheme.ECDSA_SECP521R1_SHA512: hashes.SHA512(),
    SignatureScheme.RSA_PKCS1_SHA256: hashes.SHA256(),
    SignatureScheme.RSA_PKCS1_SHA384: hashes.SHA384(),
    SignatureScheme.RSA_PKCS1_SHA512: hashes.SHA512(),
    SignatureScheme.RSA_PSS_RSAE_SHA256: hashes.SHA256(),
    SignatureScheme.RSA_PSS_RSAE_SHA384: hashes.SHA384(),
    SignatureScheme.RSA_PSS_RSAE_SHA512: hashes.SHA512(),
}
ECDSA_SCHEMES = (
    SignatureScheme.ECDSA_SECP256R1_SHA256,
    SignatureScheme.ECDSA_SECP384R1_SHA384,
    SignatureScheme.ECDSA_SECP521R1_SHA512,
)
RSA_SCHEMES = (
    SignatureScheme.RSA_PSS_RSAE_SHA256,
    SignatureScheme.RSA_PSS_RSAE_SHA384,
    SignatureScheme.RSA_PSS_RSAE_SHA512,
    SignatureScheme.RSA_PKCS1_SHA256,
    SignatureScheme.RSA_PKCS1_SHA384,
    SignatureScheme.RSA_PKCS1_SHA512,
)
# Algorithm and padding objects are immutable: built once per scheme, not per signature.
_ECDSA: dict[int, ec.ECDSA] = {scheme: ec.ECDSA(_HASHES[scheme]) for scheme in ECDSA_SCHEMES}
_PSS_SCHEMES = (
    SignatureScheme.RSA_PSS_RSAE_SHA256,
    SignatureScheme.RSA_PSS_RSAE_SHA384,
    SignatureScheme.RSA_PSS_RSAE_SHA512,
)
_RSA_PADDING: dict[int, padding.AsymmetricPadding] = {
    scheme: (
        padding.PSS(padding.MGF1(_HASHES[scheme]), _HASHES[scheme].digest_size)
        if scheme in _PSS_SCHEMES
        else padding.PKCS1v15()
    )
    for scheme in RSA_SCHEMES
}
# What we offer in signature_algorithms and CertificateRequest.
SUPPORTED_SCHEMES: tuple[int, ...] = (*ECDSA_SCHEMES, *RSA_SCHEMES)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """An RFC 8122 fingerprint: hash function name and colon-separated upper-case hex."""

    algorithm: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse ``"sha-256 AB:CD:…"`` (the a=fingerprint attribute value)."""
        try:
            algorithm, value = text.split()
        except ValueError:
            raise ValueError(f"not a fingerprint: {text!r}") from None
        algorithm = algorithm.lower()
        if algorithm not in _HASHLIB:
            raise ValueError(f"unsupported fingerprint hash {algorithm!r}")
        return cls(algorithm, value.upper())

    @classmethod
    def of(cls, der: bytes, algorithm: str = "sha-256") -> Self:
        return cls(algorithm, _DIGESTS[algorithm](der).digest().hex(":").upper())

    def matches(self, der: bytes) -> bool:
        return Fingerprint.of(der, self.algorithm).value == self.value

    def __str__(self) -> str:
        return f"{self.algorithm} {self.value}"


class Certificate:
    """A private key and its self-signed X.509 certificate."""

    __slots__ = ("_schemes", "_sha256", "certificate", "der", "key_type", "private_key")

    def __init__(self, private_key: PrivateKey, certificate: x509.Certificate) -> None:
        self.private_key = private_key
        self.certificate = certificate
        self.der = certificate.public_bytes(serialization.Encoding.DER)
        self.key_type: KeyType = "rsa" if isinstance(private_key, rsa.RSAPrivateKey) else "ecdsa"
        self._schemes = self._preferred_schemes()
        # Made once: every peer connection sharing the certificate renders it into its SDP
        # and keeps it (memory per idle session).
        self._sha256 = Fingerprint.of(self.der)

    @classmethod
    def generate(
        cls,
        key_type: KeyType = "ecdsa",
        curve: str = "P-256",
        common_name: str = "pywebrtc",
        valid_days: int = 30,
    ) -> Self:
        key: PrivateKey
        if key_type == "rsa":
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            key = ec.generate_private_key(ec.SECP384R1() if curve == "P-384" else ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(int.from_bytes(os.urandom(8), "big") >> 1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=valid_days))
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @classmethod
    def from_pem(cls, certificate_pem: bytes, key_pem: bytes) -> Self:
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
            raise ValueError("only ECDSA and RSA keys are supported")
        return cls(key, x509.load_pem_x509_certificate(certificate_pem))

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def private_key_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def fingerprint(self, algorithm: str = "sha-256") -> Fingerprint:
        if algorithm == "sha-256":
            return self._sha256
        return Fingerprint.of(self.der, algorithm)

    @property
    def schemes(self) -> tuple[int, ...]:
        """Signature schemes this key can produce, in order of preference."""
        return self._schemes

    def _preferred_schemes(self) -> tuple[int, ...]:
        key = self.private_key
        if self.key_type == "rsa" or not isinstance(key, ec.EllipticCurvePrivateKey):
            return RSA_SCHEMES
        # TLS 1.2 does not bind the curve to the hash; prefer the curve's natural match.
        if key.curve.name == "secp384r1":
            return (ECDSA_SCHEMES[1], ECDSA_SCHEMES[0], ECDSA_SCHEMES[2])
        return ECDSA_SCHEMES

    def choose_scheme(self, offered: tuple[int, ...]) -> int | None:
        for scheme in self._schemes:
            if scheme in offered:
                return int(scheme)
        return None

    def sign(self, scheme: int, data: bytes) -> bytes:
        key = self.private_key
        if self.key_type == "rsa":
            return cast(rsa.RSAPrivateKey, key).sign(data, _RSA_PADDING[scheme], _HASHES[scheme])
        return cast(ec.EllipticCurvePrivateKey, key).sign(data, _ECDSA[scheme])


def load_peer_key(der: bytes) -> PublicKey:
    """The public key of a peer's DER certificate; anything unusable is BadCertificate."""
    try:
        cert = x509.load_der_x509_certificate(der)
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm, x509.InvalidVersion) as exc:
        # InvalidVersion (a version field other than v1/v3) is not a ValueError
        raise BadCertificate(f"cannot parse peer certificate: {exc}") from None
    if not isinstance(key, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
        raise BadCertificate("peer certificate key is neither ECDSA nor RSA")
    return key


def key_type_of(key: PublicKey) -> KeyType:
    return "rsa" if isinstance(key, rsa.RSAPublicKey) else "ecdsa"


def verify_signature(key: PublicKey, scheme: int, data: bytes, signature: bytes) -> None:
    """Raise DecryptError unless ``signature`` over ``data`` verifies under ``scheme``."""
    algorithm = _HASHES.get(scheme)
    if algorithm is None:
        raise DecodeError(f"unsupported signature scheme {scheme:#06x}")
    try:
        if isinstance(key, rsa.RSAPublicKey):
            if scheme not in RSA_SCHEMES:
                raise DecryptError("signature scheme does not match an RSA key")
            key.verify(signature, data, _RSA_PADDING[scheme], algorithm)
        else:
            ecdsa = _ECDSA.get(scheme)
            if ecdsa is None:
                raise DecryptError("signature scheme does not match an ECDSA key")
            key.verify(signature, data, ecdsa)
    except InvalidSignature:
        raise DecryptError("signature does not verify") from None
