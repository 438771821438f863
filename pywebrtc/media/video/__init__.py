"""Video for the media layer: negotiated codecs, encoded frames, and (in submodules) the codecs
through PyAV and the sans-IO RTP session of one video m-section.

:class:`VideoCodec` is what offer/answer negotiated for one video payload type;
:class:`EncodedVideoFrame` is one encoded picture (a VP8/VP9/AV1 frame or an H.264 access unit
in Annex B) as it goes between an encoder, the RTP session and a decoder. Encoding and decoding
are CPU-heavy, so the asyncio layer runs them off the event loop; the RTP session only packetizes,
retransmits and assembles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["VIDEO_CLOCK", "EncodedVideoFrame", "VideoCodec"]

VIDEO_CLOCK = 90000  # RTP clock rate of every video payload format


@dataclass(frozen=True, slots=True)
class VideoCodec:
    """One negotiated video payload format. ``parameters`` holds the fmtp key/values;
    ``rtx_payload_type`` is the RFC 4588 retransmission type bound to it (``apt``), if any."""

    name: str  # "VP8", "VP9", "H264", "AV1" (rtpmap encoding name; compared case-insensitively)
    payload_type: int
    parameters: Mapping[str, str] = field(default_factory=dict)
    rtx_payload_type: int | None = None

    @property
    def key(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class EncodedVideoFrame:
    """One encoded picture. ``timestamp`` is on the 90 kHz RTP clock; ``keyframe`` says whether a
    decoder can start here (a VP8/VP9 key frame, an AV1 key frame, an H.264 IDR access unit)."""

    data: bytes
    timestamp: int
    keyframe: bool
    codec: str  # VideoCodec.key of the format it is in
    width: int = 0  # 0 when not known (a receiver learns it from the decoder)
    height: int = 0
