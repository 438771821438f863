"""RTP and RTCP wire formats (sans-IO).

``RtpPacket`` (RFC 3550 §5.1) with RFC 8285 header extensions and the WebRTC extension codecs,
and the RTCP packets (one module per type under :mod:`pywebrtc.rtp.rtcp`) with compound and
reduced-size parsing. Everything here is a pure codec: bad input raises :class:`RtpParseError`
or :class:`RtcpParseError` (both :class:`RtpError`, a :class:`ValueError`). Video payload
formats (VP8, VP9) and frame assembly are in :mod:`pywebrtc.rtp.video`.
"""

from .errors import PayloadDescriptorError, RtcpParseError, RtpError, RtpParseError
from .extensions import (
    ABS_SEND_TIME_URI,
    AUDIO_LEVEL_URI,
    ONE_BYTE_PROFILE,
    SDES_MID_URI,
    TRANSPORT_WIDE_CC_URI,
    TWO_BYTE_PROFILE,
    AudioLevel,
    abs_send_time_from_seconds,
    abs_send_time_to_seconds,
    pack_abs_send_time,
    pack_mid,
    pack_transport_sequence_number,
    parse_header_extensions,
    serialize_header_extensions,
    unpack_abs_send_time,
    unpack_mid,
    unpack_transport_sequence_number,
)
from .packet import RtpPacket
from .rtcp import *  # noqa: F403
from .rtcp import __all__ as _rtcp_all

__all__ = [
    "ABS_SEND_TIME_URI",
    "AUDIO_LEVEL_URI",
    "ONE_BYTE_PROFILE",
    "SDES_MID_URI",
    "TRANSPORT_WIDE_CC_URI",
    "TWO_BYTE_PROFILE",
    "AudioLevel",
    "PayloadDescriptorError",
    "RtcpParseError",
    "RtpError",
    "RtpPacket",
    "RtpParseError",
    "abs_send_time_from_seconds",
    "abs_send_time_to_seconds",
    "pack_abs_send_time",
    "pack_mid",
    "pack_transport_sequence_number",
    "parse_header_extensions",
    "serialize_header_extensions",
    "unpack_abs_send_time",
    "unpack_mid",
    "unpack_transport_sequence_number",
    *_rtcp_all,
]
