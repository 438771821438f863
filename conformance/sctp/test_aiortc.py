"""Interop with aiortc's SCTP and data channels (``RTCSctpTransport``, ``RTCDataChannel``).

aiortc runs unmodified; only its DTLS transport is replaced by an in-memory object with the
four members ``RTCSctpTransport`` uses (``state``, ``_role``, ``_register_data_receiver``,
``_send_data``), so SCTP packets pass in the clear between aiortc and our
``DataChannelManager``. DTLS itself is covered by ``conformance/dtls/test_aiortc.py``. Both
sides send INIT, as aiortc always does (an INIT collision on our side when we connect too).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiortc.rtcdatachannel import RTCDataChannel, RTCDataChannelParameters
from aiortc.rtcsctptransport import RTCSctpCapabilities, RTCSctpTransport

from pywebrtc.sctp import (
    ChannelMessage,
    DataChannel,
    DataChannelManager,
    IncomingChannel,
    SctpAssociation,
    SctpConfig,
    Transmit,
)
from pywebrtc.sctp import chunk as c
from pywebrtc.sctp.packet import Packet


class FakeDtls:
    """What RTCSctpTransport needs from RTCDtlsTransport, carrying bytes to ``deliver``."""

    def __init__(self, role: str, deliver: Callable[[bytes], None]) -> None:
        self.state = "connected"
        self._role = role
        self._deliver = deliver
        self.receiver: Any = None

    def _register_data_receiver(self, receiver: Any) -> None:
        self.receiver = receiver

    def _unregister_data_receiver(self, receiver: Any) -> None:
        self.receiver = None

    async def _send_data(self, data: bytes) -> None:
        self._deliver(data)


class OurDriver:
    """A minimal asyncio shell around the sans-IO manager (what the PC layer will do)."""

    def __init__(self, manager: DataChannelManager, send: Callable[[bytes], Awaitable[None]]):
        self.manager = manager
        self.loop = asyncio.get_running_loop()
        self.inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self.outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self.send = send
        self.events: list[object] = []
        self.changed = asyncio.Event()
        self.tasks = [self.loop.create_task(self._run()), self.loop.create_task(self._out())]

    def flush(self) -> None:
        self.manager.now = self.loop.time()
        while (item := self.manager.poll()) is not None:
            if isinstance(item, Transmit):
                self.outbox.put_nowait(item.data)
            else:
                self.events.append(item)
                self.manager.dispatch(item)
                self.changed.set()

    async def _out(self) -> None:
        while True:
            data = await self.outbox.get()
            await self.send(data)

    async def _run(self) -> None:
        while True:
            self.flush()
            deadline = self.manager.deadline()
            timeout = None if deadline is None else max(0.0, deadline - self.loop.time())
            try:
                data = await asyncio.wait_for(self.inbox.get(), timeout)
            except TimeoutError:
                self.manager.tick(self.loop.time())
                continue
            self.manager.receive(data, self.loop.time())
            while not self.inbox.empty():
                self.manager.receive(self.inbox.get_nowait(), self.loop.time())

    async def wait_for(self, done: Callable[[], bool], timeout: float = 20.0) -> None:
        async def loop() -> None:
            while not done():
                self.changed.clear()
                self.flush()
                if done():
                    return
                await self.changed.wait()

        await asyncio.wait_for(loop(), timeout)

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()


async def link(
    our_dtls_role: str, config: SctpConfig | None = None
) -> tuple[OurDriver, RTCSctpTransport]:
    their_role = "server" if our_dtls_role == "client" else "client"
    holder: dict[str, OurDriver] = {}
    fake = FakeDtls(their_role, lambda data: holder["ours"].inbox.put_nowait(data))
    theirs = RTCSctpTransport(fake)  # type: ignore[arg-type]

    async def to_aiortc(data: bytes) -> None:
        await theirs._handle_data(data)

    manager = DataChannelManager(
        SctpAssociation(config or SctpConfig(), is_client=our_dtls_role == "client"),
        is_dtls_client=our_dtls_role == "client",
    )
    ours = holder["ours"] = OurDriver(manager, to_aiortc)
    manager.connect(asyncio.get_running_loop().time())
    await theirs.start(RTCSctpCapabilities(maxMessageSize=262144), 5000)
    await ours.wait_for(lambda: manager.association.is_established)
    return ours, theirs


def messages(ours: OurDriver, channel: DataChannel) -> list[str | bytes]:
    return [e.data for e in ours.events if isinstance(e, ChannelMessage) and e.channel is channel]


CASES: list[dict[str, Any]] = [
    {},
    {"ordered": False},
    {"maxRetransmits": 0},
    {"maxPacketLifeTime": 1000},
]


@pytest.mark.parametrize("our_role", ["client", "server"])
@pytest.mark.parametrize("options", CASES, ids=["reliable", "unordered", "rexmit0", "timed"])
def test_aiortc_opens_channel_and_we_echo(our_role: str, options: dict[str, Any]) -> None:
    async def run() -> None:
        ours, theirs = await link(our_role)
        channel = RTCDataChannel(theirs, RTCDataChannelParameters(label="from-aiortc", **options))
        got: list[object] = []
        channel.on("message", got.append)
        await ours.wait_for(lambda: any(isinstance(e, IncomingChannel) for e in ours.events))
        mine = next(e.channel for e in ours.events if isinstance(e, IncomingChannel))
        assert mine.label == "from-aiortc" and mine.ordered == options.get("ordered", True)
        assert mine.id is not None and mine.id % 2 == (1 if our_role == "client" else 0)
        mine.on("message", mine.send)  # echo
        outgoing: list[str | bytes] = ["hello", b"\x00\x01binary", "", b""]
        for m in outgoing:
            channel.send(m)
        for _ in range(200):
            if len(got) == 4:
                break
            await asyncio.sleep(0.01)
        assert sorted(map(repr, got)) == sorted(map(repr, ["hello", b"\x00\x01binary", "", b""]))
        ours.close()
        await theirs.stop()

    asyncio.run(run())


@pytest.mark.parametrize("our_role", ["client", "server"])
@pytest.mark.parametrize("options", CASES, ids=["reliable", "unordered", "rexmit0", "timed"])
def test_we_open_channel_and_aiortc_echoes(our_role: str, options: dict[str, Any]) -> None:
    async def run() -> None:
        ours, theirs = await link(our_role)
        opened: list[RTCDataChannel] = []

        @theirs.on("datachannel")
        def on_channel(channel: RTCDataChannel) -> None:
            opened.append(channel)
            channel.on("message", channel.send)

        kw = {
            "ordered": options.get("ordered", True),
            "max_retransmits": options.get("maxRetransmits"),
            "max_packet_life_time": options.get("maxPacketLifeTime"),
        }
        mine = ours.manager.create_channel("from-us", protocol="chat", **kw)
        ours.flush()
        outgoing: list[str | bytes] = ["hi", b"bytes", "", b""]
        for m in outgoing:
            mine.send(m)
        await ours.wait_for(lambda: len(messages(ours, mine)) == 4)
        assert opened[0].label == "from-us" and opened[0].protocol == "chat"
        assert opened[0].id == mine.id
        assert sorted(map(repr, messages(ours, mine))) == sorted(
            map(repr, ["hi", b"bytes", "", b""])
        )
        ours.close()
        await theirs.stop()

    asyncio.run(run())


def test_negotiated_channel_and_one_mebibyte_in_order() -> None:
    async def run() -> None:
        ours, theirs = await link("client")
        channel = RTCDataChannel(
            theirs, RTCDataChannelParameters(label="neg", negotiated=True, id=42)
        )
        got: list[bytes] = []
        channel.on("message", got.append)
        mine = ours.manager.create_channel("neg", negotiated=True, id=42)
        blocks = [bytes([i]) * 16384 for i in range(64)]
        for block in blocks:
            mine.send(block)
        ours.flush()
        for _ in range(2000):
            if len(got) == len(blocks):
                break
            await asyncio.sleep(0.005)
            ours.flush()
        assert got == blocks
        channel.send("back")
        await ours.wait_for(lambda: messages(ours, mine) == ["back"])
        ours.close()
        await theirs.stop()

    asyncio.run(run())


@pytest.mark.parametrize("closer", ["ours", "aiortc"])
def test_close_is_seen_on_both_sides(closer: str) -> None:
    async def run() -> None:
        ours, theirs = await link("client")
        channel = RTCDataChannel(theirs, RTCDataChannelParameters(label="c"))
        await ours.wait_for(lambda: any(isinstance(e, IncomingChannel) for e in ours.events))
        mine = next(e.channel for e in ours.events if isinstance(e, IncomingChannel))
        closed: list[str] = []
        channel.on("close", lambda: closed.append("aiortc"))
        mine.on("close", lambda: closed.append("ours"))
        if closer == "ours":
            mine.close()
        else:
            channel.close()
        for _ in range(400):
            ours.flush()
            if len(closed) == 2:
                break
            await asyncio.sleep(0.005)
        assert sorted(closed) == ["aiortc", "ours"]
        assert mine.readyState == "closed" and channel.readyState == "closed"
        ours.close()
        await theirs.stop()

    asyncio.run(run())


@pytest.mark.parametrize("our_role", ["client", "server"])
def test_an_idle_association_with_aiortc_is_heartbeat_and_answered(our_role: str) -> None:
    # aiortc answers heartbeats and sends none: we are the side that heartbeats, each one
    # answered (the error counter stays at 0), and the association stays up.
    async def run() -> None:
        ours, theirs = await link(our_role, SctpConfig(heartbeat_interval=0.5))
        sent: list[bytes] = []
        to_aiortc = ours.send

        async def counting(data: bytes) -> None:
            sent.append(data)
            await to_aiortc(data)

        ours.send = counting
        association = ours.manager.association
        await asyncio.sleep(5.0)
        heartbeats = sum(
            type(chunk) is c.HeartbeatChunk for data in sent for chunk in Packet.parse(data).chunks
        )
        # every 0.5 s plus 0.5-1.5 RTO (1 s until a heartbeat measures the RTT), rounded up
        # to the quarter second: 1 to 2.25 s apart, so 2 at least in 5 s
        assert 2 <= heartbeats <= 10
        assert association.is_established and association._error_count == 0
        assert theirs._association_state == RTCSctpTransport.State.ESTABLISHED
        ours.close()
        await theirs.stop()

    asyncio.run(run())
