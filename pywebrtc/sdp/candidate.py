"""ICE candidates as carried in SDP: the ``candidate`` attribute value.

Implements RFC 8839 §5.1 (the ``candidate-attribute`` grammar) with the TCP candidate
``tcptype`` extension of RFC 6544 §4.5, and the extension pairs libwebrtc and Firefox add
(``generation``, ``ufrag``, ``network-id``, ``network-cost``), which are kept, with unknown
ones, in the order they came. The same text appears as a W3C ``RTCIceCandidate.candidate``
string and in trickle ``application/trickle-ice-sdpfrag`` bodies with a leading
``candidate:``; :meth:`Candidate.parse` takes it with or without that prefix.

Left out: nothing of the grammar. Priorities are not recomputed or checked against RFC 8445
§5.1.2 (that is the ICE agent's business), and a connection address is kept as text: an IPv4
or IPv6 literal, or a hostname (an RFC 8828 mDNS ``.local`` name, which an agent must resolve or
drop); :attr:`Candidate.address_kind` tells which.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass, field
from typing import ClassVar

from pywebrtc.sdp._syntax import check_non_ws, check_token, parse_int, split_words
from pywebrtc.sdp.errors import SdpParseError

__all__ = ["AddressKind", "Candidate", "CandidateType", "TcpType", "TransportProtocol"]

# RFC 8839 §5.1: foundation = 1*32ice-char; ice-char = ALPHA / DIGIT / "+" / "/".
_FOUNDATION = re.compile(r"[A-Za-z0-9+/]{1,32}")
_PREFIX = "candidate:"
_MAX_U32 = 0xFFFFFFFF
_MAX_COMPONENT = 256  # RFC 8445 §5.1.1.1: component IDs run from 1 to 256.
_MAX_PORT = 0xFFFF


class CandidateType(enum.StrEnum):
    """``cand-type`` values (RFC 8839 §5.1); an unknown token is kept as a plain ``str``."""

    HOST = "host"
    SRFLX = "srflx"
    PRFLX = "prflx"
    RELAY = "relay"


_CANDIDATE_TYPES = {t.value: t for t in CandidateType}  # (a lookup; calling the enum is slower)


class TransportProtocol(enum.StrEnum):
    UDP = "udp"
    TCP = "tcp"


class TcpType(enum.StrEnum):
    """RFC 6544 §4.5 ``tcptype`` values."""

    ACTIVE = "active"
    PASSIVE = "passive"
    SO = "so"


class AddressKind(enum.Enum):
    IPV4 = "ipv4"
    IPV6 = "ipv6"
    MDNS = "mdns"  # an RFC 8828 ``<uuid>.local`` name standing in for a host address
    FQDN = "fqdn"


def address_kind(address: str) -> AddressKind:
    """Whether a connection address is an IP literal, an mDNS ``.local`` name or a hostname."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        if address.lower().rstrip(".").endswith(".local"):
            return AddressKind.MDNS
        return AddressKind.FQDN
    return AddressKind.IPV4 if ip.version == 4 else AddressKind.IPV6


def _known_type(value: str) -> str:
    return _CANDIDATE_TYPES.get(value, value)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One ICE candidate (RFC 8839 §5.1).

    ``str(candidate)`` is the attribute value (what follows ``a=candidate:``);
    :meth:`to_sdp_attribute` adds the ``candidate:`` prefix the W3C API and sdpfrag use.
    ``transport`` keeps the spelling it came with (Chrome writes ``udp``, Firefox ``UDP``); compare
    through :attr:`protocol`. ``extensions`` holds every name/value pair after ``typ`` other than
    ``raddr``, ``rport`` and ``tcptype``, in order.
    """

    NAME: ClassVar[str] = "candidate"

    foundation: str
    component: int
    transport: str
    priority: int
    address: str
    port: int
    type: str
    related_address: str | None = None
    related_port: int | None = None
    tcptype: str | None = None
    extensions: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def parse(cls, value: str) -> Candidate:
        """Parse a candidate attribute value, with or without a leading ``candidate:``."""
        if value[: len(_PREFIX)].lower() == _PREFIX:
            value = value[len(_PREFIX) :]
        words = split_words(value)
        if len(words) < 8:
            raise SdpParseError("candidate: fewer than eight fields")
        foundation, component, transport, priority, address, port, typ, cand_type = words[:8]
        if not _FOUNDATION.fullmatch(foundation):
            raise SdpParseError(f"candidate: bad foundation {foundation[:40]!r}")
        if typ != "typ":
            raise SdpParseError("candidate: 'typ' expected after the port")
        rest = words[8:]
        if len(rest) % 2:
            raise SdpParseError("candidate: extension name without a value")
        pairs = [(rest[i], rest[i + 1]) for i in range(0, len(rest), 2)]
        related_address: str | None = None
        related_port: int | None = None
        if pairs and pairs[0][0] == "raddr":
            related_address = check_non_ws(pairs.pop(0)[1], "candidate raddr")
        if pairs and pairs[0][0] == "rport":
            related_port = parse_int(pairs.pop(0)[1], "candidate rport", 0, _MAX_PORT)
        tcptype: str | None = None
        extensions: list[tuple[str, str]] = []
        for name, ext_value in pairs:
            check_token(name, "candidate extension name")
            if name == "tcptype" and tcptype is None:
                try:
                    tcptype = TcpType(ext_value)
                except ValueError:
                    raise SdpParseError(f"candidate: bad tcptype {ext_value[:20]!r}") from None
                continue
            if name in ("generation", "network-id", "network-cost"):
                parse_int(ext_value, f"candidate {name}", 0, _MAX_U32)
            extensions.append((name, ext_value))
        return cls(
            foundation=foundation,
            component=parse_int(component, "candidate component", 1, _MAX_COMPONENT),
            transport=check_token(transport, "candidate transport"),
            priority=parse_int(priority, "candidate priority", 0, _MAX_U32),
            address=check_non_ws(address, "candidate address"),
            port=parse_int(port, "candidate port", 0, _MAX_PORT),
            type=_known_type(check_token(cand_type, "candidate type")),
            related_address=related_address,
            related_port=related_port,
            tcptype=tcptype,
            extensions=tuple(extensions),
        )

    def __str__(self) -> str:
        words = [
            self.foundation,
            str(self.component),
            self.transport,
            str(self.priority),
            self.address,
            str(self.port),
            "typ",
            str(self.type),
        ]
        if self.related_address is not None:
            words += ["raddr", self.related_address]
        if self.related_port is not None:
            words += ["rport", str(self.related_port)]
        if self.tcptype is not None:
            words += ["tcptype", str(self.tcptype)]
        for name, value in self.extensions:
            words += [name, value]
        return " ".join(words)

    def to_sdp_attribute(self) -> str:
        """``candidate:...``: the W3C ``RTCIceCandidate.candidate`` and sdpfrag form."""
        return _PREFIX + str(self)

    @property
    def protocol(self) -> TransportProtocol | None:
        """The transport, case-insensitively; None for a transport this stack does not know."""
        try:
            return TransportProtocol(self.transport.lower())
        except ValueError:
            return None

    @property
    def address_kind(self) -> AddressKind:
        return address_kind(self.address)

    def extension(self, name: str) -> str | None:
        """The value of the first extension pair called ``name``."""
        for key, value in self.extensions:
            if key == name:
                return value
        return None

    def _int_extension(self, name: str) -> int | None:
        value = self.extension(name)
        return None if value is None else parse_int(value, f"candidate {name}", 0, _MAX_U32)

    @property
    def generation(self) -> int | None:
        return self._int_extension("generation")

    @property
    def ufrag(self) -> str | None:
        return self.extension("ufrag")

    @property
    def network_id(self) -> int | None:
        return self._int_extension("network-id")

    @property
    def network_cost(self) -> int | None:
        return self._int_extension("network-cost")
