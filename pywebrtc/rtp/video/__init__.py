"""RTP payload formats for video and receive-side frame assembly (sans-IO).

VP8 (RFC 7741) and VP9 (RFC 9628): payload descriptors as dataclasses with ``parse``-style
functions and ``__bytes__``, ``packetize_*`` (one encoded frame to RTP payloads within a size
budget) and ``depacketize_*`` (one payload to a :class:`PayloadChunk`). A malformed
descriptor raises :class:`~pywebrtc.rtp.PayloadDescriptorError` (an
:class:`~pywebrtc.rtp.RtpParseError`).

H.264 (RFC 6184, packetization-mode 1) in :mod:`.h264` (payloader, ``parse_payload``) and
:mod:`.h264_profile` (``profile-level-id`` negotiation).

:class:`FrameAssembler` turns packets in any order into whole frames (H.264: access units) and
asks for keyframes after loss, for every format through its per-codec part, a
:class:`PayloadFormat` (:data:`VP8`, :data:`VP9`, :data:`H264`, :data:`AV1`;
:func:`payload_format` by codec name).
"""

from .assembler import (
    VP8,
    VP9,
    AssembledFrame,
    AssemblerStats,
    ChunkFormat,
    FrameAssembler,
    JoinedFrame,
    KeyframeNeeded,
    PayloadFormat,
)
from .av1 import AV1, Av1Format
from .h264 import H264, FuFragment, H264Error, H264Format, H264Part, H264Payloader, H264PayloadError
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
    "AV1",
    "H264",
    "VP8",
    "VP9",
    "AssembledFrame",
    "Av1Format",
    "AssemblerStats",
    "FrameAssembler",
    "FuFragment",
    "H264Error",
    "H264FmtpError",
    "H264Format",
    "H264Level",
    "H264Part",
    "H264PayloadError",
    "H264Payloader",
    "H264Profile",
    "KeyframeNeeded",
    "JoinedFrame",
    "PayloadChunk",
    "PayloadFormat",
    "ProfileLevelId",
    "Vp8Descriptor",
    "Vp9Descriptor",
    "Vp9ScalabilityStructure",
    "ChunkFormat",
    "depacketize_vp8",
    "depacketize_vp9",
    "packetize_vp8",
    "packetize_vp9",
    "parse_vp8_descriptor",
    "payload_format",
    "parse_vp9_descriptor",
]


def payload_format(codec: str) -> ChunkFormat | H264Format:
    """The assembler's per-codec part for a codec name ("VP8", "vp9", "H264", "AV1");
    ValueError for another."""
    formats: dict[str, ChunkFormat | H264Format] = {
        "vp8": VP8, "vp9": VP9, "h264": H264, "av1": AV1,
    }  # fmt: skip
    found = formats.get(codec.lower())
    if found is None:
        raise ValueError(f"no RTP depacketizer for {codec}")
    return found
