"""``Connection``: the asyncio shell around :class:`pywebrtc.ice.Agent`, shaped like aioice's.

This is the only ICE module that reads a clock (``loop.time()``) or touches sockets. It owns:

* one UDP socket per (local address, component) — or none when the
  :class:`~pywebrtc.ice.config.IceConfig` has a :class:`UdpMux`, in which case all its traffic
  goes through the mux's socket;
* optionally a :class:`~pywebrtc.ice.turn.TurnClient` per component, whose relayed address is a
  local candidate base: the agent's ``Transmit(source=relayed address)`` goes out through the
  TURN client, and what the client relays in is fed to the agent as received on that base;
* no timer of its own: the event loop's one :class:`~pywebrtc.timer.LoopTimer` calls it back at
  ``agent.deadline()`` (re-armed after every input).

Non-STUN datagrams (DTLS, SRTP, ...) from the selected pair go to :meth:`Connection.recv`, or,
if set, to the synchronous ``on_datagram`` hook; :meth:`Connection.send_datagram` sends any bytes
on the selected pair without awaiting, for protocol layers sitting on top.

Remote ``.local`` (mDNS, RFC 8828) candidates are resolved with :mod:`pywebrtc.ice.mdns` before
they reach the agent; unresolvable ones are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pywebrtc.ice.agent import Agent
from pywebrtc.ice.candidate import (
    Address,
    Candidate,
    CandidateType,
    host_candidate,
    ip_literal,
    is_ipv6,
    normalize_host,
    reflexive_candidate,
)
from pywebrtc.ice.config import IceConfig
from pywebrtc.ice.credentials import Credentials
from pywebrtc.ice.events import (
    GatherDone,
    IceState,
    LocalCandidateGathered,
    PairValidated,
    SelectedPairChanged,
    StateChanged,
    Transmit,
)
from pywebrtc.ice.gather import host_addresses
from pywebrtc.ice.netio import HostSocket, bind_udp, resolve
from pywebrtc.ice.udpmux import MuxSession, UdpMux
from pywebrtc.timer import LoopTimer, Timed

if TYPE_CHECKING:
    from pywebrtc.ice.pair import CandidatePair

logger = logging.getLogger(__name__)

# How long gather_candidates() waits for STUN/TURN servers before going on without them.
GATHER_TIMEOUT = 5.0


@dataclass(slots=True)
class ConnectionStats:
    """Application datagrams (not STUN) on the connection, for getStats()."""

    packets_sent: int = 0
    bytes_sent: int = 0
    packets_received: int = 0
    bytes_received: int = 0
    dropped_unknown_source: int = 0


class _Socket(HostSocket):
    """A host socket, and the TURN allocation made from it, if any."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection._on_datagram)
        self.relay: _TurnRelay | None = None


class Connection(Timed):
    """An ICE connection (one data stream, ``components`` components), aioice-shaped."""

    def __init__(
        self,
        ice_controlling: bool,
        components: int = 1,
        stun_server: tuple[str, int] | None = None,
        turn_server: tuple[str, int] | None = None,
        turn_username: str | None = None,
        turn_password: str | None = None,
        turn_ssl: bool = False,
        turn_transport: str = "udp",
        use_ipv4: bool = True,
        use_ipv6: bool = True,
        ice_lite: bool = False,
        settings: IceConfig | None = None,
        local_username: str | None = None,
        local_password: str | None = None,
        include_loopback: bool | None = None,
        transport_policy: Literal["all", "relay"] = "all",
    ) -> None:
        if turn_ssl or turn_transport != "udp":
            raise ValueError("only TURN over UDP is supported")
        if transport_policy not in ("all", "relay"):
            raise ValueError(f"transport_policy must be 'all' or 'relay': {transport_policy!r}")
        # W3C iceTransportPolicy: "relay" offers (and checks from) relayed candidates only.
        self.transport_policy = transport_policy
        self.settings = IceConfig() if settings is None else settings
        if local_username is not None or local_password is not None:
            if local_username is None or local_password is None:
                raise ValueError("give both local_username and local_password, or neither")
            credentials = Credentials(local_username, local_password)
        else:
            credentials = self.settings.credentials or self.settings.next_local_credentials()
        self.ice_controlling = ice_controlling
        self.components = components
        self.stun_server = stun_server
        self.turn_server = turn_server
        self.turn_username = turn_username
        self.turn_password = turn_password
        self.use_ipv4 = use_ipv4
        self.use_ipv6 = use_ipv6
        self.include_loopback = (
            self.settings.include_loopback if include_loopback is None else include_loopback
        )
        self._agent = Agent(
            ice_controlling,
            credentials,
            lite=ice_lite or self.settings.ice_lite,
            components=components,
            config=self.settings.agent_config,
        )
        self._remote_username: str | None = None
        self._remote_password: str | None = None
        self._sockets: dict[Address, _Socket] = {}
        self._turns: dict[Address, _TurnRelay] = {}  # relayed address -> relay
        # Local base address -> (mux, our session on it), when the SettingEngine has muxes.
        self._mux_sessions: dict[Address, tuple[UdpMux, MuxSession]] = {}
        super().__init__()
        # Made on first use: a peer connection reads through on_datagram and never needs it.
        self._recv_queue: asyncio.Queue[tuple[bytes, int] | None] | None = None
        self._state_waiters: list[asyncio.Future[None]] = []
        self._gather_pending = 0
        self._gather_waiter: asyncio.Future[None] | None = None
        self._gathered = False
        self._closed = False
        # The selected pair and its socket when that is a plain UDP socket: the datagram fast
        # path (no per-datagram lookups of relays, sockets and mux sessions).
        self._route: tuple[CandidatePair, asyncio.DatagramTransport] | None = None
        # loop.time once a socket is bound on the loop (saves a get_running_loop per datagram).
        self._clock: Callable[[], float] = self._now
        # Synchronous hook for protocols on top (DTLS/SRTP): gets (data, component) instead of
        # the recv() queue.
        self.on_datagram: Callable[[bytes, int], None] | None = None
        self.stats = ConnectionStats()
        self.on_state_change: Callable[[IceState], None] | None = None
        # Called when send_datagram first works before a pair is selected (a valid pair, RFC
        # 8445 §15.1): DTLS can start a nomination round trip earlier.
        self.on_pair_validated: Callable[[], None] | None = None
        # Trickle (RFC 8838): each local candidate as it is gathered, then None at the end.
        self.on_local_candidate: Callable[[Candidate | None], None] | None = None

    # --- aioice-shaped attributes -------------------------------------------------------------

    @property
    def agent(self) -> Agent:
        return self._agent

    @property
    def state(self) -> IceState:
        return self._agent.state

    @property
    def local_candidates(self) -> list[Candidate]:
        """Local candidates to signal (peer-reflexive ones are learned, not signalled)."""
        return [
            c for c in self._agent.local_candidates if c.type is not CandidateType.PEER_REFLEXIVE
        ]

    @property
    def remote_candidates(self) -> list[Candidate]:
        return list(self._agent.remote_candidates)

    @property
    def local_username(self) -> str:
        return self._agent.local_credentials.ufrag

    @property
    def local_password(self) -> str:
        return self._agent.local_credentials.pwd

    @property
    def remote_username(self) -> str | None:
        return self._remote_username

    @remote_username.setter
    def remote_username(self, value: str | None) -> None:
        self._remote_username = value
        self._push_remote_credentials()

    @property
    def remote_password(self) -> str | None:
        return self._remote_password

    @remote_password.setter
    def remote_password(self, value: str | None) -> None:
        self._remote_password = value
        self._push_remote_credentials()

    @property
    def remote_is_lite(self) -> bool:
        return self._agent.remote_lite

    @remote_is_lite.setter
    def remote_is_lite(self, value: bool) -> None:
        self._agent.set_remote_lite(value)

    def _push_remote_credentials(self) -> None:
        if self._remote_username and self._remote_password:
            self._agent.set_remote_credentials(self._remote_username, self._remote_password)
            self._drive()

    def get_default_candidate(self, component: int = 1) -> Candidate | None:
        """The candidate for an SDP c= line (as aioice has it): the highest-priority local
        candidate of ``component``."""
        candidates = [c for c in self.local_candidates if c.component == component]
        return max(candidates, key=lambda c: c.priority, default=None)

    def selected_pair(self, component: int = 1) -> tuple[Candidate, Candidate] | None:
        pair = self._agent.selected_pair(component)
        return None if pair is None else (pair.mapped or pair.local, pair.remote)

    # --- gathering ------------------------------------------------------------------------------

    async def gather_candidates(self) -> None:
        """Gather host candidates (or take the mux's), then server-reflexive and relayed ones."""
        if self._gathered:
            return
        self._gathered = True
        loop = asyncio.get_running_loop()
        muxes = self.settings.udp_muxes
        nat_ips = self.settings.nat_1to1_ips
        bases: list[tuple[Address, int]] = []
        if muxes:
            agent = self._agent
            for index, mux in enumerate(muxes):
                base = mux.local_address
                self._add_host(base, 1, index, nat_ips)
                bases.append((base, 1))
                session = mux.register(
                    agent.local_ufrag, self._deliver_from(base), agent.authenticated_from
                )
                self._mux_sessions[base] = (mux, session)
        else:
            addresses = host_addresses(self.use_ipv4, self.use_ipv6, self.include_loopback)
            for index, address in enumerate(addresses):
                for component in range(1, self.components + 1):
                    sock = await self._bind(address)
                    if sock is None:
                        continue
                    if self.transport_policy == "all":
                        self._add_host(sock.base, component, index, nat_ips)
                    bases.append((sock.base, component))
        now = loop.time()
        waiters: list[asyncio.Future[None]] = []
        if self.stun_server is not None and self.transport_policy == "all":
            server = await resolve(self.stun_server)
            if server is not None:
                for base, _component in bases:
                    if is_ipv6(base[0]) == is_ipv6(server[0]):
                        self._gather_pending += 1
                        self._agent.gather_server_reflexive(base, server, now)
        if (
            self.turn_server is not None
            and self.turn_username is not None
            and self.turn_password is not None
            and not muxes
        ):
            server = await resolve(self.turn_server)
            if server is not None:
                for component in range(1, self.components + 1):
                    turn_base = next(
                        (b for b, c in bases if c == component and not is_ipv6(b[0])), None
                    )
                    if turn_base is None:
                        continue
                    sock = await self._bind(turn_base[0])
                    if sock is None:
                        continue
                    relay = _TurnRelay(self, sock, server, component)
                    waiters.append(relay.allocated)
                    relay.start(now)
        self._drive()
        if self._gather_pending or waiters:
            gather_done = loop.create_future()
            self._gather_waiter = gather_done
            if not self._gather_pending:
                gather_done.set_result(None)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(gather_done, *waiters, return_exceptions=True),
                    GATHER_TIMEOUT,
                )
        self._announce(None)

    def _add_host(
        self, base: Address, component: int, index: int, nat_ips: tuple[str, ...]
    ) -> None:
        nat = next((ip for ip in nat_ips if is_ipv6(ip) == is_ipv6(base[0])), None)
        if nat is not None and self.settings.nat_1to1_candidate_type == "host":
            self._add_local(host_candidate(base[0], base[1], component, index, advertised=nat))
            return
        self._add_local(host_candidate(base[0], base[1], component, index))
        if nat is not None:
            self._add_local(
                reflexive_candidate(
                    CandidateType.SERVER_REFLEXIVE, (nat, base[1]), base, component, index=index
                )
            )

    def _add_local(self, candidate: Candidate) -> None:
        self._agent.add_local_candidate(candidate)
        self._announce(candidate)

    def _announce(self, candidate: Candidate | None) -> None:
        if self.on_local_candidate is not None:
            self.on_local_candidate(candidate)

    async def _bind(self, address: str) -> _Socket | None:
        bound = await bind_udp(address, self.settings.port_range, lambda: _Socket(self))
        if bound is None:
            return None
        protocol, _, base = bound
        self._clock = asyncio.get_running_loop().time
        protocol.base = base
        self._sockets[base] = protocol
        return protocol

    # --- remote side ------------------------------------------------------------------------------

    async def add_remote_candidate(self, candidate: Candidate | None) -> None:
        """Add a remote candidate (``pywebrtc.jsep.candidates.parse_candidate`` reads text);
        None means end-of-candidates."""
        if candidate is None:
            self._agent.add_remote_candidate(None, self._now())
            self._drive()
            return
        parsed = candidate
        if parsed.is_mdns:
            from pywebrtc.ice.mdns import resolve as resolve_mdns

            ip = await resolve_mdns(parsed.host)
            if ip is None:
                logger.info("could not resolve mDNS candidate %s", parsed.host)
                return
            parsed = parsed.with_address(ip, parsed.port)
        elif not _is_ip(parsed.host):
            # RFC 8839 §5.1 allows an FQDN as the connection address.
            resolved = await resolve((parsed.host, parsed.port))
            if resolved is None:
                return
            parsed = parsed.with_address(*resolved)
        for relay in self._turns.values():
            if relay.component == parsed.component and not is_ipv6(parsed.host):
                relay.client.create_permission(parsed.host, self._now())
                relay.drain()
        self._agent.add_remote_candidate(parsed, self._now())
        self._drive()

    # --- connecting -----------------------------------------------------------------------

    async def connect(self) -> None:
        """Run the checks until a pair is selected for every component; ConnectionError if
        ICE fails."""
        if not self._gathered:
            raise ConnectionError("local candidates have not been gathered")
        if self._remote_username is None or self._remote_password is None:
            raise ConnectionError("remote username or password is missing")
        self._agent.start(self._now())
        self._drive()
        while not (
            self.state in (IceState.CONNECTED, IceState.COMPLETED) and self._agent.nominated
        ):
            if self.state in (IceState.FAILED, IceState.CLOSED):
                raise ConnectionError("ICE negotiation failed")
            waiter = asyncio.get_running_loop().create_future()
            self._state_waiters.append(waiter)
            await waiter

    async def restart(self) -> None:
        """ICE restart (RFC 8445 §9): new local credentials; then set the remote ones, add the
        remote candidates again and ``await connect()`` for the new pair. Data keeps flowing on
        the old pair meanwhile."""
        credentials = self.settings.next_local_credentials()
        self._agent.restart(credentials, self._now())
        self._remote_username = self._remote_password = None
        for mux, session in self._mux_sessions.values():
            mux.rekey(session, credentials.ufrag)
        if self._gathered and not self._mux_sessions:
            # Released when the session failed: a restart brings it back.
            for mux in self.settings.udp_muxes:
                base = mux.local_address
                session = mux.register(
                    credentials.ufrag, self._deliver_from(base), self._agent.authenticated_from
                )
                self._mux_sessions[base] = (mux, session)
        self._drive()

    # --- data ---------------------------------------------------------------------------------

    async def send(self, data: bytes) -> None:
        await self.sendto(data, 1)

    async def sendto(self, data: bytes, component: int) -> None:
        self.send_datagram(data, component)

    def send_datagram(self, data: bytes, component: int = 1) -> None:
        """Send ``data`` on the selected pair now (before selection, on the first valid pair);
        ConnectionError if there is none or consent (RFC 7675) has been lost."""
        agent = self._agent
        pair = agent.selected_pair(component)
        if pair is None:
            pair = agent.usable_pair(component, self._clock())
            if pair is None or self._closed:
                raise ConnectionError("cannot send data, not connected")
        elif self._closed:
            raise ConnectionError("cannot send data, not connected")
        elif not agent.consent_ok(self._clock(), component):
            raise ConnectionError("cannot send data, consent expired")
        stats = self.stats
        stats.packets_sent += 1
        stats.bytes_sent += len(data)
        route = self._route
        if route is not None and route[0] is pair:
            route[1].sendto(data, pair.remote.address)
            return
        source = pair.local_base
        sock = self._sockets.get(source)
        if source not in self._turns and sock is not None and sock.transport is not None:
            self._route = (pair, sock.transport)
        self._transmit(source, data, pair.remote_address)

    async def recv(self) -> bytes:
        data, _ = await self.recvfrom()
        return data

    async def recvfrom(self) -> tuple[bytes, int]:
        """The next non-STUN datagram and its component; ConnectionError once the connection
        is closed or has failed (consent lost)."""
        queue = self._inbox()
        while True:
            if (self._closed or self.state is IceState.FAILED) and queue.empty():
                raise ConnectionError(f"connection is {self.state}")
            item = await queue.get()
            if item is not None:
                return item
            # A wake-up for a failure or close; after a restart the connection lives on.

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._agent.close()
        self._drive()
        LoopTimer.for_loop(asyncio.get_running_loop()).schedule(self, None)
        self._release_mux()
        now = self._now()
        for relay in list(self._turns.values()):
            relay.client.close(now)
            relay.drain()
        for sock in self._sockets.values():
            if sock.transport is not None:
                sock.transport.close()
        self._sockets.clear()
        self._wake_reader()
        self._wake()

    # --- internals ------------------------------------------------------------------------------

    def _inbox(self) -> asyncio.Queue[tuple[bytes, int] | None]:
        if self._recv_queue is None:
            self._recv_queue = asyncio.Queue()
        return self._recv_queue

    def _wake_reader(self) -> None:
        """Let a reader blocked in recvfrom() see a close or failure (no queue: no reader)."""
        if self._recv_queue is not None:
            self._recv_queue.put_nowait(None)

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _release_mux(self) -> None:
        for mux, session in self._mux_sessions.values():
            mux.unregister(session)
        self._mux_sessions.clear()

    def _component_of(self, base: Address) -> int:
        for c in self._agent.local_candidates:
            if c.base == base:
                return c.component
        return 1

    def _deliver_from(self, base: Address) -> Callable[[bytes, Address], None]:
        def deliver(data: bytes, remote: Address) -> None:
            self._on_datagram(data, remote, base)

        return deliver

    def _on_datagram(self, data: bytes, remote: Address, base: Address) -> None:
        """A datagram from ``remote`` arrived on local base ``base`` (socket, mux or relay)."""
        if self._closed:
            return
        sock = self._sockets.get(base)
        if (
            sock is not None
            and sock.relay is not None
            and remote == sock.relay.server
            and sock.relay.receive(data, self._now())
        ):
            return
        agent = self._agent
        now = self._clock()
        if data and data[0] > 3 and self.components == 1:
            # Fast path: DTLS/SRTP from the selected pair's remote address.
            pair = agent.selected_pair(1)
            if pair is not None and pair.remote.address == remote:
                agent.note_data(pair, now)
                stats = self.stats
                stats.packets_received += 1
                stats.bytes_received += len(data)
                hook = self.on_datagram
                if hook is not None:
                    hook(data, 1)
                else:
                    self._inbox().put_nowait((data, 1))
                return
        if agent.receive(data, remote, base, now):
            self._drive()
            return
        if not self._agent.is_remote_known(remote):
            # DTLS/SRTP only from addresses ICE has validated or been told about.
            self.stats.dropped_unknown_source += 1
            return
        component = self._component_of(base) if self.components > 1 else 1
        stats = self.stats
        stats.packets_received += 1
        stats.bytes_received += len(data)
        hook = self.on_datagram
        if hook is not None:
            hook(data, component)
        else:
            self._inbox().put_nowait((data, component))

    def _transmit(self, source: Address, data: bytes, destination: Address) -> None:
        relay = self._turns.get(source)
        if relay is not None:
            relay.client.send(destination, data, self._now())
            relay.drain()
            return
        sock = self._sockets.get(source)
        if sock is not None and sock.transport is not None:
            sock.transport.sendto(data, destination)
            return
        muxed = self._mux_sessions.get(source)
        if muxed is not None:
            mux, session = muxed
            mux.sender(session)(data, destination)

    def _drive(self) -> None:
        agent = self._agent
        while (out := agent.poll()) is not None:
            if isinstance(out, Transmit):
                assert out.source is not None and out.destination is not None  # the agent sets both
                self._transmit(out.source, out.data, out.destination)
            elif isinstance(out, StateChanged):
                if out.state in (IceState.FAILED, IceState.CLOSED):
                    self._release_mux()
                    self._wake_reader()
                if self.on_state_change is not None:
                    self.on_state_change(out.state)
                self._wake()
            elif isinstance(out, PairValidated):
                if self.on_pair_validated is not None:
                    self.on_pair_validated()
            elif isinstance(out, SelectedPairChanged):
                self._wake()
                relay = self._turns.get(out.pair.local_base)
                if relay is not None:
                    relay.client.bind_channel(out.pair.remote_address, self._now())
                    relay.drain()
            elif isinstance(out, GatherDone):
                self._gather_pending -= 1
                if self._gather_pending <= 0:
                    waiter = self._gather_waiter
                    if waiter is not None and not waiter.done():
                        waiter.set_result(None)
            elif isinstance(out, LocalCandidateGathered):
                logger.debug("gathered %s", out.candidate)
                self._announce(out.candidate)
        self._arm_timer()

    def _arm_timer(self) -> None:
        """Ask the event loop's one timer to call :meth:`on_timer` at the next deadline."""
        if self._closed:
            return
        earliest = self._agent.deadline()
        for relay in self._turns.values():
            d = relay.client.deadline()
            if d is not None and (earliest is None or d < earliest):
                earliest = d
        LoopTimer.for_loop(asyncio.get_running_loop()).schedule(self, earliest)

    def on_timer(self, now: float) -> None:
        for relay in list(self._turns.values()):
            d = relay.client.deadline()
            if d is not None and d <= now:
                relay.client.tick(now)
                relay.drain()
        d = self._agent.deadline()
        if d is not None and d <= now:
            self._agent.tick(now)
        self._drive()

    def _wake(self) -> None:
        waiters, self._state_waiters = self._state_waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)


class _TurnRelay:
    """A TURN allocation of one component: its socket, client and relayed base."""

    def __init__(self, connection: Connection, sock: _Socket, server: Address, component: int):
        from pywebrtc.ice.turn import TurnClient

        assert connection.turn_username is not None and connection.turn_password is not None
        self.connection = connection
        self.sock = sock
        self.server = server
        self.component = component
        self.client = TurnClient(server, connection.turn_username, connection.turn_password)
        self.relayed: Address | None = None
        self.allocated: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        sock.relay = self

    def start(self, now: float) -> None:
        self.client.allocate(now)
        self.drain()

    def receive(self, data: bytes, now: float) -> bool:
        handled = self.client.receive(data, now)
        self.drain()
        return handled

    def drain(self) -> None:
        from pywebrtc.ice import turn

        conn = self.connection
        while (out := self.client.poll()) is not None:
            if isinstance(out, Transmit):
                if self.sock.transport is not None:
                    self.sock.transport.sendto(out.data, out.destination)
            elif isinstance(out, turn.Allocated):
                relayed = (normalize_host(out.relayed_address[0]), out.relayed_address[1])
                self.relayed = relayed
                conn._turns[relayed] = self
                mapped = out.mapped_address or self.sock.base
                candidate = reflexive_candidate(
                    CandidateType.RELAYED,
                    relayed,
                    relayed,
                    self.component,
                    server=self.server[0],
                    related=mapped,
                )
                conn._agent.add_local_candidate(candidate, conn._now())
                conn._announce(candidate)
                for remote in conn._agent.remote_candidates:
                    if not is_ipv6(remote.host):
                        self.client.create_permission(remote.host, conn._now())
                if not self.allocated.done():
                    self.allocated.set_result(None)
            elif isinstance(out, turn.AllocationFailed | turn.AllocationLost | turn.Closed):
                if self.relayed is not None:
                    conn._turns.pop(self.relayed, None)
                if not self.allocated.done():
                    self.allocated.set_result(None)
            elif isinstance(out, turn.DataReceived) and self.relayed is not None:
                peer = (normalize_host(out.peer[0]), out.peer[1])
                conn._on_datagram(out.data, peer, self.relayed)
        conn._arm_timer()


def _is_ip(host: str) -> bool:
    return ip_literal(host) is not None
