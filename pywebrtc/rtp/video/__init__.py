"""RTP payload formats for video and receive-side frame assembly (sans-IO).

VP8 (RFC 7741) and VP9 (RFC 9628): payload descriptors as dataclasses with ``parse``-style
functions and ``__bytes__``, ``packetize_*`` (one encoded frame to RTP payloads within a size
budget) and ``depacketize_*`` (one payload to a :class:`PayloadChunk`). :class:`FrameAssembler`
turns packets in any order into whole frames and asks for keyframes after loss. A malformed
descriptor raises :class:`~pywebrtc.rtp.PayloadDescriptorError` (an
:class:`~pywebrtc.rtp.RtpParseError`).

H.264 (RFC 6184, packetization-mode 1) in :mod:`.h264` (payloader, ``parse_payload``),
:mod:`.h264_assembler` (access units from packets, keyframe requests) and :mod:`.h264_profile`
(``profile-level-id`` negotiation). Not wired into the peer connection yet.
"""

from .assembler import AssembledFrame, AssemblerStats, FrameAssembler, KeyframeNeeded
from .h264 import FuFragment, H264Error, H264Payloader, H264PayloadError
from .h264_assembler import H264AccessUnit, H264FrameAssembler, KeyframeRequest
from .h264_profile import H264FmtpError, H264Level, H264Profile, ProfileLevelId
from .payload import PayloadChunk
from .vp8 import Vp8Descriptor, depacketize_vp8, packetize_vp8, parse_vp8_descriptor
from .vp9 import (
    Vp9Descriptor,
    Vp9ScalabilityStructure,
    depacketize_vp9,
    packetize_vp9,
    parse_vp9_descriptor,
)

__all__ = [
    "AssembledFrame",
    "AssemblerStats",
    "FrameAssembler",
    "FuFragment",
    "H264AccessUnit",
    "H264Error",
    "H264FmtpError",
    "H264FrameAssembler",
    "H264Level",
    "H264PayloadError",
    "H264Payloader",
    "H264Profile",
    "KeyframeNeeded",
    "KeyframeRequest",
    "PayloadChunk",
    "ProfileLevelId",
    "Vp8Descriptor",
    "Vp9Descriptor",
    "Vp9ScalabilityStructure",
    "depacketize_vp8",
    "depacketize_vp9",
    "packetize_vp8",
    "packetize_vp9",
    "parse_vp8_descriptor",
    "parse_vp9_descriptor",
]
