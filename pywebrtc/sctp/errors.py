"""Errors of the SCTP and data-channel layer: bad input is a ``ValueError`` subclass."""

from __future__ import annotations

# W3C InvalidStateError (a send on a channel that is not open): one class for the whole API.
from pywebrtc.exceptions import InvalidStateError as InvalidStateError


class SctpError(ValueError):
    """Malformed or unacceptable SCTP input."""


class MalformedPacket(SctpError):
    """An SCTP packet or chunk that cannot be parsed."""


class DcepError(SctpError):
    """A malformed or unexpected DCEP message (RFC 8832)."""


class MessageTooLarge(SctpError):
    """A message larger than the negotiated max-message-size (RFC 8841)."""
