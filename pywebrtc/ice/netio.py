"""Socket and name look-ups shared by the asyncio shells (:mod:`pywebrtc.shell` and
:class:`pywebrtc.ice.Connection`): binding a UDP socket for a host candidate, resolving a
STUN/TURN server or an FQDN candidate, and the TCP connections of an ICE-TCP active candidate
(:class:`TcpActive`). The sans-IO machines never call these."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from collections.abc import Callable
from typing import TypeVar, cast

from pywebrtc.framing import Deframer, stream_frame
from pywebrtc.ice.candidate import ip_literal, is_ipv6, normalize_host
from pywebrtc.transmit import Address

logger = logging.getLogger(__name__)

# A burst of a full SCTP congestion window (up to its 1 MiB receive window) must fit in the
# kernel's socket buffers: with Linux's ~208 KiB default, about 90 datagrams of 1.2 KB (2.3 KB
# of buffer each) overflow the receiving socket before the event loop reads it, and SCTP sees
# that as loss and halves its window. The kernel caps the request at net.core.rmem_max/wmem_max.
SOCKET_BUFFER = 4 * 1024 * 1024

_P = TypeVar("_P", bound=asyncio.DatagramProtocol)


class HostSocket(asyncio.DatagramProtocol):
    """A UDP socket a host candidate lives on: each datagram goes to
    ``on_datagram(data, remote, base)`` with the sender's address normalized."""

    def __init__(self, on_datagram: Callable[[bytes, Address, Address], object]) -> None:
        self.on_datagram = on_datagram
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
        self.on_datagram(data, remote, self.base)

    def error_received(self, exc: Exception) -> None:
        logger.debug("socket %s error: %s", self.base, exc)


# Whether a fresh UDP socket's receive and send buffers start below SOCKET_BUFFER: the system's
# defaults (net.core.rmem_default/wmem_default), read once from the first socket this process
# binds rather than twice per socket (a peer connection binds one per interface).
_fresh_small: tuple[bool, bool] | None = None


def enlarge_buffers(sock: socket.socket) -> None:
    """Raise a freshly made socket's buffers to SOCKET_BUFFER where the system's defaults are
    below it (the kernel caps the size; it does not refuse it)."""
    global _fresh_small
    options = (socket.SO_RCVBUF, socket.SO_SNDBUF)
    if _fresh_small is None:
        small = []
        for option in options:
            try:
                small.append(sock.getsockopt(socket.SOL_SOCKET, option) < SOCKET_BUFFER)
            except OSError:  # pragma: no cover - a platform without the option
                small.append(False)
        _fresh_small = (small[0], small[1])
    for option, below in zip(options, _fresh_small, strict=True):
        if below:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER)


async def bind_udp(
    address: str, port_range: tuple[int, int] | None, factory: Callable[[], _P]
) -> tuple[_P, asyncio.DatagramTransport, Address] | None:
    """A UDP socket on ``address`` (a port from ``port_range``, else any) served by
    ``factory()``, and its normalized address; None if no port could be bound."""
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if is_ipv6(address) else socket.AF_INET
    ports: list[int] = [0]
    if port_range is not None:
        low, high = port_range
        ports = random.sample(range(low, high + 1), min(64, high - low + 1))
    for port in ports:
        # Bind here rather than through local_addr=, which resolves the address in the loop's
        # thread pool first (a millisecond of setup time on a busy host).
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            enlarge_buffers(sock)
            sock.bind((address, port))
            sockname = sock.getsockname()  # (the transport's get_extra_info costs more)
            transport, protocol = await loop.create_datagram_endpoint(factory, sock=sock)
        except OSError:
            sock.close()
            continue
        return protocol, transport, (normalize_host(sockname[0]), sockname[1])
    logger.warning("could not bind a UDP socket on %s", address)
    return None


async def resolve(server: tuple[str, int]) -> Address | None:
    """``(host, port)`` to an address (IPv4 preferred); None if it does not resolve."""
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


__all__ = ["SOCKET_BUFFER", "HostSocket", "bind_udp", "enlarge_buffers", "resolve"]


class TcpActive:
    """The sockets of one local ``tcptype active`` candidate (RFC 6544 §5.1): one TCP connection
    per remote passive candidate, opened by the first packet the session sends it; every packet
    goes out as an RFC 4571 frame, and the frames that come back go to
    ``on_datagram(data, remote, base)`` as datagrams would. ``base`` is the candidate's
    (address, 9) (RFC 6544 §4.5: an active candidate's port is 9), a base no UDP socket has.
    A connection that fails or closes is forgotten (its checks time out; a later packet opens
    a new one); packets queued before it connects are bounded."""

    MAX_QUEUED = 64

    def __init__(self, host: str, on_datagram: Callable[[bytes, Address, Address], object]):
        self.host = host
        self.base: Address = (host, 9)
        self.on_datagram = on_datagram
        self._links: dict[Address, _TcpLink] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, data: bytes, remote: Address) -> None:
        link = self._links.get(remote)
        if link is None:
            link = self._links[remote] = _TcpLink(self, remote)
            task = asyncio.get_running_loop().create_task(link.open())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        link.send(data)

    def forget(self, link: _TcpLink) -> None:
        if self._links.get(link.remote) is link:
            del self._links[link.remote]

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for link in list(self._links.values()):
            link.close()
        self._links.clear()


class _TcpLink(asyncio.Protocol):
    def __init__(self, owner: TcpActive, remote: Address) -> None:
        self.owner = owner
        self.remote = remote
        self.transport: asyncio.Transport | None = None
        self.queued: list[bytes] = []
        self.deframer = Deframer()

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(
                lambda: self, self.remote[0], self.remote[1], local_addr=(self.owner.host, 0)
            )
        except OSError as error:
            logger.debug("ICE-TCP connection to %s failed: %s", self.remote, error)
            self.owner.forget(self)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        for data in self.queued:
            self.transport.write(stream_frame(data))
        self.queued.clear()

    def send(self, data: bytes) -> None:
        if self.transport is not None:
            if not self.transport.is_closing():
                self.transport.write(stream_frame(data))
        elif len(self.queued) < TcpActive.MAX_QUEUED:
            self.queued.append(data)

    def data_received(self, data: bytes) -> None:
        owner = self.owner
        for frame in self.deframer.feed(data):
            owner.on_datagram(frame, self.remote, owner.base)

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner.forget(self)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
