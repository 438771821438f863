"""SDP attributes: the raw ``a=`` line (RFC 8866 §5.13) and the typed values of the session,
ICE, DTLS and bundling attributes WebRTC uses (RFC 8829 §5.2).

Typed here: ``group`` (RFC 5888 §5, RFC 9143 for BUNDLE), ``msid-semantic`` (the WebRTC
``WMS`` form; dropped from RFC 8830 but still sent by every browser), ``msid`` (RFC 8830 §2),
``fingerprint`` (RFC 8122 §5), ``setup`` (RFC 4145 §4, RFC 8842 §3), ``ice-options`` (RFC 8839
§5.6), ``rtcp`` (RFC 3605 §2.1), ``sctpmap`` (draft-ietf-mmusic-sctp-sdp-05 §5, the pre-RFC 8841
form older peers send) and the direction flags (RFC 8866 §6.7). Single-value attributes
(``mid``, ``ice-ufrag``, ``ice-pwd``, ``sctp-port``, ``max-message-size``) and flags are
accessed through properties on the descriptions.

Every typed value is a frozen dataclass with ``NAME`` (the attribute name), ``parse(value)``
and ``str()`` giving the value back. Parsing is lazy: a description keeps each attribute as
text and parses it when asked, so an odd attribute nobody reads never rejects an offer.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, Self

from pywebrtc.sdp._syntax import (
    check_non_ws,
    check_text,
    check_token,
    parse_int,
    split_fields,
    split_words,
)
from pywebrtc.sdp.errors import SdpParseError

__all__ = [
    "Attribute",
    "AttributeValue",
    "Direction",
    "Fingerprint",
    "Group",
    "IceOptions",
    "Msid",
    "MsidSemantic",
    "Rtcp",
    "Sctpmap",
    "Setup",
]

_MAX_PORT = 0xFFFF
_HEX_PAIRS = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})*")
_ICE_CHARS = re.compile(r"[A-Za-z0-9+/]+")  # RFC 8839 §5.4 ice-char


class AttributeValue(Protocol):
    """What a typed attribute value provides: its name, a parser and ``str()``."""

    NAME: ClassVar[str]

    @classmethod
    def parse(cls, value: str) -> Self: ...

    def __str__(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Attribute:
    """One ``a=`` line: ``a=<name>`` (a flag, ``value is None``) or ``a=<name>:<value>``."""

    name: str
    value: str | None = None

    @classmethod
    def parse(cls, text: str) -> Attribute:
        """Parse what follows ``a=``."""
        name, colon, value = text.partition(":")
        check_token(name, "attribute name")
        if not colon:
            return cls(name)
        if "\x00" in value or "\r" in value or "\n" in value:
            check_text(value, f"a={name}")  # raises, naming the attribute
        return cls(name, value)

    @classmethod
    def of(cls, item: AttributeValue) -> Attribute:
        return cls(item.NAME, str(item))

    def __str__(self) -> str:
        return self.name if self.value is None else f"{self.name}:{self.value}"


class Direction(enum.StrEnum):
    """The media direction flags (RFC 8866 §6.7); absent means ``sendrecv``."""

    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    def reverse(self) -> Direction:
        """The direction an answerer mirrors (RFC 3264 §6.1): sendonly ↔ recvonly."""
        if self is Direction.SENDONLY:
            return Direction.RECVONLY
        if self is Direction.RECVONLY:
            return Direction.SENDONLY
        return self


class Setup(enum.StrEnum):
    """``a=setup`` roles (RFC 4145 §4, for DTLS RFC 8842 §5)."""

    ACTPASS = "actpass"
    ACTIVE = "active"
    PASSIVE = "passive"
    HOLDCONN = "holdconn"

    NAME: ClassVar[str]  # set below: an Enum body would make it a member

    @classmethod
    def parse(cls, value: str) -> Setup:
        try:
            return cls(value.strip(" \t").lower())
        except ValueError:
            raise SdpParseError(f"a=setup: unknown role {value[:20]!r}") from None


Setup.NAME = "setup"


@dataclass(frozen=True, slots=True)
class Group:
    """``a=group:<semantics> <mid> ...`` (RFC 5888 §5); ``BUNDLE`` per RFC 9143 §9.1."""

    NAME: ClassVar[str] = "group"

    semantics: str
    mids: tuple[str, ...] = field(default=())

    @classmethod
    def parse(cls, value: str) -> Group:
        words = split_words(value)
        if not words:
            raise SdpParseError("a=group: no semantics")
        for word in words:
            check_token(word, "a=group")
        return cls(words[0], tuple(words[1:]))

    def __str__(self) -> str:
        return " ".join((self.semantics, *self.mids))


@dataclass(frozen=True, slots=True)
class MsidSemantic:
    """``a=msid-semantic:<semantic> <stream-id> ...`` as browsers send it (``WMS``, ``*``)."""

    NAME: ClassVar[str] = "msid-semantic"

    semantic: str = "WMS"
    identifiers: tuple[str, ...] = field(default=())

    @classmethod
    def parse(cls, value: str) -> MsidSemantic:
        words = split_words(value)
        if not words:
            raise SdpParseError("a=msid-semantic: empty")
        for word in words:
            check_non_ws(word, "a=msid-semantic")
        return cls(words[0], tuple(words[1:]))

    def __str__(self) -> str:
        return " ".join((self.semantic, *self.identifiers))


@dataclass(frozen=True, slots=True)
class Msid:
    """``a=msid:<stream-id> [<track-id>]`` (RFC 8830 §2); ``-`` is the no-stream id."""

    NAME: ClassVar[str] = "msid"

    stream_id: str
    track_id: str | None = None

    @classmethod
    def parse(cls, value: str) -> Msid:
        words = split_words(value)
        if len(words) not in (1, 2):
            raise SdpParseError("a=msid: expected <stream-id> [<track-id>]")
        for word in words:
            check_non_ws(word, "a=msid")
        return cls(words[0], words[1] if len(words) == 2 else None)

    def __str__(self) -> str:
        return self.stream_id if self.track_id is None else f"{self.stream_id} {self.track_id}"


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """``a=fingerprint:<hash-func> <hex pairs>`` (RFC 8122 §5).

    Both parts are case-insensitive on the wire; they are stored normalised (lower-case
    algorithm, upper-case hex) so that equal fingerprints compare equal.
    """

    NAME: ClassVar[str] = "fingerprint"

    algorithm: str
    value: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "algorithm", self.algorithm.lower())
        object.__setattr__(self, "value", self.value.upper())

    @classmethod
    def parse(cls, value: str) -> Fingerprint:
        algorithm, digest = split_fields(value, "a=fingerprint", 2)
        check_token(algorithm, "a=fingerprint hash function")
        if not _HEX_PAIRS.fullmatch(digest):
            raise SdpParseError("a=fingerprint: expected colon-separated hex pairs")
        return cls(algorithm, digest)

    @classmethod
    def from_digest(cls, algorithm: str, digest: bytes) -> Fingerprint:
        return cls(algorithm, ":".join(f"{byte:02X}" for byte in digest))

    @property
    def digest(self) -> bytes:
        return bytes.fromhex(self.value.replace(":", ""))

    def __str__(self) -> str:
        return f"{self.algorithm} {self.value}"


@dataclass(frozen=True, slots=True)
class IceOptions:
    """``a=ice-options:<tag> ...`` (RFC 8839 §5.6): ``trickle``, ``renomination``, ``ice2``."""

    NAME: ClassVar[str] = "ice-options"

    tags: tuple[str, ...]

    @classmethod
    def parse(cls, value: str) -> IceOptions:
        words = split_words(value)
        if not words:
            raise SdpParseError("a=ice-options: empty")
        for word in words:
            if not _ICE_CHARS.fullmatch(word):
                raise SdpParseError(f"a=ice-options: bad tag {word[:20]!r}")
        return cls(tuple(words))

    def __str__(self) -> str:
        return " ".join(self.tags)

    @property
    def trickle(self) -> bool:
        return "trickle" in self.tags

    @property
    def renomination(self) -> bool:
        return "renomination" in self.tags

    @property
    def ice2(self) -> bool:
        return "ice2" in self.tags


@dataclass(frozen=True, slots=True)
class Rtcp:
    """``a=rtcp:<port> [<nettype> <addrtype> <address>]`` (RFC 3605 §2.1)."""

    NAME: ClassVar[str] = "rtcp"

    port: int
    nettype: str | None = None
    addrtype: str | None = None
    address: str | None = None

    @classmethod
    def parse(cls, value: str) -> Rtcp:
        words = split_words(value)
        if len(words) == 1:
            return cls(parse_int(words[0], "a=rtcp port", 0, _MAX_PORT))
        if len(words) != 4:
            raise SdpParseError("a=rtcp: expected <port> [<nettype> <addrtype> <address>]")
        return cls(
            parse_int(words[0], "a=rtcp port", 0, _MAX_PORT),
            check_token(words[1], "a=rtcp nettype"),
            check_token(words[2], "a=rtcp addrtype"),
            check_non_ws(words[3], "a=rtcp address"),
        )

    def __str__(self) -> str:
        if self.nettype is None or self.addrtype is None or self.address is None:
            return str(self.port)
        return f"{self.port} {self.nettype} {self.addrtype} {self.address}"


@dataclass(frozen=True, slots=True)
class Sctpmap:
    """``a=sctpmap:<port> <app> [<streams>]``: the draft-05 data channel form (pre RFC 8841)."""

    NAME: ClassVar[str] = "sctpmap"

    port: int
    protocol: str = "webrtc-datachannel"
    streams: int | None = None

    @classmethod
    def parse(cls, value: str) -> Sctpmap:
        words = split_words(value)
        if len(words) not in (2, 3):
            raise SdpParseError("a=sctpmap: expected <port> <protocol> [<streams>]")
        return cls(
            parse_int(words[0], "a=sctpmap port", 0, _MAX_PORT),
            check_token(words[1], "a=sctpmap protocol"),
            parse_int(words[2], "a=sctpmap streams", 0, _MAX_PORT) if len(words) == 3 else None,
        )

    def __str__(self) -> str:
        text = f"{self.port} {self.protocol}"
        return text if self.streams is None else f"{text} {self.streams}"
