"""RTCP packets, one module per packet type, and compound parsing."""

from .app import App
from .bye import Bye
from .ccfb import (
    ATO_OVERFLOW,
    ATO_UNAVAILABLE,
    CcfbReportBlock,
    CongestionControlFeedback,
    PacketMetric,
)
from .compound import RtcpPacket, parse_rtcp, serialize_rtcp
from .fir import Fir, FirEntry
from .nack import Nack, nack_lost, nack_pairs
from .pli import Pli
from .remb import Remb, remb_bitrate_round
from .report import ReportBlock
from .rr import ReceiverReport
from .sdes import (
    SDES_CNAME,
    SDES_EMAIL,
    SDES_LOC,
    SDES_NAME,
    SDES_NOTE,
    SDES_PHONE,
    SDES_PRIV,
    SDES_TOOL,
    SdesChunk,
    SdesItem,
    SourceDescription,
)
from .sr import SenderReport, ntp_to_seconds, seconds_to_ntp
from .twcc import (
    STATUS_LARGE_DELTA,
    STATUS_NOT_RECEIVED,
    STATUS_SMALL_DELTA,
    PacketChunk,
    RunLengthChunk,
    StatusVectorChunk,
    TransportCcFeedback,
)
from .unknown import UnknownRtcp
from .xr import DlrrBlock, DlrrSubBlock, ExtendedReport, RrtrBlock, UnknownXrBlock, XrBlock

__all__ = [
    "ATO_OVERFLOW",
    "ATO_UNAVAILABLE",
    "SDES_CNAME",
    "SDES_EMAIL",
    "SDES_LOC",
    "SDES_NAME",
    "SDES_NOTE",
    "SDES_PHONE",
    "SDES_PRIV",
    "SDES_TOOL",
    "STATUS_LARGE_DELTA",
    "STATUS_NOT_RECEIVED",
    "STATUS_SMALL_DELTA",
    "App",
    "Bye",
    "CcfbReportBlock",
    "CongestionControlFeedback",
    "DlrrBlock",
    "DlrrSubBlock",
    "ExtendedReport",
    "Fir",
    "FirEntry",
    "Nack",
    "PacketChunk",
    "PacketMetric",
    "Pli",
    "ReceiverReport",
    "Remb",
    "ReportBlock",
    "RrtrBlock",
    "RtcpPacket",
    "RunLengthChunk",
    "SdesChunk",
    "SdesItem",
    "SenderReport",
    "SourceDescription",
    "StatusVectorChunk",
    "TransportCcFeedback",
    "UnknownRtcp",
    "UnknownXrBlock",
    "XrBlock",
    "nack_lost",
    "nack_pairs",
    "ntp_to_seconds",
    "parse_rtcp",
    "remb_bitrate_round",
    "seconds_to_ntp",
    "serialize_rtcp",
]
