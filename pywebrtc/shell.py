"""The asyncio shell around :class:`~pywebrtc.session.PeerSession`: clock, sockets and one timer.

This is the only code under :class:`~pywebrtc.RTCPeerConnection` that reads ``loop.time()`` or
touches a socket:

* :class:`~pywebrtc.timer.LoopTimer` (one timer per event loop for every session on it) calls
  each session back at its ``deadline()``;
* :class:`SessionDriver` moves one session's datagrams: from its sockets (or a shared
  :class:`~pywebrtc.ice.udpmux.UdpMux`, or a relay's framed mux) into ``session.receive``, and
  the session's :class:`~pywebrtc.transmit.Transmit` s out through the socket or mux of their
  source address; events go to the owner. Datagrams read in one loop iteration are answered by
  one flush on the next (SCTP answers a burst with one SACK; the timer is re-armed once), but
  for SRTP that moves only the media plane: what it sends back (an echo's packet) goes out
  inside the datagram's call, with no pass over the other machines or their deadlines.
  It also gathers (binds sockets, resolves STUN/TURN servers and remote mDNS/FQDN candidates).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Literal

from pywebrtc.ice.candidate import (
    Candidate,
    CandidateType,
    host_candidate,
    ip_literal,
    is_ipv6,
    reflexive_candidate,
    tcp_active_candidate,
)
from pywebrtc.ice.config import IceConfig
from pywebrtc.ice.events import IceState
from pywebrtc.ice.gather import host_addresses
from pywebrtc.ice.netio import HostSocket, TcpActive, bind_udp, resolve
from pywebrtc.ice.udpmux import MuxSession, UdpMux
from pywebrtc.session import CandidateGathered, IceStateChanged, PeerSession, SessionEvent
from pywebrtc.timer import LoopTimer, Timed
from pywebrtc.transmit import Address

logger = logging.getLogger(__name__)


class SessionDriver(Timed):
    """Drives one :class:`PeerSession` on an event loop. See the module docstring."""

    __slots__ = (
        "_flush_scheduled",
        "_gathered",
        "_muxed",
        "_on_event",
        "_ports",
        "_retired_muxed",
        "_retired_sockets",
        "_servers",
        "_sockets",
        "_tcp",
        "_transport_deadline",
        "loop",
        "session",
        "settings",
        "timer",
        "wakeups",
    )

    def __init__(
        self,
        session: PeerSession,
        loop: asyncio.AbstractEventLoop,
        settings: IceConfig,
        on_event: Callable[[SessionEvent], None],
    ) -> None:
        super().__init__()
        self.session = session
        self.loop = loop
        self.settings = settings
        self.timer = LoopTimer.for_loop(loop)
        self._on_event = on_event
        self._flush_scheduled = False
        # session.transport_deadline() as of the last flush: what a consent check answered at
        # the mux (which moves only the agent's deadline) is weighed against.
        self._transport_deadline: float | None = None
        # Local base address -> how to send from it (a socket's sendto, a mux's send).
        self._ports: dict[Address, Callable[[bytes, Address], object]] = {}
        self._sockets: list[HostSocket] = []
        self._tcp: list[TcpActive] = []  # tcptype active candidates' connections
        self._muxed: list[tuple[UdpMux, MuxSession, Address]] = []
        self._gathered: asyncio.Future[None] | None = None
        self._servers: _Servers = (None, None, None, None, "all")
        self.wakeups = 0  # timer callbacks (tests count them: compiled, on_timer is not wrappable)
        # What served before an ICE restart, until the peer sends on the new pair.
        self._retired_sockets: list[HostSocket] = []
        self._retired_muxed: list[tuple[UdpMux, MuxSession, Address]] = []

    # ------------------------------------------------------------------ I/O

    def datagram(self, data: bytes, remote: Address, local: Address) -> None:
        """A datagram arrived (socket or mux): the session takes it; a flush follows, unless
        it was media that only the media plane answers (:meth:`_send_media`)."""
        session = self.session
        alone = session.receive(data, remote, local, self.loop.time())
        if alone and not (self._flush_scheduled or session.retiring) and self._send_media():
            return
        if session.retiring:
            pair = session.agent.selected_pair(1)
            if (
                pair is not None
                and session.agent.nominated
                and pair.remote.address == remote
                and pair.local_base == local
            ):
                self._retire()
        self.wake()

    def _send_media(self) -> bool:
        """Send what an SRTP datagram that moved the media plane alone made it send (an echo),
        now rather than in a flush on the next loop iteration: the other machines did not
        move, and ICE's deadline only moved later. Only the media plane's deadline may have
        moved earlier: filed here, in the timer and in what a consent check answered at the
        mux weighs against. False if a flush is needed after all (an event is pending)."""
        session = self.session
        out = session.drain_media()
        if out is None:
            return False
        if out:
            ports = self._ports
            for transmit in out:
                assert transmit.source is not None and transmit.destination is not None
                send = ports.get(transmit.source)
                if send is not None:
                    send(transmit.data, transmit.destination)
        media = session.media
        if media.deadline_moved:  # (an echo rarely moves it: not read for every packet)
            media.deadline_moved = False
            d = media.deadline()
            if d is not None:
                rest = self._transport_deadline
                if rest is None or d < rest:
                    self._transport_deadline = d
                    filed = self.when
                    if filed is None or d < filed:
                        self.timer.schedule(self, d)
        return True

    def wake(self) -> None:
        """The owner queued work (a data-channel message, an audio frame): flush soon."""
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        """Send everything the session has to send, hand its events on, re-arm the timer."""
        # A wake() from the handlers run below schedules no second flush: this one drains
        # again after them (what they queued: a channel's first message).
        self._flush_scheduled = True
        session = self.session
        ports = self._ports
        try:
            while True:
                transmits, events = session.drain()
                for out in transmits:
                    assert out.source is not None and out.destination is not None
                    send = ports.get(out.source)
                    if send is not None:
                        send(out.data, out.destination)
                if not events:
                    break
                for event in events:  # the owner may act on one (send, close): drain again
                    self._event(event)
        finally:
            self._flush_scheduled = False
        best = session.agent.deadline()
        session.media.deadline_moved = False  # read here (transport_deadline) and filed
        rest = self._transport_deadline = session.transport_deadline()
        if rest is not None and (best is None or rest < best):
            best = rest
        self.timer.schedule(self, best)

    def _event(self, event: SessionEvent) -> None:
        if type(event) is CandidateGathered and event.candidate is None:
            waiter = self._gathered
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        elif type(event) is IceStateChanged and event.state in (IceState.FAILED, IceState.CLOSED):
            self._release_mux()
        self._on_event(event)

    def on_timer(self, now: float) -> None:
        self.wakeups += 1
        session = self.session
        deadline = session.deadline()
        if deadline is not None and deadline > now:
            # Moved later since it was filed (an echo's media deadline: _send_media only ever
            # files an earlier one): nothing due.
            self.timer.schedule(self, deadline)
            return
        session.tick(now)
        self.flush()

    # ------------------------------------------------------------------ gathering

    async def gather(
        self,
        stun_server: tuple[str, int] | None = None,
        turn_server: tuple[str, int] | None = None,
        turn_username: str | None = None,
        turn_password: str | None = None,
        transport_policy: Literal["all", "relay"] = "all",
    ) -> None:
        """Gather host candidates (or take the muxes'), then server-reflexive and relayed ones;
        returns when the session says gathering is complete."""
        if self._gathered is not None:
            await self._gathered
            return
        self._servers = (stun_server, turn_server, turn_username, turn_password, transport_policy)
        await self._gather()

    async def _gather(self) -> None:
        loop = self.loop
        self._gathered = gathered = loop.create_future()
        stun_server, turn_server, turn_username, turn_password, policy = self._servers
        settings = self.settings
        session = self.session
        nat_ips = settings.nat_1to1_ips
        bases: list[Address] = []
        muxes = settings.udp_muxes
        if muxes:
            registered = {mux for mux, _, _ in self._muxed}
            for index, mux in enumerate(muxes):
                base = mux.local_address
                if mux not in registered:
                    self._register(mux, base)
                self._add_host(base, index, nat_ips)
                bases.append(base)
        else:
            addresses = host_addresses(True, True, settings.include_loopback)
            for index, address in enumerate(addresses):
                sock = await self._bind(address)
                if sock is None:
                    continue
                if policy == "all":
                    self._add_host(sock.base, index, nat_ips)
                    if settings.ice_tcp:
                        self._add_tcp_active(address, index)
                bases.append(sock.base)
        if stun_server is not None and policy == "all":
            server = await resolve(stun_server)
            if server is not None:
                for base in bases:
                    if is_ipv6(base[0]) == is_ipv6(server[0]):
                        session.gather_reflexive(base, server, loop.time())
        if turn_server is not None and turn_username and turn_password and not muxes:
            server = await resolve(turn_server)
            base4 = next((b for b in bases if not is_ipv6(b[0])), None)
            if server is not None and base4 is not None:
                sock = await self._bind(base4[0])
                if sock is not None:
                    session.add_turn(sock.base, server, turn_username, turn_password, loop.time())
        session.gathering_started(loop.time())
        self.flush()
        await gathered

    def _add_host(self, base: Address, index: int, nat_ips: tuple[str, ...]) -> None:
        session = self.session
        now = self.loop.time()
        nat = next((ip for ip in nat_ips if is_ipv6(ip) == is_ipv6(base[0])), None)
        if nat is not None and self.settings.nat_1to1_candidate_type == "host":
            session.add_local_candidate(
                host_candidate(base[0], base[1], 1, index, advertised=nat), now
            )
            return
        session.add_local_candidate(host_candidate(base[0], base[1], 1, index), now)
        if nat is not None:
            session.add_local_candidate(
                reflexive_candidate(
                    CandidateType.SERVER_REFLEXIVE, (nat, base[1]), base, 1, index=index
                ),
                now,
            )

    def _add_tcp_active(self, address: str, index: int) -> None:
        candidate = tcp_active_candidate(address, 1, index)
        tcp = TcpActive(candidate.host, self.datagram)
        self._tcp.append(tcp)
        self._ports[tcp.base] = tcp.send
        self.session.add_local_candidate(candidate, self.loop.time())

    def _register(self, mux: UdpMux, base: Address) -> None:
        agent = self.session.agent

        def deliver(data: bytes, remote: Address) -> None:
            self.datagram(data, remote, base)

        def answer(data: bytes, remote: Address) -> bytes | None:
            # A consent check answered at once: no flush. The session's deadline only moved
            # later (consent, keepalive and disconnection are counted from this check): its
            # timer filing moves there now (LoopTimer.schedule always moves it), or the old
            # deadline would wake the loop for nothing, once per check of every session.
            if self.session.retiring:
                return None  # the general path tells when the peer has moved (datagram)
            response = agent.answer_consent_check(data, remote, base, self.loop.time())
            if response:
                # The rest of the session is as the last flush left it (a flush is due after
                # any other datagram, and files the session again if this is stale).
                best = agent.deadline()
                rest = self._transport_deadline
                if rest is not None and (best is None or rest < best):
                    best = rest
                self.timer.schedule(self, best)
            return response

        muxed = mux.register(
            agent.local_ufrag, deliver, agent.authenticated_from, answer if agent.lite else None
        )
        self._muxed.append((mux, muxed, base))
        self._ports[base] = mux.sender(muxed)

    def _release_mux(self) -> None:
        for mux, muxed, _ in self._muxed:
            mux.unregister(muxed)
        self._muxed.clear()

    async def _bind(self, address: str) -> HostSocket | None:
        bound = await bind_udp(address, self.settings.port_range, lambda: HostSocket(self.datagram))
        if bound is None:
            return None
        protocol, transport, base = bound
        protocol.base = base
        self._sockets.append(protocol)
        self._ports[base] = transport.sendto
        return protocol

    # ------------------------------------------------------------------ remote side, restart

    async def add_remote_candidate(self, candidate: Candidate | None) -> None:
        """A remote candidate; ``.local`` (mDNS, RFC 8828) and FQDN addresses are resolved
        first, and dropped if they do not resolve."""
        if candidate is not None:
            if candidate.is_mdns:
                from pywebrtc.ice.mdns import resolve as resolve_mdns

                ip = await resolve_mdns(candidate.host)
                if ip is None:
                    logger.info("could not resolve mDNS candidate %s", candidate.host)
                    return
                candidate = candidate.with_address(ip, candidate.port)
            elif ip_literal(candidate.host) is None:
                resolved = await resolve((candidate.host, candidate.port))
                if resolved is None:
                    return
                candidate = candidate.with_address(*resolved)
        if self.session.closed:
            return
        self.session.add_remote_candidate(candidate, self.loop.time())
        self.flush()

    async def restart_ice(self, settings: IceConfig) -> None:
        """ICE restart (RFC 8445 §9) with ``settings.credentials``: candidates are gathered
        again, on new sockets or on the muxes ``settings`` holds now (a mux kept from before
        serves the new ufrag), so a client whose network changed recovers. What served before
        is kept until the peer sends on the new pair (see :meth:`datagram`), then closed."""
        credentials = settings.credentials
        assert credentials is not None
        self.session.restart_ice(credentials, self.loop.time())
        self.settings = settings
        kept: list[tuple[UdpMux, MuxSession, Address]] = []
        for entry in self._muxed:
            mux, muxed, _ = entry
            if mux in settings.udp_muxes:
                mux.rekey(muxed, credentials.ufrag)
                kept.append(entry)
            else:
                self._retired_muxed.append(entry)
        self._muxed = kept
        self._retired_sockets.extend(self._sockets)
        self._sockets = []
        await self._gather()

    def _retire(self) -> None:
        """The peer sends on the pair selected after a restart: close what served before,
        except what that pair runs on."""
        session = self.session
        pair = session.agent.selected_pair(1)
        in_use = pair.local_base if pair is not None else None
        for sock in self._retired_sockets:
            if sock.base == in_use:
                self._sockets.append(sock)
            else:
                self._ports.pop(sock.base, None)
                if sock.transport is not None:
                    sock.transport.close()
        for entry in self._retired_muxed:
            mux, muxed, base = entry
            if base == in_use:
                self._muxed.append(entry)
            else:
                mux.unregister(muxed)
        self._retired_sockets, self._retired_muxed = [], []
        session.forget_retired(self.loop.time())

    def close(self) -> None:
        """Close the session (SCTP ABORT, DTLS close_notify go out), then the sockets."""
        self.session.close(self.loop.time())
        self.flush()
        self.timer.schedule(self, None)
        self._release_mux()
        for mux, muxed, _ in self._retired_muxed:
            mux.unregister(muxed)
        for sock in [*self._sockets, *self._retired_sockets]:
            if sock.transport is not None:
                sock.transport.close()
        self._sockets.clear()
        self._retired_sockets.clear()
        for tcp in self._tcp:
            tcp.close()
        self._tcp.clear()
        self._retired_muxed.clear()
        self._ports.clear()
        waiter = self._gathered
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._on_event = _ignore  # the owner's bound method: no cycle through the owner


def _ignore(event: SessionEvent) -> None:
    pass


_Servers = tuple[
    tuple[str, int] | None, tuple[str, int] | None, str | None, str | None, Literal["all", "relay"]
]

__all__ = ["LoopTimer", "SessionDriver"]
