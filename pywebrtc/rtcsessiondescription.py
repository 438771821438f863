"""``RTCSessionDescription`` (W3C webrtc-pc §4.7): a type and an SDP string."""

from __future__ import annotations

from dataclasses import dataclass

_TYPES = ("offer", "pranswer", "answer", "rollback")


@dataclass(slots=True)
class RTCSessionDescription:
    sdp: str
    type: str

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"type must be one of {_TYPES}, not {self.type!r}")
