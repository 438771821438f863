"""SDP for WebRTC: session descriptions (RFC 8866) with the JSEP attributes (RFC 8829 §5.2).

``SessionDescription.parse(text)`` and ``str(description)`` convert between text and a
mutable tree of :class:`SessionDescription` and :class:`MediaDescription`; attribute values
are typed by frozen dataclasses (:class:`Rtpmap`, :class:`Fmtp`, :class:`Candidate`, ...).
Every parser raises :class:`SdpParseError` (a ``ValueError``), and only it, on bad input.
:class:`SdpFragment` reads and writes trickle ICE ``sdpfrag`` bodies (RFC 8840).
Offer/answer negotiation (RFC 3264, RFC 8829 §5.3) is not here yet; it builds on this package.
"""

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
]
