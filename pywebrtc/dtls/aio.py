"""A thin asyncio shell around ``DtlsConnection`` over one UDP socket and one peer.

This is the only DTLS module that reads the clock (``loop.time()``) or touches a socket. It
serves the command-line tool and interop tests; the WebRTC stack drives the sans-IO
connection itself, behind ICE.
"""

from __future__ import annotations

import asyncio
import logging
from typing import cast

from pywebrtc.dtls.connection import (
    ApplicationData,
    ConnectionClosed,
    DtlsConfig,
    DtlsConnection,
    HandshakeComplete,
    Transmit,
)
from pywebrtc.dtls.errors import DtlsError

logger = logging.getLogger(__name__)

Address = tuple[str, int]


class DtlsSession(asyncio.DatagramProtocol):
    """Drives one connection: datagrams and timer in, events out to awaitable queues."""

    def __init__(self, config: DtlsConfig, *, is_client: bool, peer: Address | None = None):
        self._config = config
        self._is_client = is_client
        self.peer = peer
        self.conn: DtlsConnection | None = None
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.DatagramTransport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._completed: asyncio.Future[HandshakeComplete] = self._loop.create_future()
        self._closed: asyncio.Future[DtlsError | None] = self._loop.create_future()
        self._data: asyncio.Queue[bytes | None] = asyncio.Queue()
        if peer is not None:
            self._create(peer)

    def _create(self, peer: Address) -> DtlsConnection:
        self.peer = peer
        self.conn = DtlsConnection(
            self._config, is_client=self._is_client, remote_address=f"{peer[0]}:{peer[1]}".encode()
        )
        return self.conn

    # asyncio.DatagramProtocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        peer = (addr[0], addr[1])
        if self.conn is None:
            self._create(peer)
        elif peer != self.peer:
            return  # one peer per session
        assert self.conn is not None
        self.conn.receive(data, self._loop.time())
        self._flush()

    def error_received(self, exc: Exception) -> None:
        logger.debug("UDP error: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closed.done():
            self._closed.set_result(None)
        self._data.put_nowait(None)

    # driving
    def _flush(self) -> None:
        conn = self.conn
        if conn is None or self._transport is None:
            return
        while (item := conn.poll()) is not None:
            if isinstance(item, Transmit):
                self._transport.sendto(item.data, self.peer)
            elif isinstance(item, HandshakeComplete):
                if not self._completed.done():
                    self._completed.set_result(item)
            elif isinstance(item, ApplicationData):
                self._data.put_nowait(item.data)
            elif isinstance(item, ConnectionClosed):
                if not self._completed.done():
                    self._completed.set_exception(item.error or DtlsError("closed"))
                if not self._closed.done():
                    self._closed.set_result(item.error)
                self._data.put_nowait(None)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = conn.deadline()
        if deadline is not None:
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self.conn is not None:
            self.conn.tick(self._loop.time())
            self._flush()

    # public
    async def handshake(self) -> HandshakeComplete:
        """Start (client) or await (server) the handshake; raises the DtlsError on failure."""
        if self._is_client:
            assert self.conn is not None
            self.conn.connect(self._loop.time())
            self._flush()
        return await asyncio.shield(self._completed)

    def send(self, data: bytes) -> None:
        assert self.conn is not None
        for start in range(0, len(data), 16384):
            self.conn.send(data[start : start + 16384])
        self._flush()

    async def recv(self) -> bytes | None:
        """Next application data, or None once the connection is closed."""
        return await self._data.get()

    async def wait_closed(self) -> DtlsError | None:
        return await asyncio.shield(self._closed)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self._flush()
        if self._timer is not None:
            self._timer.cancel()
        if self._transport is not None:
            self._transport.close()


async def connect(host: str, port: int, config: DtlsConfig) -> DtlsSession:
    """Open a UDP socket to ``host:port`` and return a client session (call ``handshake``)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=2)  # SOCK_DGRAM
    peer_addr = infos[0][4]
    _, session = await loop.create_datagram_endpoint(
        lambda: DtlsSession(config, is_client=True, peer=(str(peer_addr[0]), int(peer_addr[1]))),
        remote_addr=(str(peer_addr[0]), int(peer_addr[1])),
    )
    return session


async def listen(host: str, port: int, config: DtlsConfig) -> tuple[DtlsSession, Address]:
    """Bind ``host:port``; the session serves the first peer that sends to it."""
    loop = asyncio.get_running_loop()
    transport, session = await loop.create_datagram_endpoint(
        lambda: DtlsSession(config, is_client=False), local_addr=(host, port)
    )
    sockname = transport.get_extra_info("sockname")
    return session, (str(sockname[0]), int(sockname[1]))
