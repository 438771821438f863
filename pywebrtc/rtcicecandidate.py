"""``RTCIceCandidate``: aiortc's fields plus W3C's ``candidate`` text, and conversions.

aiortc hands candidates around as objects with ``ip``/``port``/``type``...; browsers as JSON
``{"candidate": "candidate:...", "sdpMid": ..., "sdpMLineIndex": ...}``. This class is both:
build it from either with :func:`candidate_from_sdp` / :meth:`RTCIceCandidate.from_json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pywebrtc.ice import Candidate, CandidateType
from pywebrtc.jsep.candidates import parse_candidate


@dataclass(slots=True)
class RTCIceCandidate:
    component: int
    foundation: str
    ip: str
    port: int
    priority: int
    protocol: str
    type: str
    relatedAddress: str | None = None
    relatedPort: int | None = None
    sdpMid: str | None = None
    sdpMLineIndex: int | None = None
    tcpType: str | None = None

    @property
    def candidate(self) -> str:
        """The W3C ``candidate`` attribute: ``candidate:<a=candidate value>``."""
        return "candidate:" + candidate_to_sdp(self)

    def to_json(self) -> dict[str, object]:
        return {
            "candidate": self.candidate,
            "sdpMid": self.sdpMid,
            "sdpMLineIndex": self.sdpMLineIndex,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, object]) -> RTCIceCandidate | None:
        """From a browser's ``candidate.toJSON()``; None for the end-of-candidates marker
        (an empty ``candidate``). ValueError on a malformed candidate."""
        text = value.get("candidate")
        if not isinstance(text, str):
            raise ValueError("candidate must be a string")
        if not text.strip():
            return None
        made = candidate_from_sdp(text)
        mid = value.get("sdpMid")
        index = value.get("sdpMLineIndex")
        made.sdpMid = mid if isinstance(mid, str) else None
        made.sdpMLineIndex = index if isinstance(index, int) else None
        return made


    @classmethod
    def from_fields(cls, other: object) -> RTCIceCandidate:
        """Copy any object with aiortc's RTCIceCandidate attributes; ValueError if it lacks
        them."""
        try:
            return cls(
                component=int(getattr(other, "component")),  # noqa: B009
                foundation=str(getattr(other, "foundation")),  # noqa: B009
                ip=str(getattr(other, "ip")),  # noqa: B009
                port=int(getattr(other, "port")),  # noqa: B009
                priority=int(getattr(other, "priority")),  # noqa: B009
                protocol=str(getattr(other, "protocol")),  # noqa: B009
                type=str(getattr(other, "type")),  # noqa: B009
                relatedAddress=getattr(other, "relatedAddress", None),
                relatedPort=getattr(other, "relatedPort", None),
                sdpMid=getattr(other, "sdpMid", None),
                sdpMLineIndex=getattr(other, "sdpMLineIndex", None),
                tcpType=getattr(other, "tcpType", None),
            )
        except (AttributeError, TypeError) as exc:
            raise ValueError(f"not an ICE candidate: {other!r}") from exc


def candidate_from_sdp(text: str) -> RTCIceCandidate:
    """Parse an ``a=candidate`` value (with or without ``candidate:``); ValueError if bad."""
    return from_ice(parse_candidate(text))


def from_ice(c: Candidate) -> RTCIceCandidate:
    return RTCIceCandidate(
        component=c.component,
        foundation=c.foundation,
        ip=c.host,
        port=c.port,
        priority=c.priority,
        protocol=c.transport,
        type=str(c.type),
        relatedAddress=c.related_address,
        relatedPort=c.related_port,
        tcpType=c.tcptype,
    )


def to_ice(c: RTCIceCandidate) -> Candidate:
    return Candidate(
        foundation=c.foundation,
        component=c.component,
        transport=c.protocol.lower(),
        priority=c.priority,
        host=c.ip,
        port=c.port,
        type=CandidateType(c.type),
        related_address=c.relatedAddress,
        related_port=c.relatedPort,
        tcptype=c.tcpType,
    )


def candidate_to_sdp(c: RTCIceCandidate) -> str:
    """The ``a=candidate`` value (no ``candidate:`` prefix)."""
    return to_ice(c).to_sdp()
