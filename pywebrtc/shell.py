"""The asyncio shell around :class:`~pywebrtc.session.PeerSession`: clock, sockets and one timer.

This is the only code under :class:`~pywebrtc.RTCPeerConnection` that reads ``loop.time()`` or
touches a socket:

* :class:`LoopTimer` is one timer per event loop for *every* session on it: a heap of the
  sessions' deadlines with one ``call_at`` armed for the earliest. A session whose deadline
  moves later keeps its heap entry rather than pushing a new one per datagram; when that entry
  comes due it is filed again at the later deadline, without calling the session (an idle
  session's deadline moves later with every consent check it receives). One whose deadline
  moves earlier gets a new entry. Wake-ups follow the deadlines, not the number of sessions.
* :class:`SessionDriver` moves one session's datagrams: from its sockets (or a shared
  :class:`~pywebrtc.ice.udpmux.UdpMux`, or a relay's framed mux) into ``session.receive``, and
  the session's :class:`~pywebrtc.transmit.Transmit` s out through the socket or mux of their
  source address; events go to the owner. Datagrams read in one loop iteration are answered by
  one flush on the next (SCTP answers a burst with one SACK; the timer is re-armed once).
  It also gathers (binds sockets, resolves STUN/TURN servers and remote mDNS/FQDN candidates).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
import socket
import weakref
from collections.abc import Callable
from typing import Literal, cast

from pywebrtc.ice.candidate import (
    Candidate,
    CandidateType,
    host_candidate,
    ip_literal,
    is_ipv6,
    normalize_host,
    reflexive_candidate,
)
from pywebrtc.ice.credentials import Credentials
from pywebrtc.ice.events import IceState
from pywebrtc.ice.gather import host_addresses
from pywebrtc.ice.udpmux import MuxSession, UdpMux
from pywebrtc.session import CandidateGathered, IceStateChanged, PeerSession, SessionEvent
from pywebrtc.settings import SettingEngine
from pywebrtc.transmit import Address, Transmit

logger = logging.getLogger(__name__)

# A burst of a full SCTP congestion window (up to its 1 MiB receive window) must fit in the
# kernel's socket buffers: with Linux's ~208 KiB default, about 90 datagrams of 1.2 KB (2.3 KB
# of buffer each) overflow the receiving socket before the event loop reads it, and SCTP sees
# that as loss and halves its window. The kernel caps the request at net.core.rmem_max/wmem_max.
SOCKET_BUFFER = 4 * 1024 * 1024
# uvloop's timers have millisecond resolution and may fire up to 1 ms early: entries due within
# this slack are handled by the same wake-up.
_SLACK = 0.001


class Timed:
    """What :class:`LoopTimer` calls back: ``on_timer(now)`` once ``when`` has come."""

    __slots__ = ("wanted", "when")

    def __init__(self) -> None:
        self.when: float | None = None  # the deadline this client's live heap entry is for
        self.wanted: float | None = None  # the deadline it last asked for (may be later)

    def on_timer(self, now: float) -> None:
        raise NotImplementedError


class LoopTimer:
    """One ``call_at`` per event loop for all its sessions' deadlines (see the module doc)."""

    _by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopTimer] = (
        weakref.WeakKeyDictionary()
    )

    @classmethod
    def for_loop(cls, loop: asyncio.AbstractEventLoop) -> LoopTimer:
        timer = cls._by_loop.get(loop)
        if timer is None:
            timer = cls._by_loop[loop] = cls(loop)
        return timer

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._heap: list[tuple[float, int, Timed]] = []
        self._seq = 0
        self._handle: asyncio.TimerHandle | None = None
        self._armed_for = 0.0
        self.wakeups = 0  # times the loop timer fired (for benchmarks)
        self.calls = 0  # clients called back by those wake-ups

    def __len__(self) -> int:
        return len(self._heap)

    def schedule(self, client: Timed, when: float | None) -> None:
        """Call ``client.on_timer`` at ``when`` (None: never). A later ``when`` than the one
        already scheduled keeps the earlier entry, which moves to ``when`` once it is due."""
        current = client.when
        client.wanted = when
        if when is None:
            client.when = None  # its heap entry, if any, is now stale
            return
        if current is not None and current <= when:
            return
        client.when = when
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, client))
        if self._handle is None or when < self._armed_for:
            self._arm(when)

    def _arm(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed_for = when
        self._handle = self.loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self.wakeups += 1
        now = self.loop.time()
        heap = self._heap
        due: list[Timed] = []
        horizon = max(now, self._armed_for) + _SLACK
        while heap and heap[0][0] <= horizon:
            when, _, client = heapq.heappop(heap)
            if client.when != when:
                continue  # a stale entry: that client was rescheduled earlier, or to never
            wanted = client.wanted
            if wanted is not None and wanted > horizon:
                # Its deadline moved later since: file it there, no call.
                client.when = wanted
                self._seq += 1
                heapq.heappush(heap, (wanted, self._seq, client))
                continue
            client.when = None
            due.append(client)
        now = max(now, self._armed_for)
        self.calls += len(due)
        for client in due:
            try:
                client.on_timer(now)
            except Exception:  # a bug in one session must not stop every other's timers
                logger.exception("session timer failed")
        while heap and heap[0][2].when != heap[0][0]:
            heapq.heappop(heap)
        if heap and self._handle is None:
            self._arm(heap[0][0])


class _Socket(asyncio.DatagramProtocol):
    """One UDP socket a session gathered a host candidate on."""

    def __init__(self, driver: SessionDriver) -> None:
        self.driver = driver
        self.transport: asyncio.DatagramTransport | None = None
        self.base: Address = ("", 0)
        # The last sender as the loop reported it, normalized: a data flow has one peer.
        self._last_addr: tuple[str | object, ...] = ()
        self._last_remote: Address = ("", 0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (3.11's selector transport is not a registered DatagramTransport subclass.)
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if addr == self._last_addr:
            remote = self._last_remote
        else:
            host, port = addr[0], addr[1]
            assert isinstance(host, str) and isinstance(port, int)
            remote = (normalize_host(host), port)
            self._last_addr, self._last_remote = addr, remote
        self.driver.datagram(data, remote, self.base)

    def error_received(self, exc: Exception) -> None:
        logger.debug("socket %s error: %s", self.base, exc)


class SessionDriver(Timed):
    """Drives one :class:`PeerSession` on an event loop. See the module docstring."""

    __slots__ = (
        "_flush_scheduled",
        "_gathered",
        "_muxed",
        "_on_event",
        "_ports",
        "_sockets",
        "loop",
        "session",
        "settings",
        "timer",
    )

    def __init__(
        self,
        session: PeerSession,
        loop: asyncio.AbstractEventLoop,
        settings: SettingEngine,
        on_event: Callable[[SessionEvent], None],
    ) -> None:
        super().__init__()
        self.session = session
        self.loop = loop
        self.settings = settings
        self.timer = LoopTimer.for_loop(loop)
        self._on_event = on_event
        self._flush_scheduled = False
        # Local base address -> how to send from it (a socket's sendto, a mux's send).
        self._ports: dict[Address, Callable[[bytes, Address], object]] = {}
        self._sockets: list[_Socket] = []
        self._muxed: list[tuple[UdpMux, MuxSession, Address]] = []
        self._gathered: asyncio.Future[None] | None = None

    # ------------------------------------------------------------------ I/O

    def datagram(self, data: bytes, remote: Address, local: Address) -> None:
        """A datagram arrived (socket or mux): the session takes it; a flush follows."""
        self.session.receive(data, remote, local, self.loop.time())
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self.flush)

    def wake(self) -> None:
        """The owner queued work (a data-channel message, an audio frame): flush soon."""
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        """Send everything the session has to send, hand its events on, re-arm the timer."""
        self._flush_scheduled = False
        session = self.session
        ports = self._ports
        while (out := session.poll()) is not None:
            if type(out) is Transmit:
                assert out.source is not None and out.destination is not None
                send = ports.get(out.source)
                if send is not None:
                    send(out.data, out.destination)
            else:
                self._event(out)  # type: ignore[arg-type]
        self.timer.schedule(self, session.deadline())

    def _event(self, event: SessionEvent) -> None:
        if type(event) is CandidateGathered and event.candidate is None:
            waiter = self._gathered
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        elif type(event) is IceStateChanged and event.state in (IceState.FAILED, IceState.CLOSED):
            self._release_mux()
        self._on_event(event)

    def on_timer(self, now: float) -> None:
        self.session.tick(now)
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
        loop = self.loop
        self._gathered = loop.create_future()
        settings = self.settings
        session = self.session
        nat_ips = settings.nat_1to1_ips
        bases: list[Address] = []
        muxes = settings.udp_muxes
        if muxes:
            for index, mux in enumerate(muxes):
                base = mux.local_address
                self._register(mux, base)
                self._add_host(base, index, nat_ips)
                bases.append(base)
        else:
            addresses = host_addresses(True, True, settings.include_loopback)
            for index, address in enumerate(addresses):
                sock = await self._bind(address)
                if sock is None:
                    continue
                if transport_policy == "all":
                    self._add_host(sock.base, index, nat_ips)
                bases.append(sock.base)
        if stun_server is not None and transport_policy == "all":
            server = await _resolve(stun_server)
            if server is not None:
                for base in bases:
                    if is_ipv6(base[0]) == is_ipv6(server[0]):
                        session.gather_reflexive(base, server, loop.time())
        if turn_server is not None and turn_username and turn_password and not muxes:
            server = await _resolve(turn_server)
            base4 = next((b for b in bases if not is_ipv6(b[0])), None)
            if server is not None and base4 is not None:
                sock = await self._bind(base4[0])
                if sock is not None:
                    session.add_turn(sock.base, server, turn_username, turn_password, loop.time())
        session.gathering_started(loop.time())
        self.flush()
        await self._gathered

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

    def _register(self, mux: UdpMux, base: Address) -> None:
        agent = self.session.agent

        def deliver(data: bytes, remote: Address) -> None:
            self.datagram(data, remote, base)

        muxed = mux.register(agent.local_ufrag, deliver, agent.authenticated_from)
        self._muxed.append((mux, muxed, base))
        self._ports[base] = mux.send

    def _release_mux(self) -> None:
        for mux, muxed, _ in self._muxed:
            mux.unregister(muxed)
        self._muxed.clear()

    async def _bind(self, address: str) -> _Socket | None:
        family = socket.AF_INET6 if is_ipv6(address) else socket.AF_INET
        ports: list[int] = [0]
        if self.settings.port_range is not None:
            low, high = self.settings.port_range
            ports = random.sample(range(low, high + 1), min(64, high - low + 1))
        for port in ports:
            # Bind here rather than through local_addr=, which resolves the address in the
            # loop's thread pool first (a millisecond of setup time on a busy host).
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                sock.setblocking(False)
                _enlarge_buffers(sock)
                sock.bind((address, port))
                _, protocol = await self.loop.create_datagram_endpoint(
                    lambda: _Socket(self), sock=sock
                )
            except OSError:
                sock.close()
                continue
            transport = protocol.transport
            assert transport is not None
            sockname = transport.get_extra_info("sockname")
            protocol.base = (normalize_host(sockname[0]), sockname[1])
            self._sockets.append(protocol)
            self._ports[protocol.base] = transport.sendto
            return protocol
        logger.warning("could not bind a UDP socket on %s", address)
        return None

    # ------------------------------------------------------------------ remote side, restart

    async def add_remote_candidate(self, candidate: Candidate | None) -> None:
        """A remote candidate; ``.local`` (mDNS, RFC 8828) and FQDN addresses are resolved
        first, and dropped if they do not resolve."""
        if candidate is not None:
            if candidate.is_mdns:
                from pywebrtc.ice.mdns import resolve

                ip = await resolve(candidate.host)
                if ip is None:
                    logger.info("could not resolve mDNS candidate %s", candidate.host)
                    return
                candidate = candidate.with_address(ip, candidate.port)
            elif ip_literal(candidate.host) is None:
                resolved = await _resolve((candidate.host, candidate.port))
                if resolved is None:
                    return
                candidate = candidate.with_address(*resolved)
        if self.session.closed:
            return
        self.session.add_remote_candidate(candidate, self.loop.time())
        self.flush()

    def restart_ice(self, credentials: Credentials) -> None:
        """ICE restart: the session takes new local credentials; the muxes route the new
        ufrag to it (re-registering if a failure had released them)."""
        self.session.restart_ice(credentials, self.loop.time())
        if self._muxed:
            for mux, muxed, _ in self._muxed:
                mux.rekey(muxed, credentials.ufrag)
        else:
            for mux in self.settings.udp_muxes:
                self._register(mux, mux.local_address)
        self.flush()

    def close(self) -> None:
        """Close the session (SCTP ABORT, DTLS close_notify go out), then the sockets."""
        self.session.close(self.loop.time())
        self.flush()
        self.timer.schedule(self, None)
        self._release_mux()
        for sock in self._sockets:
            if sock.transport is not None:
                sock.transport.close()
        self._sockets.clear()
        self._ports.clear()
        waiter = self._gathered
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _enlarge_buffers(sock: socket.socket) -> None:
    for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        try:
            if sock.getsockopt(socket.SOL_SOCKET, option) < SOCKET_BUFFER:
                sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER)
        except OSError:  # pragma: no cover - a platform without the option
            pass


async def _resolve(server: tuple[str, int]) -> Address | None:
    host, port = server
    if ip_literal(host) is not None:
        return (normalize_host(host), port)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError:
        logger.warning("cannot resolve %s", host)
        return None
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    address = infos[0][4]
    return (normalize_host(str(address[0])), int(address[1]))


__all__ = ["LoopTimer", "SessionDriver", "Timed"]
