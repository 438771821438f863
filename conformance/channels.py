"""What the data-channel interop tests of every peer share: the channel kinds, by label, and
the bookkeeping of our side's channels (each one's inbox and open event)."""

from __future__ import annotations

import asyncio
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
class Channels:
    """Our channels of one peer connection by label; a test's link to a peer extends it."""

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
