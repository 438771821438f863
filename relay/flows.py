"""Flows: one client address (or one chained client) bound to the backend that owns it.

A flow is soft state: created by a routable STUN Binding Request (or a route-cache hit),
refreshed by traffic in either direction, dropped when idle. Losing every flow costs at most
one consent-check interval (RFC 7675 §5.1, about 5 s) before STUN rebuilds them.
"""

from __future__ import annotations

from collections.abc import Hashable

from relay.routing import Route

Address = tuple[str, int]


class Backend:
    """Where a flow's frames go: a transceiver, or the relay of another cluster (chaining).

    ``sockaddr``, ``ptr`` and ``namelen`` are scratch for the socket layer (the raw
    ``struct sockaddr`` it sends to), filled once per backend, never per packet.
    """

    __slots__ = ("address", "chained", "namelen", "pinned", "ptr", "sockaddr")

    def __init__(self, address: Address, chained: bool = False) -> None:
        self.address = address
        self.chained = chained
        self.sockaddr = b""
        self.pinned: object = None  # keeps the memory at ``ptr`` alive
        self.ptr = 0
        self.namelen = 0

    def __repr__(self) -> str:
        kind = "relay" if self.chained else "transceiver"
        return f"Backend({kind} {self.address[0]}:{self.address[1]})"


class Flow:
    """One client's path through this relay.

    ``key`` is how the socket layer names the client (an address tuple, raw sockaddr bytes),
    or None for a chained flow that reaches us through another relay (``via``). ``header``
    is the frame header for the client's address (pywebrtc.framing), computed once.
    """

    __slots__ = (
        "backend",
        "cache_refreshed",
        "client_address",
        "client_ptr",
        "client_sockaddr",
        "header",
        "key",
        "last_seen",
        "route",
        "tx",
        "ufrag",
        "via",
    )

    def __init__(
        self,
        key: Hashable | None,
        header: bytes,
        route: Route,
        backend: Backend,
        ufrag: str,
        now: float,
        via: Backend | None = None,
    ) -> None:
        self.key = key
        self.header = header
        self.route = route
        self.backend = backend
        self.ufrag = ufrag
        self.last_seen = now
        self.cache_refreshed = now
        self.via = via
        # Socket-layer scratch: where to send replies to the client, filled once.
        self.client_sockaddr: object = None
        self.client_ptr = 0
        # The client's address as the socket module spells it, once a datagram from it was
        # read that way (the relay's one-datagram path sends replies with it).
        self.client_address: tuple[str | int, ...] | None = None
        # (destination sockaddr ptr, IPv4 header as a native-order int or 0, header)
        self.tx: tuple[int, int, bytes] = (0, 0, header)

    def __repr__(self) -> str:
        return f"Flow({self.header.hex()} -> {self.backend!r}, {self.route})"
