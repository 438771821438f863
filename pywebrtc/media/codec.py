"""The codec interface of the media layer: :class:`AudioCodec`, :class:`EncodedPacket` and the
encoder/decoder protocols every codec module implements.

:class:`AudioCodec` is what offer/answer negotiated for one payload type (``a=rtpmap`` plus the
``a=fmtp`` parameters), independent of the SDP classes so that the media layer does not import
the signaling layer; :func:`AudioCodec.from_sdp_values` builds one from the rtpmap fields.

The codec modules (:mod:`~pywebrtc.media.opus`, :mod:`~pywebrtc.media.libopus`,
:mod:`~pywebrtc.media.g711`) import only this module; :mod:`pywebrtc.media.codecs` imports them
and picks one per codec name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import av

__all__ = [
    "OPUS",
    "PCMA",
    "PCMU",
    "AudioCodec",
    "AudioDecoder",
    "AudioEncoder",
    "EncodedPacket",
]


@dataclass(frozen=True, slots=True)
class AudioCodec:
    """One negotiated audio payload format. ``parameters`` holds the fmtp key/values."""

    name: str  # "opus", "PCMU", "PCMA" (rtpmap encoding name; compared case-insensitively)
    payload_type: int
    clock_rate: int
    channels: int = 1
    parameters: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_sdp_values(
        cls, payload_type: int, encoding: str, clock_rate: int, channels: int | None,
        fmtp: Mapping[str, str] | None = None,
    ) -> AudioCodec:  # fmt: skip
        return cls(encoding, payload_type, clock_rate, channels or 1, dict(fmtp or {}))

    @property
    def key(self) -> str:
        return self.name.lower()

    def flag(self, name: str) -> bool:
        """An fmtp boolean (``useinbandfec=1``)."""
        return self.parameters.get(name, "0").strip() == "1"


OPUS = AudioCodec("opus", 111, 48000, 2, {"minptime": "10", "useinbandfec": "1"})
PCMU = AudioCodec("PCMU", 0, 8000)
PCMA = AudioCodec("PCMA", 8, 8000)


@dataclass(frozen=True, slots=True)
class EncodedPacket:
    """One encoded frame: ``media_time`` counts codec clock units from the stream start."""

    payload: bytes
    media_time: int
    duration: int


class AudioEncoder(Protocol):
    codec: AudioCodec

    def encode(self, frame: av.AudioFrame) -> list[EncodedPacket]: ...


class AudioDecoder(Protocol):
    codec: AudioCodec

    def decode(self, payload: bytes, timestamp: int) -> av.AudioFrame | None: ...

    def conceal(self, timestamp: int, next_payload: bytes | None) -> av.AudioFrame | None: ...
