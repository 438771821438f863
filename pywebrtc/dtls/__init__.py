"""DTLS 1.2 and 1.3 for WebRTC (RFC 6347, RFC 9147; RFC 5763, 5764, 8827), sans-IO.

``DtlsConnection`` is the state machine; ``pywebrtc.dtls.aio`` drives it over asyncio UDP;
``python -m pywebrtc.dtls`` is an ``openssl s_client``/``s_server``-like tool.
"""

from pywebrtc.dtls.certificate import Certificate, Fingerprint
from pywebrtc.dtls.cipher import CipherSuiteId
from pywebrtc.dtls.connection import (
    SRTP_EXPORTER_LABEL,
    ApplicationData,
    ConnectionClosed,
    DtlsConfig,
    DtlsConnection,
    DtlsStats,
    Event,
    HandshakeComplete,
    SrtpKeys,
    State,
    Transmit,
)
from pywebrtc.dtls.cookie import CookieVerifier
from pywebrtc.dtls.errors import (
    BadCertificate,
    BadRecordMac,
    DecodeError,
    DecryptError,
    DtlsError,
    FingerprintMismatch,
    HandshakeFailure,
    HandshakeTimeout,
    IllegalParameter,
    PeerAlert,
    ProtocolVersionError,
    UnexpectedMessage,
    UnsupportedExtension,
)
from pywebrtc.dtls.extensions import NamedGroup, SrtpProfile

__all__ = [
    "SRTP_EXPORTER_LABEL",
    "ApplicationData",
    "BadCertificate",
    "BadRecordMac",
    "Certificate",
    "CipherSuiteId",
    "ConnectionClosed",
    "CookieVerifier",
    "DecodeError",
    "DecryptError",
    "DtlsConfig",
    "DtlsConnection",
    "DtlsError",
    "DtlsStats",
    "Event",
    "Fingerprint",
    "FingerprintMismatch",
    "HandshakeComplete",
    "HandshakeFailure",
    "HandshakeTimeout",
    "IllegalParameter",
    "NamedGroup",
    "PeerAlert",
    "ProtocolVersionError",
    "SrtpKeys",
    "SrtpProfile",
    "State",
    "Transmit",
    "UnexpectedMessage",
    "UnsupportedExtension",
]
