"""RTP payload formats for video (sans-IO): one module per codec."""

from .h264 import FuFragment, H264Error, H264Payloader, H264PayloadError, parse_payload
from .h264_assembler import H264AccessUnit, H264FrameAssembler, KeyframeRequest

__all__ = [
    "FuFragment",
    "H264AccessUnit",
    "H264Error",
    "H264FrameAssembler",
    "H264PayloadError",
    "H264Payloader",
    "KeyframeRequest",
    "parse_payload",
]
