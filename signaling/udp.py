"""The transceiver's one UDP socket: framed datagrams from relays and plain ones from clients.

Behind ``pywebrtc-relay`` every datagram carries the client's address in a header whose first
byte is 0xC4 or 0xC6, or 0xD4/0xD6 for a client on a TCP connection to the relay (ICE-TCP,
RFC 6544; :mod:`pywebrtc.framing`); a client talking to us directly sends plain
STUN (0-3), DTLS (20-63) or SRTP (128-191) (RFC 7983 §7). The first byte tells them apart, so
one socket serves both: framed datagrams are handled as
:class:`pywebrtc.ice.framed.FramedMuxProtocol` handles them (the payload goes to the mux as if
it came from the client, replies go back framed through the relay the client's last frame came
from), plain ones go to the mux as they are and replies go straight back to the client.

The sessions' candidates are the mux local addresses: one :class:`~pywebrtc.ice.udpmux.UdpMux`
per advertised address (each relay's public address, or ``--public``, or the socket's own).
Every session registers on all of them; incoming datagrams are routed by the first mux (the
ufrag and address tables live there), and any mux sends through this socket.

A TCP-borne client is seen by its session at the address of its TCP connection; the frame
header kept for it marks it TCP, so replies go back on that connection through the relay. It
is bound and routed apart from a UDP client at the same ip:port (another client: UDP and TCP
ports are separate spaces), see :mod:`pywebrtc.ice.udpmux`.

Frames are taken only when relays are configured (a frame names the client it speaks for, and
replies to that client go to whoever sent the frame); in direct mode they are dropped and
counted. Frames are not checked against the relays' source addresses (a relay's public address,
which ``--relay`` gives, is not the address its frames come from): keep the socket unreachable
from clients in relay mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Sequence

from pywebrtc.framing import KINDS
from pywebrtc.ice.candidate import Address, normalize_host
from pywebrtc.ice.framed import FramedMuxProtocol
from pywebrtc.ice.udpmux import UdpMux

_FRAMED = KINDS  # UDP- and TCP-borne clients (ICE-TCP through the relay)


class TransceiverSocket(FramedMuxProtocol):
    """A :class:`FramedMuxProtocol` that also takes plain datagrams (direct clients)."""

    def __init__(self, advertised: Sequence[Address], framed: bool = True) -> None:
        super().__init__(advertised[0])
        self.muxes: tuple[UdpMux, ...] = (self.mux,) + tuple(
            UdpMux(address, self._send, send_tcp=self._send_tcp) for address in advertised[1:]
        )
        self.framed = framed
        self.plain_received = 0

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if data and data[0] in _FRAMED:
            if self.framed:
                FramedMuxProtocol.datagram_received(self, data, addr)
            else:
                self.counters.dropped_not_a_relay += 1
            return
        host, port = addr[0], addr[1]
        assert isinstance(host, str) and isinstance(port, int)
        self.plain_received += 1
        self.mux.receive(data, (normalize_host(host), port))

    def _send(self, data: bytes, remote: Address) -> None:
        route = self._routes.get(remote)
        transport = self.transport
        if transport is None:
            return
        if route is not None:  # framed, back through the relay the client's frames came from
            self.counters.sent += 1
            transport.sendto(route[0] + data, route[1])
        else:
            transport.sendto(data, remote)


async def open_transceiver_socket(
    host: str, port: int, advertised: Sequence[Address], framed: bool = True
) -> tuple[TransceiverSocket, asyncio.DatagramTransport]:
    """Bind ``(host, port)``; the muxes advertise ``advertised`` (default: the bound address).
    ``framed=False`` (direct mode, no relay in front) drops every frame: a frame names the
    client it speaks for, so only relays may send them."""
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
        for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, option, 4 << 20)
        bound = sock.getsockname()
    except OSError:
        sock.close()
        raise
    addresses = list(advertised) or [(bound[0], bound[1])]
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: TransceiverSocket(addresses, framed), sock=sock
    )
    return protocol, transport
