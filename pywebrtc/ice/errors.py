"""The errors of the ICE package: one small hierarchy rooted in ``ValueError`` (bad input)."""

from __future__ import annotations


class IceError(ValueError):
    """Bad input to the ICE layer: a malformed candidate, a bad credential, a bad setting."""


class InvalidCredentialError(IceError):
    """A ufrag or password that RFC 8445 §5.3 / RFC 8839 §5.4 does not allow."""


class CandidateParseError(IceError):
    """An ``a=candidate`` value that cannot be parsed."""
