"""SRTP errors: bad input (a forged, corrupted, replayed or truncated packet) raises one of these.

All are :class:`ValueError`, so a caller that counts drops catches :class:`SrtpError` and moves
on; anything else escaping an SRTP context is a bug.
"""

from __future__ import annotations

__all__ = ["SrtpAuthenticationError", "SrtpError", "SrtpReplayError"]


class SrtpError(ValueError):
    """A packet could not be protected or unprotected (malformed, too long, cipher failure)."""


class SrtpAuthenticationError(SrtpError):
    """The authentication tag (HMAC-SHA1 or the GCM tag) did not verify (RFC 3711 §3.3 step 5)."""


class SrtpReplayError(SrtpError):
    """The packet index was already received or is older than the replay window (RFC 3711
    §3.3.2)."""
