"""DTLS-SRTP protection profiles and the keying-material split (RFC 5764 §4.1.2, §4.2;
RFC 7714 §14.2).

The exporter output of EXTRACTOR-dtls_srtp is laid out as client key | server key | client salt
| server salt. :func:`split_keying_material` cuts it for one endpoint; :class:`MasterKey` holds
one direction's key and salt and never shows them in ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pywebrtc.dtls import SrtpKeys, SrtpProfile

__all__ = [
    "PROFILE_PREFERENCE",
    "MasterKey",
    "auth_tag_length",
    "master_keys",
    "split_keying_material",
]

# Our preference order when offering (RFC 7714 GCM first: one pass, a 16-byte tag).
PROFILE_PREFERENCE: tuple[SrtpProfile, ...] = (
    SrtpProfile.SRTP_AEAD_AES_128_GCM,
    SrtpProfile.SRTP_AEAD_AES_256_GCM,
    SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_80,
    SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_32,
)

# Bytes an SRTP packet grows by (RFC 5764 §4.1.2, RFC 7714 §14.2); SRTCP always carries an
# 80-bit tag with the SHA1 profiles (RFC 5764 §4.1.2) plus the 4-byte E||index word.
_RTP_TAG = {
    SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_80: 10,
    SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_32: 4,
    SrtpProfile.SRTP_AEAD_AES_128_GCM: 16,
    SrtpProfile.SRTP_AEAD_AES_256_GCM: 16,
}
_RTCP_TAG = {
    SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_80: 10,
    SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_32: 10,
    SrtpProfile.SRTP_AEAD_AES_128_GCM: 16,
    SrtpProfile.SRTP_AEAD_AES_256_GCM: 16,
}


def auth_tag_length(profile: SrtpProfile, *, rtcp: bool = False) -> int:
    """Authentication tag length in bytes for SRTP (or SRTCP, without the index word)."""
    return (_RTCP_TAG if rtcp else _RTP_TAG)[profile]


@dataclass(frozen=True, slots=True)
class MasterKey:
    """One direction's SRTP master key and master salt. ``repr`` hides both."""

    profile: SrtpProfile
    key: bytes = field(repr=False)
    salt: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) != self.profile.key_length:
            raise ValueError(f"{self.profile.name} needs a {self.profile.key_length}-byte key")
        if len(self.salt) != self.profile.salt_length:
            raise ValueError(f"{self.profile.name} needs a {self.profile.salt_length}-byte salt")


def split_keying_material(
    profile: SrtpProfile, material: bytes, *, is_client: bool
) -> tuple[MasterKey, MasterKey]:
    """Split exporter output (RFC 5764 §4.2) into ``(local, remote)`` master keys.

    ``local`` protects what this endpoint sends, ``remote`` unprotects what it receives.
    """
    k, s = profile.key_length, profile.salt_length
    if len(material) != 2 * (k + s):
        raise ValueError(f"{profile.name} needs {2 * (k + s)} bytes of keying material")
    client = MasterKey(profile, material[:k], material[2 * k : 2 * k + s])
    server = MasterKey(profile, material[k : 2 * k], material[2 * k + s :])
    return (client, server) if is_client else (server, client)


def master_keys(keys: SrtpKeys) -> tuple[MasterKey, MasterKey]:
    """``(local, remote)`` master keys from what :meth:`DtlsConnection.srtp_keys` returns."""
    return (
        MasterKey(keys.profile, keys.local_key, keys.local_salt),
        MasterKey(keys.profile, keys.remote_key, keys.remote_salt),
    )
