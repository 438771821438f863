"""Trickle ICE SDP fragments: the ``application/trickle-ice-sdpfrag`` body of RFC 8840 §9
that WHIP (RFC 9725 §4.3) sends in ``PATCH`` requests to trickle candidates or restart ICE.

A fragment is a session description without ``v=``, ``o=``, ``s=`` and ``t=``: session-level
``a=`` lines (``ice-ufrag``, ``ice-pwd``, ``ice-options``, ``group``) then media sections, each
an ``m=`` line (whose port and formats are placeholders) with its ``a=mid``, ``a=candidate``
and ``a=end-of-candidates`` lines. Media sections use :class:`MediaDescription`, so the same
typed accessors apply. Left out: matching a fragment against the session it updates (the ICE
agent's job: RFC 8840 §4.4 / RFC 8838 §11 identify sections by ``mid``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from pywebrtc.sdp.attributes import Attribute
from pywebrtc.sdp.description import (
    AttributeSection,
    MediaBuilder,
    MediaDescription,
    split_lines,
)
from pywebrtc.sdp.errors import SdpParseError

__all__ = ["SdpFragment"]

_CRLF = "\r\n"


@dataclass(slots=True)
class SdpFragment(AttributeSection):
    """A trickle ICE fragment: session-level ``attributes`` and ``media`` sections."""

    attributes: list[Attribute] = field(default_factory=list)
    media: list[MediaDescription] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str) -> SdpFragment:
        """Parse an sdpfrag body; only ``a=`` lines may precede the first ``m=``."""
        fragment = cls()
        current: MediaBuilder | None = None
        for kind, value in split_lines(text):
            if kind == "m":
                current = MediaBuilder(MediaDescription.parse_media_line(value))
                fragment.media.append(current.media)
            elif current is not None:
                if kind in "vosuepzrt":
                    raise SdpParseError(f"{kind}= is not allowed in a media section")
                current.take(kind, value)
            elif kind == "a":
                fragment.attributes.append(Attribute.parse(value))
            else:
                raise SdpParseError(f"{kind}= is not allowed at the level of a fragment")
        return fragment

    def lines(self) -> Iterator[str]:
        yield from (f"a={attribute}" for attribute in self.attributes)
        for media in self.media:
            yield from media.lines()

    def __str__(self) -> str:
        return "".join(line + _CRLF for line in self.lines())
