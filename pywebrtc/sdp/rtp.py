"""Typed values of the RTP media attributes.

Implements ``rtpmap`` (RFC 8866 §6.6), ``fmtp`` (RFC 8866 §6.15), ``rtcp-fb`` (RFC 4585 §4.2),
``extmap`` (RFC 8285 §7), ``ssrc`` and ``ssrc-group`` (RFC 5576 §4.1–4.2).

``fmtp`` parameters are decoded as the ``;``-separated ``key=value`` list that nearly every
payload format uses (RFC 7587 Opus, RFC 6184 H.264, RFC 4588 rtx). Formats whose parameters
are not of that shape are tolerated: telephone-event's ``0-16`` (RFC 4733 §2.4.1) or RED's
``111/111`` (RFC 2198 §5) come back as a key with no value. Left out: the meaning of any
codec's parameters, and ``rtcp-fb`` parameters beyond the subtype, which stay text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from pywebrtc.sdp._syntax import check_text, check_token, parse_int, split_words
from pywebrtc.sdp.attributes import Direction
from pywebrtc.sdp.errors import SdpParseError

__all__ = ["Extmap", "Fmtp", "RtcpFb", "Rtpmap", "Ssrc", "SsrcGroup"]

_MAX_PT = 127  # RTP payload type is 7 bits (RFC 3550 §5.1)
_MAX_U32 = 0xFFFFFFFF
# RFC 8285 §7: 1-14 one-byte, 1-255 two-byte, 4096-4351 for negotiation in an offer.
_MAX_EXTMAP_ID = 4351


def _payload_type(text: str, what: str) -> int:
    return parse_int(text, f"{what} payload type", 0, _MAX_PT)


def _head(value: str, what: str) -> tuple[str, str]:
    """Split ``<first word> SP <rest>``; the rest may be empty."""
    stripped = value.lstrip(" \t")
    for index, char in enumerate(stripped):
        if char in " \t":
            return stripped[:index], stripped[index + 1 :].strip(" \t")
    if not stripped:
        raise SdpParseError(f"{what}: empty")
    return stripped, ""


@dataclass(frozen=True, slots=True)
class Rtpmap:
    """``a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]`` (RFC 8866 §6.6)."""

    NAME: ClassVar[str] = "rtpmap"

    payload_type: int
    encoding_name: str
    clock_rate: int
    channels: int | None = None

    @classmethod
    def parse(cls, value: str) -> Rtpmap:
        pt, rest = _head(value, "a=rtpmap")
        parts = rest.split("/")
        if len(parts) not in (2, 3) or not rest:
            raise SdpParseError("a=rtpmap: expected <encoding>/<clock rate>[/<channels>]")
        return cls(
            _payload_type(pt, "a=rtpmap"),
            check_token(parts[0], "a=rtpmap encoding name"),
            parse_int(parts[1], "a=rtpmap clock rate", 1, _MAX_U32),
            parse_int(parts[2], "a=rtpmap channels", 1, 255) if len(parts) == 3 else None,
        )

    def __str__(self) -> str:
        text = f"{self.payload_type} {self.encoding_name}/{self.clock_rate}"
        return text if self.channels is None else f"{text}/{self.channels}"


@dataclass(frozen=True, slots=True)
class Fmtp:
    """``a=fmtp:<pt> <parameters>`` (RFC 8866 §6.15) as ordered ``(key, value)`` pairs.

    A parameter without ``=`` (``0-16``, ``111/111``) has value None. Keys are looked up
    case-insensitively by :meth:`get` (media type parameter names are, RFC 6838 §4.3).
    """

    NAME: ClassVar[str] = "fmtp"

    payload_type: int
    parameters: tuple[tuple[str, str | None], ...] = field(default=())

    @classmethod
    def parse(cls, value: str) -> Fmtp:
        pt, rest = _head(value, "a=fmtp")
        check_text(rest, "a=fmtp")
        parameters: list[tuple[str, str | None]] = []
        for part in rest.split(";"):
            part = part.strip(" \t")
            if not part:
                continue
            key, equals, param = part.partition("=")
            key = key.strip(" \t")
            if not key:
                raise SdpParseError("a=fmtp: parameter without a name")
            parameters.append((key, param.strip(" \t") if equals else None))
        return cls(_payload_type(pt, "a=fmtp"), tuple(parameters))

    @classmethod
    def from_mapping(cls, payload_type: int, parameters: Mapping[str, str | int | None]) -> Fmtp:
        """``Fmtp.from_mapping(111, {"minptime": 10, "useinbandfec": 1})``."""
        return cls(
            payload_type,
            tuple((key, None if v is None else str(v)) for key, v in parameters.items()),
        )

    def __str__(self) -> str:
        params = ";".join(key if v is None else f"{key}={v}" for key, v in self.parameters)
        return f"{self.payload_type} {params}"

    def get(self, key: str) -> str | None:
        """The value of the first parameter called ``key`` (any case); None if absent."""
        folded = key.lower()
        for name, value in self.parameters:
            if name.lower() == folded:
                return value
        return None

    def __contains__(self, key: str) -> bool:
        folded = key.lower()
        return any(name.lower() == folded for name, _ in self.parameters)

    def as_dict(self) -> dict[str, str | None]:
        return dict(self.parameters)


@dataclass(frozen=True, slots=True)
class RtcpFb:
    """``a=rtcp-fb:<pt|*> <type> [<subtype and parameters>]`` (RFC 4585 §4.2).

    ``payload_type`` None stands for ``*`` (every format of the section). ``subtype`` holds
    the rest of the value verbatim: ``pli`` in ``nack pli``, ``100`` in ``trr-int 100``.
    """

    NAME: ClassVar[str] = "rtcp-fb"

    payload_type: int | None
    type: str
    subtype: str | None = None

    @classmethod
    def parse(cls, value: str) -> RtcpFb:
        pt, rest = _head(value, "a=rtcp-fb")
        fb_type, subtype = _head(rest, "a=rtcp-fb type") if rest else ("", "")
        if not fb_type:
            raise SdpParseError("a=rtcp-fb: no feedback type")
        return cls(
            None if pt == "*" else _payload_type(pt, "a=rtcp-fb"),
            check_token(fb_type, "a=rtcp-fb type"),
            check_text(subtype, "a=rtcp-fb") if subtype else None,
        )

    def __str__(self) -> str:
        pt = "*" if self.payload_type is None else str(self.payload_type)
        text = f"{pt} {self.type}"
        return text if self.subtype is None else f"{text} {self.subtype}"


@dataclass(frozen=True, slots=True)
class Extmap:
    """``a=extmap:<id>[/<direction>] <uri> [<extension attributes>]`` (RFC 8285 §7)."""

    NAME: ClassVar[str] = "extmap"

    id: int
    uri: str
    direction: Direction | None = None
    attributes: str | None = None

    @classmethod
    def parse(cls, value: str) -> Extmap:
        head, rest = _head(value, "a=extmap")
        ident, slash, direction = head.partition("/")
        uri, attributes = _head(rest, "a=extmap uri") if rest else ("", "")
        if not uri:
            raise SdpParseError("a=extmap: no URI")
        parsed_direction: Direction | None = None
        if slash:
            try:
                parsed_direction = Direction(direction)
            except ValueError:
                raise SdpParseError(f"a=extmap: bad direction {direction[:20]!r}") from None
        ext_id = parse_int(ident, "a=extmap id", 1, _MAX_EXTMAP_ID)
        if 255 < ext_id < 4096:
            raise SdpParseError(f"a=extmap: id {ext_id} is neither 1-255 nor 4096-4351")
        return cls(
            ext_id,
            uri,
            parsed_direction,
            check_text(attributes, "a=extmap") if attributes else None,
        )

    def __str__(self) -> str:
        head = str(self.id) if self.direction is None else f"{self.id}/{self.direction}"
        text = f"{head} {self.uri}"
        return text if self.attributes is None else f"{text} {self.attributes}"


@dataclass(frozen=True, slots=True)
class Ssrc:
    """``a=ssrc:<ssrc-id> <attribute>[:<value>]`` (RFC 5576 §4.1), e.g. ``cname:...``."""

    NAME: ClassVar[str] = "ssrc"

    ssrc: int
    attribute: str
    value: str | None = None

    @classmethod
    def parse(cls, value: str) -> Ssrc:
        ident, rest = _head(value, "a=ssrc")
        if not rest:
            raise SdpParseError("a=ssrc: no source attribute")
        name, colon, attr_value = rest.partition(":")
        return cls(
            parse_int(ident, "a=ssrc id", 0, _MAX_U32),
            check_token(name, "a=ssrc attribute"),
            check_text(attr_value, "a=ssrc") if colon else None,
        )

    def __str__(self) -> str:
        text = f"{self.ssrc} {self.attribute}"
        return text if self.value is None else f"{text}:{self.value}"


@dataclass(frozen=True, slots=True)
class SsrcGroup:
    """``a=ssrc-group:<semantics> <ssrc-id> ...`` (RFC 5576 §4.2), e.g. ``FID`` for rtx."""

    NAME: ClassVar[str] = "ssrc-group"

    semantics: str
    ssrcs: tuple[int, ...] = field(default=())

    @classmethod
    def parse(cls, value: str) -> SsrcGroup:
        words = split_words(value)
        if not words:
            raise SdpParseError("a=ssrc-group: empty")
        return cls(
            check_token(words[0], "a=ssrc-group semantics"),
            tuple(parse_int(word, "a=ssrc-group ssrc", 0, _MAX_U32) for word in words[1:]),
        )

    def __str__(self) -> str:
        return " ".join((self.semantics, *(str(ssrc) for ssrc in self.ssrcs)))
