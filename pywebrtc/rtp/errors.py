"""Errors raised by the RTP/RTCP codecs.

Bad input raises a subclass of :class:`RtpError` (itself a :class:`ValueError`) and nothing
else; any other exception escaping a ``parse`` is a bug.
"""


class RtpError(ValueError):
    """Root of the errors of :mod:`pywebrtc.rtp`."""


class RtpParseError(RtpError):
    """An RTP packet or header-extension block is malformed."""


class RtcpParseError(RtpError):
    """An RTCP packet or compound packet is malformed."""


class PayloadDescriptorError(RtpParseError):
    """A video payload descriptor (VP8 RFC 7741 §4.2, VP9 RFC 9628 §4.2) is malformed."""
