"""SRTP/SRTCP (RFC 3711, RFC 7714) with keys from DTLS-SRTP (RFC 5764), over libsrtp.

``SrtpSession.from_dtls(conn.srtp_keys())`` gives an outbound context (protect) and an
inbound one (unprotect). Bad packets raise :class:`SrtpError` subclasses and are counted in
:class:`SrtpStats`. Left out: MKI, key lifetime re-keying (DTLS re-handshake gives new
contexts), SRTP header-extension encryption (RFC 6904) and the null cipher.
"""

from .context import MAX_PACKET_SIZE, SrtpContext, SrtpSession, SrtpStats
from .errors import SrtpAuthenticationError, SrtpError, SrtpReplayError
from .profile import (
    PROFILE_PREFERENCE,
    MasterKey,
    auth_tag_length,
    master_keys,
    split_keying_material,
)

__all__ = [
    "MAX_PACKET_SIZE",
    "PROFILE_PREFERENCE",
    "MasterKey",
    "SrtpAuthenticationError",
    "SrtpContext",
    "SrtpError",
    "SrtpReplayError",
    "SrtpSession",
    "SrtpStats",
    "auth_tag_length",
    "master_keys",
    "split_keying_material",
]
