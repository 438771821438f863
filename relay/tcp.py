"""The relay's TCP side: ICE-TCP clients (RFC 6544) for networks that block UDP.

A client whose network drops UDP connects to ``--listen-tcp`` (its ``tcptype active``
candidate against the answer's ``tcptype passive`` one, RFC 6544 §4.5) and sends every packet
as an RFC 4571 frame on that one connection. The first frame must be a STUN Binding Request
(RFC 6544 §7.1: the active side checks first) whose USERNAME's first part is the transceiver's
routing ufrag; it is decoded exactly as on UDP (:mod:`relay.routing`). Then every frame of the
connection goes to that transceiver over this worker's UDP socket, with the TCP-marked frame
header (0xD4/0xD6 and the connection's remote address, :mod:`pywebrtc.framing`); the
transceiver answers with the same header and the payload goes back on the connection,
RFC 4571-framed.

A connection whose first frame does not route is closed (counted). The route is fixed for the
connection's life: an ICE restart over TCP makes new connections (RFC 6544 §7.1). Frames over
``max_frame`` are skipped and counted; so are replies for a connection that is gone and replies
that would grow a slow reader's send buffer beyond ``max_buffer`` (TCP has no loss of its own:
dropping here is what a full UDP socket would do).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import Counter
from typing import cast

from pywebrtc.framing import Deframer, FrameError, encode_address, header_length, stream_frame
from pywebrtc.stun import read_username
from relay.flows import Address, Backend
from relay.routing import UfragCodec

log = logging.getLogger(__name__)

_BINDING_REQUEST = b"\x00\x01"
MAX_FRAME = 8192  # far above any DTLS record or RTP packet a browser sends
MAX_BUFFER = 256 << 10
# Frames (or connections) dropped, by reason: the relay's tcp_drops_total{reason=...}.
DROP_REASONS = (
    "not_stun",  # a connection's first frame is not a Binding Request (it is closed)
    "no_username",
    "bad_ufrag",
    "unknown_transceiver",  # another cluster's, or a transceiver id we do not know
    "oversized",  # a frame over max_frame, skipped
    "truncated",  # a connection ended mid-frame
    "bad_frame",  # a datagram on the backend socket that is not a frame
    "no_connection",  # a reply for a connection that is gone
    "not_the_backend",  # a reply from another address than the connection's transceiver
    "slow_reader",  # a reply that would overfill the connection's send buffer
    "too_many_connections",  # a connection refused at max_connections
)


class TcpRelay:
    """The TCP listener of one relay worker and the UDP socket its connections share."""

    def __init__(
        self,
        listen: Address,
        codec: UfragCodec,
        cluster: int,
        transceivers: dict[int, Backend],
        backend_host: str,
        *,
        reuse_port: bool = False,
        max_frame: int = MAX_FRAME,
        max_buffer: int = MAX_BUFFER,
        max_connections: int = 10_000,
    ) -> None:
        self.listen = listen
        self.codec = codec
        self.cluster = cluster
        self.transceivers = transceivers  # shared with the forwarder (the registry updates it)
        self.backend_host = backend_host
        self.reuse_port = reuse_port
        self.max_frame = max_frame
        self.max_buffer = max_buffer
        self.max_connections = max_connections
        self.counters: Counter[str] = Counter()
        self.connections: dict[bytes, _Connection] = {}  # by frame header
        self.address: Address | None = None
        self.backend_address: Address | None = None
        self._server: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        host = self.listen[0]
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._server = await loop.create_server(
            lambda: _Connection(self),
            host,
            self.listen[1],
            family=family,
            reuse_port=self.reuse_port or None,
        )
        self.address = self._server.sockets[0].getsockname()[:2]
        udp_family = socket.AF_INET6 if ":" in self.backend_host else socket.AF_INET
        self._udp, _ = await loop.create_datagram_endpoint(
            lambda: _Replies(self), local_addr=(self.backend_host, 0), family=udp_family
        )
        self.backend_address = self._udp.get_extra_info("sockname")[:2]
        log.info("ICE-TCP on %s, backend socket %s", self.address, self.backend_address)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections.values()):
            connection.close()
        if self._udp is not None:
            self._udp.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    def snapshot(self) -> dict[str, int]:
        """Counters under the names relay.metrics renders (``tcp_…``, ``tcp_drops:<reason>``)."""
        counters = self.counters
        values = {
            "tcp_connections": len(self.connections),
            "tcp_connections_accepted_total": counters["connections_accepted"],
            "tcp_closed_unroutable_total": counters["closed_unroutable"],
            "tcp_frames_to_backend_total": counters["frames_to_backend"],
            "tcp_frames_to_client_total": counters["frames_to_client"],
        }
        for reason in DROP_REASONS:
            values["tcp_drops:" + reason] = counters["drop:" + reason]
        return values

    # -- routing -----------------------------------------------------------------------

    def route(self, stun: bytes) -> Backend | None:
        """The transceiver that owns the session a connection's first frame checks."""
        if stun[:2] != _BINDING_REQUEST:
            self.counters["drop:not_stun"] += 1
            return None
        username = read_username(stun)
        if username is None:
            self.counters["drop:no_username"] += 1
            return None
        route = self.codec.decode(username.partition(":")[0])
        if route is None:
            self.counters["drop:bad_ufrag"] += 1
            return None
        backend = self.transceivers.get(route.transceiver)
        if route.cluster != self.cluster or backend is None:
            self.counters["drop:unknown_transceiver"] += 1
            return None
        return backend

    def to_backend(self, header: bytes, payload: bytes, backend: Backend) -> None:
        if self._udp is not None:
            self.counters["frames_to_backend"] += 1
            self._udp.sendto(header + payload, backend.address)

    def from_backend(self, datagram: bytes, addr: Address) -> None:
        try:
            length = header_length(datagram)
        except FrameError:
            self.counters["drop:bad_frame"] += 1
            return
        connection = self.connections.get(datagram[:length])
        if connection is None:
            self.counters["drop:no_connection"] += 1
            return
        backend = connection.backend
        if backend is None or not _same(addr, backend.address):
            self.counters["drop:not_the_backend"] += 1
            return
        connection.send(datagram[length:])


class _Connection(asyncio.Protocol):
    """One accepted TCP connection: one ICE-TCP client candidate."""

    def __init__(self, relay: TcpRelay) -> None:
        self.relay = relay
        self.deframer = Deframer(relay.max_frame)
        self.transport: asyncio.Transport | None = None
        self.header = b""
        self.backend: Backend | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        relay = self.relay
        peer = transport.get_extra_info("peername")
        if len(relay.connections) >= relay.max_connections or peer is None:
            relay.counters["drop:too_many_connections"] += 1
            self.transport.abort()
            return
        self.header = encode_address(peer, tcp=True)
        relay.connections[self.header] = self
        relay.counters["connections_accepted"] += 1

    def data_received(self, data: bytes) -> None:
        relay = self.relay
        before = self.deframer.counters.dropped_oversized
        frames = self.deframer.feed(data)
        relay.counters["drop:oversized"] += self.deframer.counters.dropped_oversized - before
        for payload in frames:
            if self.backend is None:
                self.backend = relay.route(payload)
                if self.backend is None:
                    relay.counters["closed_unroutable"] += 1
                    self.close()
                    return
            relay.to_backend(self.header, payload, self.backend)

    def send(self, payload: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if transport.get_write_buffer_size() > self.relay.max_buffer:
            self.relay.counters["drop:slow_reader"] += 1
            return
        self.relay.counters["frames_to_client"] += 1
        transport.write(stream_frame(payload))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.deframer.close()
        if self.deframer.counters.dropped_truncated:
            self.relay.counters["drop:truncated"] += 1
        if self.relay.connections.get(self.header) is self:
            del self.relay.connections[self.header]


def _same(a: Address, b: Address) -> bool:
    """Whether two socket addresses are one (``::ffff:a.b.c.d`` is a.b.c.d; IPv6 text forms)."""
    if a[1] != b[1]:
        return False
    try:
        return encode_address(a) == encode_address(b)
    except FrameError:
        return a[0] == b[0]


class _Replies(asyncio.DatagramProtocol):
    def __init__(self, relay: TcpRelay) -> None:
        self.relay = relay

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.relay.from_backend(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("ICE-TCP backend socket error: %s", exc)
