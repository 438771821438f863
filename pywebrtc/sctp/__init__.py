"""SCTP over DTLS (RFC 8261) and WebRTC data channels (RFC 8831, DCEP RFC 8832), sans-IO.

``SctpAssociation`` is the association state machine (``association.py`` lists what it
implements and leaves out); ``DataChannelManager`` puts W3C-shaped ``DataChannel`` objects on
top of it. Both take ``receive(data, now)``, ``tick(now)``, and hand out ``Transmit`` packets
and events from ``poll()`` with the next timer at ``deadline()``.
"""

from pywebrtc.events import EventEmitter
from pywebrtc.sctp.association import (
    AssociationAborted,
    AssociationClosed,
    AssociationEstablished,
    BufferedAmountLow,
    MessageReceived,
    SctpAssociation,
    SctpConfig,
    SctpStats,
    State,
    StreamError,
    StreamsReset,
    Transmit,
)
from pywebrtc.sctp.datachannel import (
    ChannelBufferedAmountLow,
    ChannelClosed,
    ChannelError,
    ChannelMessage,
    ChannelOpened,
    DataChannel,
    DataChannelManager,
    IncomingChannel,
)
from pywebrtc.sctp.dcep import ChannelType, Ppid
from pywebrtc.sctp.errors import (
    DcepError,
    InvalidStateError,
    MalformedPacket,
    MessageTooLarge,
    SctpError,
)

__all__ = [
    "AssociationAborted",
    "AssociationClosed",
    "AssociationEstablished",
    "BufferedAmountLow",
    "ChannelBufferedAmountLow",
    "ChannelClosed",
    "ChannelError",
    "ChannelMessage",
    "ChannelOpened",
    "ChannelType",
    "DataChannel",
    "DataChannelManager",
    "DcepError",
    "EventEmitter",
    "IncomingChannel",
    "InvalidStateError",
    "MalformedPacket",
    "MessageReceived",
    "MessageTooLarge",
    "Ppid",
    "SctpAssociation",
    "SctpConfig",
    "SctpError",
    "SctpStats",
    "State",
    "StreamError",
    "StreamsReset",
    "Transmit",
]
