"""Loopback helpers for relay socket tests: fake transceivers and clients."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import cast

from pywebrtc.framing import split


class FakeTransceiver(asyncio.DatagramProtocol):
    """Answers every frame with the same header and ``reply(payload)``; records what it saw."""

    def __init__(self, reply: Callable[[bytes], bytes] = lambda p: b"echo:" + p) -> None:
        self.reply = reply
        self.received: list[tuple[bytes, bytes]] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        header, payload = split(data)
        self.received.append((header, payload))
        assert self.transport is not None
        self.transport.sendto(header + self.reply(payload), addr)

    @property
    def address(self) -> tuple[str, int]:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return host, port


async def start_transceiver(
    host: str = "127.0.0.1", reply: Callable[[bytes], bytes] = lambda p: b"echo:" + p
) -> FakeTransceiver:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        sock.setsockopt(socket.SOL_SOCKET, option, 4 << 20)  # bursts of many flows at once
    sock.bind((host, 0))
    _, protocol = await loop.create_datagram_endpoint(lambda: FakeTransceiver(reply), sock=sock)
    return protocol


class Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.queue.put_nowait(data)

    def send(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.sendto(data)

    async def recv(self, timeout: float = 2.0) -> bytes:
        return await asyncio.wait_for(self.queue.get(), timeout)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def client(relay: tuple[str, int], host: str = "127.0.0.1") -> Client:
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    _, protocol = await loop.create_datagram_endpoint(
        Client, local_addr=(host, 0), remote_addr=relay, family=family
    )
    return protocol


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port
