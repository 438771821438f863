"""WebRTC data channels over one SCTP association (RFC 8831) with DCEP (RFC 8832), sans-IO.

``DataChannelManager`` owns an ``SctpAssociation`` and turns it into W3C-shaped
``DataChannel`` objects: in-band open/ack and pre-negotiated ids, stream-id parity by DTLS
role (RFC 8832 §6: the DTLS client uses even ids, the server odd ids), PPID choice for
strings, binary and the empty variants (RFC 8831 §6.6), bufferedAmount and its low
threshold, and closing by stream reset in both directions (RFC 8831 §6.7).

Drive it like the association: ``receive(record, now)``, ``tick(now)``, drain ``poll()``
(``Transmit`` for DTLS, or a channel/association event), ``deadline()``. ``poll()`` runs no
user code: the owner passes each event it polled to ``dispatch(event)``, which runs the
handlers registered with ``channel.on(...)``/``manager.on("datachannel")`` (the W3C events).
``DataChannel.send`` has no clock argument: it uses ``manager.now``, the time of the latest
call into the manager (the asyncio shell may set it before user calls).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pywebrtc.events import EventEmitter
from pywebrtc.sctp.association import (
    AssociationAborted,
    AssociationClosed,
    AssociationEstablished,
    BufferedAmountLow,
    MessageReceived,
    SctpAssociation,
    State,
    StreamError,
    StreamsReset,
    Transmit,
)
from pywebrtc.sctp.association import Event as AssociationEvent
from pywebrtc.sctp.dcep import ChannelType, DataChannelAck, DataChannelOpen, Ppid, parse_dcep
from pywebrtc.sctp.errors import DcepError, InvalidStateError, MessageTooLarge

log = logging.getLogger(__name__)

PRIORITY_LOW = 256  # RFC 8832 §5.1 / W3C "low", the default


class DataChannel(EventEmitter):
    """One data channel, with aiortc/W3C attribute names.

    Events: ``open``, ``message`` (str or bytes), ``close``, ``bufferedamountlow``,
    ``error`` (an exception)."""

    def __init__(
        self,
        manager: DataChannelManager,
        label: str,
        id: int | None,
        *,
        ordered: bool = True,
        max_packet_life_time: int | None = None,
        max_retransmits: int | None = None,
        protocol: str = "",
        negotiated: bool = False,
        priority: int = PRIORITY_LOW,
    ) -> None:
        super().__init__()
        self._manager = manager
        self.label = label
        self.id = id
        self.ordered = ordered
        self.maxPacketLifeTime = max_packet_life_time
        self.maxRetransmits = max_retransmits
        self.protocol = protocol
        self.negotiated = negotiated
        self.priority = priority
        self._state = "connecting"
        self._was_open = False
        self._threshold = 0
        self._acked = negotiated  # RFC 8832 §6: ordered sends until the ACK arrives
        self._out_reset = False
        self._in_reset = False
        # RTCDataChannelStats (W3C webrtc-stats §7.7)
        self.messages_sent = 0
        self.bytes_sent = 0
        self.messages_received = 0
        self.bytes_received = 0

    def __repr__(self) -> str:
        return f"DataChannel(label={self.label!r}, id={self.id}, readyState={self.readyState})"

    @property
    def readyState(self) -> str:
        return self._state

    @readyState.setter
    def readyState(self, state: str) -> None:
        # The manager's lifetime totals (W3C RTCPeerConnectionStats dataChannelsOpened/Closed)
        # count here, the one place every state change passes: a channel counts once as opened
        # when it first becomes open, and once as closed when it ends closed after being open
        # (one that never opened counts in neither).
        if state == self._state:
            return
        if state == "open" and not self._was_open:
            self._was_open = True
            self._manager.channels_opened += 1
        elif state == "closed" and self._was_open:
            self._manager.channels_closed += 1
        self._state = state

    @property
    def bufferedAmount(self) -> int:
        if self.id is None:
            return 0
        return self._manager.association.buffered_amount(self.id)

    @property
    def bufferedAmountLowThreshold(self) -> int:
        return self._threshold

    @bufferedAmountLowThreshold.setter
    def bufferedAmountLowThreshold(self, value: int) -> None:
        if not 0 <= value <= 0xFFFFFFFF:
            raise ValueError("bufferedAmountLowThreshold must be a 32-bit unsigned integer")
        self._threshold = value
        if self.id is not None:
            self._manager.association.set_buffered_amount_low_threshold(self.id, value)

    @property
    def channel_type(self) -> ChannelType:
        base = 0
        if self.maxRetransmits is not None:
            base = ChannelType.PARTIAL_RELIABLE_REXMIT
        elif self.maxPacketLifeTime is not None:
            base = ChannelType.PARTIAL_RELIABLE_TIMED
        return ChannelType(base | (0 if self.ordered else 0x80))

    def send(self, data: str | bytes | bytearray | memoryview) -> None:
        """Send a message: str as PPID 51, bytes as 53, empty ones as 56/57."""
        if self.readyState != "open":
            raise InvalidStateError(f"data channel is {self.readyState}")
        self._manager._send(self, data)

    def close(self) -> None:
        """Start the closing procedure: reset our outgoing stream (RFC 8831 §6.7)."""
        self._manager._close_channel(self)


@dataclass(frozen=True, slots=True)
class ChannelOpened:
    channel: DataChannel


@dataclass(frozen=True, slots=True)
class IncomingChannel:
    """The peer opened a channel with DCEP (the W3C ``datachannel`` event)."""

    channel: DataChannel


@dataclass(frozen=True, slots=True)
class ChannelMessage:
    channel: DataChannel
    data: str | bytes


@dataclass(frozen=True, slots=True)
class ChannelClosed:
    channel: DataChannel


@dataclass(frozen=True, slots=True)
class ChannelBufferedAmountLow:
    channel: DataChannel


@dataclass(frozen=True, slots=True)
class ChannelError:
    channel: DataChannel | None
    reason: str


ChannelEvent = (
    ChannelOpened
    | IncomingChannel
    | ChannelMessage
    | ChannelClosed
    | ChannelBufferedAmountLow
    | ChannelError
)


class DataChannelManager(EventEmitter):
    """All data channels of one peer connection. Emits ``datachannel`` (a DataChannel)."""

    def __init__(self, association: SctpAssociation, *, is_dtls_client: bool) -> None:
        super().__init__()
        self.association = association
        self.is_dtls_client = is_dtls_client
        self.now = 0.0
        self.channels: dict[int, DataChannel] = {}
        self._unassigned: list[DataChannel] = []
        self._ready: list[ChannelEvent | AssociationEvent] = []
        self.dropped_messages = 0
        # Lifetime totals, ours and the peer's channels alike (W3C RTCPeerConnectionStats): a
        # closed channel leaves ``channels`` but stays counted.
        self.channels_opened = 0
        self.channels_closed = 0

    # ------------------------------------------------------------------ driving

    def connect(self, now: float) -> None:
        self.now = now
        self.association.connect(now)

    def receive(self, data: bytes, now: float) -> None:
        self.now = now
        self.association.receive(data, now)

    def tick(self, now: float) -> None:
        self.now = now
        self.association.tick(now)

    def deadline(self) -> float | None:
        return self.association.deadline()

    def poll(self) -> Transmit | ChannelEvent | AssociationEvent | None:
        """Next packet for DTLS, or the next channel/association event, or None."""
        while True:
            if self._ready:
                return self._ready.pop(0)
            item = self.association.poll()
            if item is None or isinstance(item, Transmit):
                return item
            self._on_association_event(item)

    def has_event(self) -> bool:
        """Whether :meth:`poll` has an event ready: a channel's, or the association's
        (:meth:`SctpAssociation.has_event`)."""
        return bool(self._ready) or self.association.has_event()

    def close(self, now: float) -> None:
        """Close every channel and shut the association down."""
        self.now = now
        self.association.shutdown(now)

    # ------------------------------------------------------------------ channels

    def create_channel(
        self,
        label: str,
        *,
        ordered: bool = True,
        max_packet_life_time: int | None = None,
        max_retransmits: int | None = None,
        protocol: str = "",
        negotiated: bool = False,
        id: int | None = None,
        priority: int = PRIORITY_LOW,
    ) -> DataChannel:
        """aiortc's ``createDataChannel`` arguments (lifetime in milliseconds)."""
        if max_packet_life_time is not None and max_retransmits is not None:
            raise ValueError("set at most one of maxPacketLifeTime and maxRetransmits")
        if negotiated and id is None:
            raise ValueError("a negotiated channel needs an id")
        if id is not None:
            if not 0 <= id < 65535:
                raise ValueError(f"data channel id {id} out of range")
            if id in self.channels:
                raise ValueError(f"data channel id {id} is in use")
        if len(label.encode()) > 65535 or len(protocol.encode()) > 65535:
            raise ValueError("label and protocol must fit in 65535 bytes")
        channel = DataChannel(
            self,
            label,
            id,
            ordered=ordered,
            max_packet_life_time=max_packet_life_time,
            max_retransmits=max_retransmits,
            protocol=protocol,
            negotiated=negotiated,
            priority=priority,
        )
        if id is None:
            self._unassigned.append(channel)
        else:
            self.channels[id] = channel
        if self.association.is_established:
            self._announce(channel)
        return channel

    def _allocate_id(self) -> int | None:
        sid = 0 if self.is_dtls_client else 1
        while sid < 65535:
            if sid not in self.channels:
                return sid
            sid += 2
        return None

    def _announce(self, channel: DataChannel) -> None:
        if channel.id is None:
            sid = self._allocate_id()
            if sid is None:
                self._fail(channel, "no stream id left")
                return
            channel.id = sid
            self.channels[sid] = channel
            if channel._threshold:
                self.association.set_buffered_amount_low_threshold(sid, channel._threshold)
        if not channel.negotiated:
            reliability = channel.maxRetransmits or channel.maxPacketLifeTime or 0
            message = DataChannelOpen(
                channel.channel_type,
                channel.priority,
                reliability,
                channel.label,
                channel.protocol,
            )
            self.association.send(channel.id, Ppid.DCEP, bytes(message), self.now, counted=False)
        channel.readyState = "open"
        self._ready.append(ChannelOpened(channel))

    def _fail(self, channel: DataChannel, reason: str) -> None:
        channel.readyState = "closed"
        self._ready.append(ChannelError(channel, reason))
        self._ready.append(ChannelClosed(channel))

    def _send(self, channel: DataChannel, data: str | bytes | bytearray | memoryview) -> None:
        assert channel.id is not None
        if isinstance(data, str):
            payload = data.encode()
            ppid = Ppid.STRING if payload else Ppid.STRING_EMPTY
        else:
            payload = bytes(data)
            ppid = Ppid.BINARY if payload else Ppid.BINARY_EMPTY
        if not payload:
            payload = b"\x00"  # RFC 8831 §6.6: SCTP cannot carry an empty message
        if len(payload) > self.association.max_message_size:
            raise MessageTooLarge(
                f"message of {len(payload)} bytes exceeds max-message-size "
                f"{self.association.max_message_size}"
            )
        channel.messages_sent += 1
        channel.bytes_sent += len(payload) if ppid in (Ppid.STRING, Ppid.BINARY) else 0
        lifetime = None
        if channel.maxPacketLifeTime is not None:
            lifetime = channel.maxPacketLifeTime / 1000.0
        self.association.send(
            channel.id,
            ppid,
            payload,
            self.now,
            ordered=channel.ordered or not channel._acked,
            max_retransmits=channel.maxRetransmits,
            lifetime=lifetime,
        )

    def _close_channel(self, channel: DataChannel) -> None:
        if channel.readyState in ("closing", "closed"):
            return
        if channel.id is None or not self.association.is_established:
            if channel in self._unassigned:
                self._unassigned.remove(channel)
            channel.readyState = "closed"
            self._ready.append(ChannelClosed(channel))
            return
        channel.readyState = "closing"
        self.association.reset_streams([channel.id], self.now)

    # ------------------------------------------------------------------ events

    def _on_association_event(self, event: AssociationEvent) -> None:
        if isinstance(event, MessageReceived):
            self._on_message(event)
        elif isinstance(event, AssociationEstablished):
            self._ready.append(event)
            pending = [c for c in self.channels.values() if c.readyState == "connecting"]
            pending += self._unassigned
            self._unassigned = []
            for waiting in pending:
                self._announce(waiting)
        elif isinstance(event, StreamsReset):
            self._on_reset(event)
        elif isinstance(event, BufferedAmountLow):
            channel = self.channels.get(event.stream_id)
            if channel is not None and channel.readyState in ("open", "closing"):
                self._ready.append(ChannelBufferedAmountLow(channel))
        elif isinstance(event, StreamError):
            channel = self.channels.get(event.stream_id)
            self._ready.append(ChannelError(channel, event.reason))
        elif isinstance(event, AssociationClosed | AssociationAborted):
            self._ready.append(event)
            for open_channel in [*self.channels.values(), *self._unassigned]:
                if open_channel.readyState != "closed":
                    open_channel.readyState = "closed"
                    self._ready.append(ChannelClosed(open_channel))
            self.channels.clear()
            self._unassigned.clear()

    def _on_message(self, event: MessageReceived) -> None:
        sid = event.stream_id
        channel = self.channels.get(sid)
        if event.ppid == Ppid.DCEP:
            self._on_dcep(sid, channel, event.data)
            return
        if channel is None or channel.readyState not in ("open", "closing"):
            self.dropped_messages += 1
            return
        ppid = event.ppid
        data: str | bytes
        if ppid in (Ppid.STRING, Ppid.STRING_PARTIAL):
            try:
                data = event.data.decode()
            except UnicodeDecodeError:
                self._ready.append(ChannelError(channel, "string message is not valid UTF-8"))
                return
        elif ppid in (Ppid.BINARY, Ppid.BINARY_PARTIAL):
            data = event.data
        elif ppid == Ppid.STRING_EMPTY:
            data = ""
        elif ppid == Ppid.BINARY_EMPTY:
            data = b""
        else:
            self.dropped_messages += 1
            return
        channel.messages_received += 1
        channel.bytes_received += len(event.data) if data else 0
        self._ready.append(ChannelMessage(channel, data))

    def _on_dcep(self, sid: int, channel: DataChannel | None, payload: bytes) -> None:
        try:
            message = parse_dcep(payload)
        except DcepError as exc:
            self._ready.append(ChannelError(channel, f"bad DCEP on stream {sid}: {exc}"))
            if channel is None and self.association.is_established:
                self.association.reset_streams([sid], self.now)
            return
        if isinstance(message, DataChannelAck):
            if channel is not None:
                channel._acked = True
            return
        own_parity = 0 if self.is_dtls_client else 1
        if channel is not None or sid % 2 == own_parity:
            reason = f"DATA_CHANNEL_OPEN on stream {sid}, which is not the peer's to open"
            self._ready.append(ChannelError(channel, reason))
            return
        ctype = message.channel_type
        rexmit = ctype in (
            ChannelType.PARTIAL_RELIABLE_REXMIT,
            ChannelType.PARTIAL_RELIABLE_REXMIT_UNORDERED,
        )
        timed = ctype in (
            ChannelType.PARTIAL_RELIABLE_TIMED,
            ChannelType.PARTIAL_RELIABLE_TIMED_UNORDERED,
        )
        channel = DataChannel(
            self,
            message.label,
            sid,
            ordered=ctype.ordered,
            max_retransmits=message.reliability if rexmit else None,
            max_packet_life_time=message.reliability if timed else None,
            protocol=message.protocol,
            priority=message.priority,
        )
        channel._acked = True
        channel.readyState = "open"
        self.channels[sid] = channel
        self.association.send(sid, Ppid.DCEP, bytes(DataChannelAck()), self.now, counted=False)
        self._ready.append(IncomingChannel(channel))
        self._ready.append(ChannelOpened(channel))

    def _on_reset(self, event: StreamsReset) -> None:
        for sid in event.stream_ids:
            channel = self.channels.get(sid)
            if channel is None:
                continue
            if event.outgoing:
                channel._out_reset = True
                if not self.association.supports_stream_reset:
                    channel._in_reset = True  # nothing more will come from a peer without reset
            else:
                channel._in_reset = True
                if channel.readyState != "closing":
                    channel.readyState = "closing"
                    self.association.reset_streams([sid], self.now)
            if channel._in_reset and channel._out_reset:
                channel.readyState = "closed"
                del self.channels[sid]
                self._ready.append(ChannelClosed(channel))

    def dispatch(self, event: ChannelEvent | AssociationEvent) -> None:
        """Emit the W3C event for ``event`` (one that :meth:`poll` returned) on its channel or,
        for an incoming channel, on the manager (``datachannel``)."""
        if isinstance(event, ChannelMessage):
            event.channel.emit("message", event.data)
        elif isinstance(event, ChannelOpened):
            event.channel.emit("open")
        elif isinstance(event, IncomingChannel):
            self.emit("datachannel", event.channel)
        elif isinstance(event, ChannelClosed):
            event.channel.emit("close")
            # Closed is final (W3C): nothing fires after "close". Handlers are closures that
            # usually hold the channel (to reply on it), a cycle the cyclic collector would
            # have to find; dropping them lets reference counting free the channel.
            event.channel.remove_all_listeners()
        elif isinstance(event, ChannelBufferedAmountLow):
            event.channel.emit("bufferedamountlow")
        elif isinstance(event, ChannelError) and event.channel is not None:
            event.channel.emit("error", DcepError(event.reason))


__all__ = [
    "ChannelBufferedAmountLow",
    "ChannelClosed",
    "ChannelError",
    "ChannelEvent",
    "ChannelMessage",
    "ChannelOpened",
    "DataChannel",
    "DataChannelManager",
    "IncomingChannel",
    "State",
]
