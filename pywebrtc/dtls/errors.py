"""The DTLS error hierarchy: every malformed or hostile input ends in one of these.

Each class carries the TLS alert description (RFC 5246 §7.2) a connection sends when it fails
with that error, so the state machine maps errors to alerts in one place.
"""

from __future__ import annotations


class DtlsError(ValueError):
    """Bad input from the peer or the network (never a bug in this package)."""

    alert_description: int = 80  # internal_error


class DecodeError(DtlsError):
    """A record, handshake message or extension is truncated or malformed."""

    alert_description = 50  # decode_error


class UnexpectedMessage(DtlsError):
    """A message arrived that the handshake state does not allow."""

    alert_description = 10  # unexpected_message


class HandshakeFailure(DtlsError):
    """No acceptable parameters in common (suite, group, signature scheme, certificate)."""

    alert_description = 40  # handshake_failure


class IllegalParameter(DtlsError):
    """A field holds a value the protocol forbids (bad point, bad version, …)."""

    alert_description = 47  # illegal_parameter


class ProtocolVersionError(DtlsError):
    """The peer does not speak DTLS 1.2."""

    alert_description = 70  # protocol_version


class UnsupportedExtension(DtlsError):
    """The server answered with an extension the client did not offer."""

    alert_description = 110  # unsupported_extension


class BadCertificate(DtlsError):
    """The peer's certificate cannot be parsed or has an unusable key."""

    alert_description = 42  # bad_certificate


class FingerprintMismatch(BadCertificate):
    """The peer's certificate does not match the fingerprint from signaling (RFC 8122)."""


class DecryptError(DtlsError):
    """A signature or Finished verify_data does not verify."""

    alert_description = 51  # decrypt_error


class BadRecordMac(DtlsError):
    """A protected record fails authentication (dropped and counted, RFC 6347 §4.1.2.7)."""

    alert_description = 20  # bad_record_mac


class PeerAlert(DtlsError):
    """The peer sent a fatal alert."""

    def __init__(self, description: int, message: str) -> None:
        super().__init__(message)
        self.alert_description = description


class HandshakeTimeout(DtlsError):
    """The peer stopped answering: retransmissions exhausted (RFC 6347 §4.2.4)."""
