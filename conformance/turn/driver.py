"""A thin asyncio driver for :class:`pywebrtc.ice.turn.TurnClient`: one UDP socket and one timer.

This is the whole I/O side of the sans-IO client, and the shape an ICE agent's event loop takes
for it: datagrams from the server go to ``receive``, the timer fires ``tick`` at ``deadline()``,
and after either the output is drained with ``poll`` (datagrams sent, events queued here).
"""

from __future__ import annotations

import asyncio
from typing import TypeVar, cast

from pywebrtc.ice.turn import Address, Transmit, TurnClient, TurnEvent

E = TypeVar("E", bound=TurnEvent)


class TurnDriver(asyncio.DatagramProtocol):
    def __init__(self, client: TurnClient) -> None:
        self.client = client
        self.events: list[TurnEvent] = []
        self.transport: asyncio.DatagramTransport | None = None
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._changed = asyncio.Event()

    @classmethod
    async def open(cls, client: TurnClient, local: Address = ("127.0.0.1", 0)) -> TurnDriver:
        loop = asyncio.get_running_loop()
        _, driver = await loop.create_datagram_endpoint(lambda: cls(client), local_addr=local)
        return driver

    @property
    def now(self) -> float:
        return self._loop.time()

    @property
    def local_address(self) -> Address:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return host, port

    # asyncio.DatagramProtocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport is not registered as a DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if (addr[0], addr[1]) == self.client.server:
            self.client.receive(data, self.now)
            self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()

    # driving

    def flush(self) -> None:
        """Send what the client wants sent, collect its events, and re-arm the timer."""
        assert self.transport is not None
        while (item := self.client.poll()) is not None:
            if isinstance(item, Transmit):
                self.transport.sendto(item.data, item.destination)
            else:
                self.events.append(item)
                self._changed.set()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.client.deadline()
        if deadline is not None:
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.client.tick(self.now)
        self.flush()

    async def wait_for(self, kind: type[E], timeout: float = 5.0) -> E:
        """The first not yet consumed event of ``kind`` (earlier ones of other kinds are kept)."""
        async with asyncio.timeout(timeout):
            while True:
                for index, event in enumerate(self.events):
                    if isinstance(event, kind):
                        del self.events[index]
                        return event
                self._changed.clear()
                await self._changed.wait()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
