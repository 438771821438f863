"""``RTCDataChannel`` for the peer connection: :class:`pywebrtc.sctp.DataChannel` itself
(aiortc/W3C attribute names, ``@channel.on(...)`` events), plus the channel manager the peer
connection drives.

The sans-IO :class:`~pywebrtc.sctp.DataChannelManager` has no clock and no way to say "I have
something to send"; :class:`ChannelManager` adds both for the asyncio shell: a user's
``send()``/``close()`` stamps the loop time and asks the peer connection to flush on the next
loop iteration (so a burst of sends becomes one flush), and it counts messages for getStats.
"""

from __future__ import annotations

from collections.abc import Callable

from pywebrtc.sctp import (
    ChannelMessage,
    DataChannel,
    DataChannelManager,
    SctpAssociation,
)
from pywebrtc.sctp.association import Event as AssociationEvent
from pywebrtc.sctp.datachannel import ChannelEvent

RTCDataChannel = DataChannel


class ChannelCounters:
    __slots__ = ("bytes_received", "bytes_sent", "messages_received", "messages_sent")

    def __init__(self) -> None:
        self.messages_sent = self.bytes_sent = 0
        self.messages_received = self.bytes_received = 0


class ChannelManager(DataChannelManager):
    """A DataChannelManager that tells its owner when user calls left work to flush."""

    def __init__(
        self,
        association: SctpAssociation,
        *,
        is_dtls_client: bool,
        clock: Callable[[], float],
        wake: Callable[[], None],
    ) -> None:
        super().__init__(association, is_dtls_client=is_dtls_client)
        self._clock = clock
        self._wake = wake
        self.counters: dict[DataChannel, ChannelCounters] = {}

    def detach(self) -> None:
        """The owner is closed and its channels with it: let go of the owner's callbacks and of
        the channels (each still reaches this manager), so that all of it is freed by
        reference counting, without the cyclic collector."""
        self._wake = _nothing
        self.remove_all_listeners()
        self.channels.clear()
        self._unassigned.clear()
        self._ready.clear()
        self.counters.clear()

    def _send(self, channel: DataChannel, data: str | bytes | bytearray | memoryview) -> None:
        self.now = self._clock()
        super()._send(channel, data)
        counters = self.counters.get(channel)
        if counters is None:
            counters = self.counters[channel] = ChannelCounters()
        counters.messages_sent += 1
        counters.bytes_sent += len(data)
        self._wake()

    def _close_channel(self, channel: DataChannel) -> None:
        self.now = self._clock()
        super()._close_channel(channel)
        self._wake()

    def dispatch(self, event: ChannelEvent | AssociationEvent) -> None:
        if isinstance(event, ChannelMessage):
            counters = self.counters.get(event.channel)
            if counters is None:
                counters = self.counters[event.channel] = ChannelCounters()
            counters.messages_received += 1
            counters.bytes_received += len(event.data)
        super().dispatch(event)


def _nothing() -> None:
    pass


__all__ = ["ChannelManager", "RTCDataChannel"]
