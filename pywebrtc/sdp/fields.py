"""The structured SDP lines other than ``m=`` and ``a=``: RFC 8866 §5.2 (``o=``), §5.7 (``c=``),
§5.8 (``b=``) and §5.9–5.10 (``t=`` with its ``r=`` lines).

``c=`` follows §5.7 including the multicast ``/ttl`` and ``/count`` suffixes; addresses are
kept as text and not resolved, since WebRTC only ever puts a placeholder there (RFC 8829
§5.2.1). Left out: ``r=`` and ``z=`` (RFC 8866 §5.10–5.11) are kept verbatim, not decoded into
times; WebRTC sessions are unbounded (``t=0 0``) and never repeat.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pywebrtc.sdp._syntax import (
    check_non_ws,
    check_text,
    check_token,
    parse_int,
    split_fields,
    split_words,
)
from pywebrtc.sdp.errors import SdpParseError

__all__ = ["Bandwidth", "Connection", "Line", "Origin", "Timing"]

_MAX_U64 = 2**64 - 1  # RFC 3264 §5 asks sess-id/sess-version to fit 63 bits; be lenient.


@dataclass(frozen=True, slots=True)
class Origin:
    """``o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>``.

    RFC 3264 §8: an answerer keeps ``session_id`` for the session's life and bumps
    ``session_version`` on every new description; :meth:`next_version` does the latter.
    """

    session_id: int
    session_version: int = 0
    username: str = "-"
    nettype: str = "IN"
    addrtype: str = "IP4"
    address: str = "127.0.0.1"

    @classmethod
    def parse(cls, value: str) -> Origin:
        username, session_id, version, nettype, addrtype, address = split_fields(value, "o=", 6)
        return cls(
            session_id=parse_int(session_id, "o= sess-id", 0, _MAX_U64),
            session_version=parse_int(version, "o= sess-version", 0, _MAX_U64),
            username=check_non_ws(username, "o= username"),
            nettype=check_token(nettype, "o= nettype"),
            addrtype=check_token(addrtype, "o= addrtype"),
            address=check_non_ws(address, "o= address"),
        )

    def __str__(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.session_version} "
            f"{self.nettype} {self.addrtype} {self.address}"
        )

    def next_version(self) -> Origin:
        return Origin(
            self.session_id,
            self.session_version + 1,
            self.username,
            self.nettype,
            self.addrtype,
            self.address,
        )


@dataclass(frozen=True, slots=True)
class Connection:
    """``c=<nettype> <addrtype> <connection-address>`` (RFC 8866 §5.7).

    For multicast, ``ttl`` (IPv4 only) and ``count`` are the ``/``-separated suffixes. WebRTC
    writes ``c=IN IP4 0.0.0.0`` or the default candidate's address.
    """

    address: str = "0.0.0.0"
    addrtype: str = "IP4"
    nettype: str = "IN"
    ttl: int | None = None
    count: int | None = None

    @classmethod
    def parse(cls, value: str) -> Connection:
        nettype, addrtype, address = split_fields(value, "c=", 3)
        check_token(nettype, "c= nettype")
        check_token(addrtype, "c= addrtype")
        check_non_ws(address, "c= address")
        parts = address.split("/")
        if "" in parts:
            raise SdpParseError("c=: empty part in the address")
        ttl: int | None = None
        count: int | None = None
        if addrtype == "IP4" and len(parts) > 1:
            if len(parts) > 3:
                raise SdpParseError("c=: IPv4 address takes at most /ttl/count")
            ttl = parse_int(parts[1], "c= ttl", 0, 255)
            if len(parts) == 3:
                count = parse_int(parts[2], "c= address count", 1, _MAX_U64)
        elif addrtype == "IP6" and len(parts) > 1:
            if len(parts) > 2:
                raise SdpParseError("c=: IPv6 address takes at most /count")
            count = parse_int(parts[1], "c= address count", 1, _MAX_U64)
        elif len(parts) > 1:
            # An unknown address type: keep the slashes inside the address.
            parts = [address]
        return cls(parts[0], addrtype, nettype, ttl, count)

    def __str__(self) -> str:
        text = f"{self.nettype} {self.addrtype} {self.address}"
        if self.ttl is not None:
            text += f"/{self.ttl}"
        if self.count is not None:
            text += f"/{self.count}"
        return text


@dataclass(frozen=True, slots=True)
class Bandwidth:
    """``b=<bwtype>:<bandwidth>`` (RFC 8866 §5.8), e.g. ``AS:64`` or ``TIAS:64000``."""

    type: str
    value: int

    @classmethod
    def parse(cls, value: str) -> Bandwidth:
        bwtype, colon, amount = value.partition(":")
        if not colon:
            raise SdpParseError("b=: expected <bwtype>:<bandwidth>")
        return cls(check_token(bwtype, "b= bwtype"), parse_int(amount, "b= bandwidth"))

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


@dataclass(frozen=True, slots=True)
class Timing:
    """``t=<start-time> <stop-time>`` (RFC 8866 §5.9) and its ``r=`` lines, kept verbatim."""

    start: int = 0
    stop: int = 0
    repeats: tuple[str, ...] = field(default=())

    @classmethod
    def parse(cls, value: str) -> Timing:
        start, stop = split_fields(value, "t=", 2)
        return cls(
            parse_int(start, "t= start", 0, _MAX_U64), parse_int(stop, "t= stop", 0, _MAX_U64)
        )

    def __str__(self) -> str:
        return f"{self.start} {self.stop}"


@dataclass(frozen=True, slots=True)
class Line:
    """A line of a type this package does not know (``<type>=<value>``), kept as it came."""

    type: str
    value: str

    def __post_init__(self) -> None:
        if len(self.type) != 1 or not self.type.isascii() or not self.type.isalpha():
            raise SdpParseError(f"line type {self.type[:10]!r} is not one letter")
        check_text(self.value, f"{self.type}= line")

    def __str__(self) -> str:
        return f"{self.type}={self.value}"


def check_repeat(value: str) -> str:
    """An ``r=`` value: not decoded, but it must be non-empty words."""
    if not split_words(value):
        raise SdpParseError("r=: empty")
    return check_text(value, "r=")
