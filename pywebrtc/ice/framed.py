"""A :class:`UdpMux` behind relays: the transceiver's one socket speaks framed datagrams.

Behind ``pywebrtc-relay`` every datagram carries the client's address in a small header
(:mod:`pywebrtc.framing`). This module reads such frames off the transceiver's socket and hands
the mux the unchanged payload *as if it came from the client's address*, so the agent sees the
client as the remote (its XOR-MAPPED-ADDRESS reports the client's real address, RFC 8489 §14.2,
and flows are told apart per client). Replies get the same header and go back to the relay
(worker) the client's last frame came from. The mux's local address — the agent's only host
candidate — is the relay's public address, which is what clients must reach.

It wraps the mux without changing it: the mux's ``receive(data, remote)`` and ``send``
callable are the seam. Frames from addresses that are not relays, if ``relays`` is given, and
malformed frames are dropped and counted.

A client on a TCP connection to the relay (frame kinds 0xD4/0xD6) is a different client from a
UDP one at the same ip:port (RFC 8445 §3: a transport address includes the transport): routes
are kept per ``(address, "tcp")`` or address, as the mux binds them (:mod:`.udpmux`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import OrderedDict
from dataclasses import dataclass

from pywebrtc.framing import (
    HEADER_LENGTH_IPV4,
    HEADER_LENGTH_IPV6,
    IPV4,
    IPV6,
    TCP_IPV4,
    TCP_IPV6,
    decode_address,
    is_tcp,
)
from pywebrtc.ice.candidate import Address, normalize_host
from pywebrtc.ice.udpmux import TCP, MuxKey, UdpMux

logger = logging.getLogger(__name__)

# A frame's first byte (its kind) -> its header's length.
_HEADER_LENGTHS = {
    IPV4: HEADER_LENGTH_IPV4,
    TCP_IPV4: HEADER_LENGTH_IPV4,
    IPV6: HEADER_LENGTH_IPV6,
    TCP_IPV6: HEADER_LENGTH_IPV6,
}


@dataclass(slots=True)
class FramedCounters:
    received: int = 0
    sent: int = 0
    dropped_bad_frame: int = 0
    dropped_not_a_relay: int = 0
    dropped_no_route: int = 0  # a reply for a client no relay has framed to us


class FramedMuxProtocol(asyncio.DatagramProtocol):
    """Reads frames for one mux and sends its replies framed, back through the right relay."""

    def __init__(
        self,
        public_address: Address,
        relays: set[str] | None = None,
        max_clients: int = 200_000,
    ) -> None:
        self.mux = UdpMux(public_address, self._send, send_tcp=self._send_tcp)
        self.relays = {normalize_host(h) for h in relays} if relays is not None else None
        self.max_clients = max_clients
        self.counters = FramedCounters()
        self.transport: asyncio.DatagramTransport | None = None
        # Client (address, or (address, "tcp")) -> (its frame header, the relay address its
        # last frame came from).
        self._routes: OrderedDict[MuxKey, tuple[bytes, tuple[str, int]]] = OrderedDict()
        # Frame header -> the client address it names, whether that client is TCP-borne, and
        # the mux's key for it: decoded once, not per datagram.
        self._clients: dict[bytes, tuple[Address, bool, MuxKey]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        # Per datagram: no helper calls, one dict lookup for what the header names.
        relay: tuple[str, int] = addr[:2]  # type: ignore[assignment]  # (cast() is a call)
        self.counters.received += 1
        if self.relays is not None and normalize_host(relay[0]) not in self.relays:
            self.counters.dropped_not_a_relay += 1
            return
        length = _HEADER_LENGTHS.get(data[0], 0) if data else 0
        if not length or len(data) < length:
            self.counters.dropped_bad_frame += 1
            return
        header = data[:length]
        named = self._clients.get(header)
        if named is None:
            client_host, client_port = decode_address(header)
            client = (normalize_host(client_host), client_port)
            tcp = is_tcp(header)
            named = (client, tcp, (client, TCP) if tcp else client)
            if len(self._clients) >= self.max_clients:
                self._clients.clear()
            self._clients[header] = named
        client, tcp, key = named
        routes = self._routes
        known = routes.get(key)
        if known is None or known[1] != relay:
            if known is None and len(routes) >= self.max_clients:
                routes.popitem(last=False)
            routes[key] = (header, relay)
        self.mux.receive(data[length:], client, tcp)

    def _send(self, data: bytes, remote: Address) -> None:
        self._forward(data, remote)

    def _send_tcp(self, data: bytes, remote: Address) -> None:
        self._forward(data, (remote, TCP))

    def _forward(self, data: bytes, client: MuxKey) -> None:
        route = self._routes.get(client)
        if route is None or self.transport is None:
            self.counters.dropped_no_route += 1
            return
        header, relay = route
        self.counters.sent += 1
        self.transport.sendto(header + data, relay)

    def error_received(self, exc: Exception) -> None:
        logger.debug("framed mux socket error: %s", exc)


async def open_framed_udp_mux(
    host: str,
    port: int,
    public_address: Address,
    relays: set[str] | None = None,
) -> tuple[UdpMux, FramedMuxProtocol, asyncio.DatagramTransport]:
    """Bind ``(host, port)`` for frames from relays; the mux advertises ``public_address``.

    Give the mux to ``SettingEngine.set_udp_mux`` together with ``set_lite(True)`` and a ufrag
    generator that encodes this transceiver's route (``relay.routing.RouteCodec.encode``).
    """
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: FramedMuxProtocol(public_address, relays), local_addr=(host, port), family=family
    )
    # Make sure a burst of frames for many sessions does not overflow a default buffer.
    sock = transport.get_extra_info("socket")
    if sock is not None:
        for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, option, 4 << 20)
    return protocol.mux, protocol, transport
