"""``RTCSessionDescription`` (W3C webrtc-pc §4.7): a type and an SDP string."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pywebrtc.sdp import SessionDescription

_TYPES = ("offer", "pranswer", "answer", "rollback")


@dataclass(slots=True)
class RTCSessionDescription:
    sdp: str
    type: str
    # pywebrtc extension: ``sdp`` as the caller already parsed it (a server that vetted an
    # offer before applying it), which setRemoteDescription then reads instead of parsing
    # ``sdp`` again. It must be ``SessionDescription.parse(sdp)``; it is not modified or kept.
    parsed: SessionDescription | None = field(default=None, kw_only=True, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"type must be one of {_TYPES}, not {self.type!r}")
