"""The relay's decisions, without sockets or clocks: drop, forward, create or move a flow.

The socket layer (relay.server) calls one method per datagram with the time it read, and
does what the returned :class:`~relay.flows.Flow` says; everything that is policy lives here
and is tested on a fake clock.

* From a client (``from_client``): a known address is forwarded opaque (DTLS, SRTP, RTCP,
  STUN) to its backend. An unknown address creates a flow only with a STUN Binding Request
  (RFC 8489 §6, method 0x001) whose USERNAME's first part — the receiver's ufrag, i.e. ours,
  RFC 8445 §7.2.2 — decodes to a route; everything else is dropped and counted. A Binding
  Request on a known flow naming another route moves the flow (ICE restart, migration).
* From a backend (``from_backend``): the frame header names the client; the payload goes to
  the client (or, for a chained flow, the whole frame goes back to the relay it came from).
* From another cluster's relay (``from_peer_relay``): a frame whose header already carries
  the client address, for a route in our cluster (Global Relay chaining).
* Route cache (optional, Redis in production): new flows and, at most every
  ``cache_refresh`` seconds, consent traffic emit ``cache_writes``; a non-STUN packet from an
  unknown address asks for a ``lookups`` entry (bounded; negative answers remembered), and
  ``cache_hit`` creates the flow when the answer comes back. The packets that came while the
  answer was on its way are held (a few per address, a bounded total), not dropped: the
  answer hands them out in ``released``, in order, to be forwarded on the new flow. After a
  relay restart that is the first audio packet of every call, 20 ms of sound each.
* Bounds: at most ``max_flows`` flows, and at most ``max_addresses_per_ufrag`` client
  addresses bound to one ufrag (one session) at once, so that one valid ufrag sent from many
  spoofed source addresses cannot fill the table. Beyond either, new bindings are dropped and
  counted; bound addresses are never evicted, and an expired or migrated one frees its slot.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from pywebrtc.stun import read_username
from relay.flows import Address, Backend, Flow
from relay.routing import Route, UfragCodec

K = TypeVar("K", bound=Hashable)

# A session's client addresses: host, server-reflexive and relayed candidates (RFC 8445
# §5.1.1) of both address families, with room to spare.
MAX_ADDRESSES_PER_UFRAG = 16

# Held while the route cache is asked (one Redis round trip, < 1 ms; its timeout 0.25 s):
# enough for the audio and data packets of that time, bounded in all against a flood.
MAX_HELD_PER_LOOKUP = 8
MAX_HELD_BYTES = 1 << 20

# RFC 8489 §5: message type 0x0001 is a Binding Request; the first two bytes on the wire.
_BINDING_REQUEST = b"\x00\x01"
_FRAME_HEADER_LENGTH = {0xC4: 7, 0xC6: 19}  # pywebrtc.framing: IPv4, IPv6


class Drop(enum.StrEnum):
    """Why a datagram was not forwarded (the ``reason`` label of the drop counter)."""

    NOT_STUN = "not_stun"  # first packet of an unknown address is not a Binding Request
    NO_USERNAME = "no_username"  # Binding Request without a readable USERNAME
    BAD_UFRAG = "bad_ufrag"  # forged, corrupted, foreign or unknown-key ufrag
    UNKNOWN_TRANSCEIVER = "unknown_transceiver"  # route names no configured transceiver
    UNKNOWN_CLUSTER = "unknown_cluster"  # route names a cluster we cannot reach
    TABLE_FULL = "table_full"  # flow table at its bound
    SESSION_FULL = "session_full"  # ufrag already bound to max_addresses_per_ufrag addresses
    UNKNOWN_FLOW = "unknown_flow"  # backend frame for a client we have no flow for
    BAD_FRAME = "bad_frame"  # backend datagram that is not a frame
    UNTRUSTED_SOURCE = "untrusted_source"  # frame from an address that is not a backend
    VIA_CONFLICT = "via_conflict"  # chained frame for a client we reach directly
    SEND_FAILED = "send_failed"  # the socket refused (buffer full); counted by the I/O layer
    TRUNCATED = "truncated"  # a datagram larger than the receive buffer; I/O layer too


class Forwarder(Generic[K]):
    """Flow table and routing policy for one relay worker.

    ``header_of(key)`` gives the frame header for a client key (the socket layer decides what
    a key is). ``transceivers`` maps transceiver id to backend for our ``cluster``;
    ``peer_relays`` maps other clusters to their relay (chaining). Both may be changed
    in place (e.g. from a registry).
    """

    def __init__(
        self,
        codec: UfragCodec,
        header_of: Callable[[K], bytes],
        transceivers: dict[int, Backend],
        cluster: int = 0,
        peer_relays: dict[int, Backend] | None = None,
        *,
        max_flows: int = 100_000,
        max_addresses_per_ufrag: int = MAX_ADDRESSES_PER_UFRAG,
        idle_timeout: float = 30.0,
        cache_enabled: bool = False,
        cache_refresh: float = 5.0,
        max_pending_lookups: int = 256,
        negative_ttl: float = 5.0,
        max_held_per_lookup: int = MAX_HELD_PER_LOOKUP,
        max_held_bytes: int = MAX_HELD_BYTES,
    ) -> None:
        self.codec = codec
        self.header_of = header_of
        self.transceivers = transceivers
        self.cluster = cluster
        self.peer_relays = peer_relays if peer_relays is not None else {}
        self.max_flows = max_flows
        self.max_addresses_per_ufrag = max_addresses_per_ufrag
        self.idle_timeout = idle_timeout
        self.cache_enabled = cache_enabled
        self.cache_refresh = cache_refresh
        self.max_pending_lookups = max_pending_lookups
        self.negative_ttl = negative_ttl
        self.max_held_per_lookup = max_held_per_lookup
        self.max_held_bytes = max_held_bytes

        self.flows: dict[K, Flow] = {}  # direct clients, by socket-layer key
        self.by_header: dict[bytes, Flow] = {}  # every flow, by client frame header
        # How many flows of the table are bound to each ufrag (flows from the route cache
        # have no ufrag until their first Binding Request).
        self.per_ufrag: dict[str, int] = {}
        self.drops: Counter[str] = Counter()
        self.flows_created = 0
        self.flows_expired = 0
        self.flows_migrated = 0
        # Route cache I/O, drained by the socket layer.
        self.cache_writes: list[tuple[bytes, Route]] = []
        # Called when a flow is created or changes backend: lets the socket layer precompute
        # what it sends per packet (the only times those inputs change).
        self.on_route: Callable[[Flow], None] | None = None
        # Called when a flow leaves the table (expired or replaced), for the same reason.
        self.on_forget: Callable[[Flow], None] | None = None
        # When the socket layer last forwarded a datagram of a flow without telling the flow
        # (the C loops, relay._fastloop): asked by expire() before it drops an idle-looking one.
        self.last_seen_of: Callable[[Flow], float] | None = None
        self.lookups: list[tuple[K, bytes]] = []
        # Held datagrams whose route the cache has just given: forward each on its flow (the
        # socket layer drains this after cache_hit/cache_miss).
        self.released: list[tuple[Flow, bytes]] = []
        self._held: dict[K, list[bytes]] = {}  # per pending lookup, what came meanwhile
        self._held_bytes = 0
        self._negative: dict[K, float] = {}
        self._sweep: list[Flow] = []  # expire(limit=...): the rest of the current sweep

    # -- client side -------------------------------------------------------------------

    def from_client(self, key: K, datagram: bytes, now: float) -> Flow | None:
        """A datagram from a client; the flow to forward it on, or None (dropped, counted)."""
        flow = self.flows.get(key)
        if flow is not None:
            flow.last_seen = now
            if datagram[:2] == _BINDING_REQUEST and not self._binding_on_flow(flow, datagram, now):
                return None
            return flow
        return self._new_flow(key, datagram, now)

    def _new_flow(self, key: K, datagram: bytes, now: float) -> Flow | None:
        if datagram[:2] != _BINDING_REQUEST:
            if not (self.cache_enabled and self._hold(key, datagram, now)):
                self.drops[Drop.NOT_STUN] += 1
            return None
        found = self._route_of(datagram)
        if found is None:
            return None
        ufrag, route, backend = found
        if not self._admits(ufrag):
            return None
        flow = Flow(key, self.header_of(key), route, backend, ufrag, now)
        self._add(flow)
        return flow

    def _route_of(self, stun: bytes) -> tuple[str, Route, Backend] | None:
        username = read_username(stun)
        if username is None:
            self.drops[Drop.NO_USERNAME] += 1
            return None
        ufrag = username.partition(":")[0]
        route = self.codec.decode(ufrag)
        if route is None:
            self.drops[Drop.BAD_UFRAG] += 1
            return None
        backend = self._backend_for(route)
        if backend is None:
            return None
        return ufrag, route, backend

    def _backend_for(self, route: Route, chained_ok: bool = True) -> Backend | None:
        if route.cluster == self.cluster:
            backend = self.transceivers.get(route.transceiver)
            if backend is None:
                self.drops[Drop.UNKNOWN_TRANSCEIVER] += 1
            return backend
        relay = self.peer_relays.get(route.cluster) if chained_ok else None
        if relay is None:
            self.drops[Drop.UNKNOWN_CLUSTER] += 1
        return relay

    def _admits(self, ufrag: str) -> bool:
        """Whether a new flow bound to ``ufrag`` fits in the table (if not: counted)."""
        if len(self.by_header) >= self.max_flows:
            self.drops[Drop.TABLE_FULL] += 1
            return False
        return not self._session_full(ufrag)

    def _session_full(self, ufrag: str) -> bool:
        """Whether ``ufrag`` has no slot left for another client address (if so: counted)."""
        if self.per_ufrag.get(ufrag, 0) < self.max_addresses_per_ufrag:
            return False
        self.drops[Drop.SESSION_FULL] += 1
        return True

    def _bound(self, ufrag: str, change: int) -> None:
        """One more (``change`` 1) or one fewer (-1) flow of the table bound to ``ufrag``."""
        if ufrag:
            count = self.per_ufrag.get(ufrag, 0) + change
            if count:
                self.per_ufrag[ufrag] = count
            else:
                del self.per_ufrag[ufrag]

    def _binding_on_flow(self, flow: Flow, stun: bytes, now: float) -> bool:
        """A Binding Request from a known flow; False if dropped (its new ufrag is full)."""
        username = read_username(stun)
        if username is not None:
            ufrag = username.partition(":")[0]
            if ufrag != flow.ufrag:
                route = self.codec.decode(ufrag)
                # An undecodable ufrag on a known flow is still forwarded where the flow
                # goes; the transceiver answers it (or not). Only a valid route moves it.
                if route is not None:
                    if self._session_full(ufrag):
                        return False  # the address stays bound where it was
                    self._bound(flow.ufrag, -1)
                    self._bound(ufrag, 1)
                    flow.ufrag = ufrag
                    if route != flow.route:
                        backend = self._backend_for(route, chained_ok=flow.via is None)
                        if backend is not None:
                            flow.route, flow.backend = route, backend
                            flow.cache_refreshed = float("-inf")
                            self.flows_migrated += 1
                            if self.on_route is not None:
                                self.on_route(flow)
        if (
            self.cache_enabled
            and flow.key is not None
            and now - flow.cache_refreshed >= self.cache_refresh
        ):
            flow.cache_refreshed = now
            self.cache_writes.append((flow.header, flow.route))
        return True

    def _add(self, flow: Flow) -> None:
        replaced = self.by_header.get(flow.header)
        if replaced is not None:
            # The same client address reached us another way (directly after being chained,
            # say): the newest path wins.
            self._forget(replaced)
        if flow.key is not None:
            self.flows[flow.key] = flow  # type: ignore[index]
        self.by_header[flow.header] = flow
        self._bound(flow.ufrag, 1)
        self.flows_created += 1
        if self.on_route is not None:
            self.on_route(flow)
        if self.cache_enabled and flow.key is not None:
            self.cache_writes.append((flow.header, flow.route))

    # -- backend side ------------------------------------------------------------------

    def from_backend(self, datagram: bytes, now: float) -> Flow | None:
        """A frame from a backend (already checked to be one); the client's flow, or None.

        For a direct flow the socket layer sends ``datagram[len(flow.header):]`` to the client;
        for a chained flow (``flow.via``) it sends the whole frame back to that relay.
        """
        length = _FRAME_HEADER_LENGTH.get(datagram[0]) if datagram else None
        if length is None or len(datagram) < length:
            self.drops[Drop.BAD_FRAME] += 1
            return None
        flow = self.by_header.get(datagram[:length])
        if flow is None:
            self.drops[Drop.UNKNOWN_FLOW] += 1
            return None
        flow.last_seen = now
        return flow

    def from_peer_relay(self, via: Backend, datagram: bytes, now: float) -> Flow | None:
        """A frame from another cluster's relay (chaining); forward it whole to the backend."""
        length = _FRAME_HEADER_LENGTH.get(datagram[0]) if datagram else None
        if length is None or len(datagram) < length:
            self.drops[Drop.BAD_FRAME] += 1
            return None
        header = datagram[:length]
        payload = datagram[length:]
        flow = self.by_header.get(header)
        if flow is not None:
            if flow.via is None:
                self.drops[Drop.VIA_CONFLICT] += 1
                return None
            flow.last_seen = now
            flow.via = via
            if payload[:2] == _BINDING_REQUEST and not self._binding_on_flow(flow, payload, now):
                return None
            return flow
        if payload[:2] != _BINDING_REQUEST:
            self.drops[Drop.NOT_STUN] += 1
            return None
        username = read_username(payload)
        if username is None:
            self.drops[Drop.NO_USERNAME] += 1
            return None
        ufrag = username.partition(":")[0]
        route = self.codec.decode(ufrag)
        if route is None:
            self.drops[Drop.BAD_UFRAG] += 1
            return None
        # One hop only: a chained frame must land in our own cluster.
        backend = self._backend_for(route, chained_ok=False)
        if backend is None or not self._admits(ufrag):
            return None
        flow = Flow(None, header, route, backend, ufrag, now, via=via)
        self._add(flow)
        return flow

    # -- route cache -------------------------------------------------------------------

    def _hold(self, key: K, datagram: bytes, now: float) -> bool:
        """Keep ``datagram`` until the route cache answers for ``key``, asking it first if
        nobody has; False if it cannot be kept (bounds, or a recent miss)."""
        held = self._held.get(key)
        if held is None:
            if len(self._held) >= self.max_pending_lookups:
                return False
            missed = self._negative.get(key)
            if missed is not None and now - missed < self.negative_ttl:
                return False
            held = self._held[key] = []
            self.lookups.append((key, self.header_of(key)))
        if (
            len(held) >= self.max_held_per_lookup
            or self._held_bytes + len(datagram) > self.max_held_bytes
        ):
            return False
        held.append(datagram)
        self._held_bytes += len(datagram)
        return True

    def _settle(self, key: K, flow: Flow | None) -> None:
        """The lookup for ``key`` is answered: what was held goes out on ``flow`` (if any
        flow, from the cache or from a STUN request meanwhile), or is dropped and counted."""
        held = self._held.pop(key, [])
        self._held_bytes -= sum(map(len, held))
        flow = flow or self.flows.get(key)
        if flow is None:
            self.drops[Drop.NOT_STUN] += len(held)
        else:
            self.released += [(flow, datagram) for datagram in held]

    def cache_hit(self, key: K, route: Route, now: float) -> Flow | None:
        """The route cache knew ``key``: create its flow (unless STUN got there first); what
        was held for it goes to ``released``."""
        flow = self._flow_from_cache(key, route, now)
        self._settle(key, flow)
        return flow

    def _flow_from_cache(self, key: K, route: Route, now: float) -> Flow | None:
        existing = self.flows.get(key)
        if existing is not None:
            return existing
        backend = self._backend_for(route)
        if backend is None:
            return None
        if len(self.by_header) >= self.max_flows:
            self.drops[Drop.TABLE_FULL] += 1
            return None
        flow = Flow(key, self.header_of(key), route, backend, "", now)
        flow.cache_refreshed = now  # just read from the cache: no need to write it back
        replaced = self.by_header.get(flow.header)
        if replaced is not None:
            self._forget(replaced)
        self.flows[key] = flow
        self.by_header[flow.header] = flow
        self.flows_created += 1
        if self.on_route is not None:
            self.on_route(flow)
        return flow

    def cache_miss(self, key: K, now: float) -> None:
        """The route cache did not know ``key`` (or was unreachable)."""
        self._settle(key, None)
        if len(self._negative) >= self.max_flows:
            # Bounded: forget the oldest half rather than grow under a flood of addresses.
            for old in list(self._negative)[: len(self._negative) // 2]:
                del self._negative[old]
        self._negative[key] = now

    # -- housekeeping ------------------------------------------------------------------

    def expire(self, now: float, limit: int | None = None) -> int:
        """Drop flows idle for ``idle_timeout``; returns how many.

        Without ``limit``, look at every flow: call about once a second. With ``limit``, look
        at up to ``limit`` flows of a sweep that goes on where the last call stopped (a new
        sweep, over the flows of that moment, starts when one ends): call it often. That
        bounds the time one call takes, which matters when it holds the GIL and a lock that
        forwarding threads wait for (a full look at 100 000 flows takes ~8 ms here).
        """
        deadline = now - self.idle_timeout
        if limit is None:
            looked: list[Flow] = list(self.by_header.values())
        else:
            if not self._sweep:
                self._sweep = list(self.by_header.values())
                self._clean_negative(now)
            looked = self._sweep[-limit:]
            del self._sweep[-limit:]
        by_header = self.by_header
        # (A flow of the sweep may have left the table since, its header even taken anew.)
        stale = [
            flow
            for flow in looked
            if flow.last_seen < deadline and by_header.get(flow.header) is flow
        ]
        if stale and self.last_seen_of is not None:
            for flow in stale:
                flow.last_seen = max(flow.last_seen, self.last_seen_of(flow))
            stale = [flow for flow in stale if flow.last_seen < deadline]
        for flow in stale:
            self._forget(flow)
        self.flows_expired += len(stale)
        if limit is None:
            self._clean_negative(now)
        return len(stale)

    def _clean_negative(self, now: float) -> None:
        if self._negative:
            cutoff = now - self.negative_ttl
            for key in [k for k, t in self._negative.items() if t < cutoff]:
                del self._negative[key]

    def _forget(self, flow: Flow) -> None:
        if self.by_header.get(flow.header) is flow:
            del self.by_header[flow.header]
            self._bound(flow.ufrag, -1)
        if flow.key is not None and self.flows.get(flow.key) is flow:  # type: ignore[arg-type]
            del self.flows[flow.key]  # type: ignore[arg-type]
        if self.on_forget is not None:
            self.on_forget(flow)


def backends(addresses: dict[int, Address], chained: bool = False) -> dict[int, Backend]:
    """Backend objects for ``{id: (host, port)}``."""
    return {i: Backend(address, chained) for i, address in addresses.items()}
