"""What a DTLS connection reports besides datagrams: the handshake's outcome, application
data and the end of the connection (both DTLS 1.2 and 1.3)."""

from __future__ import annotations

from dataclasses import dataclass

from pywebrtc.dtls.certificate import Fingerprint
from pywebrtc.dtls.errors import DtlsError
from pywebrtc.dtls.extensions import SrtpProfile
from pywebrtc.dtls.record import DTLS_1_2


@dataclass(frozen=True, slots=True)
class HandshakeComplete:
    cipher_suite: str
    srtp_profile: SrtpProfile | None
    peer_fingerprint: Fingerprint | None  # None: a server that did not ask for a certificate
    extended_master_secret: bool
    version: int = DTLS_1_2  # 0xFEFD, or 0xFEFC for DTLS 1.3
    group: int | None = None  # the TLS 1.3 key exchange group (NamedGroup)


@dataclass(frozen=True, slots=True)
class ApplicationData:
    data: bytes


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The connection ended: ``error`` is None for close_notify (either side)."""

    error: DtlsError | None


Event = HandshakeComplete | ApplicationData | ConnectionClosed
