"""A sans-IO TURN client over UDP (RFC 8656), for relayed ICE candidates.

What it implements:

* Allocate with REQUESTED-TRANSPORT=UDP (RFC 8656 §7.1), answered by the long-term credential
  challenge: 401 with REALM and NONCE, then the request again with USERNAME, REALM, NONCE and
  MESSAGE-INTEGRITY keyed by MD5(username ":" realm ":" password) (RFC 8489 §9.2). A 438 Stale
  Nonce on any request is retried with the new NONCE (RFC 8489 §9.2.5).
* Refresh one minute before the allocation expires (RFC 8656 §8), and Refresh with LIFETIME 0
  on :meth:`TurnClient.close` (deallocate).
* CreatePermission per peer IP, refreshed one minute before the 300 s permission lifetime
  (RFC 8656 §9); ChannelBind with numbers 0x4000-0x4FFF, refreshed one minute before the 600 s
  binding lifetime (RFC 8656 §12).
* Sending to a peer in a Send indication, or in ChannelData once a channel to that peer is bound;
  receiving Data indications and ChannelData (RFC 8656 §10, §12.4-12.5).
* Request retransmission over UDP: RTO 500 ms doubling, 7 transmissions, then 16 RTO of silence
  before the transaction times out (RFC 8489 §6.2.1).

Left out: TURN over TCP/TLS/DTLS, TCP allocations (RFC 6062), 300 Try Alternate (reported as a
failure), PASSWORD-ALGORITHMS / SHA-256 keys and USERHASH (RFC 8489 §9.2.1: only MD5 keys),
SASLprep of the password (it is used as given), EVEN-PORT, RESERVATION-TOKEN, dual allocations
(RFC 8656 §7.1 ADDITIONAL-ADDRESS-FAMILY), DONT-FRAGMENT, and the ICMP attribute.

Usage (the caller owns the socket and the clock; ``now`` is any monotonic seconds value)::

    client = TurnClient(("198.51.100.1", 3478), "user", "pass")
    client.allocate(now)
    # then, in the event loop:
    #   on a datagram from client.server:  client.receive(data, now)
    #   when now >= client.deadline():     client.tick(now)
    #   after each of the above:           drain client.poll()
    while (item := client.poll()) is not None:
        if isinstance(item, Transmit):
            sock.sendto(item.data, item.destination)
        elif isinstance(item, Allocated):
            relayed = item.relayed_address            # the relayed candidate's address
        elif isinstance(item, DataReceived):
            handle(item.peer, item.data)             # as if received on `relayed` from item.peer
    client.send(peer, payload, now)                  # installs a permission first if needed
    client.bind_channel(peer, now)                   # optional: ChannelData from then on
    client.close(now)                                # deallocate; ends with a Closed event

:meth:`TurnClient.receive` returns whether the datagram was TURN traffic for this client, so
a caller sharing one socket with other STUN users (e.g. server-reflexive Binding requests to
the same server) can pass on what it returns ``False`` for. Malformed input never raises: it
is dropped and counted in :attr:`TurnClient.stats`. Misuse (``allocate()`` twice, ``refresh()``
before allocation) raises :class:`TurnError`.

With the ICE agent (relayed candidates), the I/O layer glues three things:

* ``Allocated.relayed_address`` is the relayed candidate's address and base; its related
  address is ``Allocated.mapped_address`` (which is also a server-reflexive candidate).
* An agent ``Transmit`` whose ``source`` is the relayed address goes to
  ``client.send(destination, data, now)``; a ``DataReceived(peer, data)`` goes to
  ``agent.receive(data, source=peer, destination=relayed_address, now)``.
* Datagrams arriving from ``client.server`` on the host socket go to ``client.receive`` first,
  and to the agent only if it returns False. Calling ``create_permission(ip)`` for each remote
  candidate as it is learned lets the peer's checks through before ours reach it (RFC 8656 §9:
  the server drops traffic from IPs without a permission; ``send`` only installs one on first
  use). ``bind_channel(peer)`` on the selected pair saves about 32 bytes per packet.

``conformance/turn/driver.py`` is a complete asyncio driver in 80 lines.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from pywebrtc.stun.attributes import (
    TRANSPORT_UDP,
    AttributeValue,
    ChannelNumber,
    Data,
    Lifetime,
    Nonce,
    Realm,
    RequestedTransport,
    Username,
    XorPeerAddress,
)
from pywebrtc.stun.channeldata import CHANNEL_MAX, CHANNEL_MIN, ChannelData
from pywebrtc.stun.constants import MessageClass, Method
from pywebrtc.stun.credentials import long_term_key
from pywebrtc.stun.errors import StunParseError
from pywebrtc.stun.message import Message, new_transaction_id
from pywebrtc.transmit import Address as Address
from pywebrtc.transmit import Transmit as Transmit

logger = logging.getLogger(__name__)

# RFC 8489 §6.2.1: initial RTO, number of transmissions (Rc) and the final wait (Rm * RTO).
DEFAULT_RTO = 0.5
DEFAULT_MAX_TRANSMISSIONS = 7
FINAL_WAIT_FACTOR = 16

# RFC 8656 §2 and §7.2: default allocation lifetime; permission and channel lifetimes (§9, §12).
DEFAULT_LIFETIME = 600
PERMISSION_LIFETIME = 300.0
CHANNEL_LIFETIME = 600.0
# RFC 8656 §8, §9, §12 recommend refreshing about a minute before expiry.
REFRESH_MARGIN = 60.0

# A 438 answer to the retried request again: give up instead of looping on a broken server.
MAX_STALE_NONCE_RETRIES = 3


# ---------------------------------------------------------------------------------------------
# Outputs


@dataclass(frozen=True, slots=True)
class Allocated:
    """The allocation exists: ``relayed_address`` is the relayed candidate, ``mapped_address``
    the client's server-reflexive address as the server saw it (None if the server omitted it)."""

    relayed_address: Address
    mapped_address: Address | None
    lifetime: int


@dataclass(frozen=True, slots=True)
class AllocationFailed:
    """Allocate did not succeed. ``code`` is the STUN error code, or None if the server never
    answered (RFC 8489 §6.2.1 transaction timeout). The client is now FAILED."""

    code: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class AllocationLost:
    """A working allocation is gone: a Refresh failed (e.g. 437) or went unanswered. The relayed
    address no longer works and the client is now FAILED."""

    code: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class Refreshed:
    """A Refresh succeeded; the allocation now lives ``lifetime`` more seconds."""

    lifetime: int


@dataclass(frozen=True, slots=True)
class PermissionCreated:
    """The server now relays traffic from ``peer_ip`` (first install only, not refreshes)."""

    peer_ip: str


@dataclass(frozen=True, slots=True)
class PermissionFailed:
    """CreatePermission for ``peer_ip`` failed (``code`` None: no answer); queued data dropped."""

    peer_ip: str
    code: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class ChannelBound:
    """``channel`` is bound to ``peer``: sends to it use ChannelData from now on."""

    peer: Address
    channel: int


@dataclass(frozen=True, slots=True)
class ChannelBindFailed:
    """ChannelBind failed (``code`` None: no answer); sends keep using Send indications."""

    peer: Address
    channel: int
    code: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class DataReceived:
    """``data`` arrived on the relayed address from ``peer`` (Data indication or ChannelData)."""

    peer: Address
    data: bytes


@dataclass(frozen=True, slots=True)
class Closed:
    """The client is closed; after :meth:`TurnClient.close` on a live allocation, the
    deallocating Refresh was answered or timed out."""


TurnEvent = (
    Allocated
    | AllocationFailed
    | AllocationLost
    | Refreshed
    | PermissionCreated
    | PermissionFailed
    | ChannelBound
    | ChannelBindFailed
    | DataReceived
    | Closed
)


class TurnState(enum.Enum):
    NEW = "new"
    ALLOCATING = "allocating"
    ALLOCATED = "allocated"
    CLOSING = "closing"
    CLOSED = "closed"
    FAILED = "failed"


@dataclass(slots=True)
class TurnStats:
    """Counters; ``malformed`` and ``integrity_failures`` are inputs dropped without effect."""

    malformed: int = 0
    integrity_failures: int = 0
    unmatched: int = 0
    retransmissions: int = 0
    send_indications: int = 0
    channel_data_sent: int = 0
    data_indications: int = 0
    channel_data_received: int = 0
    dropped_sends: int = 0


class TurnError(RuntimeError):
    """Misuse of the client (calling a method in a state where it cannot work)."""


# ---------------------------------------------------------------------------------------------
# Internal state


class _Kind(enum.Enum):
    ALLOCATE = "Allocate"
    REFRESH = "Refresh"
    DEALLOCATE = "Refresh(0)"
    PERMISSION = "CreatePermission"
    CHANNEL_BIND = "ChannelBind"


_METHOD: dict[_Kind, int] = {
    _Kind.ALLOCATE: Method.ALLOCATE,
    _Kind.REFRESH: Method.REFRESH,
    _Kind.DEALLOCATE: Method.REFRESH,
    _Kind.PERMISSION: Method.CREATE_PERMISSION,
    _Kind.CHANNEL_BIND: Method.CHANNEL_BIND,
}
_RESPONSES = (MessageClass.SUCCESS_RESPONSE, MessageClass.ERROR_RESPONSE)


@dataclass(frozen=True, slots=True)
class _Reply:
    """The attributes of a response that TURN acts on, decoded up front."""

    error_code: int | None
    reason: str
    realm: str | None
    nonce: str | None
    lifetime: int | None
    relayed_address: Address | None
    mapped_address: Address | None

    @classmethod
    def read(cls, message: Message) -> _Reply:
        """Decode; raises :class:`StunParseError` for a malformed value."""
        error = message.error_code
        lifetime = message.get(Lifetime)
        return cls(
            error_code=None if error is None else error.code,
            reason="" if error is None else error.reason,
            realm=message.realm,
            nonce=message.nonce,
            lifetime=None if lifetime is None else lifetime.seconds,
            relayed_address=message.xor_relayed_address,
            mapped_address=message.xor_mapped_address,
        )


@dataclass(slots=True)
class _Transaction:
    kind: _Kind
    transaction_id: bytes
    request: bytes
    authenticated: bool
    nonce: str | None
    next_at: float
    interval: float
    transmissions: int = 1
    stale_retries: int = 0
    peer: Address = ("", 0)
    channel: int = 0


class _Install(enum.Enum):
    PENDING = "pending"
    INSTALLED = "installed"


@dataclass(slots=True)
class _Permission:
    state: _Install
    refresh_at: float | None = None  # None while a CreatePermission is in flight
    queued: deque[tuple[Address, bytes]] = field(default_factory=deque)


@dataclass(slots=True)
class _Channel:
    number: int
    peer: Address
    state: _Install
    refresh_at: float | None = None


def _normalize_ip(ip: str) -> str:
    return ipaddress.ip_address(ip).compressed


def _refresh_delay(lifetime: float) -> float:
    """When to refresh something that lives ``lifetime`` seconds: a minute early, or halfway
    for short lifetimes (a server may grant less than asked)."""
    return lifetime - REFRESH_MARGIN if lifetime > 2 * REFRESH_MARGIN else lifetime / 2


class TurnClient:
    """One TURN allocation on one server, over UDP. See the module docstring for the flow.

    ``lifetime`` is the allocation lifetime asked for (the server may grant another).
    ``rto`` and ``max_transmissions`` are RFC 8489's RTO and Rc. ``max_queued`` bounds, per
    peer IP, the data held while its permission is being installed; beyond it the oldest is
    dropped (and counted). ``permission_lifetime`` and ``channel_lifetime`` are fixed by
    RFC 8656 (300 s, 600 s) and the server does not announce them: change them only for a
    server configured off-standard, as the coturn tests do. ``transaction_id`` makes the
    96-bit transaction ids (RFC 8489 §5); tests pass a deterministic one.
    """

    def __init__(
        self,
        server: Address,
        username: str,
        password: str,
        *,
        lifetime: int = DEFAULT_LIFETIME,
        rto: float = DEFAULT_RTO,
        max_transmissions: int = DEFAULT_MAX_TRANSMISSIONS,
        max_queued: int = 32,
        permission_lifetime: float = PERMISSION_LIFETIME,
        channel_lifetime: float = CHANNEL_LIFETIME,
        transaction_id: Callable[[], bytes] = new_transaction_id,
    ) -> None:
        if rto <= 0 or max_transmissions < 1 or lifetime < 0:
            raise ValueError("rto must be > 0, max_transmissions >= 1, lifetime >= 0")
        self.server: Address = server
        self.username = username
        self._password = password
        self.requested_lifetime = lifetime
        self._rto = rto
        self._max_transmissions = max_transmissions
        self._max_queued = max_queued
        self._permission_lifetime = permission_lifetime
        self._channel_lifetime = channel_lifetime
        self._new_transaction_id = transaction_id

        self.state = TurnState.NEW
        self.stats = TurnStats()
        self.relayed_address: Address | None = None
        self.mapped_address: Address | None = None
        self.lifetime: int | None = None

        self._realm: str | None = None
        self._nonce: str | None = None
        self._key: bytes | None = None

        self._output: deque[Transmit | TurnEvent] = deque()
        self._transactions: dict[bytes, _Transaction] = {}
        self._refresh_at: float | None = None
        self._permissions: dict[str, _Permission] = {}
        self._channels_by_peer: dict[Address, _Channel] = {}
        self._channels_by_number: dict[int, _Channel] = {}
        self._next_channel = CHANNEL_MIN

    # -----------------------------------------------------------------------------------------
    # Commands

    def allocate(self, now: float) -> None:
        """Start the allocation: an unauthenticated Allocate, expecting the 401 challenge."""
        if self.state is not TurnState.NEW:
            raise TurnError(f"allocate() in state {self.state.value}")
        self.state = TurnState.ALLOCATING
        self._start(_Kind.ALLOCATE, now)

    def refresh(self, now: float) -> None:
        """Refresh the allocation now instead of waiting for the timer."""
        if self.state is not TurnState.ALLOCATED:
            raise TurnError(f"refresh() in state {self.state.value}")
        if not self._in_flight(_Kind.REFRESH):
            self._refresh_at = None
            self._start(_Kind.REFRESH, now)

    def create_permission(self, peer_ip: str, now: float) -> None:
        """Ask the server to relay traffic from ``peer_ip`` (any port), and keep it refreshed
        until close. Allowed while allocating: the request goes out once allocated."""
        self._require_usable("create_permission")
        ip = _normalize_ip(peer_ip)
        if ip not in self._permissions:
            self._permissions[ip] = _Permission(_Install.PENDING)
            if self.state is TurnState.ALLOCATED:
                self._start(_Kind.PERMISSION, now, peer=(ip, 0))

    def bind_channel(self, peer: Address, now: float) -> int:
        """Bind a channel to ``peer`` (installing its permission too) and return its number.
        Until :class:`ChannelBound`, sends to ``peer`` still use Send indications."""
        self._require_usable("bind_channel")
        peer = (_normalize_ip(peer[0]), peer[1])
        existing = self._channels_by_peer.get(peer)
        if existing is not None:
            return existing.number
        if self._next_channel > CHANNEL_MAX:
            raise TurnError("all TURN channel numbers are used")
        channel = _Channel(self._next_channel, peer, _Install.PENDING)
        # Never reuse a number in this allocation: RFC 8656 §12 forbids rebinding it to another
        # peer until 5 minutes after its binding expires, and a failed bind may still exist.
        self._next_channel += 1
        self._channels_by_peer[peer] = channel
        self._channels_by_number[channel.number] = channel
        self.create_permission(peer[0], now)
        if self.state is TurnState.ALLOCATED:
            self._start(_Kind.CHANNEL_BIND, now, peer=peer, channel=channel.number)
        return channel.number

    def send(self, peer: Address, data: bytes, now: float) -> None:
        """Relay ``data`` to ``peer``: ChannelData if a channel is bound, else a Send indication.
        Without a permission for the peer's IP one is requested and the data is queued until
        it is installed (or dropped if it fails)."""
        if self.state not in (TurnState.ALLOCATING, TurnState.ALLOCATED):
            self.stats.dropped_sends += 1
            return
        channel = self._channels_by_peer.get(peer)
        if channel is not None and channel.state is _Install.INSTALLED:
            self._emit_transmit(bytes(ChannelData(channel.number, data)))
            self.stats.channel_data_sent += 1
            return
        permission = self._permissions.get(peer[0])
        if permission is None:
            ip = _normalize_ip(peer[0])
            if ip != peer[0]:
                self.send((ip, peer[1]), data, now)
                return
            self.create_permission(ip, now)
            permission = self._permissions[ip]
        if permission.state is _Install.INSTALLED:
            self._send_indication(peer, data)
        else:
            if len(permission.queued) >= self._max_queued:
                permission.queued.popleft()
                self.stats.dropped_sends += 1
            permission.queued.append((peer, bytes(data)))

    def close(self, now: float) -> None:
        """Deallocate (Refresh with LIFETIME 0) and end with a :class:`Closed` event, which
        comes at once if there is nothing to deallocate."""
        if self.state in (TurnState.CLOSING, TurnState.CLOSED):
            return
        # An authenticated Allocate in flight may have created an allocation whose answer we
        # have not seen: deallocate it too (the server answers 437 if there is none).
        deallocate = self.state is TurnState.ALLOCATED or (
            self.state is TurnState.ALLOCATING and self._key is not None
        )
        self._clear()
        if deallocate:
            self.state = TurnState.CLOSING
            self._start(_Kind.DEALLOCATE, now)
        else:
            self.state = TurnState.CLOSED
            self._output.append(Closed())

    # -----------------------------------------------------------------------------------------
    # Sans-IO driving

    def receive(self, data: bytes, now: float) -> bool:
        """Handle a datagram from the TURN server. Returns True if it was TURN traffic for this
        client; False for anything else (other STUN transactions, unknown channels, garbage),
        which the caller may hand to someone else. Never raises on bad input."""
        if not data:
            self.stats.malformed += 1
            return False
        first = data[0]
        if 0x40 <= first <= 0x4F:  # RFC 8656 §12: ChannelData starts with 0b01
            return self._receive_channel_data(data)
        if first > 0x03:  # not STUN either (RFC 7983 §7)
            self.stats.unmatched += 1
            return False
        try:
            message = Message.parse(data)
            if message.has_fingerprint and not message.verify_fingerprint():
                raise StunParseError("FINGERPRINT mismatch")
            if message.method == Method.DATA and message.message_class is MessageClass.INDICATION:
                return self._receive_data_indication(message)
            if message.message_class not in _RESPONSES:
                self.stats.unmatched += 1
                return False
            transaction = self._transactions.get(message.transaction_id)
            if transaction is None or message.method != _METHOD[transaction.kind]:
                self.stats.unmatched += 1
                return False
            # Accessors decode lazily: a bad attribute value raises here, not later.
            reply = _Reply.read(message)
        except StunParseError as exc:
            logger.debug("dropping malformed STUN from TURN server: %s", exc)
            self.stats.malformed += 1
            return False
        return self._receive_response(transaction, message, reply, now)

    def tick(self, now: float) -> None:
        """Run the timers due at ``now``: retransmissions, timeouts and refreshes."""
        for transaction in list(self._transactions.values()):
            if transaction.transaction_id not in self._transactions:
                continue  # ended by an earlier timeout in this loop
            if now >= transaction.next_at:
                self._retransmit_or_time_out(transaction, now)
        if self.state is not TurnState.ALLOCATED:
            return
        if self._refresh_at is not None and now >= self._refresh_at:
            self._refresh_at = None
            self._start(_Kind.REFRESH, now)
        for ip, permission in self._permissions.items():
            if permission.refresh_at is not None and now >= permission.refresh_at:
                permission.refresh_at = None
                self._start(_Kind.PERMISSION, now, peer=(ip, 0))
        for channel in self._channels_by_peer.values():
            if channel.refresh_at is not None and now >= channel.refresh_at:
                channel.refresh_at = None
                self._start(_Kind.CHANNEL_BIND, now, peer=channel.peer, channel=channel.number)

    def poll(self) -> Transmit | TurnEvent | None:
        """The next datagram to send or event to handle, in order; None when drained."""
        return self._output.popleft() if self._output else None

    def deadline(self) -> float | None:
        """When :meth:`tick` must next run, or None if no timer is pending."""
        times = [t.next_at for t in self._transactions.values()]
        if self.state is TurnState.ALLOCATED:
            if self._refresh_at is not None:
                times.append(self._refresh_at)
            times.extend(
                p.refresh_at for p in self._permissions.values() if p.refresh_at is not None
            )
            times.extend(
                c.refresh_at for c in self._channels_by_peer.values() if c.refresh_at is not None
            )
        return min(times) if times else None

    def channel_for(self, peer: Address) -> int | None:
        """The number of the channel bound (confirmed) to ``peer``, if any."""
        channel = self._channels_by_peer.get(peer)
        return channel.number if channel and channel.state is _Install.INSTALLED else None

    def has_permission(self, peer_ip: str) -> bool:
        """Whether the server has confirmed a permission for ``peer_ip``."""
        permission = self._permissions.get(peer_ip)
        return permission is not None and permission.state is _Install.INSTALLED

    # -----------------------------------------------------------------------------------------
    # Requests

    def _require_usable(self, what: str) -> None:
        if self.state not in (TurnState.ALLOCATING, TurnState.ALLOCATED):
            raise TurnError(f"{what}() in state {self.state.value}")

    def _in_flight(self, kind: _Kind) -> bool:
        return any(t.kind is kind for t in self._transactions.values())

    def _start(
        self,
        kind: _Kind,
        now: float,
        *,
        peer: Address = ("", 0),
        channel: int = 0,
        stale_retries: int = 0,
    ) -> None:
        transaction_id = self._new_transaction_id()
        request = self._build_request(kind, transaction_id, peer, channel)
        transaction = _Transaction(
            kind=kind,
            transaction_id=transaction_id,
            request=request,
            authenticated=self._key is not None,
            nonce=self._nonce,
            # With a single transmission the final wait applies at once (RFC 8489 §6.2.1).
            next_at=now
            + self._rto * (FINAL_WAIT_FACTOR if self._max_transmissions == 1 else 1),
            interval=self._rto,
            stale_retries=stale_retries,
            peer=peer,
            channel=channel,
        )
        self._transactions[transaction_id] = transaction
        self._emit_transmit(request)

    def _build_request(
        self, kind: _Kind, transaction_id: bytes, peer: Address, channel: int
    ) -> bytes:
        attributes: list[AttributeValue] = []
        if kind is _Kind.ALLOCATE:
            attributes.append(RequestedTransport(TRANSPORT_UDP))
            attributes.append(Lifetime(self.requested_lifetime))
        elif kind is _Kind.REFRESH:
            attributes.append(Lifetime(self.requested_lifetime))
        elif kind is _Kind.DEALLOCATE:
            attributes.append(Lifetime(0))
        elif kind is _Kind.PERMISSION:
            attributes.append(XorPeerAddress(*peer))
        else:
            attributes.append(ChannelNumber(channel))
            attributes.append(XorPeerAddress(*peer))
        key = self._key
        if key is not None and self._realm is not None and self._nonce is not None:
            attributes += [Username(self.username), Realm(self._realm), Nonce(self._nonce)]
        message = Message.create(_METHOD[kind], MessageClass.REQUEST, attributes, transaction_id)
        return message.encode(key, fingerprint=True)

    def _retransmit_or_time_out(self, transaction: _Transaction, now: float) -> None:
        if transaction.transmissions >= self._max_transmissions:
            del self._transactions[transaction.transaction_id]
            self._fail_transaction(transaction, None, "no answer from TURN server")
            return
        transaction.transmissions += 1
        self.stats.retransmissions += 1
        if transaction.transmissions == self._max_transmissions:
            transaction.next_at += self._rto * FINAL_WAIT_FACTOR
        else:
            transaction.interval *= 2
            transaction.next_at += transaction.interval
        # A caller that ticks late must not get a burst: schedule from now at the latest.
        transaction.next_at = max(transaction.next_at, now)
        self._emit_transmit(transaction.request)

    # -----------------------------------------------------------------------------------------
    # Responses

    def _receive_response(
        self, transaction: _Transaction, message: Message, reply: _Reply, now: float
    ) -> bool:
        code = reply.error_code
        if message.message_class is MessageClass.ERROR_RESPONSE and code is None:
            self.stats.malformed += 1
            return False
        # RFC 8489 §9.2.5: 401 and 438 carry no integrity; a success must be authenticated
        # when the request was. Other errors are checked when they carry MESSAGE-INTEGRITY
        # (servers differ on whether they sign them).
        if transaction.authenticated and code not in (401, 438):
            assert self._key is not None
            signed = message.has_integrity
            if (signed and not message.verify_integrity(self._key)) or (
                not signed and code is None
            ):
                self.stats.integrity_failures += 1
                return False

        # A 401 to a signed request means wrong credentials (RFC 8489 §9.2.5), unless it comes
        # with a fresh nonce: some servers say "stale nonce" that way, so that is retried once.
        renewed = code == 401 and reply.nonce is not None and reply.nonce != transaction.nonce
        stale = code == 438 or (transaction.authenticated and renewed)
        if stale or (code == 401 and not transaction.authenticated):
            realm = reply.realm or self._realm
            if reply.nonce is None or realm is None:
                self.stats.malformed += 1
                return False
            del self._transactions[transaction.transaction_id]
            limit = MAX_STALE_NONCE_RETRIES if code == 438 else 1
            if stale and transaction.stale_retries >= limit:
                self._fail_transaction(transaction, code, reply.reason or "stale nonce again")
                return True
            self._realm = realm
            self._nonce = reply.nonce
            self._key = long_term_key(self.username, realm, self._password)
            self._start(
                transaction.kind,
                now,
                peer=transaction.peer,
                channel=transaction.channel,
                stale_retries=transaction.stale_retries + stale,
            )
            return True

        if code is not None:
            del self._transactions[transaction.transaction_id]
            self._fail_transaction(transaction, code, reply.reason)
            return True

        if transaction.kind is _Kind.ALLOCATE:
            if reply.relayed_address is None:
                self.stats.malformed += 1
                return False
            self._allocated(reply, now)
        elif transaction.kind is _Kind.REFRESH:
            lifetime = reply.lifetime if reply.lifetime is not None else self.lifetime
            self.lifetime = lifetime if lifetime is not None else self.requested_lifetime
            self._refresh_at = now + _refresh_delay(self.lifetime)
            self._output.append(Refreshed(self.lifetime))
        elif transaction.kind is _Kind.DEALLOCATE:
            self._closed()
        elif transaction.kind is _Kind.PERMISSION:
            self._permission_installed(transaction.peer[0], now)
        else:
            self._channel_bound(transaction.peer, now)
        self._transactions.pop(transaction.transaction_id, None)
        return True

    def _allocated(self, reply: _Reply, now: float) -> None:
        assert reply.relayed_address is not None
        self.state = TurnState.ALLOCATED
        self.relayed_address = reply.relayed_address
        self.mapped_address = reply.mapped_address
        self.lifetime = (
            reply.lifetime if reply.lifetime is not None else self.requested_lifetime
        )
        self._refresh_at = now + _refresh_delay(self.lifetime)
        self._output.append(Allocated(self.relayed_address, self.mapped_address, self.lifetime))
        # Permissions and channels asked for while allocating go out now.
        for ip in self._permissions:
            self._start(_Kind.PERMISSION, now, peer=(ip, 0))
        for channel in self._channels_by_peer.values():
            self._start(_Kind.CHANNEL_BIND, now, peer=channel.peer, channel=channel.number)

    def _permission_installed(self, ip: str, now: float) -> None:
        permission = self._permissions.get(ip)
        if permission is None:
            return
        permission.refresh_at = now + _refresh_delay(self._permission_lifetime)
        if permission.state is _Install.PENDING:
            permission.state = _Install.INSTALLED
            self._output.append(PermissionCreated(ip))
        while permission.queued:
            peer, data = permission.queued.popleft()
            self.send(peer, data, now)

    def _channel_bound(self, peer: Address, now: float) -> None:
        channel = self._channels_by_peer.get(peer)
        if channel is None:
            return
        channel.refresh_at = now + _refresh_delay(self._channel_lifetime)
        if channel.state is _Install.PENDING:
            channel.state = _Install.INSTALLED
            self._output.append(ChannelBound(peer, channel.number))
        # RFC 8656 §12.2: a successful ChannelBind installs or refreshes the permission.
        permission = self._permissions.get(peer[0])
        if permission is not None and permission.state is _Install.PENDING:
            self._permission_installed(peer[0], now)

    def _fail_transaction(self, transaction: _Transaction, code: int | None, reason: str) -> None:
        kind = transaction.kind
        logger.info("TURN %s failed: %s %s", kind.value, code, reason)
        if kind is _Kind.ALLOCATE:
            self._clear()
            self.state = TurnState.FAILED
            self._output.append(AllocationFailed(code, reason))
        elif kind is _Kind.REFRESH:
            self._clear()
            self.state = TurnState.FAILED
            self.relayed_address = None
            self._output.append(AllocationLost(code, reason))
        elif kind is _Kind.DEALLOCATE:
            self._closed()  # 437 included: the allocation is gone either way
        elif kind is _Kind.PERMISSION:
            ip = transaction.peer[0]
            permission = self._permissions.pop(ip, None)
            if permission is not None:
                self.stats.dropped_sends += len(permission.queued)
            self._output.append(PermissionFailed(ip, code, reason))
        else:
            channel = self._channels_by_peer.pop(transaction.peer, None)
            if channel is not None:
                del self._channels_by_number[channel.number]
            self._output.append(
                ChannelBindFailed(transaction.peer, transaction.channel, code, reason)
            )

    def _clear(self) -> None:
        self._transactions.clear()
        self._refresh_at = None
        for permission in self._permissions.values():
            self.stats.dropped_sends += len(permission.queued)
        self._permissions.clear()
        self._channels_by_peer.clear()
        self._channels_by_number.clear()

    def _closed(self) -> None:
        self._transactions.clear()
        self.state = TurnState.CLOSED
        self.relayed_address = None
        self._output.append(Closed())

    # -----------------------------------------------------------------------------------------
    # Data

    def _send_indication(self, peer: Address, data: bytes) -> None:
        message = Message.create(
            Method.SEND,
            MessageClass.INDICATION,
            (XorPeerAddress(*peer), Data(data)),
            self._new_transaction_id(),
        )
        self._emit_transmit(bytes(message))
        self.stats.send_indications += 1

    def _receive_data_indication(self, message: Message) -> bool:
        peers = message.xor_peer_addresses  # may raise StunParseError: caller counts it
        data = message.data
        if not peers or data is None:
            self.stats.malformed += 1
            return False
        if self.state is not TurnState.ALLOCATED:
            self.stats.unmatched += 1
            return False
        self.stats.data_indications += 1
        self._output.append(DataReceived(peers[0], data))
        return True

    def _receive_channel_data(self, data: bytes) -> bool:
        if len(data) < 4:
            self.stats.malformed += 1
            return False
        number, length = struct.unpack_from("!HH", data)
        if length > len(data) - 4:
            self.stats.malformed += 1
            return False
        channel = self._channels_by_number.get(number)
        if channel is None or self.state is not TurnState.ALLOCATED:
            self.stats.unmatched += 1
            return False
        # The server may use the channel before our ChannelBind response arrives (it was lost).
        self.stats.channel_data_received += 1
        self._output.append(DataReceived(channel.peer, bytes(data[4 : 4 + length])))
        return True

    def _emit_transmit(self, data: bytes) -> None:
        self._output.append(Transmit(data, destination=self.server))
