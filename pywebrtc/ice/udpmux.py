"""One UDP socket, many ICE sessions: demultiplex by ufrag on first contact, then by address.

A datagram from an address the mux has not seen is looked at only if it is a STUN Binding
request: the local ufrag (the part of USERNAME before the colon, RFC 8445 §7.2.2) picks the
session, which gets the datagram. The address is bound to that session only if the session then
*accepts* it (its agent authenticated that very request); a forged or unauthenticated request
binds nothing, even from an address the session already knows. From then on every datagram from
that address (STUN, DTLS, SRTP) goes to that session without parsing — except a Binding request
naming another session's ufrag, which moves the address to that session if it authenticates
(a client restarting behind the same NAT mapping). A session may answer a Binding request from
one of its addresses itself (``answer``: an ICE-lite agent's consent check on its selected
pair, :meth:`pywebrtc.ice.Agent.answer_consent_check`): the mux sends the answer at once, and
the datagram goes no further; a request it does not answer goes the way above.

Bounded memory: at most ``max_addresses_per_session`` addresses per session (the oldest is
forgotten first) and ``max_addresses`` in all (beyond that a new address is still served by its
ufrag on every STUN packet, but not remembered). Unknown traffic is dropped and counted in
:attr:`UdpMux.counters`; a session is released with :meth:`UdpMux.unregister` (on close or on
consent failure).

The mux does no I/O itself: whoever reads the socket calls :meth:`UdpMux.receive` with the
datagram and the remote address (which may come from a relay's frame header instead of the
socket), and the mux sends through the ``send`` callable it was given. :func:`open_udp_mux` binds
a plain asyncio socket to it.

Behind a relay, a client may also reach the mux over TCP (ICE-TCP, RFC 6544, through the
relay's TCP listener: ``receive(..., tcp=True)``). A transport address is an address *and* a
transport (RFC 8445 §3), and UDP and TCP ports are separate spaces: one ip:port may be a UDP
client and a TCP one, two clients of two sessions. So the mux binds ``(address, "tcp")`` for a
TCP-borne client and the bare address for a UDP one, and a session sends through
:meth:`UdpMux.sender`, which replies on the transport its client came on (``send_tcp``). The
session itself sees only the address.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from pywebrtc.ice.candidate import Address, normalize_host
from pywebrtc.ice.netio import enlarge_buffers
from pywebrtc.stun import read_username

logger = logging.getLogger(__name__)

SendFunction = Callable[[bytes, Address], None]
TCP = "tcp"
# What the mux binds: a UDP client's address, or (address, "tcp") for a TCP-borne one.
MuxKey = Address | tuple[Address, str]


@dataclass(slots=True)
class MuxCounters:
    received: int = 0
    delivered: int = 0
    answered: int = 0  # Binding requests the session answered at once (counted in delivered)
    dropped_unknown_address: int = 0  # not a Binding request, from an address we do not know
    dropped_unknown_ufrag: int = 0
    dropped_unauthenticated: int = 0  # the session did not accept the address
    addresses_evicted: int = 0
    addresses_not_remembered: int = 0

    @property
    def dropped(self) -> int:
        return (
            self.dropped_unknown_address + self.dropped_unknown_ufrag + self.dropped_unauthenticated
        )


@dataclass(eq=False, slots=True)
class MuxSession:
    """A session on the mux: ``deliver(data, remote)`` hands it a datagram; ``accepts(remote)``
    says whether that datagram was an authenticated request from ``remote`` (for an agent:
    :meth:`pywebrtc.ice.Agent.authenticated_from`), which is when the address gets bound;
    ``answer``, if given, may answer a Binding request from a bound address at once."""

    ufrag: str
    deliver: Callable[[bytes, Address], object]
    accepts: Callable[[Address], bool]
    # A Binding request from a bound address: the response to send, b"" (consumed, nothing to
    # send), or None (deliver it).
    answer: Callable[[bytes, Address], bytes | None] | None = None
    # Oldest first (a dict keeps insertion order; an OrderedDict costs ~160 bytes more).
    addresses: dict[MuxKey, None] = field(default_factory=dict)
    # The ufrag before the last rekey (ICE restart), still served: the peer may check the old
    # pair with it (libwebrtc keeps doing so with an ICE-lite agent, which answers).
    previous_ufrag: str | None = None


class UdpMux:
    def __init__(
        self,
        local_address: Address,
        send: SendFunction,
        *,
        send_tcp: SendFunction | None = None,
        max_addresses: int = 200_000,
        max_addresses_per_session: int = 16,
    ) -> None:
        self.local_address: Address = (normalize_host(local_address[0]), local_address[1])
        self._send = send
        self._send_tcp = send_tcp or send  # to a TCP-borne client (a relay's ICE-TCP listener)
        self.max_addresses = max_addresses
        self.max_addresses_per_session = max_addresses_per_session
        self.counters = MuxCounters()
        self._by_ufrag: dict[str, MuxSession] = {}
        self._by_address: dict[MuxKey, MuxSession] = {}
        self._sessions = 0

    def __len__(self) -> int:
        return self._sessions

    @property
    def address_count(self) -> int:
        return len(self._by_address)

    def register(
        self,
        ufrag: str,
        deliver: Callable[[bytes, Address], object],
        accepts: Callable[[Address], bool],
        answer: Callable[[bytes, Address], bytes | None] | None = None,
    ) -> MuxSession:
        """Serve the session whose local ufrag is ``ufrag``."""
        if ufrag in self._by_ufrag:
            raise ValueError(f"ufrag {ufrag!r} is already registered on this mux")
        session = MuxSession(ufrag, deliver, accepts, answer)
        self._by_ufrag[ufrag] = session
        self._sessions += 1
        return session

    def rekey(self, session: MuxSession, ufrag: str) -> None:
        """Move ``session`` to a new local ufrag (ICE restart); its addresses stay bound, and
        its current ufrag stays served as the previous one (the one before is released)."""
        if self._by_ufrag.get(ufrag, session) is not session:
            raise ValueError(f"ufrag {ufrag!r} is already registered on this mux")
        old = session.previous_ufrag
        if old is not None and old != ufrag and self._by_ufrag.get(old) is session:
            del self._by_ufrag[old]
        if session.ufrag != ufrag:
            session.previous_ufrag = session.ufrag
        session.ufrag = ufrag
        self._by_ufrag[ufrag] = session

    def unregister(self, session: MuxSession) -> None:
        """Release the session and every address bound to it."""
        if self._by_ufrag.get(session.ufrag) is session:
            del self._by_ufrag[session.ufrag]
            self._sessions -= 1
        previous = session.previous_ufrag
        if previous is not None and self._by_ufrag.get(previous) is session:
            del self._by_ufrag[previous]
        for address in session.addresses:
            if self._by_address.get(address) is session:
                del self._by_address[address]
        session.addresses.clear()

    def session_for(self, remote: Address, tcp: bool = False) -> MuxSession | None:
        return self._by_address.get((remote, TCP) if tcp else remote)

    def send(self, data: bytes, remote: Address) -> None:
        """Send to a UDP client (:meth:`sender` knows a session's TCP-borne ones)."""
        self._send(data, remote)

    def sender(self, session: MuxSession) -> SendFunction:
        """How ``session`` sends: to a client bound to it over TCP only, on TCP; else UDP."""
        if self._send_tcp is self._send:
            return self._send
        send, send_tcp, addresses = self._send, self._send_tcp, session.addresses

        def send_as_session(data: bytes, remote: Address) -> None:
            if remote not in addresses and (remote, TCP) in addresses:
                send_tcp(data, remote)
            else:
                send(data, remote)

        return send_as_session

    def receive(self, data: bytes, remote: Address, tcp: bool = False) -> None:
        """Route one datagram that arrived from ``remote`` (over TCP through a relay if
        ``tcp``). Never raises on bad input."""
        self.counters.received += 1
        key: MuxKey = (remote, TCP) if tcp else remote
        session = self._by_address.get(key)
        username: str | None = None
        if session is not None:
            request = data[:2] == b"\x00\x01"  # a Binding request (one slice per datagram)
            if request and (answer := session.answer) is not None:
                response = answer(data, remote)
                if response is not None:
                    counters = self.counters
                    counters.delivered += 1
                    if response:
                        counters.answered += 1
                        (self._send_tcp if tcp else self._send)(response, remote)
                    return
            # A Binding request names its session: an address reused by a new session (a
            # client restarting behind the same NAT mapping) moves to that session.
            if not request or (
                (username := read_username(data)) is None
                or (named := username.partition(":")[0]) == session.ufrag
                or named == session.previous_ufrag
            ):
                self.counters.delivered += 1
                session.deliver(data, remote)
                return
        else:
            username = read_username(data)
        if username is None:
            self.counters.dropped_unknown_address += 1
            return
        session = self._by_ufrag.get(username.partition(":")[0])
        if session is None:
            self.counters.dropped_unknown_ufrag += 1
            return
        session.deliver(data, remote)
        if session.accepts(remote):
            self.counters.delivered += 1
            self._bind(key, session)
        else:
            self.counters.dropped_unauthenticated += 1

    def _bind(self, remote: MuxKey, session: MuxSession) -> None:
        if self._by_ufrag.get(session.ufrag) is not session:
            return  # delivered to a session that closed itself meanwhile
        previous = self._by_address.get(remote)
        if previous is session:
            return
        if previous is not None:
            previous.addresses.pop(remote, None)
            del self._by_address[remote]
        addresses = session.addresses
        if len(addresses) >= self.max_addresses_per_session:
            old = next(iter(addresses))
            del addresses[old]
            if self._by_address.get(old) is session:
                del self._by_address[old]
            self.counters.addresses_evicted += 1
        if len(self._by_address) >= self.max_addresses:
            self.counters.addresses_not_remembered += 1
            return
        addresses[remote] = None
        self._by_address[remote] = session


class _MuxProtocol(asyncio.DatagramProtocol):
    def __init__(self, mux_holder: list[UdpMux]) -> None:
        self._holder = mux_holder

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        host = addr[0]
        port = addr[1]
        assert isinstance(host, str) and isinstance(port, int)
        self._holder[0].receive(data, (normalize_host(host), port))

    def error_received(self, exc: Exception) -> None:
        logger.debug("UDP mux socket error: %s", exc)


async def open_udp_mux(host: str, port: int = 0) -> tuple[UdpMux, asyncio.DatagramTransport]:
    """Bind a UDP socket at ``(host, port)`` and serve it with a new :class:`UdpMux`."""
    loop = asyncio.get_running_loop()
    holder: list[UdpMux] = []
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _MuxProtocol(holder), local_addr=(host, port), family=family
    )
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # One socket carries every session's datagrams: with the kernel's ~208 KiB default
        # receive buffer, a busy event loop drops them in bursts (consent checks of thousands
        # of idle sessions included).
        enlarge_buffers(sock)
    sockname = transport.get_extra_info("sockname")

    def send(data: bytes, remote: Address) -> None:
        if not transport.is_closing():  # closed under its sessions (an interface gone)
            transport.sendto(data, remote)

    holder.append(UdpMux((sockname[0], sockname[1]), send))
    return holder[0], transport
