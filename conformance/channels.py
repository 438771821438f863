"""What the data-channel interop tests of every peer share: the channel kinds, by label, the
bookkeeping of our side's channels (each one's inbox and open event), and the checks that
drive both ends of them (messages each way, 1 MiB each way, a close from each side)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from pywebrtc import RTCDataChannel

TIMEOUT = 20.0

# label -> createDataChannel options (the same names in JS, Go's driver and pywebrtc).
IN_BAND: dict[str, dict[str, Any]] = {
    "ordered": {},
    "unordered": {"ordered": False},
    "rexmit0": {"maxRetransmits": 0},
}
NEGOTIATED: dict[str, dict[str, Any]] = {"negotiated": {"negotiated": True, "id": 9}}


class Inbox:
    """The messages one channel received, taken in order."""

    def __init__(self, channel: RTCDataChannel) -> None:
        self.items: list[str | bytes] = []
        self.changed = asyncio.Event()
        channel.on("message", self._on_message)

    def _on_message(self, message: str | bytes) -> None:
        self.items.append(message)
        self.changed.set()

    async def take(self, count: int) -> list[str | bytes]:
        async def loop() -> None:
            while len(self.items) < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), TIMEOUT)
        taken, self.items = self.items[:count], self.items[count:]
        return taken


@dataclass(kw_only=True)
class Channels(ABC):
    """Our channels of one peer connection by label; a test's link to a peer extends it with
    the far end's side of the same channels, reached through that peer's own commands."""

    channels: dict[str, RTCDataChannel] = field(default_factory=dict)
    inboxes: dict[str, Inbox] = field(default_factory=dict)
    opened: dict[str, asyncio.Event] = field(default_factory=dict)

    def open_event(self, label: str) -> asyncio.Event:
        return self.opened.setdefault(label, asyncio.Event())

    def adopt(self, channel: RTCDataChannel) -> None:
        self.channels[channel.label] = channel
        self.inboxes[channel.label] = Inbox(channel)
        opened = self.open_event(channel.label)
        if channel.readyState == "open":
            opened.set()
        channel.on("open", opened.set)

    @abstractmethod
    async def far_received(self, label: str, count: int) -> list[str | bytes]:
        """The next ``count`` messages the far end received on ``label``."""

    @abstractmethod
    async def far_send(self, label: str, messages: list[str | bytes]) -> None: ...

    @abstractmethod
    async def far_digest(self, label: str, count: int) -> tuple[int, int, str]:
        """The next ``count`` messages the far end received on ``label``: how many, their
        bytes, their sha256 (hex)."""

    @abstractmethod
    async def far_send_random(self, label: str, size: int, chunk: int) -> str:
        """The far end sends ``size`` random bytes on ``label`` as ``chunk``-byte messages;
        returns their sha256 (hex)."""

    @abstractmethod
    async def far_close(self, label: str) -> None: ...

    @abstractmethod
    async def far_wait_closed(self, label: str) -> str:
        """The far end's readyState of ``label`` once it has seen the channel close."""


@dataclass(kw_only=True)
class CommandChannels(Channels):
    """The far end of a peer driven by conformance/peer_commands.js (a browser page, node)."""

    @abstractmethod
    async def call(self, op: str, *args: Any) -> Any:
        """A command on the far end's peer connection of this link."""

    async def far_received(self, label: str, count: int) -> list[str | bytes]:
        items = await self.call("received", label, count)
        return [value if kind == "s" else base64.b64decode(value) for kind, value in items]

    async def far_send(self, label: str, messages: list[str | bytes]) -> None:
        items = [
            ["s", m] if isinstance(m, str) else ["b", base64.b64encode(m).decode()]
            for m in messages
        ]
        await self.call("send", label, items)

    async def far_digest(self, label: str, count: int) -> tuple[int, int, str]:
        got_count, size, digest = await self.call("digestReceived", label, count)
        return got_count, size, digest

    async def far_send_random(self, label: str, size: int, chunk: int) -> str:
        return str(await self.call("sendRandom", label, size, chunk))

    async def far_close(self, label: str) -> None:
        await self.call("close", label)

    async def far_wait_closed(self, label: str) -> str:
        return str(await self.call("waitClosed", label))


def same(got: list[str | bytes], sent: list[str | bytes], in_order: bool) -> bool:
    """The same messages, kinds kept (b"" is not ""), in order where the channel promises it."""
    if in_order:
        return got == sent
    return sorted(map(repr, got)) == sorted(map(repr, sent))


async def messages_both_ways(
    link: Channels, label: str, out: list[str | bytes], back: list[str | bytes]
) -> None:
    """``out`` sent on our channel ``label`` and ``back`` on the far end's arrive as sent
    (``connect`` checked that the channel's ``ordered`` is the one its kind asked for)."""
    channel = link.channels[label]
    for message in out:
        channel.send(message)
    got = await link.far_received(label, len(out))
    assert same(got, out, channel.ordered), (label, got)
    await link.far_send(label, back)
    mine = await link.inboxes[label].take(len(back))
    assert same(mine, back, channel.ordered), (label, mine)


async def mebibyte_both_ways(link: Channels, label: str = "ordered") -> None:
    """1 MiB as 16 KiB messages each way, intact (sha256)."""
    chunk = 16 * 1024
    blob = os.urandom(1 << 20)
    count = len(blob) // chunk
    channel = link.channels[label]
    for offset in range(0, len(blob), chunk):
        channel.send(blob[offset : offset + chunk])
    assert await link.far_digest(label, count) == (
        count,
        len(blob),
        hashlib.sha256(blob).hexdigest(),
    )
    sent_digest = await link.far_send_random(label, len(blob), chunk)
    mine = await link.inboxes[label].take(count)
    assert all(isinstance(m, bytes) and len(m) == chunk for m in mine)
    data = b"".join(m for m in mine if isinstance(m, bytes))
    assert hashlib.sha256(data).hexdigest() == sent_digest


async def closed(channel: RTCDataChannel) -> None:
    done = asyncio.Event()
    channel.on("close", done.set)
    if channel.readyState != "closed":
        await asyncio.wait_for(done.wait(), TIMEOUT)


async def close_each_way(link: Channels, ours_closes: str, far_closes: str) -> None:
    """We close one channel, the far end another: each close is seen on both sides."""
    mine = link.channels[ours_closes]
    waiting = asyncio.ensure_future(closed(mine))
    mine.close()
    await waiting
    assert await link.far_wait_closed(ours_closes) == "closed"
    theirs = link.channels[far_closes]
    waiting = asyncio.ensure_future(closed(theirs))
    await link.far_close(far_closes)
    await waiting
    assert await link.far_wait_closed(far_closes) == "closed"
    assert mine.readyState == theirs.readyState == "closed"
