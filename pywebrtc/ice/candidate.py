"""ICE candidates: fields, priority, foundation, and the ``a=candidate`` text form.

RFC 8445 §5.1.2 (priority), §5.1.1.3 (foundation), RFC 8839 §5.1 (the attribute grammar),
RFC 8421 (local preference on dual-stack hosts), RFC 6544 §4.2 and §6.2 (TCP candidates'
priority and which TCP candidates pair). TCP candidates pair by RFC 6544's rules: with
``SettingEngine.set_ice_tcp(True)`` the shell gathers ``tcptype active`` host candidates
(:func:`tcp_active_candidate`, connections in :class:`pywebrtc.ice.netio.TcpActive`) that pair
with remote passive ones; the passive side is ``pywebrtc-relay --listen-tcp`` (docs/relay.md).

This module does not read SDP: candidates flow from SDP to ICE, parsed once by
:class:`pywebrtc.sdp.Candidate` and turned into this :class:`Candidate` by
:mod:`pywebrtc.jsep.candidates`. :meth:`Candidate.to_sdp` writes the attribute value (the form
aioice's ``Candidate.to_sdp`` gives).
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import zlib
from dataclasses import dataclass, field, replace

from pywebrtc.transmit import Address as Address


class CandidateType(enum.StrEnum):
    HOST = "host"
    SERVER_REFLEXIVE = "srflx"
    PEER_REFLEXIVE = "prflx"
    RELAYED = "relay"


# RFC 8445 §5.1.2.2: recommended type preferences.
TYPE_PREFERENCE: dict[CandidateType, int] = {
    CandidateType.HOST: 126,
    CandidateType.PEER_REFLEXIVE: 110,
    CandidateType.SERVER_REFLEXIVE: 100,
    CandidateType.RELAYED: 0,
}
MAX_LOCAL_PREFERENCE = 65535


def candidate_priority(
    candidate_type: CandidateType, component: int = 1, local_preference: int = MAX_LOCAL_PREFERENCE
) -> int:
    """RFC 8445 §5.1.2.1: ``2^24 * type pref + 2^8 * local pref + (256 - component id)``."""
    return (TYPE_PREFERENCE[candidate_type] << 24) + (local_preference << 8) + (256 - component)


# RFC 6544 §4.2: direction preference (3 bits) by tcptype, for host (and UDP-tunneled) candidates;
# reflexive and relayed ones prefer S-O, then active, then passive.
_DIRECTION_PREFERENCE = {"active": 6, "passive": 4, "so": 2}
_DIRECTION_PREFERENCE_NATED = {"so": 6, "active": 4, "passive": 2}
# Type preference of TCP candidates: below every UDP type that a client can use directly, so a
# controlling agent ranking pairs by priority tries UDP first (RFC 6544 §4.2 leaves the value
# to the agent; 90 for host is libwebrtc's choice too).
TCP_TYPE_PREFERENCE: dict[CandidateType, int] = {
    CandidateType.HOST: 90,
    CandidateType.PEER_REFLEXIVE: 80,
    CandidateType.SERVER_REFLEXIVE: 70,
    CandidateType.RELAYED: 0,
}
_MAX_OTHER_PREFERENCE = (1 << 13) - 1


def tcp_candidate_priority(
    candidate_type: CandidateType,
    tcptype: str,
    component: int = 1,
    other_preference: int = _MAX_OTHER_PREFERENCE,
) -> int:
    """RFC 8445 §5.1.2.1 priority of a TCP candidate, with RFC 6544 §4.2's local preference
    ``2^13 * direction-pref + other-pref``; raises ValueError for an unknown ``tcptype``."""
    table = (
        _DIRECTION_PREFERENCE
        if candidate_type is CandidateType.HOST
        else _DIRECTION_PREFERENCE_NATED
    )
    if tcptype not in table:
        raise ValueError(f"unknown tcptype {tcptype!r}")
    if not 0 <= other_preference <= _MAX_OTHER_PREFERENCE:
        raise ValueError(f"other-pref {other_preference} out of range 0..8191")
    preference = (table[tcptype] << 13) + other_preference
    return (TCP_TYPE_PREFERENCE[candidate_type] << 24) + (preference << 8) + (256 - component)


# RFC 6544 §6.2: an active candidate pairs with a passive one (and back), S-O with S-O.
_TCP_PARTNER = {"active": "passive", "passive": "active", "so": "so"}


def transports_pair(local: Candidate, remote: Candidate) -> bool:
    """Whether two candidates' transports may form a pair: both UDP, or both TCP with tcptypes
    that RFC 6544 §6.2 pairs (active with passive, S-O with S-O)."""
    if local.transport != remote.transport:
        return False
    if local.transport != "tcp":
        return local.transport == "udp"
    return local.tcptype is not None and _TCP_PARTNER.get(local.tcptype) == remote.tcptype


def local_preference(host: str, index: int = 0) -> int:
    """RFC 8421 §4-style local preference: IPv6 above IPv4, then by interface ``index``."""
    ip = ip_literal(host)
    v6 = ip is not None and ip.version == 6
    return max(0, MAX_LOCAL_PREFERENCE - 2 * index - (0 if v6 else 1))


@functools.lru_cache(maxsize=1024)
def compute_foundation(
    candidate_type: CandidateType, base_host: str, server: str = "", transport: str = "udp"
) -> str:
    """RFC 8445 §5.1.1.3: equal for equal (type, base IP, server, transport); 1-32 ice-chars.
    Cached: every session on a host asks again for the same few (1.3 µs each to format)."""
    key = f"{candidate_type}|{base_host}|{server}|{transport}".encode()
    return str(zlib.crc32(key))


@functools.lru_cache(maxsize=8192)
def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``host`` as an IP address, None for a name. Cached (the addresses are immutable):
    parsing one costs 3-8 µs, and a setup asks about each candidate address several times."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


@functools.lru_cache(maxsize=8192)
def normalize_host(host: str) -> str:
    """Canonical text of an IP address (IPv6 compressed, lowercase); names are kept as given.
    Cached: it runs on every received check."""
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        return host


def is_ipv6(host: str) -> bool:
    return ":" in host


@dataclass(frozen=True, slots=True)
class Candidate:
    """One ICE candidate. ``base`` is set on local candidates only (RFC 8445 §5.1.1)."""

    foundation: str
    component: int
    transport: str
    priority: int
    host: str
    port: int
    type: CandidateType
    related_address: str | None = None
    related_port: int | None = None
    tcptype: str | None = None
    # Extension attributes (name, value) in order, kept for round-tripping (generation, ufrag…).
    extensions: tuple[tuple[str, str], ...] = ()
    base: Address | None = field(default=None, compare=False)

    @property
    def address(self) -> Address:
        return (self.host, self.port)

    @property
    def generation(self) -> int | None:
        """The ``generation`` extension (libwebrtc), as aioice's Candidate has it."""
        for name, value in self.extensions:
            if name == "generation" and value.isdigit():
                return int(value)
        return None

    @property
    def is_mdns(self) -> bool:
        return self.host.endswith(".local")

    def to_sdp(self) -> str:
        """The ``a=candidate`` value without the ``candidate:`` prefix (as aioice gives it)."""
        parts = [
            self.foundation,
            str(self.component),
            self.transport,
            str(self.priority),
            self.host,
            str(self.port),
            "typ",
            str(self.type),
        ]
        if self.related_address is not None and self.related_port is not None:
            parts += ["raddr", self.related_address, "rport", str(self.related_port)]
        if self.tcptype is not None:
            parts += ["tcptype", self.tcptype]
        for name, value in self.extensions:
            parts += [name, value]
        return " ".join(parts)

    def with_address(self, host: str, port: int) -> Candidate:
        return replace(self, host=host, port=port)

    def __str__(self) -> str:
        return f"{self.type} {self.host}:{self.port}/{self.component}"


@functools.lru_cache(maxsize=256)
def host_candidate(
    host: str, port: int, component: int = 1, index: int = 0, advertised: str | None = None
) -> Candidate:
    """A local host candidate on socket ``(host, port)``, optionally advertised under a NAT 1:1
    address (the base stays the real socket address). Cached: a candidate is immutable, and
    every session on a shared socket (a UDP mux) has the same one."""
    host = normalize_host(host)
    return Candidate(
        foundation=compute_foundation(CandidateType.HOST, host),
        component=component,
        transport="udp",
        priority=candidate_priority(CandidateType.HOST, component, local_preference(host, index)),
        host=normalize_host(advertised) if advertised else host,
        port=port,
        type=CandidateType.HOST,
        base=(host, port),
    )


def tcp_active_candidate(host: str, component: int = 1, index: int = 0) -> Candidate:
    """A local ``tcptype active`` host candidate on ``host`` (RFC 6544 §4.5: port 9, the
    connections' own ports are whatever ``connect`` picks); its base is ``(host, 9)``."""
    host = normalize_host(host)
    return Candidate(
        foundation=compute_foundation(CandidateType.HOST, host, transport="tcp"),
        component=component,
        transport="tcp",
        priority=tcp_candidate_priority(
            CandidateType.HOST, "active", component, max(0, _MAX_OTHER_PREFERENCE - index)
        ),
        host=host,
        port=9,
        type=CandidateType.HOST,
        tcptype="active",
        base=(host, 9),
    )


def reflexive_candidate(
    candidate_type: CandidateType,
    mapped: Address,
    base: Address,
    component: int = 1,
    server: str = "",
    priority: int | None = None,
    index: int = 0,
    related: Address | None = None,
) -> Candidate:
    """A local server-/peer-reflexive or relayed candidate. For relayed candidates ``base`` is
    the relayed address itself (RFC 8445 §5.1.1.2) and ``related`` the mapped address."""
    host = normalize_host(mapped[0])
    related = related or base
    return Candidate(
        foundation=compute_foundation(candidate_type, base[0], server),
        component=component,
        transport="udp",
        priority=priority
        if priority is not None
        else candidate_priority(candidate_type, component, local_preference(host, index)),
        host=host,
        port=mapped[1],
        type=candidate_type,
        related_address=related[0],
        related_port=related[1],
        base=base,
    )
