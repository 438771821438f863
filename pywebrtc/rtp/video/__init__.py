"""RTP payload formats for video (sans-IO): one module per codec."""

from .h264 import FuFragment, H264Error, H264Payloader, H264PayloadError, parse_payload

__all__ = [
    "FuFragment",
    "H264Error",
    "H264PayloadError",
    "H264Payloader",
    "parse_payload",
]
