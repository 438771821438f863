"""The one error STUN decoding raises."""

from __future__ import annotations


class StunParseError(ValueError):
    """Bad input: a datagram or attribute value that is not well-formed STUN.

    Every decoder in :mod:`pywebrtc.stun` raises this, and only this, for malformed input, so a
    caller can drop a packet with one ``except``.
    """
