"""Session descriptions: RFC 8866 §5 (the line types and their order) and §9 (grammar), with
the typed JSEP attributes of RFC 8829 §5.2 reachable from each section.

Parsing keeps every line: known fields become typed values, ``a=`` lines are kept in order
as :class:`Attribute` text (typed views parse them on access), and lines of an unknown type
are kept in order as :class:`Line` and written after a section's known fields, before its
``a=`` lines. Serialising writes the RFC 8866 §5 order, so browser SDP, which follows it, comes
back byte for byte; CRLF line ends are written (§5), LF alone and a missing final line end are
accepted.

Tolerated beyond the grammar, because real peers do it: fields of a section in another order
than §5 (they are written back in §5 order), blank lines (dropped), runs of blanks between
fields, a missing ``t=`` line, and an ``m=`` line without formats. Rejected with
:class:`SdpParseError`: a first line other than ``v=0``, a missing ``o=`` or ``s=``, a field
given twice where §5 allows one, session-only fields inside a media section, NUL or bare CR.

Left out: ``k=`` (obsolete, §5.12) and ``z=``/``r=`` are kept as text; no offer/answer logic
lives here (it builds on this module).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

from pywebrtc.sdp._syntax import (
    check_non_ws,
    check_text,
    check_token,
    parse_int,
    split_words,
)
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
from pywebrtc.sdp.candidate import Candidate
from pywebrtc.sdp.errors import SdpParseError
from pywebrtc.sdp.fields import Bandwidth, Connection, Line, Origin, Timing, check_repeat
from pywebrtc.sdp.rtp import Extmap, Fmtp, RtcpFb, Rtpmap, Ssrc, SsrcGroup
from pywebrtc.sdp.simulcast import Rid, Simulcast

__all__ = ["AttributeSection", "MediaDescription", "SessionDescription"]

T = TypeVar("T", bound=AttributeValue)

_CRLF = "\r\n"

_MAX_PORT = 0xFFFF
_DIRECTIONS = frozenset(d.value for d in Direction)
_ICE_CREDENTIAL = re.compile(r"[A-Za-z0-9+/]+")  # RFC 8839 §5.4 ice-char


def _write_attributes(attributes: list[Attribute], out: list[str]) -> None:
    """``a=`` lines, as ``Attribute.__str__`` writes them (inlined: the most numerous lines)."""
    out += [f"a={a.name}" if a.value is None else f"a={a.name}:{a.value}" for a in attributes]


class AttributeSection:
    """Attribute access shared by every level that carries ``a=`` lines: a session, a media
    section, a trickle fragment.

    Generic access by name (``attribute``, ``add_attribute``, ``set_attribute``, ...), typed
    access by value class (``values(Rtpmap)``, ``add(Rtpmap(...))``, ``replace(...)``), and
    properties for the JSEP attributes that may appear at either level.
    """

    __slots__ = ()
    attributes: list[Attribute]

    # --- by name -----------------------------------------------------------------------------

    def attribute(self, name: str) -> Attribute | None:
        """The first attribute called ``name``."""
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        return None

    def attribute_values(self, name: str) -> list[str]:
        """The values of every ``a=<name>:<value>`` line (flags contribute ``""``)."""
        return [a.value or "" for a in self.attributes if a.name == name]

    def has_attribute(self, name: str) -> bool:
        return any(a.name == name for a in self.attributes)

    def add_attribute(self, name: str, value: str | None = None) -> None:
        """Append ``a=<name>[:<value>]``."""
        self.attributes.append(Attribute(check_token(name, "attribute name"), value))

    def set_attribute(self, name: str, value: str | None = None) -> None:
        """Make ``a=<name>[:<value>]`` the only one of its name: it takes the place of the
        first existing one, or is appended."""
        new = Attribute(check_token(name, "attribute name"), value)
        attributes = self.attributes
        for i, attribute in enumerate(attributes):
            if attribute.name == name:
                attributes[i] = new
                attributes[i + 1 :] = [a for a in attributes[i + 1 :] if a.name != name]
                return
        attributes.append(new)  # the usual case when a description is being built

    def remove_attributes(self, name: str) -> int:
        """Remove every attribute called ``name``; return how many there were."""
        before = len(self.attributes)
        self.attributes[:] = [a for a in self.attributes if a.name != name]
        return before - len(self.attributes)

    def set_flag(self, name: str, present: bool) -> None:
        """Add (once) or remove a value-less attribute such as ``rtcp-mux``."""
        if present:
            self.set_attribute(name)
        else:
            self.remove_attributes(name)

    # --- typed ------------------------------------------------------------------------------

    def values(self, kind: type[T]) -> list[T]:
        """Every attribute of ``kind`` parsed, in order; raises :class:`SdpParseError`."""
        return [kind.parse(a.value or "") for a in self.attributes if a.name == kind.NAME]

    def value(self, kind: type[T]) -> T | None:
        """The first attribute of ``kind`` parsed, or None."""
        attribute = self.attribute(kind.NAME)
        return None if attribute is None else kind.parse(attribute.value or "")

    def add(self, item: AttributeValue) -> None:
        """Append a typed attribute: ``media.add(Rtpmap(111, "opus", 48000, 2))``."""
        self.attributes.append(Attribute.of(item))

    def replace(self, item: AttributeValue) -> None:
        """Make a typed attribute the only one of its name (see :meth:`set_attribute`)."""
        self.set_attribute(item.NAME, str(item))

    def _single(self, name: str) -> str | None:
        attribute = self.attribute(name)
        return None if attribute is None else (attribute.value or "").strip(" \t")

    def _set_single(self, name: str, value: str | None) -> None:
        if value is None:
            self.remove_attributes(name)
        else:
            self.set_attribute(name, value)

    def _single_int(self, name: str, high: int) -> int | None:
        value = self._single(name)
        return None if value is None else parse_int(value, f"a={name}", 0, high)

    # --- ICE (RFC 8839 §5) -------------------------------------------------------------------

    @property
    def ice_ufrag(self) -> str | None:
        return self._single("ice-ufrag")

    @ice_ufrag.setter
    def ice_ufrag(self, value: str | None) -> None:
        self._set_single("ice-ufrag", _ice_credential(value, "a=ice-ufrag", 4))

    @property
    def ice_pwd(self) -> str | None:
        return self._single("ice-pwd")

    @ice_pwd.setter
    def ice_pwd(self, value: str | None) -> None:
        self._set_single("ice-pwd", _ice_credential(value, "a=ice-pwd", 22))

    @property
    def ice_options(self) -> IceOptions | None:
        return self.value(IceOptions)

    @ice_options.setter
    def ice_options(self, value: IceOptions | None) -> None:
        self._set_single(IceOptions.NAME, None if value is None else str(value))

    @property
    def ice_lite(self) -> bool:
        return self.has_attribute("ice-lite")

    @ice_lite.setter
    def ice_lite(self, value: bool) -> None:
        self.set_flag("ice-lite", value)

    @property
    def candidates(self) -> list[Candidate]:
        return self.values(Candidate)

    @property
    def end_of_candidates(self) -> bool:
        return self.has_attribute("end-of-candidates")

    @end_of_candidates.setter
    def end_of_candidates(self, value: bool) -> None:
        self.set_flag("end-of-candidates", value)

    # --- DTLS (RFC 8122, RFC 8842) -----------------------------------------------------------

    @property
    def fingerprints(self) -> list[Fingerprint]:
        return self.values(Fingerprint)

    @property
    def setup(self) -> Setup | None:
        value = self._single("setup")
        return None if value is None else Setup.parse(value)

    @setup.setter
    def setup(self, value: Setup | None) -> None:
        self._set_single("setup", None if value is None else value.value)

    # --- media-level defaults that may sit at session level ----------------------------------

    @property
    def direction(self) -> Direction | None:
        """The direction flag (RFC 8866 §6.7), or None if there is none at this level."""
        for attribute in self.attributes:
            if attribute.name in _DIRECTIONS:
                return Direction(attribute.name)
        return None

    @direction.setter
    def direction(self, value: Direction | None) -> None:
        """Replace the direction flag in place (or append it); None removes it."""
        kept: list[Attribute] = []
        placed = value is None
        for attribute in self.attributes:
            if attribute.name not in _DIRECTIONS:
                kept.append(attribute)
            elif not placed and value is not None:
                kept.append(Attribute(value.value))
                placed = True
        if not placed and value is not None:
            kept.append(Attribute(value.value))
        self.attributes[:] = kept

    @property
    def extmaps(self) -> list[Extmap]:
        return self.values(Extmap)

    @property
    def extmap_allow_mixed(self) -> bool:
        """RFC 8285 §6: one- and two-byte header extensions may be mixed."""
        return self.has_attribute("extmap-allow-mixed")

    @extmap_allow_mixed.setter
    def extmap_allow_mixed(self, value: bool) -> None:
        self.set_flag("extmap-allow-mixed", value)


def _ice_credential(value: str | None, what: str, shortest: int) -> str | None:
    """RFC 8839 §5.4: ufrag 4-256 and pwd 22-256 ice-chars. Checked when writing only, so
    that a peer's slightly off credentials still parse (the ICE agent decides about them)."""
    if value is not None and not _ICE_CREDENTIAL.fullmatch(value):
        raise SdpParseError(f"{what}: only ice-chars (A-Z a-z 0-9 + /) are allowed")
    if value is not None and not shortest <= len(value) <= 256:
        raise SdpParseError(f"{what}: must be {shortest} to 256 ice-chars")
    return value


def split_lines(text: str) -> Iterator[tuple[str, str]]:
    """Yield ``(type, value)`` per non-blank line; CRLF or LF ends, final end optional."""
    if "\x00" in text:
        raise SdpParseError("NUL in the description")
    if "\r" in text:  # CRLF ends (and a final CR without LF) are line ends, any other CR is not
        text = text.replace("\r\n", "\n")
        if text.endswith("\r"):
            text = text[:-1]
        if "\r" in text:
            raise SdpParseError("bare CR inside a line")
    for line in text.split("\n"):
        if len(line) >= 2 and line[1] == "=":
            yield line[0], line[2:]
        elif line.strip(" \t"):
            raise SdpParseError(f"not a <type>=<value> line: {line[:40]!r}")


@dataclass(slots=True)
class MediaDescription(AttributeSection):
    """One media section (RFC 8866 §5.14): ``m=`` and the ``i=``, ``c=``, ``b=``, ``k=`` and
    ``a=`` lines that follow it.

    Mutable on purpose: an answer is built by creating sections and adding attributes::

        m = MediaDescription("audio", 9, "UDP/TLS/RTP/SAVPF", ["111"])
        m.connections.append(Connection())      # c=IN IP4 0.0.0.0
        m.mid = "0"
        m.add(Rtpmap(111, "opus", 48000, 2))
    """

    media: str
    port: int
    proto: str
    formats: list[str] = field(default_factory=list)
    port_count: int | None = None
    information: str | None = None
    connections: list[Connection] = field(default_factory=list)
    bandwidths: list[Bandwidth] = field(default_factory=list)
    key: str | None = None
    attributes: list[Attribute] = field(default_factory=list)
    extra_lines: list[Line] = field(default_factory=list)

    @classmethod
    def parse_media_line(cls, value: str) -> MediaDescription:
        """A section holding just the ``m=<media> <port>[/<count>] <proto> <fmt> ...`` line."""
        words = split_words(value)
        if len(words) < 3:
            raise SdpParseError("m=: expected <media> <port> <proto> <fmt> ...")
        port_text, slash, count_text = words[1].partition("/")
        for fmt in words[3:]:
            check_token(fmt, "m= format")
        return cls(
            media=check_token(words[0], "m= media"),
            port=parse_int(port_text, "m= port", 0, _MAX_PORT),
            port_count=parse_int(count_text, "m= port count", 1, _MAX_PORT) if slash else None,
            proto=check_token_list(words[2], "m= proto"),
            formats=words[3:],
        )

    def media_line(self) -> str:
        port = str(self.port) if self.port_count is None else f"{self.port}/{self.port_count}"
        return " ".join((self.media, port, self.proto, *self.formats))

    def lines(self) -> Iterator[str]:
        """The section's lines in RFC 8866 §5 order, without line ends."""
        out: list[str] = []
        self._write(out)
        return iter(out)

    def _write(self, out: list[str]) -> None:
        # Appends to one list (rather than generators chained per section): a description is
        # written at every createOffer/createAnswer and localDescription read.
        out.append(f"m={self.media_line()}")
        if self.information is not None:
            out.append(f"i={self.information}")
        out += [f"c={connection}" for connection in self.connections]
        out += [f"b={bandwidth}" for bandwidth in self.bandwidths]
        if self.key is not None:
            out.append(f"k={self.key}")
        out += [str(line) for line in self.extra_lines]
        _write_attributes(self.attributes, out)

    def __str__(self) -> str:
        out: list[str] = []
        self._write(out)
        out.append("")
        return _CRLF.join(out)

    # --- identification and RTP/RTCP multiplexing -------------------------------------------

    @property
    def mid(self) -> str | None:
        """``a=mid`` (RFC 5888 §4)."""
        return self._single("mid")

    @mid.setter
    def mid(self, value: str | None) -> None:
        self._set_single("mid", None if value is None else check_token(value, "a=mid"))

    @property
    def rejected(self) -> bool:
        """Port zero: the section is rejected or disabled (RFC 3264 §6, RFC 8829 §5.3.1)."""
        return self.port == 0

    @property
    def rtcp(self) -> Rtcp | None:
        return self.value(Rtcp)

    @rtcp.setter
    def rtcp(self, value: Rtcp | None) -> None:
        self._set_single(Rtcp.NAME, None if value is None else str(value))

    @property
    def rtcp_mux(self) -> bool:
        """RFC 5761 §5.1.1."""
        return self.has_attribute("rtcp-mux")

    @rtcp_mux.setter
    def rtcp_mux(self, value: bool) -> None:
        self.set_flag("rtcp-mux", value)

    @property
    def rtcp_mux_only(self) -> bool:
        """RFC 8858 §3."""
        return self.has_attribute("rtcp-mux-only")

    @rtcp_mux_only.setter
    def rtcp_mux_only(self, value: bool) -> None:
        self.set_flag("rtcp-mux-only", value)

    @property
    def rtcp_rsize(self) -> bool:
        """RFC 5506 §5."""
        return self.has_attribute("rtcp-rsize")

    @rtcp_rsize.setter
    def rtcp_rsize(self, value: bool) -> None:
        self.set_flag("rtcp-rsize", value)

    # --- RTP payload formats -----------------------------------------------------------------

    @property
    def payload_types(self) -> list[int]:
        """The ``m=`` formats as RTP payload types (for RTP profiles)."""
        return [parse_int(fmt, "m= payload type", 0, 127) for fmt in self.formats]

    @property
    def rtpmaps(self) -> list[Rtpmap]:
        return self.values(Rtpmap)

    @property
    def fmtps(self) -> list[Fmtp]:
        return self.values(Fmtp)

    @property
    def rtcp_feedback(self) -> list[RtcpFb]:
        return self.values(RtcpFb)

    def rtpmap(self, payload_type: int) -> Rtpmap | None:
        return next((r for r in self.rtpmaps if r.payload_type == payload_type), None)

    def fmtp(self, payload_type: int) -> Fmtp | None:
        return next((f for f in self.fmtps if f.payload_type == payload_type), None)

    def feedback_for(self, payload_type: int) -> list[RtcpFb]:
        """``rtcp-fb`` lines that apply to a payload type, including ``*`` ones."""
        return [fb for fb in self.rtcp_feedback if fb.payload_type in (None, payload_type)]

    # --- sources and streams -----------------------------------------------------------------

    @property
    def ssrcs(self) -> list[Ssrc]:
        return self.values(Ssrc)

    @property
    def ssrc_groups(self) -> list[SsrcGroup]:
        return self.values(SsrcGroup)

    @property
    def msids(self) -> list[Msid]:
        return self.values(Msid)

    @property
    def rids(self) -> list[Rid]:
        return self.values(Rid)

    @property
    def simulcast(self) -> Simulcast | None:
        return self.value(Simulcast)

    @simulcast.setter
    def simulcast(self, value: Simulcast | None) -> None:
        self._set_single(Simulcast.NAME, None if value is None else str(value))

    # --- data channels (RFC 8841) ------------------------------------------------------------

    @property
    def sctp_port(self) -> int | None:
        """``a=sctp-port`` (RFC 8841 §5)."""
        return self._single_int("sctp-port", _MAX_PORT)

    @sctp_port.setter
    def sctp_port(self, value: int | None) -> None:
        self._set_single("sctp-port", None if value is None else str(value))

    @property
    def max_message_size(self) -> int | None:
        """``a=max-message-size`` (RFC 8841 §6); 0 means no limit."""
        return self._single_int("max-message-size", 2**64 - 1)

    @max_message_size.setter
    def max_message_size(self, value: int | None) -> None:
        self._set_single("max-message-size", None if value is None else str(value))

    @property
    def sctpmap(self) -> Sctpmap | None:
        return self.value(Sctpmap)


def check_token_list(text: str, what: str) -> str:
    """A ``/``-separated token list such as ``UDP/TLS/RTP/SAVPF`` (RFC 8866 §9 proto)."""
    for part in text.split("/"):
        check_token(part, what)
    return text


@dataclass(slots=True)
class SessionDescription(AttributeSection):
    """A whole session description (RFC 8866 §5), its media sections in ``media``.

    ``SessionDescription.parse(text)`` and ``str(description)`` convert from and to text.
    """

    origin: Origin
    session_name: str = "-"
    version: int = 0
    information: str | None = None
    uri: str | None = None
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    connection: Connection | None = None
    bandwidths: list[Bandwidth] = field(default_factory=list)
    timings: list[Timing] = field(default_factory=lambda: [Timing()])
    time_zones: str | None = None
    key: str | None = None
    attributes: list[Attribute] = field(default_factory=list)
    media: list[MediaDescription] = field(default_factory=list)
    extra_lines: list[Line] = field(default_factory=list)

    _SESSION_ONLY: ClassVar[frozenset[str]] = frozenset("vosuepzrt")

    @classmethod
    def parse(cls, text: str) -> SessionDescription:
        """Parse a session description; malformed input raises :class:`SdpParseError`."""
        lines = split_lines(text)
        first = next(lines, None)
        if first is None:
            raise SdpParseError("empty session description")
        if first != ("v", "0"):
            raise SdpParseError("a session description starts with v=0")
        session = _SessionBuilder()
        current: MediaBuilder | None = None
        attributes = session.attributes  # where a= lines go: the session's, then a section's
        for kind, value in lines:
            if kind == "a":
                # Attribute.parse inlined (most lines are a= lines), less its NUL/CR/LF check:
                # split_lines has refused those already.
                name, colon, rest = value.partition(":")
                check_token(name, "attribute name")
                attributes.append(Attribute(name, rest if colon else None))
            elif kind == "m":
                current = MediaBuilder(MediaDescription.parse_media_line(value))
                session.media.append(current.media)
                attributes = current.media.attributes
            elif current is not None:
                if kind in cls._SESSION_ONLY:
                    raise SdpParseError(f"{kind}= is not allowed in a media section")
                current.take(kind, value)
            else:
                session.take(kind, value)
        return session.build()

    def lines(self) -> Iterator[str]:
        """Every line in RFC 8866 §5 order, without line ends."""
        out: list[str] = []
        self._write(out)
        return iter(out)

    def _write(self, out: list[str]) -> None:
        out.append(f"v={self.version}")
        out.append(f"o={self.origin}")
        out.append(f"s={self.session_name}")
        if self.information is not None:
            out.append(f"i={self.information}")
        if self.uri is not None:
            out.append(f"u={self.uri}")
        out += [f"e={email}" for email in self.emails]
        out += [f"p={phone}" for phone in self.phones]
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out += [f"b={bandwidth}" for bandwidth in self.bandwidths]
        for timing in self.timings:
            out.append(f"t={timing}")
            out += [f"r={repeat}" for repeat in timing.repeats]
        if self.time_zones is not None:
            out.append(f"z={self.time_zones}")
        if self.key is not None:
            out.append(f"k={self.key}")
        out += [str(line) for line in self.extra_lines]
        _write_attributes(self.attributes, out)
        for media in self.media:
            media._write(out)

    def __str__(self) -> str:
        out: list[str] = []
        self._write(out)
        out.append("")
        return _CRLF.join(out)

    # --- session-level JSEP attributes -------------------------------------------------------

    @property
    def groups(self) -> list[Group]:
        return self.values(Group)

    def group(self, semantics: str = "BUNDLE") -> Group | None:
        """The first ``a=group`` with these semantics (compared case-insensitively)."""
        return next((g for g in self.groups if g.semantics.upper() == semantics.upper()), None)

    @property
    def msid_semantic(self) -> MsidSemantic | None:
        return self.value(MsidSemantic)

    @msid_semantic.setter
    def msid_semantic(self, value: MsidSemantic | None) -> None:
        self._set_single(MsidSemantic.NAME, None if value is None else str(value))

    def media_by_mid(self, mid: str) -> MediaDescription | None:
        return next((m for m in self.media if m.mid == mid), None)

    def add_media(self, media: MediaDescription | Iterable[MediaDescription]) -> None:
        if isinstance(media, MediaDescription):
            self.media.append(media)
        else:
            self.media.extend(media)


class MediaBuilder:
    """Collects the lines of one media section, enforcing one ``i=`` and one ``k=``."""

    def __init__(self, media: MediaDescription) -> None:
        self.media = media

    def take(self, kind: str, value: str) -> None:
        media = self.media
        if kind == "a":
            media.attributes.append(Attribute.parse(value))
        elif kind == "c":
            media.connections.append(Connection.parse(value))
        elif kind == "b":
            media.bandwidths.append(Bandwidth.parse(value))
        elif kind == "i":
            if media.information is not None:
                raise SdpParseError("i= given twice in a media section")
            media.information = check_text(value, "i=")
        elif kind == "k":
            if media.key is not None:
                raise SdpParseError("k= given twice in a media section")
            media.key = check_text(value, "k=")
        else:
            media.extra_lines.append(Line(kind, value))


class _SessionBuilder:
    """Collects the session-level lines, which need checks a dataclass cannot do alone."""

    def __init__(self) -> None:
        self.origin: Origin | None = None
        self.session_name: str | None = None
        self.information: str | None = None
        self.uri: str | None = None
        self.emails: list[str] = []
        self.phones: list[str] = []
        self.connection: Connection | None = None
        self.bandwidths: list[Bandwidth] = []
        self.timings: list[Timing] = []
        self.time_zones: str | None = None
        self.key: str | None = None
        self.attributes: list[Attribute] = []
        self.extra_lines: list[Line] = []
        self.media: list[MediaDescription] = []

    def take(self, kind: str, value: str) -> None:
        if kind == "a":
            self.attributes.append(Attribute.parse(value))
        elif kind == "o":
            self._once(self.origin, "o=")
            self.origin = Origin.parse(value)
        elif kind == "s":
            self._once(self.session_name, "s=")
            self.session_name = check_text(value, "s=")
        elif kind == "i":
            self._once(self.information, "i=")
            self.information = check_text(value, "i=")
        elif kind == "u":
            self._once(self.uri, "u=")
            self.uri = check_non_ws(value, "u=")
        elif kind == "e":
            self.emails.append(check_text(value, "e="))
        elif kind == "p":
            self.phones.append(check_text(value, "p="))
        elif kind == "c":
            self._once(self.connection, "c=")
            self.connection = Connection.parse(value)
        elif kind == "b":
            self.bandwidths.append(Bandwidth.parse(value))
        elif kind == "t":
            self.timings.append(Timing.parse(value))
        elif kind == "r":
            if not self.timings:
                raise SdpParseError("r= without a preceding t=")
            last = self.timings[-1]
            self.timings[-1] = Timing(last.start, last.stop, (*last.repeats, check_repeat(value)))
        elif kind == "z":
            self._once(self.time_zones, "z=")
            self.time_zones = check_text(value, "z=")
        elif kind == "k":
            self._once(self.key, "k=")
            self.key = check_text(value, "k=")
        elif kind == "v":
            raise SdpParseError("v= given twice")
        else:
            self.extra_lines.append(Line(kind, value))

    @staticmethod
    def _once(existing: object, what: str) -> None:
        if existing is not None:
            raise SdpParseError(f"{what} given twice at session level")

    def build(self) -> SessionDescription:
        if self.origin is None:
            raise SdpParseError("no o= line")
        if self.session_name is None:
            raise SdpParseError("no s= line")
        return SessionDescription(
            origin=self.origin,
            session_name=self.session_name,
            information=self.information,
            uri=self.uri,
            emails=self.emails,
            phones=self.phones,
            connection=self.connection,
            bandwidths=self.bandwidths,
            timings=self.timings,
            time_zones=self.time_zones,
            key=self.key,
            attributes=self.attributes,
            media=self.media,
            extra_lines=self.extra_lines,
        )
