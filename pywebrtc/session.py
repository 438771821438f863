"""``PeerSession``: one peer's whole transport as one sans-IO machine.

A peer session owns the ICE agent (and its TURN clients), the DTLS connection, SRTP, the SCTP
association with its data channels, and the audio and video sessions of one bundled WebRTC
transport.
It has the four verbs of every machine in this library:

* :meth:`receive` ``(datagram, remote, local, now)``: one UDP datagram from ``remote`` that
  arrived on the local base address ``local`` (a socket's, a UDP mux's, or a TURN allocation's
  relayed address);
* :meth:`tick` ``(now)``: time passed;
* :meth:`poll` ``()``: the next :class:`~pywebrtc.transmit.Transmit` (with its source and
  destination) or :data:`SessionEvent`, else None;
* :meth:`deadline` ``()``: when :meth:`tick` is next due.

Each datagram is classified once, here, by its first byte (RFC 7983 §7, :mod:`pywebrtc.demux`):
STUN goes to ICE, DTLS to DTLS; SRTP and SRTCP are unprotected here and handed to the media
sessions as plain RTP/RTCP, and what the media sessions send is protected here. DTLS application
data is SCTP. Datagrams from a TURN server are the TURN client's, which may hand back a relayed
datagram, classified the same way.

The session never reads a clock or touches a socket: :mod:`pywebrtc.shell` does, for all the
sessions of an event loop. Bad input is dropped and counted (:attr:`PeerSession.counters`, the ICE
agent's counters, the DTLS and media drop counters); nothing here raises on a datagram.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pywebrtc.demux import KIND_BY_FIRST_BYTE, PacketKind, is_rtcp
from pywebrtc.dtls import (
    ApplicationData,
    ConnectionClosed,
    DtlsConnection,
    HandshakeComplete,
    SrtpKeys,
)
from pywebrtc.dtls import State as DtlsState
from pywebrtc.dtls.messages13 import DTLS_1_3
from pywebrtc.ice import turn as _turn
from pywebrtc.ice.agent import Agent
from pywebrtc.ice.candidate import (
    Candidate,
    CandidateType,
    is_ipv6,
    normalize_host,
    reflexive_candidate,
)
from pywebrtc.ice.credentials import Credentials
from pywebrtc.ice.events import (
    GatherDone,
    IceState,
    LocalCandidateGathered,
    PairValidated,
    SelectedPairChanged,
    StateChanged,
)
from pywebrtc.ice.events import (
    Output as IceOutput,
)
from pywebrtc.ice.turn import TurnClient
from pywebrtc.rtcdatachannel import ChannelManager
from pywebrtc.rtp.rtcp import RtcpPacket, parse_rtcp
from pywebrtc.sctp import AssociationAborted, AssociationClosed
from pywebrtc.sctp import State as SctpState
from pywebrtc.sctp.association import Event as AssociationEvent
from pywebrtc.sctp.datachannel import ChannelEvent
from pywebrtc.srtp import SrtpSession
from pywebrtc.transmit import Address, Transmit

logger = logging.getLogger(__name__)

_STUN, _DTLS, _RTP = PacketKind.STUN, PacketKind.DTLS, PacketKind.RTP

# Datagrams that arrive before DTLS exists (or go out before ICE has a pair) are kept, up to
# this many each way: a DTLS flight is a handful of datagrams.
MAX_EARLY = 16
# How long gathering waits for STUN and TURN servers before going on without them.
GATHER_TIMEOUT = 5.0
# The SCTP INIT of the DTLS side whose handshake completes last (the DTLS 1.2 client, the
# DTLS 1.3 server) waits this long for the other's, which comes right behind the last
# Finished: answering it sets the association up, where an INIT of ours would only collide
# (RFC 9260 §5.2.1) and double the handshake's packets.
SCTP_INIT_WAIT = 0.002


@dataclass(frozen=True, slots=True)
class IceStateChanged:
    state: IceState


@dataclass(frozen=True, slots=True)
class DtlsStateChanged:
    """``RTCDtlsTransportState``: new, connecting, connected, closed or failed."""

    state: str


@dataclass(frozen=True, slots=True)
class CandidateGathered:
    """A local candidate to signal; None when gathering is complete."""

    candidate: Candidate | None


SessionEvent = (
    IceStateChanged | DtlsStateChanged | CandidateGathered | ChannelEvent | AssociationEvent
)


@dataclass(slots=True)
class TransportCounters:
    """What the transport carried (non-STUN datagrams on the ICE pair) and what it dropped."""

    packets_sent: int = 0
    bytes_sent: int = 0
    packets_received: int = 0
    bytes_received: int = 0
    dropped_unknown_source: int = 0  # DTLS/SRTP from an address ICE never validated
    dropped_unclassified: int = 0  # ZRTP, TURN ChannelData off a TURN flow, unassigned
    dropped_no_pair: int = 0  # data to send with no usable pair and the early queue full
    dropped_no_srtp: int = 0  # SRTP/SRTCP before DTLS gave keys
    dropped_srtp: int = 0  # authentication failures, replays, other libsrtp errors


class MediaHandler(Protocol):
    """The media half a session carries (:class:`pywebrtc.mediaplane.MediaPlane`): plain RTP
    and RTCP in, plain RTP and RTCP out; ``keys`` once DTLS has exported them."""

    keys: SrtpKeys | None
    # True when deadline() may be earlier than when last read (see MediaPlane.deadline_moved)
    deadline_moved: bool

    def start_srtp(self, keys: SrtpKeys) -> None: ...
    def receive_rtp(self, data: bytes, now: float) -> None: ...
    def receive_rtcp(self, packets: list[RtcpPacket], now: float) -> None: ...
    def tick(self, now: float) -> None: ...
    def poll(self) -> bytes | None: ...
    def take(self) -> Sequence[bytes]: ...  # poll until None, in one call
    def deadline(self) -> float | None: ...
    def close(self) -> None: ...


class _Turn:
    """One TURN allocation: its client, the socket base it talks from, and its relayed base."""

    __slots__ = ("base", "client", "component", "pending", "relayed", "server")

    def __init__(self, client: TurnClient, base: Address, server: Address, component: int):
        self.client = client
        self.base = base
        self.server = server
        self.component = component
        self.relayed: Address | None = None
        self.pending = True  # gathering waits for the allocation's outcome


class PeerSession:
    """One peer's transport: ICE (+TURN), DTLS, SRTP, SCTP and media. See the module docstring.

    The owner (a shell) adds local candidates as it binds sockets, calls :meth:`start` when
    both descriptions are set, and drives the four verbs.
    """

    def __init__(self, agent: Agent, channels: ChannelManager, media: MediaHandler) -> None:
        self.agent = agent
        self.channels = channels
        self.media = media
        self.dtls: DtlsConnection | None = None
        self.dtls_state = "new"
        self.srtp: SrtpSession | None = None
        self.counters = TransportCounters()
        self.closed = False
        self._now = 0.0
        # Lists, not deques, for the queues between machines: they hold a few items at a time
        # and an empty deque costs 760 bytes, an empty list 56 (memory per idle session).
        self._out: list[Transmit] = []
        self._events: list[SessionEvent] = []
        self._early_in: list[tuple[bytes, Address, Address]] = []
        self._early_out: list[bytes] = []
        self._turns: list[_Turn] = []
        self._relayed: dict[Address, _Turn] = {}
        self._gathering = False
        self._gather_pending = 0  # STUN-server queries still out
        self._gather_deadline: float | None = None
        self._sctp_wanted = False  # the remote description has a data section
        self._sctp_started = False
        self._sctp_init_at: float | None = None
        # Before an ICE restart: the old pair's remote address (the peer may send on it until
        # it has switched too) and TURN allocations; kept until forget_retired().
        self.retiring = False
        self._retired_remotes: set[Address] = set()
        self._retired_turns: list[_Turn] = []

    # ------------------------------------------------------------------ set-up

    def add_local_candidate(self, candidate: Candidate, now: float) -> None:
        """A local candidate the shell made (host, or NAT 1:1 reflexive): signal it."""
        self._now = now
        self.agent.add_local_candidate(candidate, now)
        self._events.append(CandidateGathered(candidate))

    def gather_reflexive(self, base: Address, server: Address, now: float) -> None:
        """Ask the STUN server ``server`` from ``base`` for our mapped address."""
        self._now = now
        self._gather_pending += 1
        self.agent.gather_server_reflexive(base, server, now)

    def add_turn(
        self, base: Address, server: Address, username: str, password: str, now: float,
        component: int = 1,
    ) -> None:  # fmt: skip
        """Allocate a relayed candidate on TURN server ``server`` from the socket at ``base``."""
        self._now = now
        turn = _Turn(TurnClient(server, username, password), base, server, component)
        self._turns.append(turn)
        turn.client.allocate(now)

    def gathering_started(self, now: float) -> None:
        """The shell added every host candidate and started every server query: gathering
        completes when the queries answer, or :data:`GATHER_TIMEOUT` from now."""
        self._now = now
        self._gathering = True
        self._gather_deadline = now + GATHER_TIMEOUT
        self._maybe_gathered()

    def start(
        self,
        dtls: DtlsConnection | None,
        remote_ufrag: str,
        remote_pwd: str,
        remote_lite: bool,
        data: bool,
        now: float,
    ) -> None:
        """Both descriptions are set: ICE starts checking, DTLS waits for a pair."""
        self._now = now
        self.dtls = dtls
        self._sctp_wanted = data
        agent = self.agent
        agent.set_remote_lite(remote_lite)
        agent.set_remote_credentials(remote_ufrag, remote_pwd)
        agent.start(now)
        early, self._early_in = self._early_in, []
        for datagram, remote, local in early:
            self.receive(datagram, remote, local, now)

    def add_remote_candidate(self, candidate: Candidate | None, now: float) -> None:
        """A signalled remote candidate (an IP literal), or None for end-of-candidates."""
        self._now = now
        if candidate is not None:
            for turn in self._turns:
                if turn.component == candidate.component and not is_ipv6(candidate.host):
                    turn.client.create_permission(candidate.host, now)
        self.agent.add_remote_candidate(candidate, now)

    def restart_ice(
        self, credentials: Credentials, now: float, *, keep_local_candidates: bool = False
    ) -> None:
        """ICE restart (RFC 8445 §9): new local credentials (the shell gathers new candidates
        unless ``keep_local_candidates``); the old pair carries data until a new one is
        selected, and DTLS or SRTP from its remote address is taken until the shell says the
        peer has moved (:meth:`forget_retired`). Set the remote side's credentials with
        :meth:`set_remote_credentials`."""
        self._now = now
        agent = self.agent
        pair = agent.selected_pair(1)
        if pair is not None:
            self._retired_remotes.add(pair.remote.address)
        self._retired_turns.extend(self._turns)
        self._turns = []
        self.retiring = True
        agent.restart(credentials, now, keep_local_candidates=keep_local_candidates)

    def forget_retired(self, now: float) -> None:
        """The peer sends on the pair selected after a restart: stop taking data from the old
        pair's address, and release the TURN allocations nothing uses any more."""
        self._now = now
        pair = self.agent.selected_pair(1)
        in_use = pair.local_base if pair is not None else None
        for turn in self._retired_turns:
            if turn.relayed is not None and turn.relayed == in_use:
                self._turns.append(turn)
            else:
                if turn.relayed is not None:
                    self._relayed.pop(turn.relayed, None)
                turn.client.close(now)
                self._drain_turn(turn)
        self._retired_turns = []
        self._retired_remotes.clear()
        self.retiring = False

    def set_remote_credentials(self, ufrag: str, pwd: str, now: float) -> None:
        self._now = now
        self.agent.set_remote_credentials(ufrag, pwd, now)

    def close(self, now: float) -> None:
        """SCTP ABORT, DTLS close_notify, TURN deallocations, then ICE closes."""
        if self.closed:
            return
        self._now = now
        self.media.close()  # BYE on every sending session, before DTLS closes
        self._pump(hold=False)
        if self._sctp_started:
            self.channels.association.abort("peer connection closed")
        self._pump(hold=False)
        if self.dtls is not None:
            self.dtls.close()
        self._pump(hold=False)
        for turn in self._all_turns():
            turn.client.close(now)
        self._pump(hold=False)
        self.closed = True
        self.agent.close()
        self._gathering = False

    # ------------------------------------------------------------------ the four verbs

    def receive(self, data: bytes, remote: Address, local: Address, now: float) -> bool:
        """One datagram from ``remote`` on local base ``local``.

        True when it was SRTP on the selected pair that moved the media plane alone: then
        :meth:`drain_media` may stand in for :meth:`drain` (ICE's deadline only moved later,
        DTLS and SCTP did not move), which a driver uses to echo media without a whole flush.
        """
        self._now = now
        if self.closed or not data:
            return False
        agent = self.agent
        kind = KIND_BY_FIRST_BYTE[data[0]]
        if kind is not _STUN:
            pair = agent.selected_pair(1)
            if (
                pair is not None
                and (candidate := pair.remote).port == remote[1]
                and candidate.host == remote[0]  # (pair.remote.address, with no tuple made)
            ):
                # The fast path: DTLS or SRTP on the selected pair. Data on a disconnected
                # pair reconnects it (a state change: not media alone).
                alone = kind is _RTP and agent.state is not IceState.DISCONNECTED
                agent.note_data(pair, now)
                if kind is _RTP:  # _data's, one call fewer per packet
                    counters = self.counters
                    counters.packets_received += 1
                    counters.bytes_received += len(data)
                    self._srtp_in(data, now)
                else:
                    self._data(data, kind, now)
                return alone
        for turn in self._all_turns():
            if local == turn.base and remote == turn.server:
                turn.client.receive(data, now)
                self._drain_turn(turn)
                return False
        if agent.receive(data, remote, local, now):
            return False  # STUN (ICE's, handled or counted)
        if not agent.is_remote_known(remote) and remote not in self._retired_remotes:
            if self.dtls is None and kind is _DTLS and len(self._early_in) < MAX_EARLY:
                # The peer's ClientHello can come before its answer reaches us.
                self._early_in.append((data, remote, local))
            else:
                self.counters.dropped_unknown_source += 1
            return False
        self._data(data, kind, now)
        return False

    def _data(self, data: bytes, kind: PacketKind, now: float) -> None:
        counters = self.counters
        counters.packets_received += 1
        counters.bytes_received += len(data)
        if kind is _RTP:  # SRTP or SRTCP
            self._srtp_in(data, now)
        elif kind is _DTLS:
            dtls = self.dtls
            if dtls is None:
                if len(self._early_in) < MAX_EARLY:
                    pair = self.agent.selected_pair(1)
                    if pair is not None:
                        self._early_in.append((data, pair.remote.address, pair.local_base))
                return
            if dtls.state is DtlsState.WAIT_HELLO and self.dtls_state == "new":
                self._set_dtls_state("connecting")
            dtls.receive(data, now)
        else:
            counters.dropped_unclassified += 1

    def _srtp_in(self, data: bytes, now: float) -> None:
        media = self.media
        srtp = self.srtp or self._ensure_srtp()
        if srtp is None:
            self.counters.dropped_no_srtp += 1
            return
        if is_rtcp(data):
            try:
                packets = parse_rtcp(srtp.inbound.unprotect_rtcp(data))
            except ValueError:
                self.counters.dropped_srtp += 1
                return
            self.agent.note_authenticated(now)
            media.receive_rtcp(packets, now)
            return
        try:
            plain = srtp.inbound.unprotect_rtp(data)
        except ValueError:
            self.counters.dropped_srtp += 1
            return
        self.agent.note_authenticated(now)
        media.receive_rtp(plain, now)

    def _ensure_srtp(self) -> SrtpSession | None:
        """The libsrtp contexts hold native memory (~15 KiB a session): made when audio first
        needs them, never for a data-only session."""
        if self.srtp is None and self.media.keys is not None:
            self.srtp = SrtpSession.from_dtls(self.media.keys)
        return self.srtp

    def tick(self, now: float) -> None:
        self._now = now
        if self.closed:
            return
        agent = self.agent
        d = agent.deadline()
        if d is not None and d <= now:
            agent.tick(now)
        for turn in self._all_turns():
            d = turn.client.deadline()
            if d is not None and d <= now:
                turn.client.tick(now)
                self._drain_turn(turn)
        dtls = self.dtls
        if dtls is not None:
            d = dtls.deadline()
            if d is not None and d <= now:
                dtls.tick(now)
        if self._sctp_started:
            d = self.channels.deadline()
            if d is not None and d <= now:
                self.channels.tick(now)
        if self._sctp_init_at is not None and self._sctp_init_at <= now:
            self._sctp_init_at = None
            association = self.channels.association
            if association.state is SctpState.CLOSED and not association.init_answered:
                self.channels.connect(now)
        self.media.tick(now)
        if self._gather_deadline is not None and self._gather_deadline <= now:
            self._finish_gathering()

    def poll(self) -> Transmit | SessionEvent | None:
        """The next datagram to send, else the next event, else None."""
        if not self._out and not self._events:
            self._pump()
        if self._out:
            return self._out.pop(0)
        if self._events:
            return self._events.pop(0)
        return None

    def drain(self) -> tuple[list[Transmit], list[SessionEvent]]:
        """Everything :meth:`poll` would return until None, in one call: the datagrams to send
        (in order), then the events. One pass over the machines instead of one per item plus a
        last one to find them quiet.

        With events to hand on (a channel opened, a message came), the datagrams wait for the
        next call, which the owner makes once it has acted on them: what a handler sends then
        (the first message on a channel that opened, an echo) shares their datagram (see
        :meth:`_coalesce`). Not past an ICE state change, on which a shell may let go of its
        sockets."""
        self._pump()
        out, events = self._out, self._events
        if events and out and not any(type(e) is IceStateChanged for e in events):
            self._events = []
            return [], events
        if out:
            self._out = []
            if len(out) > 1:
                out = self._coalesce(out)
        if events:
            self._events = []
        return out, events

    def _coalesce(self, out: list[Transmit]) -> list[Transmit]:
        """DTLS records that follow one another to the same place share a datagram, up to the
        DTLS MTU (RFC 6347 §4.1.1, RFC 9147 §4.3: a datagram may carry several records; every
        DTLS receiver takes them apart, as it does a handshake flight's). One pump often makes
        several small ones (an ACK and an SCTP INIT; a COOKIE ACK, a DATA_CHANNEL_OPEN and
        a SACK): one send, one receive and one pass of the peer's machines instead of each.
        ``packets_sent`` counts the datagrams that leave.

        DTLS 1.3 only: some DTLS 1.2 peers read one record per datagram that arrives and keep
        the rest until the next one (aiortc's one ``SSL_read``: an ABORT and close_notify
        sent together left its channel open), while the peers that speak 1.3 (Chromium,
        Firefox, us) read them all."""
        dtls = self.dtls
        if dtls is None or dtls.version != DTLS_1_3:
            return out
        limit = dtls.config.mtu
        merged: list[Transmit] = []
        last: Transmit | None = None
        for transmit in out:
            data = transmit.data
            if (
                last is not None
                and 19 < data[0] < 64  # RFC 7983: DTLS (a STUN, TURN or SRTP one never merges)
                and 19 < last.data[0] < 64
                and len(last.data) + len(data) <= limit
                and transmit.destination == last.destination
                and transmit.source == last.source
            ):
                last = merged[-1] = Transmit(last.data + data, last.destination, last.source)
                self.counters.packets_sent -= 1
            else:
                merged.append(transmit)
                last = transmit
        return merged

    def drain_media(self) -> list[Transmit] | None:
        """After a :meth:`receive` that returned True, with nothing drained since: the media
        plane's packets, protected, in order (what :meth:`drain` would return, without a pass
        over ICE, DTLS and SCTP). None if an event is pending: then :meth:`drain` is needed.
        The media plane's deadline may have moved earlier if ``media.deadline_moved``."""
        if self._events:
            return None
        packets = self.media.take()
        if packets:
            self._protect_and_send(packets)
        out = self._out
        if out:
            self._out = []
        return out

    def _protect_and_send(self, packets: Sequence[bytes]) -> None:
        """:meth:`_srtp_out` of each of the media plane's ``packets``, with what they share
        (contexts, pair, consent) looked up once: an echo's path, once per packet."""
        agent = self.agent
        srtp = self.srtp or self._ensure_srtp()
        pair = agent.selected_pair(1)
        if (
            srtp is None
            or pair is None
            or not agent.consent_ok(self._now)
            or (source := pair.local_base) in self._relayed
        ):
            for plain in packets:
                self._srtp_out(plain)
            return
        destination = pair.remote_address
        outbound = srtp.outbound
        counters = self.counters
        out = self._out
        for plain in packets:
            try:
                if is_rtcp(plain):
                    data = outbound.protect_rtcp(plain)
                else:
                    data = outbound.protect_rtp(plain)
            except ValueError:
                counters.dropped_srtp += 1
                continue
            counters.packets_sent += 1
            counters.bytes_sent += len(data)
            out.append(Transmit(data, destination, source))

    def deadline(self) -> float | None:
        best = self.agent.deadline()
        d = self.transport_deadline()
        if d is not None and (best is None or d < best):
            best = d
        return best

    def transport_deadline(self) -> float | None:
        """:meth:`deadline` but ICE's: what only :meth:`receive` of a datagram the agent does
        not keep to itself, :meth:`tick` and the owner's calls move. A consent check that the
        agent answers alone (:meth:`Agent.answer_consent_check`) moves only the agent's."""
        # No tuple of candidates, no list of TURN clients: asked after every datagram.
        best: float | None = None
        dtls = self.dtls
        if dtls is not None and (d := dtls.deadline()) is not None:
            best = d
        if (
            self._sctp_started
            and (d := self.channels.deadline()) is not None
            and (best is None or d < best)
        ):
            best = d
        for d in (self._sctp_init_at, self.media.deadline(), self._gather_deadline):
            if d is not None and (best is None or d < best):
                best = d
        if self._turns or self._retired_turns:
            for turn in self._all_turns():
                d = turn.client.deadline()
                if d is not None and (best is None or d < best):
                    best = d
        return best

    # ------------------------------------------------------------------ moving data between

    def _pump(self, hold: bool = True) -> None:
        """Move what every machine has to say until all are quiet (but see ``hold`` below:
        :meth:`close` sends everything at once)."""
        now = self._now
        agent = self.agent
        dtls = self.dtls
        channels = self.channels
        while True:
            moved = False
            while (out := agent.poll()) is not None:
                moved = True
                self._on_ice(out, now)
            if dtls is not None:
                while (item := dtls.poll()) is not None:
                    moved = True
                    if type(item) is ApplicationData:
                        if self._sctp_started:
                            channels.receive(item.data, now)
                            if self._sctp_init_at is not None:
                                self._init_answered()
                    elif isinstance(item, HandshakeComplete):
                        self._on_handshake(now)
                    elif isinstance(item, ConnectionClosed):
                        self._on_dtls_closed(item)
                    else:  # a DTLS record to send
                        self._send_on_pair(item.data)
            if self._sctp_started:
                # With events for the owner pending, only more events are taken: packetizing
                # what the channels queued waits for the next pass, after the owner has acted
                # on them, so that what it sends then (the first message of a channel that
                # opened) shares the SCTP packet, and the DTLS record, of what was queued
                # before (that channel's DATA_CHANNEL_OPEN, a DCEP ACK and its SACK).
                while not (hold and self._events and not channels.has_event()) and (
                    packet := channels.poll()
                ) is not None:
                    moved = True
                    if isinstance(packet, Transmit):
                        if dtls is not None and dtls.state is DtlsState.CONNECTED:
                            dtls.send(packet.data)
                    else:
                        if isinstance(packet, AssociationAborted | AssociationClosed):
                            logger.debug("SCTP association ended: %s", packet)
                        self._events.append(packet)
            if not moved:
                break
        # Last, and once: what the audio sessions send feeds no other machine (one pass over
        # ICE, DTLS and SCTP fewer per packet sent).
        media = self.media
        while (rtp := media.poll()) is not None:
            self._srtp_out(rtp)

    def _srtp_out(self, plain: bytes) -> None:
        srtp = self.srtp or self._ensure_srtp()
        if srtp is None:
            return
        try:
            if is_rtcp(plain):
                data = srtp.outbound.protect_rtcp(plain)
            else:
                data = srtp.outbound.protect_rtp(plain)
        except ValueError:
            self.counters.dropped_srtp += 1
            return
        self._send_on_pair(data)

    def _send_on_pair(self, data: bytes) -> None:
        """Send ``data`` on the selected pair (before selection, on the first valid one)."""
        agent = self.agent
        now = self._now
        pair = agent.selected_pair(1)
        if pair is None:
            pair = agent.usable_pair(1, now)
            if pair is None:
                if len(self._early_out) < MAX_EARLY:
                    self._early_out.append(data)
                else:
                    self.counters.dropped_no_pair += 1
                return
        elif not agent.consent_ok(now):
            self.counters.dropped_no_pair += 1  # RFC 7675 §5.1: no consent, no data
            return
        counters = self.counters
        counters.packets_sent += 1
        counters.bytes_sent += len(data)
        self._transmit(data, pair.local_base, pair.remote_address)

    def _transmit(self, data: bytes, source: Address, destination: Address) -> None:
        turn = self._relayed.get(source)
        if turn is not None:
            turn.client.send(destination, data, self._now)
            self._drain_turn(turn)
            return
        self._out.append(Transmit(data, destination, source))

    def _on_ice(self, out: IceOutput, now: float) -> None:
        if type(out) is Transmit:
            assert out.source is not None and out.destination is not None
            self._transmit(out.data, out.source, out.destination)
        elif isinstance(out, StateChanged):
            self._events.append(IceStateChanged(out.state))
            if out.state in (IceState.CONNECTED, IceState.COMPLETED):
                self._on_writable(now)
        elif isinstance(out, PairValidated):
            self._on_writable(now)
        elif isinstance(out, SelectedPairChanged):
            turn = self._relayed.get(out.pair.local_base)
            if turn is not None:
                turn.client.bind_channel(out.pair.remote_address, now)
                self._drain_turn(turn)
        elif isinstance(out, LocalCandidateGathered):
            self._events.append(CandidateGathered(out.candidate))
        elif isinstance(out, GatherDone):
            self._gather_pending -= 1
            self._maybe_gathered()

    def _on_writable(self, now: float) -> None:
        """ICE can carry data: send what waited, and start DTLS if we are its client."""
        early, self._early_out = self._early_out, []
        for datagram in early:
            self._send_on_pair(datagram)
        dtls = self.dtls
        if dtls is not None and dtls.is_client and dtls.state is DtlsState.IDLE:
            dtls.connect(now)
            self._set_dtls_state("connecting")

    def _drain_turn(self, turn: _Turn) -> None:
        client = turn.client
        now = self._now
        while (out := client.poll()) is not None:
            if isinstance(out, _turn.Allocated):
                relayed = (normalize_host(out.relayed_address[0]), out.relayed_address[1])
                turn.relayed = relayed
                self._relayed[relayed] = turn
                candidate = reflexive_candidate(
                    CandidateType.RELAYED,
                    relayed,
                    relayed,
                    turn.component,
                    server=turn.server[0],
                    related=out.mapped_address or turn.base,
                )
                self.agent.add_local_candidate(candidate, now)
                self._events.append(CandidateGathered(candidate))
                for remote in self.agent.remote_candidates:
                    if not is_ipv6(remote.host):
                        client.create_permission(remote.host, now)
                turn.pending = False
                self._maybe_gathered()
            elif isinstance(out, _turn.AllocationFailed | _turn.AllocationLost | _turn.Closed):
                if turn.relayed is not None:
                    self._relayed.pop(turn.relayed, None)
                turn.pending = False
                self._maybe_gathered()
            elif isinstance(out, _turn.DataReceived):
                if turn.relayed is not None:
                    peer = (normalize_host(out.peer[0]), out.peer[1])
                    self.receive(out.data, peer, turn.relayed, now)
            elif type(out) is Transmit:
                self._out.append(Transmit(out.data, destination=out.destination, source=turn.base))

    def _all_turns(self) -> list[_Turn]:
        return self._turns + self._retired_turns if self._retired_turns else self._turns

    def _maybe_gathered(self) -> None:
        if (
            self._gathering
            and self._gather_pending <= 0
            and not any(t.pending for t in self._turns)
        ):
            self._finish_gathering()

    def _finish_gathering(self) -> None:
        self._gather_deadline = None
        if self._gathering:
            self._gathering = False
            self._events.append(CandidateGathered(None))

    # ------------------------------------------------------------------ DTLS and SCTP

    def _set_dtls_state(self, state: str) -> None:
        if self.dtls_state != state:
            self.dtls_state = state
            self._events.append(DtlsStateChanged(state))

    def _on_handshake(self, now: float) -> None:
        dtls = self.dtls
        assert dtls is not None
        if dtls.state is not DtlsState.CONNECTED:
            # Closed (the peer's close_notify or a fatal alert came in the same datagrams as
            # its last flight) before this event was taken: no keys to export, and the
            # ConnectionClosed event that follows ends it.
            return
        if dtls.srtp_profile is not None and self.media.keys is None:
            self.media.start_srtp(dtls.srtp_keys())
        self._set_dtls_state("connected")
        if self._sctp_wanted and not self.closed and not self._sctp_started:
            self.start_sctp(now)

    def start_sctp(self, now: float) -> None:
        """Start the association once DTLS is up (a data section may come by renegotiation)."""
        self._sctp_wanted = True
        if self._sctp_started or self.dtls_state != "connected":
            return
        self._sctp_started = True
        dtls = self.dtls
        if dtls is not None and dtls.is_client != (dtls.version == DTLS_1_3):
            self._sctp_init_at = now + SCTP_INIT_WAIT
        else:
            self.channels.connect(now)

    def _init_answered(self) -> None:
        """The peer's INIT came (or more): our own INIT is not wanted, nor its timer's wake-up."""
        association = self.channels.association
        if association.state is not SctpState.CLOSED or association.init_answered:
            self._sctp_init_at = None

    def _on_dtls_closed(self, event: ConnectionClosed) -> None:
        if event.error is not None:
            logger.info("DTLS failed: %s", event.error)
        self._set_dtls_state("failed" if event.error is not None else "closed")
        if self._sctp_started and not self.closed:
            self.channels.association.abort("DTLS closed")


__all__ = [
    "CandidateGathered",
    "DtlsStateChanged",
    "IceStateChanged",
    "PeerSession",
    "SessionEvent",
    "TransportCounters",
]
