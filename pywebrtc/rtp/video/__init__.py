"""RTP payload formats for video (sans-IO): one module per codec."""

from .h264 import FuFragment, H264Error, H264Payloader, H264PayloadError, parse_payload
from .h264_assembler import H264AccessUnit, H264FrameAssembler, KeyframeRequest
from .h264_profile import H264FmtpError, H264Level, H264Profile, ProfileLevelId

__all__ = [
    "FuFragment",
    "H264AccessUnit",
    "H264Error",
    "H264FmtpError",
    "H264FrameAssembler",
    "H264Level",
    "H264PayloadError",
    "H264Payloader",
    "H264Profile",
    "KeyframeRequest",
    "ProfileLevelId",
    "parse_payload",
]
