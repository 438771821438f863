"""The SCTP association over DTLS (RFC 9260 as profiled by RFC 8261 and RFC 8831), sans-IO.

Implements: the four-way handshake with an HMAC-signed state cookie (§5.1, §5.1.3; the
listening side keeps no state before COOKIE ECHO) including INIT collision (§5.2.1, the
common WebRTC case where both ends send INIT); DATA/SACK with gap blocks and duplicate TSNs
(§6.2, §6.4); fragmentation and reassembly (§6.9); ordered and unordered delivery (§6.5-6.6);
RTO with Karn's rule and exponential backoff (§6.3); delayed SACK (§6.2: every second packet or
``delayed_ack`` seconds; in-order packets received between two ``poll()`` calls, one socket
read's worth, share one SACK up to ``MAX_PACKETS_PER_SACK``, as TCP does with receive offload,
and gaps are reported at once); congestion control with slow start, congestion avoidance and
fast retransmit/recovery (§7.2); heartbeats (§8.3: see below); ABORT and the SHUTDOWN
sequence (§9); partial reliability with FORWARD TSN (RFC 3758) for max-retransmits and
lifetime policies; stream reset (RFC 6525 outgoing/incoming SSN reset requests as used for
data channel close).

Not implemented: multi-homing (no IP layer over DTLS), I-DATA (RFC 8260) and stream
interleaving, ECN, AUTH, ASCONF, restart of an established association with new tags
(an INIT in ESTABLISHED gets an INIT ACK, a mismatching cookie is dropped), the tie-tag
procedure of §5.2.4 beyond the plain collision case, and the Incoming SSN Reset Request
(answered "denied"; WebRTC peers only send outgoing requests).

Heartbeats, and where they depart from the letter of §8.3: an idle path is heartbeat every
HB.interval plus the RTO jittered by ±50 %, the deadline rounded up to the quarter second
(HEARTBEAT_GRANULARITY, so that a server's associations share timer wake-ups). Answering a
peer's HEARTBEAT counts as traffic on the path, and the answering side then waits two
intervals, not one: of two such peers one heartbeats and the other is its backstop, half the
idle records of both heartbeating. Dead-peer detection is unchanged on the heartbeating side
and one interval later on the backstop's (when its peer stops heartbeating it starts, and
Association.Max.Retrans unanswered heartbeats abort as in §8.1, unless the limit is None, as
RTCPeerConnection sets it: see WEBRTC_MAX_RETRANS).

Driving it: feed ``receive(packet, now)`` with each DTLS application-data record, call
``tick(now)`` at ``deadline()``, and drain ``poll()`` after each call: it returns ``Transmit``
(an SCTP packet for DTLS to send) or an event, then ``None``. Bad input never raises out of
``receive``: packets with a bad checksum, tag or format are dropped and counted in ``stats``;
protocol violations abort the association with a reason.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import logging
import math
import os
import random
import struct
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from pywebrtc.sctp import chunk as c
from pywebrtc.sctp.chunk import parse_chunks
from pywebrtc.sctp.errors import InvalidStateError, MessageTooLarge, SctpError
from pywebrtc.sctp.packet import HEADER_SIZE, checksum_matches, encode_packet
from pywebrtc.sctp.reassembly import (
    CHUNK_OVERHEAD,
    NOTHING,
    InboundStream,
    Outcome,
    unwrap,
)
from pywebrtc.transmit import Transmit as Transmit

log = logging.getLogger(__name__)

# RFC 9260 §16 protocol parameters (the ones WebRTC stacks keep).
ASSOCIATION_MAX_RETRANS = 10
# What RTCPeerConnection gives SctpConfig.max_retransmits: never abort for unanswered DATA or
# heartbeats. In WebRTC ICE consent freshness (RFC 7675) and DTLS decide that a peer is gone;
# an SCTP abort on top only ends calls that a lossy path would have carried on (at 30 % loss
# eleven T3 expiries in a row without a SACK happen within minutes of a NAT rebinding).
# libwebrtc sets dcsctp's max_retransmissions and max_init_retransmits to "none" for the
# same reason.
WEBRTC_MAX_RETRANS: None = None
# The set-up and shutdown timers (T1-init, T1-cookie, T2-shutdown) and the retransmission
# timer (T3-rtx, whose expiries double the RTO: §6.3.3 rule E2) back off up to this, not to
# RTO.Max, which RFC 9260 leaves to the implementation (§16 suggests 60 s). 3 s is
# libwebrtc's cap on every dcsctp timer's backoff (kMaxTimerBackoffDuration in
# media/sctp/dcsctp_transport.cc; Firefox's dcsctp data channels use the same): over a lossy
# path the handshake and the data are retried every few seconds instead of at 10-60 s gaps,
# so a loss burst costs seconds, not a minute (a NAT-rebinding scenario at 30 % loss lost
# four COOKIE ACKs in a row and ran out of retransmissions with the timer at 10 s; at 10 s
# steps a run of lost SACKs held back a FORWARD TSN, and every maxRetransmits=0 message
# behind it, for over 30 s).
MAX_TIMER_BACKOFF = 3.0  # seconds
# Max.Init.Retransmits: RFC 9260 §16's 8 would give up after about 24 s of capped backoff
# (1 + 2 + 7 x 3 s); 20 keeps trying for about a minute (1 + 2 + 19 x 3 s), as long as before
# the cap. libwebrtc never gives up (it leaves a dead path to ICE and DTLS).
MAX_INIT_RETRANSMITS = 20
ALPHA = 1 / 8
BETA = 1 / 4
COOKIE_LIFETIME = 60.0
MAX_STREAMS = 65535  # RFC 8831 §6.2: as many streams as possible
MAX_OUT_OF_ORDER = 4096  # TSNs held above the cumulative TSN; more are dropped (re-sent later)
MAX_ACTIVE_STREAMS = 256  # incoming stream objects before idle ones are compacted
# In-order DATA packets received between two poll() calls share a SACK, up to this many: fewer
# SACKs to build and process, while a peer in slow start (cwnd grows per SACK, §7.2.1) still
# gets one per few packets. A gap or a duplicate is reported at once.
MAX_PACKETS_PER_SACK = 8
# The heartbeat interval's jitter (tests may seed it).
HEARTBEAT_JITTER = random.Random()
# Heartbeat deadlines are rounded up to the quarter second, the step of ICE's soft deadlines
# (pywebrtc.ice.agent._SOFT_STEPS), so that a server's associations share the loop's timer
# wake-ups with each other and with consent checks: a few a second however many sessions.
HEARTBEAT_GRANULARITY = 0.25  # seconds
# The queue of an association that holds nothing: a deque keeps a 760-byte block however few
# it holds, so an idle association shares this one (never appended to: a queue is made again
# before anything goes in) instead of keeping three of its own (memory per idle session).
_NO_ITEMS: deque[Any] = deque()
# Likewise the out-of-order TSNs received (216 bytes for an empty set): an association that
# receives in order, as most do, shares this one (never added to).
_NO_TSNS: set[int] = set()
_DATA_HEADER = struct.Struct("!BBHIHHI")
_PLAIN_SACK = struct.Struct("!BBHIIHH")
_COMMON_HEADER = struct.Struct("!HHII")
_COOKIE = struct.Struct("!IIIHHIIdBB")
_COOKIE_MAC = 32
_COOKIE_ACK = bytes(c.CookieAckChunk())
# What our INIT and INIT ACK announce: PR-SCTP (RFC 3758) and RE-CONFIG (RFC 6525). Params are
# frozen: one tuple serves every association.
_EXTENSION_PARAMS = (
    c.Param(c.PARAM_FORWARD_TSN_SUPPORTED, b""),
    c.Param(c.PARAM_SUPPORTED_EXTENSIONS, bytes([c.RECONFIG, c.FORWARD_TSN])),
)


class State(enum.Enum):
    CLOSED = "closed"
    COOKIE_WAIT = "cookie-wait"
    COOKIE_ECHOED = "cookie-echoed"
    ESTABLISHED = "established"
    SHUTDOWN_PENDING = "shutdown-pending"
    SHUTDOWN_SENT = "shutdown-sent"
    SHUTDOWN_RECEIVED = "shutdown-received"
    SHUTDOWN_ACK_SENT = "shutdown-ack-sent"


@dataclass(frozen=True, slots=True)
class AssociationEstablished:
    pass


@dataclass(frozen=True, slots=True)
class AssociationClosed:
    """The SHUTDOWN sequence completed."""


@dataclass(frozen=True, slots=True)
class AssociationAborted:
    reason: str
    by_peer: bool


@dataclass(frozen=True, slots=True)
class MessageReceived:
    stream_id: int
    ppid: int
    data: bytes
    unordered: bool = False
    # What the message occupies in the receive window until polled (payload + overheads).
    window_cost: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class StreamsReset:
    """Streams were reset: ``outgoing`` is True when our own request was performed by the
    peer, False when the peer reset its outgoing streams (our incoming ones)."""

    stream_ids: tuple[int, ...]
    outgoing: bool


@dataclass(frozen=True, slots=True)
class BufferedAmountLow:
    stream_id: int


@dataclass(frozen=True, slots=True)
class StreamError:
    """A problem confined to one incoming stream (e.g. an oversized message was discarded)."""

    stream_id: int
    reason: str


Event = (
    AssociationEstablished
    | AssociationClosed
    | AssociationAborted
    | MessageReceived
    | StreamsReset
    | BufferedAmountLow
    | StreamError
)


@dataclass(frozen=True, slots=True)
class SctpConfig:
    """Association settings. Times are in seconds, sizes in bytes."""

    local_port: int = 5000
    remote_port: int = 5000
    max_message_size: int = 262144  # what we accept (advertised in SDP, RFC 8841)
    remote_max_message_size: int = 262144  # what the peer accepts (from its SDP)
    mtu: int = 1200  # SCTP packet size; DTLS and UDP headers come on top (RFC 8261 §5)
    receive_window: int = 1 << 20
    rto_initial: float = 1.0
    rto_min: float = 0.2  # RFC 9260 says 1 s; WebRTC stacks use less
    rto_max: float = 10.0
    max_timer_backoff: float = MAX_TIMER_BACKOFF  # T1, T2 and T3 (see MAX_TIMER_BACKOFF)
    delayed_ack: float = 0.2
    heartbeat_interval: float = 30.0
    # Association.Max.Retrans; None: never abort for it (WEBRTC_MAX_RETRANS). The shutdown
    # timer stays bounded by ASSOCIATION_MAX_RETRANS either way.
    max_retransmits: int | None = ASSOCIATION_MAX_RETRANS
    max_init_retransmits: int = MAX_INIT_RETRANSMITS
    cookie_secret: bytes | None = None


@dataclass(slots=True)
class SctpStats:
    packets_sent: int = 0
    packets_received: int = 0
    bad_checksum: int = 0
    bad_tag: int = 0
    malformed: int = 0
    data_dropped: int = 0
    duplicate_tsns: int = 0
    retransmitted_chunks: int = 0
    fast_retransmits: int = 0
    t3_expirations: int = 0
    abandoned_messages: int = 0
    messages_sent: int = 0
    messages_received: int = 0


class _OutMessage:
    __slots__ = (
        "abandoned",
        "counted",
        "expires",
        "max_retransmits",
        "ordered",
        "ppid",
        "ssn",
        "started",
        "stream_id",
    )

    def __init__(
        self,
        stream_id: int,
        ssn: int,
        ordered: bool,
        max_retransmits: int | None,
        expires: float | None,
    ) -> None:
        self.stream_id = stream_id
        self.ssn = ssn
        self.ordered = ordered
        self.max_retransmits = max_retransmits
        self.expires = expires
        self.abandoned = False
        self.started = False  # a fragment has been given a TSN
        self.ppid = 0
        self.counted = True  # in the stream's buffered amount (application data)


class _OutChunk:
    __slots__ = (
        "acked",
        "data",
        "fast_rtx",
        "flags",
        "forced",
        "in_flight",
        "message",
        "misses",
        "needs_rtx",
        "ppid",
        "sent_at",
        "sent_count",
        "tsn",
    )

    def __init__(self, message: _OutMessage, flags: int, ppid: int, data: bytes) -> None:
        self.message = message
        self.flags = flags
        self.ppid = ppid
        self.data = data
        self.tsn = 0
        self.sent_count = 0
        self.sent_at = 0.0
        self.acked = False
        self.in_flight = False
        self.needs_rtx = False
        self.fast_rtx = False  # fast-retransmitted once already (§7.2.4: only once)
        self.forced = False  # a fast retransmission waiting to go out regardless of cwnd
        self.misses = 0

    def encode(self) -> bytes:
        m = self.message
        length = 16 + len(self.data)
        return (
            _DATA_HEADER.pack(
                c.DATA,
                self.flags,
                length,
                self.tsn & 0xFFFFFFFF,
                m.stream_id,
                m.ssn & 0xFFFF,
                self.ppid,
            )
            + self.data
            + b"\x00" * (-length & 3)
        )


@dataclass(slots=True)
class _Cookie:
    my_tag: int
    peer_tag: int
    my_tsn: int
    peer_tsn: int
    peer_rwnd: int
    peer_in_streams: int
    peer_out_streams: int
    created: float
    forward_tsn: bool
    reconfig: bool


@dataclass(slots=True)
class _Timer:
    deadline: float | None = None
    attempts: int = 0

    def start(self, at: float) -> None:
        self.deadline = at

    def stop(self) -> None:
        self.deadline = None
        self.attempts = 0


@dataclass(slots=True)
class _ResetRequest:
    seq: int
    streams: tuple[int, ...]
    last_tsn: int


class _Violation(Exception):
    """Internal: a protocol violation that aborts the association."""


@dataclass(slots=True)
class _Deferred:
    request: c.OutgoingResetRequest
    last_tsn: int


class SctpAssociation:
    """One SCTP association over one DTLS connection."""

    # Slots, not a __dict__: one per peer connection; a dict this size costs ~1.6 KiB.
    __slots__ = (
        "_ack_timer",
        "_advanced_ack_point",
        "_buffered",
        "_cookie_ack_due",
        "_cookie_echo",
        "_cum_acked",
        "_cwnd",
        "_dirty",
        "_duplicates",
        "_error_count",
        "_events",
        "_fast_recovery_exit",
        "_flight_size",
        "_forward_tsn_due",
        "_forward_tsn_sent_at",
        "_hb_outstanding",
        "_hb_timer",
        "_highest_received",
        "_idle_ssn",
        "_inflight",
        "_init_bytes",
        "_init_tsn",
        "_last_reconfig_response",
        "_last_rwnd_sent",
        "_low_threshold",
        "_max_payload",
        "_mtu",
        "_my_tag",
        "_next_ssn",
        "_next_tsn",
        "_now",
        "_packets_unacked",
        "_partial_bytes_acked",
        "_peer_cum",
        "_peer_forward_tsn",
        "_peer_in_streams",
        "_peer_out_streams",
        "_peer_reconfig",
        "_peer_reconfig_seq",
        "_peer_rwnd",
        "_peer_tag",
        "_pending",
        "_received",
        "_reconfig_seq",
        "_reconfig_timer",
        "_reset_deferred",
        "_reset_outstanding",
        "_reset_wanted",
        "_rto",
        "_rtt_probe",
        "_rttvar",
        "_rtx_count",
        "_rx_cost",
        "_sack_due",
        "_secret",
        "_srtt",
        "_ssthresh",
        "_streams",
        "_t1",
        "_t2",
        "_t3",
        "_terminated",
        "_tx",
        "config",
        "init_answered",
        "is_client",
        "reading",
        "state",
        "stats",
    )

    def __init__(self, config: SctpConfig | None = None, *, is_client: bool = True) -> None:
        self.config = cfg = config or SctpConfig()
        if cfg.receive_window < cfg.max_message_size + 4 * cfg.mtu:
            # A message must fit in the window, or its reassembly could never complete.
            raise ValueError("receive_window must exceed max_message_size by four packets")
        if not 256 <= cfg.mtu <= 65535:
            raise ValueError("mtu must be between 256 and 65535 bytes")
        self.is_client = is_client
        self.state = State.CLOSED
        self.stats = SctpStats()
        self._terminated = False
        # An INIT was answered while CLOSED: the peer is setting the association up.
        self.init_answered = False
        self._secret = cfg.cookie_secret or os.urandom(32)
        # A list: an empty deque costs 760 bytes, an empty list 56 (memory per idle session).
        # The events stay a deque, made on the first one (_event) and given back once they are
        # all polled: they pile up while ``reading`` is False.
        self._tx: list[Transmit] = []
        self._events: deque[Event] = _NO_ITEMS
        self._dirty = False
        self.reading = True  # False holds messages back: the receive window then fills
        self._now = 0.0
        self._mtu = cfg.mtu
        self._max_payload = cfg.mtu - HEADER_SIZE - 16

        self._my_tag = self._random32(nonzero=True)
        self._peer_tag = 0
        self._init_tsn = self._random32()
        self._next_tsn = self._init_tsn
        self._cum_acked = self._init_tsn - 1  # highest TSN cumulatively acked by the peer
        self._init_bytes = b""
        self._cookie_echo = b""
        # The COOKIE ACK that establishes us waits for the next packetization, so that the
        # first DATA and SACK share its packet (RFC 9260 §5.1: it may be bundled, first).
        self._cookie_ack_due = False
        self._peer_forward_tsn = False
        self._peer_reconfig = False
        self._peer_in_streams = MAX_STREAMS

        # Sender.
        # Made on first use like the events and given back once drained (poll).
        self._pending: deque[_OutChunk] = _NO_ITEMS
        self._inflight: deque[_OutChunk] = _NO_ITEMS  # TSN order, index 0 is cum_acked + 1
        self._rtx_count = 0
        self._flight_size = 0
        self._peer_rwnd = 0
        self._cwnd = min(4 * self._mtu, max(2 * self._mtu, 4380))
        self._ssthresh = 1 << 30
        self._partial_bytes_acked = 0
        self._fast_recovery_exit: int | None = None
        self._advanced_ack_point = self._cum_acked
        self._forward_tsn_due = False
        self._forward_tsn_sent_at = 0.0
        self._srtt: float | None = None
        self._rttvar = 0.0
        self._rto = cfg.rto_initial
        self._rtt_probe: _OutChunk | None = None
        self._error_count = 0
        self._next_ssn: dict[int, int] = {}
        self._buffered: dict[int, int] = {}
        self._low_threshold: dict[int, int] = {}

        # Receiver.
        self._peer_cum = 0  # highest TSN received in sequence from the peer
        self._received: set[int] = _NO_TSNS  # out of order, above _peer_cum
        self._highest_received = 0
        self._duplicates: list[int] = []
        self._streams: dict[int, InboundStream] = {}
        self._idle_ssn: dict[int, int] = {}  # next SSN of streams compacted out of _streams
        self._rx_cost = 0
        self._sack_due = False
        self._packets_unacked = 0
        self._last_rwnd_sent = cfg.receive_window

        # Timers.
        self._t1 = _Timer()
        self._t2 = _Timer()
        self._t3 = _Timer()
        self._ack_timer = _Timer()
        self._hb_timer = _Timer()
        self._reconfig_timer = _Timer()
        self._hb_outstanding: bytes | None = None

        # Stream reset (RFC 6525).
        # RFC 6525 §5.1.1: request sequence numbers start at the sender's initial TSN (peers
        # such as Chrome's dcSCTP reject anything else), so both are set at establishment.
        self._reconfig_seq = 0
        self._peer_reconfig_seq = 0  # last request seq handled from the peer
        self._last_reconfig_response: c.ReconfigResponse | None = None
        self._reset_outstanding: _ResetRequest | None = None
        self._reset_wanted: list[int] = []
        self._reset_deferred: _Deferred | None = None

    # ------------------------------------------------------------------ public API

    @property
    def is_established(self) -> bool:
        return self.state is State.ESTABLISHED

    @property
    def supports_stream_reset(self) -> bool:
        """The peer announced RE-CONFIG (RFC 6525) in its INIT or INIT ACK."""
        return self._peer_reconfig

    @property
    def max_message_size(self) -> int:
        return self.config.remote_max_message_size

    def connect(self, now: float) -> None:
        """Send INIT. In WebRTC both ends may do this; the collision is handled (§5.2.1)."""
        self._now = now
        if self.state is not State.CLOSED or self._terminated:
            raise InvalidStateError(f"cannot connect in state {self.state.value}")
        init = c.InitChunk(
            self._my_tag,
            self.config.receive_window,
            MAX_STREAMS,
            MAX_STREAMS,
            self._init_tsn & 0xFFFFFFFF,
            self._extension_params(),
        )
        self._init_bytes = bytes(init)
        self._state(State.COOKIE_WAIT)
        self._send_packet(self._init_bytes, tag=0)
        self._t1.attempts = 0
        self._t1.start(now + self._rto)

    def send(
        self,
        stream_id: int,
        ppid: int,
        data: bytes,
        now: float,
        *,
        ordered: bool = True,
        max_retransmits: int | None = None,
        lifetime: float | None = None,
        counted: bool = True,
    ) -> None:
        """Queue one user message. ``lifetime`` (seconds) and ``max_retransmits`` select
        RFC 3758 partial reliability; both None means reliable. ``counted=False`` leaves it
        out of the stream's buffered amount (a DCEP message: W3C ``bufferedAmount`` counts
        what the application sent)."""
        self._now = now
        if self.state is not State.ESTABLISHED:
            raise InvalidStateError(f"cannot send in state {self.state.value}")
        if len(data) > self.config.remote_max_message_size:
            raise MessageTooLarge(
                f"message of {len(data)} bytes exceeds the peer's max-message-size "
                f"{self.config.remote_max_message_size}"
            )
        if not 0 <= stream_id < min(MAX_STREAMS, self._peer_in_streams):
            raise ValueError(f"stream id {stream_id} out of range")
        if not data:
            raise ValueError("SCTP cannot carry an empty message; send a one-byte payload")
        if not self._peer_forward_tsn:
            max_retransmits = lifetime = None
        # Ordered messages get their SSN when the first fragment gets its TSN, so that a
        # message abandoned before sending leaves no hole in the sequence (RFC 3758 §3.5).
        message = _OutMessage(
            stream_id,
            0,
            ordered,
            max_retransmits,
            now + lifetime if lifetime is not None else None,
        )
        base = 0 if ordered else 4
        size = self._max_payload
        n = len(data)
        view = memoryview(data)
        pending = self._pending
        if pending is _NO_ITEMS:
            pending = self._pending = deque()
        for offset in range(0, n, size):
            flags = base | (2 if offset == 0 else 0) | (1 if offset + size >= n else 0)
            pending.append(
                _OutChunk(message, flags, ppid, bytes(view[offset : offset + size]))
            )
        if counted:
            self._buffered[stream_id] = self._buffered.get(stream_id, 0) + n
        else:
            message.counted = False
        self.stats.messages_sent += 1
        self._dirty = True

    def buffered_amount(self, stream_id: int) -> int:
        """Bytes queued on ``stream_id`` and not yet handed to the network once."""
        return self._buffered.get(stream_id, 0)

    def set_buffered_amount_low_threshold(self, stream_id: int, threshold: int) -> None:
        self._low_threshold[stream_id] = threshold

    def reset_streams(self, stream_ids: list[int] | tuple[int, ...], now: float) -> None:
        """Reset our outgoing streams (RFC 6525 §5.1.2), e.g. to close a data channel.

        The request goes out once every message already queued on those streams has been
        given a TSN; ``StreamsReset(outgoing=True)`` follows the peer's response."""
        self._now = now
        if self.state is not State.ESTABLISHED:
            return
        for sid in stream_ids:
            if sid not in self._reset_wanted:
                self._reset_wanted.append(sid)
        self._dirty = True  # the next poll() sends the request

    def shutdown(self, now: float) -> None:
        """Graceful close (RFC 9260 §9.2): deliver what is queued, then SHUTDOWN."""
        self._now = now
        if self.state is State.ESTABLISHED:
            self._state(State.SHUTDOWN_PENDING)
            self._maybe_progress_shutdown()
        elif self.state in (State.COOKIE_WAIT, State.COOKIE_ECHOED, State.CLOSED):
            self._terminate(AssociationClosed())

    def abort(self, reason: str = "") -> None:
        """Send ABORT with a user-initiated-abort cause and close immediately (§9.1)."""
        if self._terminated:
            return
        if self.state not in (State.CLOSED, State.COOKIE_WAIT):
            cause = c.ErrorCause(c.CAUSE_USER_ABORT, reason.encode()[:512])
            self._send_packet(bytes(c.AbortChunk(False, (cause,))))
        self._terminate(AssociationAborted(reason or "aborted locally", by_peer=False))

    def receive(self, data: bytes, now: float) -> None:
        """Process one SCTP packet (one DTLS record's payload)."""
        self._now = now
        if self._terminated:
            return
        self.stats.packets_received += 1
        if len(data) < HEADER_SIZE:
            self.stats.malformed += 1
            return
        src, dst, tag, _ = _COMMON_HEADER.unpack_from(data)
        if not checksum_matches(data):
            self.stats.bad_checksum += 1
            return
        if dst != self.config.local_port or src != self.config.remote_port:
            self.stats.malformed += 1
            return
        n = len(data)
        if n >= HEADER_SIZE + 16 and data[HEADER_SIZE] == c.DATA:
            _, flags, length, tsn, sid, ssn, ppid = _DATA_HEADER.unpack_from(data, HEADER_SIZE)
            if 0 <= n - HEADER_SIZE - length < 4 and length >= 16:
                # The bulk case, one DATA chunk filling the packet: what parse_chunks and
                # _handle_packet would do, without building a chunk list.
                if tag != self._my_tag or self.state is State.CLOSED:
                    self.stats.bad_tag += 1
                    return
                user_data = bytes(data[HEADER_SIZE + 16 : HEADER_SIZE + length])
                chunk = c.DataChunk(flags, tsn, sid, ssn, ppid, user_data)
                try:
                    self._on_data(chunk)
                except _Violation as exc:
                    self._violation(str(exc))
                    return
                self._data_packet_received(now)
                self._answer_later(now)
                return
        try:
            chunks = parse_chunks(data, HEADER_SIZE)
        except SctpError as error:  # not `exc`: mypyc gives one name one type per function
            self.stats.malformed += 1
            log.debug("dropping SCTP packet: %s", error)
            return
        if not chunks:
            self.stats.malformed += 1
            return
        try:
            self._handle_packet(tag, chunks, now)
        except _Violation as exc:
            self._violation(str(exc))
            return
        self._answer_later(now)

    def _answer_later(self, now: float) -> None:
        """Leave the answer to a received packet to the next poll(), so that packets received
        back to back (one socket read's worth) share one SACK and one packetization pass,
        like TCP's receive offload; but answer now when a SACK is owed for a gap or a
        duplicate (§6.7: at once), or for MAX_PACKETS_PER_SACK packets."""
        if self._sack_due and (
            self._received or self._duplicates or self._packets_unacked >= MAX_PACKETS_PER_SACK
        ):
            self._after_input(now)
        else:
            self._dirty = True

    def tick(self, now: float) -> None:
        """Run expired timers."""
        self._now = now
        if self._terminated:
            return
        if self._t1.deadline is not None and now >= self._t1.deadline:
            self._on_t1(now)
        if self._t2.deadline is not None and now >= self._t2.deadline:
            self._on_t2(now)
        if self._t3.deadline is not None and now >= self._t3.deadline:
            self._on_t3(now)
        if self._ack_timer.deadline is not None and now >= self._ack_timer.deadline:
            self._sack_due = True
        if self._hb_timer.deadline is not None and now >= self._hb_timer.deadline:
            self._on_heartbeat_timer(now)
        if self._reconfig_timer.deadline is not None and now >= self._reconfig_timer.deadline:
            self._on_reconfig_timer(now)
        if not self._terminated:
            self._after_input(now)

    def poll(self) -> Transmit | Event | None:
        """Next packet to send, else the next event, else None.

        Packets come first. While ``reading`` is False, events (messages included) stay
        queued and keep occupying the receive window, which is how an application applies
        back-pressure; a message is released from the window when it is polled."""
        if (
            self._dirty
            and not self._terminated
            # The establishing COOKIE ACK waits while the establishment's events are handed
            # out: what the owner queues on them (a DCEP OPEN, a first message) rides in its
            # packet. The poll that finds no more events sends it, alone or not.
            and not (self._cookie_ack_due and self._events and self.reading)
        ):
            self._after_input(self._now)
        if self._tx:
            return self._tx.pop(0)
        if self._events and self.reading:
            item = self._events.popleft()
            if type(item) is MessageReceived:
                self._release(item)  # may queue a window-update SACK for the next poll
            return item
        # Nothing more to hand out: give back the queues that are drained.
        if not self._events:
            self._events = _NO_ITEMS
        if not self._pending:
            self._pending = _NO_ITEMS
        if not self._inflight:
            self._inflight = _NO_ITEMS
        return None

    def has_event(self) -> bool:
        """Whether :meth:`poll` has an event to hand out (after the packets it has made; what
        it would packetize next is not asked for)."""
        return bool(self._events) and self.reading

    def _event(self, event: Event) -> None:
        events = self._events
        if events is _NO_ITEMS:
            events = self._events = deque()
        events.append(event)

    def deadline(self) -> float | None:
        if self._terminated:
            return None
        # Asked after every datagram of the session (audio too): no list, no min().
        best: float | None = None
        for t in (self._t1, self._t2, self._t3, self._ack_timer, self._hb_timer,
                  self._reconfig_timer):  # fmt: skip
            d = t.deadline
            if d is not None and (best is None or d < best):
                best = d
        return best

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _random32(nonzero: bool = False) -> int:
        while True:
            value = int.from_bytes(os.urandom(4), "big")
            if value or not nonzero:
                return value

    def _extension_params(self) -> tuple[c.Param, ...]:
        return _EXTENSION_PARAMS

    def _state(self, state: State) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("SCTP %s -> %s", self.state.value, state.value)
        self.state = state

    def _send_packet(self, body: bytes, tag: int | None = None) -> None:
        cfg = self.config
        self._tx.append(
            Transmit(
                encode_packet(
                    cfg.local_port, cfg.remote_port, self._peer_tag if tag is None else tag, body
                )
            )
        )
        self.stats.packets_sent += 1

    def _terminate(self, event: Event) -> None:
        self._state(State.CLOSED)
        self._terminated = True
        self._pending.clear()
        self._inflight.clear()
        self._flight_size = self._rtx_count = 0
        self._streams.clear()
        self._idle_ssn.clear()
        self._received.clear()
        for timer in (
            self._t1,
            self._t2,
            self._t3,
            self._ack_timer,
            self._hb_timer,
            self._reconfig_timer,
        ):
            timer.stop()
        self._event(event)

    def _violation(self, reason: str) -> None:
        log.info("SCTP protocol violation, aborting: %s", reason)
        if self.state not in (State.CLOSED, State.COOKIE_WAIT) and not self._terminated:
            cause = c.ErrorCause(c.CAUSE_PROTOCOL_VIOLATION, reason.encode()[:512])
            self._send_packet(bytes(c.AbortChunk(False, (cause,))))
        if not self._terminated:
            self._terminate(AssociationAborted(f"protocol violation: {reason}", by_peer=False))

    def _release(self, message: MessageReceived) -> None:
        self._rx_cost -= message.window_cost
        # Window update (§6.2): tell a peer we had nearly closed that there is room again.
        rwnd = self._rwnd()
        window = self.config.receive_window
        if (
            self._last_rwnd_sent < window // 4
            and rwnd >= window // 2
            and self.state is State.ESTABLISHED
        ):
            self._send_packet(self._sack_bytes())

    def _rwnd(self) -> int:
        return max(0, self.config.receive_window - self._rx_cost)

    # ------------------------------------------------------------------ cookie

    def _make_cookie(self, init: c.InitChunk, my_tag: int, my_tsn: int, now: float) -> bytes:
        fwd, reconf = self._peer_extensions(init)
        body = _COOKIE.pack(
            my_tag,
            init.initiate_tag,
            my_tsn & 0xFFFFFFFF,
            init.inbound_streams,
            init.outbound_streams,
            init.initial_tsn,
            init.a_rwnd,
            now,
            int(fwd),
            int(reconf),
        )
        return body + hmac.new(self._secret, body, hashlib.sha256).digest()

    def _open_cookie(self, cookie: bytes, now: float, fresh: bool = True) -> _Cookie | None:
        """The state cookie, if it is ours (its MAC) and, with ``fresh``, not stale."""
        if len(cookie) != _COOKIE.size + _COOKIE_MAC:
            return None
        body, mac = cookie[: _COOKIE.size], cookie[_COOKIE.size :]
        if not hmac.compare_digest(mac, hmac.new(self._secret, body, hashlib.sha256).digest()):
            return None
        my_tag, peer_tag, my_tsn, p_in, p_out, p_tsn, p_rwnd, created, fwd, reconf = _COOKIE.unpack(
            body
        )
        if fresh and not (created - 1.0 <= now <= created + COOKIE_LIFETIME):
            return None  # stale cookie (§5.1.5 step 3); the peer will retry with a new INIT
        return _Cookie(
            my_tag, peer_tag, my_tsn, p_tsn, p_rwnd, p_in, p_out, created, bool(fwd), bool(reconf)
        )

    @staticmethod
    def _peer_extensions(init: c.InitChunk) -> tuple[bool, bool]:
        fwd = init.param(c.PARAM_FORWARD_TSN_SUPPORTED) is not None
        reconf = False
        ext = init.param(c.PARAM_SUPPORTED_EXTENSIONS)
        if ext is not None:
            fwd = fwd or c.FORWARD_TSN in ext.value
            reconf = c.RECONFIG in ext.value
        return fwd, reconf

    def _adopt_peer(
        self,
        peer_tag: int,
        peer_tsn: int,
        peer_rwnd: int,
        peer_in: int,
        peer_out: int,
        fwd: bool,
        reconf: bool,
    ) -> None:
        self._peer_tag = peer_tag
        self._peer_cum = peer_tsn - 1
        self._highest_received = self._peer_cum
        self._peer_rwnd = peer_rwnd
        self._ssthresh = peer_rwnd
        self._peer_in_streams = peer_in
        self._peer_forward_tsn = fwd
        self._peer_reconfig = reconf
        self._peer_reconfig_seq = (peer_tsn - 1) & 0xFFFFFFFF

    def _established(self, now: float) -> None:
        self._t1.stop()
        self._reconfig_seq = self._init_tsn & 0xFFFFFFFF
        self._state(State.ESTABLISHED)
        self._hb_timer.start(self._next_heartbeat(now))
        self._event(AssociationEstablished())

    # ------------------------------------------------------------------ receive

    def _handle_packet(self, tag: int, chunks: list[c.Chunk], now: float) -> None:
        first = chunks[0]
        first_type = type(first)
        if first_type is c.DataChunk or first_type is c.SackChunk:
            if tag != self._my_tag or self.state is State.CLOSED:
                self.stats.bad_tag += 1
                return
        elif isinstance(first, c.InitChunk) and not isinstance(first, c.InitAckChunk):
            if len(chunks) != 1 or tag != 0:
                self.stats.malformed += 1  # §6.10: INIT must be alone, tag 0
                return
            self._on_init(first, now)
            return
        if isinstance(first, c.CookieEchoChunk):
            self._on_cookie_echo(first, tag, now)
            chunks = chunks[1:]
            if self._terminated or self.state is not State.ESTABLISHED:
                return
        elif isinstance(first, c.AbortChunk | c.ShutdownCompleteChunk):
            expected = self._peer_tag if first.reflected else self._my_tag
            if tag != expected or self.state is State.CLOSED:
                self.stats.bad_tag += 1
                return
        elif tag != self._my_tag or self.state is State.CLOSED:
            self.stats.bad_tag += 1
            return
        saw_data = False
        for chunk in chunks:
            if self._terminated:
                return
            if type(chunk) is c.DataChunk:
                self._on_data(chunk)
                saw_data = True
                continue
            if not self._dispatch(chunk, now):
                break
        if saw_data:
            self._data_packet_received(now)

    def _data_packet_received(self, now: float) -> None:
        """Delayed SACK (§6.2): at once for every second packet or a gap, else on a timer."""
        self._packets_unacked += 1
        if self._packets_unacked >= 2 or self._received or self._duplicates:
            # Owed now; _answer_later decides whether it goes out before the next poll().
            self._sack_due = True
        elif self._ack_timer.deadline is None:
            self._ack_timer.start(now + self.config.delayed_ack)

    def _dispatch(self, chunk: c.Chunk, now: float) -> bool:
        """Handle one non-DATA chunk; False stops processing the rest of the packet."""
        if isinstance(chunk, c.SackChunk):
            self._on_sack(chunk, now)
        elif isinstance(chunk, c.InitAckChunk):
            self._on_init_ack(chunk, now)
        elif isinstance(chunk, c.CookieAckChunk):
            if self.state is State.COOKIE_ECHOED:
                self._established(now)
        elif isinstance(chunk, c.HeartbeatAckChunk):
            self._on_heartbeat_ack(chunk, now)
        elif isinstance(chunk, c.HeartbeatChunk):
            self._send_packet(bytes(c.HeartbeatAckChunk(chunk.info)))
            hb = self._hb_timer
            if hb.deadline is not None and self._error_count == 0 and self._hb_outstanding is None:
                # Heartbeats are for an idle path (RFC 9260 §8.3), and one the peer probes
                # and we answer is not: the answer restarts our interval (libwebrtc's dcsctp
                # restarts it on any packet sent), and one interval further out than usual,
                # so that we are only the backstop of a peer heartbeating every interval: its
                # next heartbeat is due well before our timer, whatever the jitter and the
                # rounding (which alone, at HEARTBEAT_GRANULARITY, often let both sides fire
                # in the same step). One side heartbeats, not both: half the DTLS records of
                # an idle association. A dead peer is still found, one interval later: our
                # timer fires and our heartbeats go unanswered. With an error counted or a
                # heartbeat of ours unanswered we keep ours going, which is what resets the
                # counter (zero-window probing) or finds a dead path.
                hb.start(self._next_heartbeat(now, backstop=True))
        elif isinstance(chunk, c.ForwardTsnChunk):
            self._on_forward_tsn(chunk)
        elif isinstance(chunk, c.ReconfigChunk):
            self._on_reconfig(chunk, now)
        elif isinstance(chunk, c.AbortChunk):
            self._terminate(AssociationAborted(chunk.reason(), by_peer=True))
            return False
        elif isinstance(chunk, c.ShutdownChunk):
            self._on_shutdown(chunk, now)
        elif isinstance(chunk, c.ShutdownAckChunk):
            if self.state in (State.SHUTDOWN_SENT, State.SHUTDOWN_ACK_SENT):
                self._send_packet(bytes(c.ShutdownCompleteChunk()))
                self._terminate(AssociationClosed())
                return False
        elif isinstance(chunk, c.ShutdownCompleteChunk):
            if self.state is State.SHUTDOWN_ACK_SENT:
                self._terminate(AssociationClosed())
                return False
        elif isinstance(chunk, c.ErrorChunk):
            log.info("SCTP peer reported errors: %s", chunk.causes)
        elif isinstance(chunk, c.CookieEchoChunk):
            pass  # only valid first in a packet
        elif isinstance(chunk, c.UnknownChunk):
            action = chunk.type >> 6
            if action & 1:
                cause = c.ErrorCause(c.CAUSE_UNRECOGNIZED_CHUNK, bytes(chunk))
                self._send_packet(bytes(c.ErrorChunk((cause,))))
            return bool(action & 2)  # 00/01 stop processing, 10/11 skip (§3.2)
        return True

    def _on_init(self, init: c.InitChunk, now: float) -> None:
        if init.initiate_tag == 0 or init.outbound_streams == 0 or init.inbound_streams == 0:
            self.stats.malformed += 1  # §3.3.2: invalid INIT; we simply drop it
            return
        if self.state in (State.CLOSED,) and self._terminated:
            return
        if self.state is State.CLOSED:
            # Stateless (§5.1.3): new tag and TSN live only inside the signed cookie.
            my_tag, my_tsn = self._random32(nonzero=True), self._random32()
            self.init_answered = True
        else:
            my_tag, my_tsn = self._my_tag, self._init_tsn
        cookie = self._make_cookie(init, my_tag, my_tsn, now)
        ack = c.InitAckChunk(
            my_tag,
            self.config.receive_window,
            MAX_STREAMS,
            MAX_STREAMS,
            my_tsn & 0xFFFFFFFF,
            (c.Param(c.PARAM_STATE_COOKIE, cookie), *self._extension_params()),
        )
        self._send_packet(bytes(ack), tag=init.initiate_tag)

    def _on_init_ack(self, ack: c.InitChunk, now: float) -> None:
        if self.state is not State.COOKIE_WAIT:
            return
        cookie = ack.param(c.PARAM_STATE_COOKIE)
        if cookie is None or ack.initiate_tag == 0:
            raise _Violation("INIT ACK without a state cookie or with a zero tag")
        fwd, reconf = self._peer_extensions(ack)
        self._adopt_peer(
            ack.initiate_tag,
            ack.initial_tsn,
            ack.a_rwnd,
            ack.inbound_streams,
            ack.outbound_streams,
            fwd,
            reconf,
        )
        self._cookie_echo = bytes(c.CookieEchoChunk(cookie.value))
        self._state(State.COOKIE_ECHOED)
        self._send_packet(self._cookie_echo)
        self._t1.attempts = 0
        self._t1.start(now + self._rto)

    def _on_cookie_echo(self, echo: c.CookieEchoChunk, tag: int, now: float) -> None:
        # A stale cookie still opens the association it made (§5.2.4 step 3: only a stale
        # cookie whose tags differ is discarded): a peer whose COOKIE ACKs were lost keeps
        # echoing it with T1 backed off, past the cookie's lifetime under heavy loss.
        cookie = self._open_cookie(echo.cookie, now, fresh=self.state is State.CLOSED)
        if cookie is None or tag != cookie.my_tag:
            self.stats.bad_tag += 1
            return
        if self.state is State.CLOSED:
            self._my_tag = cookie.my_tag
            self._init_tsn = cookie.my_tsn
            self._next_tsn = self._init_tsn
            self._cum_acked = self._advanced_ack_point = self._init_tsn - 1
        elif cookie.my_tag != self._my_tag:
            self.stats.bad_tag += 1
            return
        elif self.state not in (State.COOKIE_WAIT, State.COOKIE_ECHOED):
            # Duplicate COOKIE ECHO for the association we have (§5.2.4 case D).
            if cookie.peer_tag == self._peer_tag:
                self._send_packet(bytes(c.CookieAckChunk()))
            return
        self._adopt_peer(
            cookie.peer_tag,
            cookie.peer_tsn,
            cookie.peer_rwnd,
            cookie.peer_in_streams,
            cookie.peer_out_streams,
            cookie.forward_tsn,
            cookie.reconfig,
        )
        self._cookie_ack_due = True
        self._dirty = True
        self._established(now)

    def _on_data(self, chunk: c.DataChunk) -> None:
        if self.state not in (
            State.ESTABLISHED,
            State.SHUTDOWN_PENDING,
            State.SHUTDOWN_SENT,
        ):
            return
        if not chunk.user_data:
            raise _Violation(f"DATA chunk TSN {chunk.tsn} without user data")
        cum = self._peer_cum
        tsn = cum + ((chunk.tsn - cum + 0x80000000) & 0xFFFFFFFF) - 0x80000000  # unwrap()
        if tsn <= cum or tsn in self._received:
            if len(self._duplicates) < 32:
                self._duplicates.append(chunk.tsn)
            self.stats.duplicate_tsns += 1
            return
        if tsn != cum + 1 and len(self._received) >= MAX_OUT_OF_ORDER:
            self.stats.data_dropped += 1  # the sender will retransmit it
            self._sack_due = True
            return
        cost = len(chunk.user_data) + CHUNK_OVERHEAD
        window = self.config.receive_window
        # Beyond the advertised window we accept only what fills holes, and never more than
        # one max-size message of slack: a peer that ignores our window is dropped, not stored.
        if (tsn > self._highest_received and self._rx_cost + cost > window) or (
            self._rx_cost + cost > window + self.config.max_message_size
        ):
            self.stats.data_dropped += 1
            self._sack_due = True  # tell the sender the window is closed
            return
        if chunk.stream_id >= MAX_STREAMS:
            self.stats.data_dropped += 1
            return
        if tsn > self._highest_received:
            self._highest_received = tsn
        received = self._received
        if tsn == cum + 1:
            cum = tsn
            if received:
                while cum + 1 in received:
                    cum += 1
                    received.discard(cum)
                if not received:
                    self._received = _NO_TSNS
            self._peer_cum = cum
        else:
            if received is _NO_TSNS:
                received = self._received = set()
            received.add(tsn)
        self._rx_cost += cost
        stream = self._streams.get(chunk.stream_id)
        if stream is None:
            stream = self._stream(chunk.stream_id)
        outcome = stream.add(tsn, chunk)
        if outcome is not NOTHING:
            self._apply(chunk.stream_id, outcome)

    def _stream(self, sid: int) -> InboundStream:
        stream = self._streams[sid] = InboundStream(self.config.max_message_size)
        stream.expected_ssn = self._idle_ssn.pop(sid, 0)
        if len(self._streams) > MAX_ACTIVE_STREAMS:
            # A peer spraying many streams: keep only the next SSN of idle ones (an int
            # instead of an object), so state per stream stays small.
            for other, st in list(self._streams.items()):
                if not st.buffered and other != sid:
                    del self._streams[other]
                    if st.expected_ssn:
                        self._idle_ssn[other] = st.expected_ssn & 0xFFFF
        return stream

    def _apply(self, stream_id: int, outcome: Outcome) -> None:
        self._rx_cost -= outcome.freed
        for message in outcome.messages:
            self.stats.messages_received += 1
            self._event(
                MessageReceived(
                    stream_id, message.ppid, message.data, message.unordered, message.cost
                )
            )
        if outcome.error is not None:
            self._event(StreamError(stream_id, outcome.error))

    def _sack_bytes(self) -> bytes:
        cum = self._peer_cum
        gaps: list[tuple[int, int]] = []
        if self._received:
            start = prev = -1
            for tsn in sorted(self._received):
                off = tsn - cum
                if off > 0xFFFF:
                    break
                if off != prev + 1:
                    if start >= 0:
                        gaps.append((start, prev))
                    start = off
                prev = off
            if start >= 0:
                gaps.append((start, prev))
            gaps = gaps[:64]
        dups = tuple(self._duplicates[:32])
        self._duplicates.clear()
        rwnd = self._rwnd()
        self._last_rwnd_sent = rwnd
        self._sack_due = False
        self._packets_unacked = 0
        self._ack_timer.stop()
        if not gaps and not dups:
            return _PLAIN_SACK.pack(c.SACK, 0, 16, cum & 0xFFFFFFFF, rwnd, 0, 0)
        return bytes(c.SackChunk(cum & 0xFFFFFFFF, rwnd, tuple(gaps), dups))

    def _on_sack(self, sack: c.SackChunk, now: float) -> None:
        if self.state not in (
            State.ESTABLISHED,
            State.SHUTDOWN_PENDING,
            State.SHUTDOWN_RECEIVED,
            State.SHUTDOWN_SENT,
        ):
            return
        cum = unwrap(sack.cumulative_tsn, self._cum_acked, 32)
        if cum < self._cum_acked:
            return  # out of date (§6.2.1 D)
        if cum >= self._next_tsn:
            raise _Violation(f"SACK acknowledges TSN {sack.cumulative_tsn} that was never sent")
        inflight = self._inflight
        acked_bytes = 0
        rtt_sample: float | None = None
        probe = self._rtt_probe
        flight_before = self._flight_size
        newly_acked_highest = 0
        # Cumulative part.
        advanced = cum > self._cum_acked
        for _ in range(cum - self._cum_acked):
            ch = inflight.popleft()
            if ch.in_flight:
                ch.in_flight = False
                self._flight_size -= len(ch.data)
            if ch.needs_rtx:
                ch.needs_rtx = False
                self._rtx_count -= 1
            if not ch.acked and not ch.message.abandoned:
                acked_bytes += len(ch.data)
                newly_acked_highest = ch.tsn
            if ch is probe:
                rtt_sample = now - ch.sent_at
        self._cum_acked = cum
        if self._advanced_ack_point < cum:
            self._advanced_ack_point = cum
        # Gap blocks.
        n = len(inflight)
        for start, end in sack.gaps:
            if start > end or start == 0:
                continue
            for i in range(start - 1, min(end, n)):
                ch = inflight[i]
                if ch.acked:
                    continue
                ch.acked = True
                if ch.in_flight:
                    ch.in_flight = False
                    self._flight_size -= len(ch.data)
                if ch.needs_rtx:
                    ch.needs_rtx = False
                    self._rtx_count -= 1
                if not ch.message.abandoned:
                    acked_bytes += len(ch.data)
                if ch.tsn > newly_acked_highest:
                    newly_acked_highest = ch.tsn
                if ch is probe:
                    rtt_sample = now - ch.sent_at
        if rtt_sample is not None and probe is not None:
            self._rtt_probe = None
            self._update_rto(rtt_sample)
        self._peer_rwnd = max(0, sack.a_rwnd - self._flight_size)
        if acked_bytes or self._window_closed(sack.a_rwnd):
            # A closed window answered by SACKs is zero-window probing, not a dead peer
            # (RFC 9260 §6.1 A).
            self._error_count = 0
        # Congestion control (§7.2.1, §7.2.2).
        if self._fast_recovery_exit is not None and cum >= self._fast_recovery_exit:
            self._fast_recovery_exit = None
        if advanced and self._fast_recovery_exit is None:
            if self._cwnd <= self._ssthresh:
                if flight_before >= self._cwnd - self._mtu:
                    self._cwnd += min(acked_bytes, self._mtu)
            else:
                self._partial_bytes_acked += acked_bytes
                if self._partial_bytes_acked >= self._cwnd and flight_before >= self._cwnd:
                    self._partial_bytes_acked -= self._cwnd
                    self._cwnd += self._mtu
        # Miss indications and fast retransmit (§7.2.4).
        if newly_acked_highest and sack.gaps:
            self._count_misses(newly_acked_highest, now)
        # Retransmission timer (§6.3.2 R2, R3).
        self._update_ack_point()
        forward_pending = self._advanced_ack_point > self._cum_acked
        if not self._flight_size and not self._rtx_count and not forward_pending:
            self._t3.stop()
        elif advanced or self._t3.deadline is None:
            # Also guards an unacknowledged FORWARD TSN: T3 expiry sends it again.
            self._t3.start(now + self._rto)
        if self.state in (State.SHUTDOWN_PENDING, State.SHUTDOWN_RECEIVED):
            self._maybe_progress_shutdown()

    def _count_misses(self, highest: int, now: float) -> None:
        started_recovery = False
        for ch in list(self._inflight):  # abandoning may append a tail chunk
            if ch.tsn >= highest:
                break
            if ch.acked or ch.message.abandoned or ch.needs_rtx or not ch.in_flight:
                continue
            ch.misses += 1
            if ch.misses >= 3 and not ch.fast_rtx:
                ch.misses = 0
                if self._abandon_if_expired(ch, now):
                    continue
                ch.fast_rtx = ch.forced = True
                self._mark_rtx(ch)
                self.stats.fast_retransmits += 1
                if self._fast_recovery_exit is None and not started_recovery:
                    started_recovery = True
                    self._ssthresh = max(self._cwnd // 2, 4 * self._mtu)
                    self._cwnd = self._ssthresh
                    self._partial_bytes_acked = 0
                    self._fast_recovery_exit = self._next_tsn - 1

    def _mark_rtx(self, ch: _OutChunk) -> None:
        if ch.in_flight:
            ch.in_flight = False
            self._flight_size -= len(ch.data)
        if not ch.needs_rtx:
            ch.needs_rtx = True
            self._rtx_count += 1
        if ch is self._rtt_probe:
            self._rtt_probe = None  # Karn's rule (§6.3.1 C5)

    def _abandon_if_expired(self, ch: _OutChunk, now: float) -> bool:
        m = ch.message
        if m.abandoned:
            return True
        if (m.max_retransmits is not None and ch.sent_count > m.max_retransmits) or (
            m.expires is not None and now >= m.expires
        ):
            self._abandon(m)
            return True
        return False

    def _abandon(self, message: _OutMessage) -> None:
        """RFC 3758 §3.5 A1-A3: give up on every fragment of ``message``."""
        message.abandoned = True
        self.stats.abandoned_messages += 1
        for ch in self._inflight:
            if ch.message is message:
                if ch.in_flight:
                    ch.in_flight = False
                    self._flight_size -= len(ch.data)
                if ch.needs_rtx:
                    ch.needs_rtx = False
                    self._rtx_count -= 1
                if ch is self._rtt_probe:
                    self._rtt_probe = None
        if self._pending and any(ch.message is message for ch in self._pending):
            unsent = [ch for ch in self._pending if ch.message is message]
            if message.started:
                # Part of the message is out: give the missing tail a TSN that is abandoned
                # at once, so FORWARD TSN tells the receiver to drop the partial message.
                tail = _OutChunk(message, (0 if message.ordered else 4) | 1, message.ppid, b"")
                tail.tsn = self._next_tsn
                self._next_tsn += 1
                if self._inflight is _NO_ITEMS:
                    self._inflight = deque()
                self._inflight.append(tail)
            keep = [ch for ch in self._pending if ch.message is not message]
            # In place: _flush may be iterating this very deque.
            self._pending.clear()
            self._pending.extend(keep)
            if message.counted:
                self._drain_buffered(message.stream_id, sum(len(ch.data) for ch in unsent))
        self._update_ack_point()

    def _update_ack_point(self) -> None:
        if not self._peer_forward_tsn:
            return
        point = self._advanced_ack_point
        i = point - self._cum_acked
        inflight = self._inflight
        while i < len(inflight) and inflight[i].message.abandoned:
            i += 1
            point += 1
        if point > self._advanced_ack_point:
            self._advanced_ack_point = point
        if self._advanced_ack_point > self._cum_acked:
            self._forward_tsn_due = True

    def _forward_tsn_bytes(self) -> bytes:
        streams: dict[int, int] = {}
        for i in range(self._advanced_ack_point - self._cum_acked):
            m = self._inflight[i].message
            if m.ordered:
                streams[m.stream_id] = m.ssn & 0xFFFF
        self._forward_tsn_due = False
        self._forward_tsn_sent_at = self._now
        return bytes(
            c.ForwardTsnChunk(self._advanced_ack_point & 0xFFFFFFFF, tuple(sorted(streams.items())))
        )

    def _on_forward_tsn(self, fwd: c.ForwardTsnChunk) -> None:
        if self.state not in (State.ESTABLISHED, State.SHUTDOWN_PENDING, State.SHUTDOWN_SENT):
            return
        new_cum = unwrap(fwd.new_cumulative_tsn, self._peer_cum, 32)
        self._sack_due = True
        if new_cum <= self._peer_cum:
            return
        if new_cum - self._peer_cum > 1 << 24:
            raise _Violation("FORWARD TSN jumps implausibly far")
        received = self._received
        for t in [t for t in received if t <= new_cum]:
            received.discard(t)
        cum = new_cum
        while cum + 1 in received:
            cum += 1
            received.discard(cum)
        self._peer_cum = cum
        if self._highest_received < cum:
            self._highest_received = cum
        listed = dict(fwd.streams)
        for sid, stream in list(self._streams.items()):
            if sid in listed or stream.unordered:
                self._apply(sid, stream.forward(new_cum, listed.get(sid)))
        for sid, ssn in listed.items():
            if sid not in self._streams and sid < MAX_STREAMS:
                self._apply(sid, self._stream(sid).forward(new_cum, ssn))

    def _update_rto(self, r: float) -> None:
        if self._srtt is None:
            self._srtt = r
            self._rttvar = r / 2
        else:
            self._rttvar = (1 - BETA) * self._rttvar + BETA * abs(self._srtt - r)
            self._srtt = (1 - ALPHA) * self._srtt + ALPHA * r
        cfg = self.config
        self._rto = min(cfg.rto_max, max(cfg.rto_min, self._srtt + 4 * self._rttvar))

    # ------------------------------------------------------------------ heartbeat

    def _on_heartbeat_ack(self, ack: c.HeartbeatChunk, now: float) -> None:
        if self._hb_outstanding is None or len(ack.info) != 24:
            return
        sent_at, nonce = struct.unpack("!d16s", ack.info)
        if nonce != self._hb_outstanding[8:]:
            return
        self._hb_outstanding = None
        self._error_count = 0
        if now >= sent_at:
            self._update_rto(now - sent_at)

    def _window_closed(self, a_rwnd: int) -> bool:
        """The peer's window takes no chunk we have outstanding: 0, or a few bytes below the
        first one's size (what a receiver that has stopped reading advertises). Its SACKs
        then answer window probes, which it drops."""
        if a_rwnd == 0:
            return True
        inflight = self._inflight  # its first is cum_acked + 1: never acknowledged
        return bool(inflight) and a_rwnd < len(inflight[0].data)

    def _next_heartbeat(self, now: float, backstop: bool = False) -> float:
        """When an idle path is heartbeat next: HB.interval plus the RTO jittered by ±50 %
        (RFC 9260 §8.3), which keeps two peers' timers from firing together for ever (then
        both would heartbeat, each with one outstanding when the other's arrives); rounded up
        to HEARTBEAT_GRANULARITY, so that the associations of a server share timer wake-ups
        (the jitter still separates two peers' timers over the rounds, and an answering side
        defers its own by an interval, ``backstop``: see _dispatch)."""
        interval = self.config.heartbeat_interval * (2 if backstop else 1)
        due = now + interval + self._rto * (0.5 + HEARTBEAT_JITTER.random())
        return math.ceil(due / HEARTBEAT_GRANULARITY) * HEARTBEAT_GRANULARITY

    def _on_heartbeat_timer(self, now: float) -> None:
        if self.state is not State.ESTABLISHED:
            self._hb_timer.stop()
            return
        if self._hb_outstanding is not None:
            self._error_count += 1
            limit = self.config.max_retransmits
            if limit is not None and self._error_count > limit:
                self._fail("peer unreachable: heartbeats unanswered")
                return
        info = struct.pack("!d", now) + os.urandom(16)
        self._hb_outstanding = info
        self._send_packet(bytes(c.HeartbeatChunk(info)))
        self._hb_timer.start(self._next_heartbeat(now))

    def _fail(self, reason: str) -> None:
        cause = c.ErrorCause(c.CAUSE_USER_ABORT, reason.encode())
        self._send_packet(bytes(c.AbortChunk(False, (cause,))))
        self._terminate(AssociationAborted(reason, by_peer=False))

    # ------------------------------------------------------------------ timers

    def _backoff(self, base: float, expiries: int) -> float:
        """A set-up or shutdown timer after ``expiries`` expiries: ``base`` doubled each time,
        up to ``max_timer_backoff`` (never below ``base`` itself) and RTO.Max."""
        cfg = self.config
        return min(cfg.rto_max, max(base, cfg.max_timer_backoff), base * 2.0**expiries)

    def _on_t1(self, now: float) -> None:
        self._t1.attempts += 1
        if self._t1.attempts > self.config.max_init_retransmits:
            self._terminate(AssociationAborted("association setup timed out", by_peer=False))
            return
        if self.state is State.COOKIE_WAIT:
            self._send_packet(self._init_bytes, tag=0)
        elif self.state is State.COOKIE_ECHOED:
            self._send_packet(self._cookie_echo)
        else:
            self._t1.stop()
            return
        self._t1.start(now + self._backoff(self.config.rto_initial, self._t1.attempts))

    def _on_t2(self, now: float) -> None:
        self._t2.attempts += 1
        limit = self.config.max_retransmits
        if self._t2.attempts > (ASSOCIATION_MAX_RETRANS if limit is None else limit):
            self._fail("shutdown timed out")
            return
        self._send_shutdown_step()
        self._t2.start(now + self._backoff(self._rto, self._t2.attempts))

    def _on_t3(self, now: float) -> None:
        """§6.3.3: back off, collapse cwnd, and retransmit everything outstanding."""
        self.stats.t3_expirations += 1
        self._error_count += 1
        limit = self.config.max_retransmits
        if limit is not None and self._error_count > limit:
            self._fail("peer unreachable: data retransmitted too often")
            return
        # E2 doubles the RTO, up to the backoff cap (never below the RTO the path measured).
        cfg = self.config
        self._rto = min(cfg.rto_max, max(self._rto, cfg.max_timer_backoff), self._rto * 2)
        self._ssthresh = max(self._cwnd // 2, 4 * self._mtu)
        self._cwnd = self._mtu
        self._partial_bytes_acked = 0
        self._fast_recovery_exit = None
        for ch in list(self._inflight):  # abandoning may append a tail chunk
            if ch.acked or ch.message.abandoned:
                continue
            if not self._abandon_if_expired(ch, now):
                self._mark_rtx(ch)
        if self._advanced_ack_point > self._cum_acked:
            self._forward_tsn_due = True
        if self._inflight or self._pending:
            self._t3.start(now + self._rto)
        else:
            self._t3.stop()

    # ------------------------------------------------------------------ shutdown

    def _on_shutdown(self, chunk: c.ShutdownChunk, now: float) -> None:
        fake = c.SackChunk(chunk.cumulative_tsn, self._peer_rwnd + self._flight_size)
        self._on_sack(fake, now)
        if self.state in (State.ESTABLISHED, State.SHUTDOWN_PENDING):
            self._state(State.SHUTDOWN_RECEIVED)
            self._maybe_progress_shutdown()
        elif self.state is State.SHUTDOWN_SENT:
            # Both sides shut down at once (§9.2): answer with SHUTDOWN ACK.
            self._state(State.SHUTDOWN_ACK_SENT)
            self._send_shutdown_step()
            self._t2.attempts = 0
            self._t2.start(now + self._rto)

    def _maybe_progress_shutdown(self) -> None:
        if self._pending or self._inflight:
            return
        if self.state is State.SHUTDOWN_PENDING:
            self._state(State.SHUTDOWN_SENT)
        elif self.state is State.SHUTDOWN_RECEIVED:
            self._state(State.SHUTDOWN_ACK_SENT)
        else:
            return
        self._t3.stop()
        self._hb_timer.stop()
        self._send_shutdown_step()
        self._t2.attempts = 0
        self._t2.start(self._now + self._rto)

    def _send_shutdown_step(self) -> None:
        if self.state is State.SHUTDOWN_SENT:
            self._send_packet(bytes(c.ShutdownChunk(self._peer_cum & 0xFFFFFFFF)))
        elif self.state is State.SHUTDOWN_ACK_SENT:
            self._send_packet(bytes(c.ShutdownAckChunk()))

    # ------------------------------------------------------------------ stream reset

    def _on_reconfig(self, chunk: c.ReconfigChunk, now: float) -> None:
        if self.state is not State.ESTABLISHED:
            return
        responses: list[c.ReconfigResponse] = []
        for param in chunk.params:
            if isinstance(param, c.OutgoingResetRequest):
                responses.append(self._on_outgoing_reset(param))
            elif isinstance(param, c.IncomingResetRequest):
                responses.append(c.ReconfigResponse(param.request_seq, c.RESULT_DENIED))
            elif isinstance(param, c.ReconfigResponse):
                self._on_reconfig_response(param, now)
        if responses:
            self._send_packet(bytes(c.ReconfigChunk(tuple(responses))))

    def _on_outgoing_reset(self, req: c.OutgoingResetRequest) -> c.ReconfigResponse:
        seq = req.request_seq
        last = self._peer_reconfig_seq
        if seq == last and self._last_reconfig_response is not None:
            return self._last_reconfig_response  # retransmitted request (§5.2.1)
        if seq != (last + 1) & 0xFFFFFFFF:
            return c.ReconfigResponse(seq, c.RESULT_ERROR_BAD_SEQ)
        last_tsn = unwrap(req.last_tsn, self._peer_cum, 32)
        if last_tsn > self._peer_cum:
            # Deferred reset (RFC 6525 §5.2.2): data up to last_tsn is still missing.
            self._reset_deferred = _Deferred(req, last_tsn)
            return c.ReconfigResponse(seq, c.RESULT_IN_PROGRESS)
        self._peer_reconfig_seq = seq
        self._perform_incoming_reset(req.streams)
        response = c.ReconfigResponse(seq, c.RESULT_SUCCESS_PERFORMED)
        self._last_reconfig_response = response
        return response

    def _perform_incoming_reset(self, streams: tuple[int, ...]) -> None:
        targets = streams or tuple(sorted(set(self._streams) | set(self._idle_ssn)))
        for sid in targets:
            self._idle_ssn.pop(sid, None)
            stream = self._streams.pop(sid, None)
            if stream is not None:
                self._rx_cost -= stream.reset()
        self._event(StreamsReset(tuple(targets), outgoing=False))

    def _check_deferred_reset(self) -> None:
        deferred = self._reset_deferred
        if deferred is not None and self._peer_cum >= deferred.last_tsn:
            self._reset_deferred = None
            self._peer_reconfig_seq = deferred.request.request_seq
            self._perform_incoming_reset(deferred.request.streams)
            self._last_reconfig_response = c.ReconfigResponse(
                deferred.request.request_seq, c.RESULT_SUCCESS_PERFORMED
            )

    def _on_reconfig_response(self, resp: c.ReconfigResponse, now: float) -> None:
        req = self._reset_outstanding
        if req is None or resp.response_seq != req.seq & 0xFFFFFFFF:
            return
        if resp.result == c.RESULT_IN_PROGRESS:
            self._reconfig_timer.start(now + self._rto)
            return
        self._reset_outstanding = None
        self._reconfig_timer.stop()
        self._reconfig_seq += 1
        if resp.result in (c.RESULT_SUCCESS_PERFORMED, c.RESULT_SUCCESS_NOTHING):
            for sid in req.streams:
                self._next_ssn.pop(sid, None)
            self._event(StreamsReset(req.streams, outgoing=True))
        else:
            log.info("SCTP peer refused stream reset %s: result %d", req.streams, resp.result)
            self._event(StreamsReset(req.streams, outgoing=True))

    def _maybe_send_reset(self, now: float) -> None:
        if self._reset_outstanding is not None or not self._reset_wanted:
            return
        if not self._peer_reconfig:
            # Without RE-CONFIG support the stream simply stops being used.
            streams = tuple(self._reset_wanted)
            self._reset_wanted.clear()
            self._event(StreamsReset(streams, outgoing=True))
            return
        busy = {ch.message.stream_id for ch in self._pending}
        ready = tuple(s for s in self._reset_wanted if s not in busy)
        if not ready:
            return
        self._reset_wanted = [s for s in self._reset_wanted if s not in ready]
        self._reset_outstanding = _ResetRequest(self._reconfig_seq, ready, self._next_tsn - 1)
        self._send_reset_request()
        self._reconfig_timer.start(now + self._rto)

    def _send_reset_request(self) -> None:
        req = self._reset_outstanding
        assert req is not None
        param = c.OutgoingResetRequest(
            req.seq & 0xFFFFFFFF, self._peer_reconfig_seq, req.last_tsn & 0xFFFFFFFF, req.streams
        )
        self._send_packet(bytes(c.ReconfigChunk((param,))))

    def _on_reconfig_timer(self, now: float) -> None:
        if self._reset_outstanding is None or self.state is not State.ESTABLISHED:
            self._reconfig_timer.stop()
            return
        self._send_reset_request()
        self._reconfig_timer.start(now + self._rto)

    # ------------------------------------------------------------------ transmit

    def _after_input(self, now: float) -> None:
        self._dirty = False
        if self._terminated:
            return
        if self._reset_deferred is not None:
            self._check_deferred_reset()
        self._flush(now)
        if self._reset_wanted and self.state is State.ESTABLISHED:
            self._maybe_send_reset(now)

    def _drain_buffered(self, stream_id: int, nbytes: int) -> None:
        before = self._buffered.get(stream_id, 0)
        after = max(0, before - nbytes)
        self._buffered[stream_id] = after
        threshold = self._low_threshold.get(stream_id, 0)
        if before > threshold >= after:
            self._event(BufferedAmountLow(stream_id))

    def flush(self, now: float) -> None:
        """Packetize queued messages now (``poll`` does it too; call after ``send``)."""
        self._now = now
        if not self._terminated:
            self._after_input(now)

    # _flush builds packets in a list of chunks, ``parts``, of ``size`` bytes in all, with these
    # two methods rather than closures: compiled with mypyc, closures and the environment they
    # share form a reference cycle, garbage for the cyclic collector on every flush.
    def _pack(self, parts: list[bytes], size: int, blob: bytes, limit: int) -> int:
        """Add ``blob`` to the packet in ``parts``, sending that first if ``blob`` would take
        it past ``limit``; the packet's new size."""
        if size + len(blob) > limit:
            self._send_parts(parts)
            size = 0
        parts.append(blob)
        return size + len(blob)

    def _send_parts(self, parts: list[bytes]) -> None:
        """Send the packet in ``parts``, if any, and empty it."""
        if parts:
            self._send_packet(b"".join(parts))
            parts.clear()

    def _flush(self, now: float) -> None:
        state = self.state
        sending = state in (
            State.ESTABLISHED,
            State.SHUTDOWN_PENDING,
            State.SHUTDOWN_RECEIVED,
        )
        if self._sack_due and state not in (
            State.ESTABLISHED,
            State.SHUTDOWN_PENDING,
            State.SHUTDOWN_SENT,
            State.SHUTDOWN_RECEIVED,
        ):
            # No SACKs in this state; drop the request so an expired ack timer cannot spin.
            self._sack_due = False
            self._ack_timer.stop()
        sending_data = sending and bool(
            self._rtx_count or (self._pending and self._flight_size < self._cwnd)
        )
        if not (self._sack_due or self._forward_tsn_due or sending_data or self._cookie_ack_due):
            return  # the common case on the receiving side: nothing to send now
        limit = self._mtu - HEADER_SIZE
        parts: list[bytes] = []
        size = 0
        if self._cookie_ack_due:
            self._cookie_ack_due = False
            parts.append(_COOKIE_ACK)
            size = len(_COOKIE_ACK)

        # A SACK the delayed-ack timer holds back rides on the DATA that leaves now (§6.2)
        # instead of going alone later: a message answered at once (a DCEP ACK, an echo)
        # costs the peer one packet, not two, and the next packet is not a second unacked one.
        owed = self._sack_due or (sending_data and self._ack_timer.deadline is not None)
        if owed and state in (
            State.ESTABLISHED,
            State.SHUTDOWN_PENDING,
            State.SHUTDOWN_SENT,
            State.SHUTDOWN_RECEIVED,
        ):
            size = self._pack(parts, size, self._sack_bytes(), limit)
        if not sending:
            self._send_parts(parts)
            return
        if self._advanced_ack_point > self._cum_acked and now - self._forward_tsn_sent_at >= (
            self._srtt or self._rto
        ):
            # A FORWARD TSN unacknowledged after a round trip rides again on whatever leaves
            # now (a SACK, DATA), as RFC 3758 F2 allows and libwebrtc's dcsctp does on every
            # packet: its loss, or the loss of the SACK answering it, then costs one more
            # round trip instead of a T3 expiry, and the ordered messages held behind it are
            # delivered that much sooner.
            self._forward_tsn_due = True
        if self._forward_tsn_due and self._advanced_ack_point > self._cum_acked:
            size = self._pack(parts, size, self._forward_tsn_bytes(), limit)
        started = False
        if self._rtx_count:
            # Fast retransmits go out at once; T3 retransmissions respect cwnd (§7.2.4, §6.3.3).
            for ch in list(self._inflight):  # abandoning may append a tail chunk
                if not ch.needs_rtx:
                    continue
                if not ch.forced and self._flight_size >= self._cwnd:
                    continue
                if self._abandon_if_expired(ch, now):
                    continue
                ch.needs_rtx = False
                self._rtx_count -= 1
                ch.forced = False
                ch.in_flight = True
                ch.sent_count += 1
                ch.sent_at = now
                self._flight_size += len(ch.data)
                self.stats.retransmitted_chunks += 1
                size = self._pack(parts, size, ch.encode(), limit)
                started = True
            if self._forward_tsn_due and self._advanced_ack_point > self._cum_acked:
                size = self._pack(parts, size, self._forward_tsn_bytes(), limit)
        pending = self._pending
        if pending and self._inflight is _NO_ITEMS:
            self._inflight = deque()
        drained: dict[int, int] = {}  # stream -> bytes handed to the network in this pass
        while pending and (
            self._flight_size < self._cwnd
            and (len(pending[0].data) <= self._peer_rwnd or self._flight_size == 0)
        ):
            ch = pending.popleft()
            m = ch.message
            if m.abandoned:
                continue
            if m.expires is not None and now >= m.expires and ch.flags & 2:
                # Lifetime ran out before the first byte went out (RFC 3758 §3.5 A3).
                self._abandon(m)
                continue
            if not m.started:
                m.started = True
                m.ppid = ch.ppid
                if m.ordered:
                    m.ssn = self._next_ssn.get(m.stream_id, 0)
                    self._next_ssn[m.stream_id] = m.ssn + 1
            ch.tsn = self._next_tsn
            self._next_tsn += 1
            ch.sent_count = 1
            ch.sent_at = now
            ch.in_flight = True
            n = len(ch.data)
            self._flight_size += n
            self._peer_rwnd = max(0, self._peer_rwnd - n)
            self._inflight.append(ch)
            if self._rtt_probe is None:
                self._rtt_probe = ch
            blob = ch.encode()
            if size + len(blob) > limit:
                self._send_parts(parts)
                size = 0
            parts.append(blob)
            size += len(blob)
            started = True
            if m.counted:
                drained[m.stream_id] = drained.get(m.stream_id, 0) + n
        self._send_parts(parts)
        for sid, nbytes in drained.items():
            self._drain_buffered(sid, nbytes)
        if started and self._t3.deadline is None:
            self._t3.start(now + self._rto)
        if self._hb_timer.deadline is not None and started:
            self._hb_timer.start(self._next_heartbeat(now))
