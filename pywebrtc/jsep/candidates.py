"""Remote ICE candidates from SDP into ICE (RFC 8839 §5.1): the one place the two meet.

Candidates flow one way: the SDP parser (:class:`pywebrtc.sdp.Candidate`) reads the
``candidate-attribute`` grammar once, and :func:`from_sdp_candidate` gives ICE its view of it
(a known candidate type, a normalised address). :func:`parse_candidate` does both for a bare
``a=candidate`` value (a trickled ``RTCIceCandidate.candidate`` string). ``pywebrtc.ice`` imports
nothing from ``pywebrtc.sdp``.
"""

from __future__ import annotations

from pywebrtc.ice.candidate import Candidate, CandidateType, normalize_host
from pywebrtc.ice.errors import CandidateParseError
from pywebrtc.sdp import Candidate as SdpCandidate

__all__ = ["from_sdp_candidate", "parse_candidate"]


def parse_candidate(value: str) -> Candidate:
    """Parse an ``a=candidate`` value, with or without the ``candidate:`` / ``a=`` prefix.

    The grammar is :class:`pywebrtc.sdp.Candidate`'s; this adds the ICE view (a known
    candidate type, a normalised address). ``.local`` (mDNS) names are kept as strings.
    Raises :class:`CandidateParseError`.
    """
    text = value.strip()
    if text.startswith("a="):
        text = text[2:]
    try:
        parsed = SdpCandidate.parse(text)
    except ValueError as exc:
        raise CandidateParseError(f"not an ICE candidate: {value[:80]!r}: {exc}") from exc
    return from_sdp_candidate(parsed)


def from_sdp_candidate(parsed: SdpCandidate) -> Candidate:
    """The ICE view of an ``a=candidate`` the SDP parser has already read (a known candidate
    type, a normalised address). Raises :class:`CandidateParseError`."""
    try:
        typ = CandidateType(parsed.type.lower())
    except ValueError as exc:
        raise CandidateParseError(f"not an ICE candidate: {str(parsed)[:80]!r}: {exc}") from exc
    return Candidate(
        foundation=parsed.foundation,
        component=parsed.component,
        transport=parsed.transport.lower(),
        priority=parsed.priority,
        host=normalize_host(parsed.address),
        port=parsed.port,
        type=typ,
        related_address=normalize_host(parsed.related_address)
        if parsed.related_address is not None
        else None,
        related_port=parsed.related_port,
        tcptype=None if parsed.tcptype is None else str(parsed.tcptype),
        extensions=parsed.extensions,
    )
