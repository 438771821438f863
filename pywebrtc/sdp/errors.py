"""The one error SDP parsing raises."""

from __future__ import annotations


class SdpParseError(ValueError):
    """Bad input: text that is not a well-formed session description, line or attribute value.

    Every parser in :mod:`pywebrtc.sdp` raises this, and only this, for malformed input, so a
    caller (a signaling endpoint answering 400) can reject an offer with one ``except``.
    """
