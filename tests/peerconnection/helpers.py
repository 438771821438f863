"""Two pywebrtc peer connections on this machine, wired through in-process signaling."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from pywebrtc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from pywebrtc.ice.netio import HostSocket
from pywebrtc.transmit import Address

TIMEOUT = 10.0
T = TypeVar("T")


class Recorder:
    """Every state change a peer connection emits, in order, as (event, new value)."""

    EVENTS = {
        "signalingstatechange": "signalingState",
        "icegatheringstatechange": "iceGatheringState",
        "iceconnectionstatechange": "iceConnectionState",
        "connectionstatechange": "connectionState",
    }

    def __init__(self, pc: RTCPeerConnection) -> None:
        self.log: list[tuple[str, str]] = []
        for event, attribute in self.EVENTS.items():
            pc.on(event, self._recorder(pc, event, attribute))

    def _recorder(self, pc: RTCPeerConnection, event: str, attribute: str) -> Callable[[], None]:
        def record() -> None:
            self.log.append((event, getattr(pc, attribute)))

        return record

    def states(self, event: str) -> list[str]:
        return [value for name, value in self.log if name == event]


Receive = Callable[[bytes, Address, Address, float], object]


class InboundLink:
    """A network link in front of one peer connection, for loss and rate limits: each datagram
    its host sockets receive goes to :attr:`receive` ``(data, remote, local, now)``, which hands
    it on with :meth:`deliver` (the default) or drops it. It sits at the sockets because the
    shell and the session may be compiled (pywebrtc/_mypyc.py): their methods cannot be wrapped.
    Made before the peer gathers (after ``_ensure_ice``); :meth:`close` takes it out."""

    def __init__(self, pc: RTCPeerConnection) -> None:
        driver = pc._driver
        assert driver is not None
        self.receive: Receive = self.deliver
        self._deliver = driver.datagram
        self._loop = asyncio.get_running_loop()
        original = self._original = HostSocket.datagram_received
        link = self

        def datagram_received(
            socket: HostSocket, data: bytes, addr: tuple[str | object, ...]
        ) -> None:
            if getattr(socket.on_datagram, "__self__", None) is driver:
                socket.on_datagram = link._through
            original(socket, data, addr)

        HostSocket.datagram_received = datagram_received  # type: ignore[method-assign, assignment]

    def _through(self, data: bytes, remote: Address, local: Address) -> None:
        self.receive(data, remote, local, self._loop.time())

    def deliver(self, data: bytes, remote: Address, local: Address, now: float) -> bool:
        """Hand a datagram on to the peer connection (its shell reads the clock itself)."""
        self._deliver(data, remote, local)
        return False

    def close(self) -> None:
        HostSocket.datagram_received = self._original  # type: ignore[method-assign]


async def negotiate(offerer: RTCPeerConnection, answerer: RTCPeerConnection) -> None:
    """Non-trickle offer/answer: each side's description carries its candidates."""
    await offerer.setLocalDescription(await offerer.createOffer())
    offer = offerer.localDescription
    assert offer is not None
    await answerer.setRemoteDescription(RTCSessionDescription(offer.sdp, offer.type))
    await answerer.setLocalDescription(await answerer.createAnswer())
    answer = answerer.localDescription
    assert answer is not None
    await offerer.setRemoteDescription(RTCSessionDescription(answer.sdp, answer.type))


async def reach(pc: RTCPeerConnection, attribute: str, value: str) -> None:
    """Wait until ``pc.<attribute>`` (a state) becomes ``value``, on its change event."""
    if getattr(pc, attribute) == value:
        return
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def check() -> None:
        if getattr(pc, attribute) == value and not done.done():
            done.set_result(None)

    pc.on(attribute.lower() + "change", check)
    await asyncio.wait_for(done, TIMEOUT)


class Inbox:
    """The messages a channel receives; ``await inbox.wait(n)`` until there are n."""

    def __init__(self, channel: RTCDataChannel) -> None:
        self.items: list[str | bytes] = []
        self._changed = asyncio.Event()
        channel.on("message", self._on_message)

    def _on_message(self, message: str | bytes) -> None:
        self.items.append(message)
        self._changed.set()

    async def wait(self, count: int, timeout: float = TIMEOUT) -> list[str | bytes]:
        async def loop() -> None:
            while len(self.items) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(loop(), timeout)
        return self.items


def _resolve(future: asyncio.Future[T], value: T) -> None:
    if not future.done():
        future.set_result(value)


async def channel_event(channel: RTCDataChannel, event: str, state: str) -> None:
    """Wait for ``event`` (``open``/``close``) unless the channel is already ``state``."""
    if channel.readyState == state:
        return
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    channel.on(event, lambda: _resolve(done, None))
    await asyncio.wait_for(done, TIMEOUT)


async def incoming(pc: RTCPeerConnection) -> RTCDataChannel:
    """The next channel the remote side opens on ``pc``."""
    future: asyncio.Future[RTCDataChannel] = asyncio.get_running_loop().create_future()
    pc.on("datachannel", lambda ch: _resolve(future, ch))
    return await asyncio.wait_for(future, TIMEOUT)
