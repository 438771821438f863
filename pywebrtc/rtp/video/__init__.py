"""RTP payload formats for video and receive-side frame assembly (sans-IO).

VP8 (RFC 7741) and VP9 (RFC 9628): payload descriptors as dataclasses with ``parse``-style
functions and ``__bytes__``, ``packetize_*`` (one encoded frame to RTP payloads within a size
budget) and ``depacketize_*`` (one payload to a :class:`PayloadChunk`). :class:`FrameAssembler`
turns packets in any order into whole frames and asks for keyframes after loss. A malformed
descriptor raises :class:`~pywebrtc.rtp.PayloadDescriptorError` (an
:class:`~pywebrtc.rtp.RtpParseError`). Not wired into the peer connection yet.
"""

from .assembler import AssembledFrame, AssemblerStats, FrameAssembler, KeyframeNeeded
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
    "KeyframeNeeded",
    "PayloadChunk",
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
