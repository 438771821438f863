"""SDP for WebRTC: session descriptions (RFC 8866) with the JSEP attributes (RFC 8829 §5.2).

``SessionDescription.parse(text)`` and ``str(description)`` convert between text and a
mutable tree of :class:`SessionDescription` and :class:`MediaDescription`; attribute values
are typed by frozen dataclasses (:class:`Rtpmap`, :class:`Fmtp`, :class:`Candidate`, ...).
Every parser raises :class:`SdpParseError` (a ``ValueError``), and only it, on bad input.
:class:`SdpFragment` reads and writes trickle ICE ``sdpfrag`` bodies (RFC 8840).
Offer/answer negotiation (RFC 3264, RFC 8829 §5.3) is in :mod:`pywebrtc.jsep`.

``candidate_from_sdp`` and ``candidate_to_sdp`` are aiortc's ``aiortc.sdp`` functions
between an ``a=candidate`` value and an ``RTCIceCandidate``; they live in
:mod:`pywebrtc.rtcicecandidate` and are loaded on first use, so that this package does not
load ICE.
"""

from typing import TYPE_CHECKING

from pywebrtc.sdp.attributes import (
    Attribute,
    AttributeValue,
    Direction,
    Fingerprint,
    Group,
    IceOptions,
    Msid,
    MsidSemantic,
    Rtcp,
    Sctpmap,
    Setup,
)
from pywebrtc.sdp.candidate import AddressKind, Candidate, CandidateType, TcpType, TransportProtocol
from pywebrtc.sdp.description import AttributeSection, MediaDescription, SessionDescription
from pywebrtc.sdp.errors import SdpParseError
from pywebrtc.sdp.fields import Bandwidth, Connection, Line, Origin, Timing
from pywebrtc.sdp.fragment import SdpFragment
from pywebrtc.sdp.rtp import Extmap, Fmtp, RtcpFb, Rtpmap, Ssrc, SsrcGroup
from pywebrtc.sdp.simulcast import Rid, Simulcast, SimulcastStream

# aiortc.sdp's names -> the module that defines them (loaded on first use)
_LAZY = {
    "candidate_from_sdp": "pywebrtc.rtcicecandidate",
    "candidate_to_sdp": "pywebrtc.rtcicecandidate",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pywebrtc.sdp' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from pywebrtc.rtcicecandidate import candidate_from_sdp as candidate_from_sdp
    from pywebrtc.rtcicecandidate import candidate_to_sdp as candidate_to_sdp

__all__ = [
    "AddressKind",
    "Attribute",
    "AttributeSection",
    "AttributeValue",
    "Bandwidth",
    "Candidate",
    "CandidateType",
    "Connection",
    "Direction",
    "Extmap",
    "Fingerprint",
    "Fmtp",
    "Group",
    "IceOptions",
    "Line",
    "MediaDescription",
    "Msid",
    "MsidSemantic",
    "Origin",
    "Rid",
    "RtcpFb",
    "Rtcp",
    "Rtpmap",
    "Sctpmap",
    "SdpFragment",
    "SdpParseError",
    "SessionDescription",
    "Setup",
    "Simulcast",
    "SimulcastStream",
    "Ssrc",
    "SsrcGroup",
    "TcpType",
    "Timing",
    "TransportProtocol",
    "candidate_from_sdp",
    "candidate_to_sdp",
]
