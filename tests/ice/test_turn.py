"""TurnClient against a scripted TURN server built with pywebrtc.stun, on a fake clock."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.ice.turn import (
    Address,
    Allocated,
    AllocationFailed,
    AllocationLost,
    ChannelBound,
    Closed,
    DataReceived,
    PermissionCreated,
    PermissionFailed,
    Refreshed,
    Transmit,
    TurnClient,
    TurnEvent,
    TurnState,
)
from pywebrtc.stun.attributes import (
    ChannelNumber,
    Data,
    Lifetime,
    Nonce,
    RawAttribute,
    Realm,
    RequestedTransport,
    XorMappedAddress,
    XorPeerAddress,
    XorRelayedAddress,
)
from pywebrtc.stun.channeldata import ChannelData
from pywebrtc.stun.constants import MessageClass, Method
from pywebrtc.stun.credentials import long_term_key
from pywebrtc.stun.message import Message

REQUEST = MessageClass.REQUEST
SERVER: Address = ("192.0.2.1", 3478)
RELAYED: Address = ("192.0.2.1", 50000)
MAPPED: Address = ("198.51.100.7", 41000)
PEER: Address = ("203.0.113.9", 6000)
USER, PASSWORD, REALM = "alice", "wonderland", "example.org"


@dataclass
class FakeTurnServer:
    """Just enough of RFC 8656 server behaviour to script the client's conversations."""

    nonce: str = "nonce-1"
    lifetime: int = 600
    password: str = PASSWORD
    # Scripted: error code to answer the next request of a method with.
    fail_next: dict[int, int] = field(default_factory=dict)
    drop_next: int = 0
    drop_signed: int = 0  # drop the next N requests that carry MESSAGE-INTEGRITY
    requests: list[Message] = field(default_factory=list)
    indications: list[tuple[Address, bytes]] = field(default_factory=list)
    channel_data: list[tuple[int, bytes]] = field(default_factory=list)
    permissions: set[str] = field(default_factory=set)
    channels: dict[int, Address] = field(default_factory=dict)
    allocated: bool = False

    @property
    def key(self) -> bytes:
        return long_term_key(USER, REALM, self.password)

    def handle(self, data: bytes) -> bytes | None:
        if 0x40 <= data[0] <= 0x4F:
            cd = ChannelData.parse(data)
            self.channel_data.append((cd.channel_number, cd.data))
            return None
        message = Message.parse(data)
        assert message.verify_fingerprint() or message.message_class is MessageClass.INDICATION
        if message.message_class is MessageClass.INDICATION:
            assert message.method == Method.SEND
            self.indications.append((message.xor_peer_addresses[0], message.data or b""))
            return None
        self.requests.append(message)
        if self.drop_next:
            self.drop_next -= 1
            return None
        if self.drop_signed and message.has_integrity:
            self.drop_signed -= 1
            return None
        challenge = [Realm(REALM), Nonce(self.nonce)]
        if not message.has_integrity:
            return message.error_response(401, "Unauthorized", challenge).encode()
        assert message.username == USER and message.realm == REALM
        if not message.verify_integrity(self.key):
            return message.error_response(401, "Unauthorized", challenge).encode()
        if message.nonce != self.nonce:
            return message.error_response(438, "Stale Nonce", challenge).encode()
        code = self.fail_next.pop(message.method, None)
        if code is not None:
            return message.error_response(code, "scripted").encode(self.key, fingerprint=True)
        return self._succeed(message).encode(self.key, fingerprint=True)

    def _succeed(self, message: Message) -> Message:
        if message.method == Method.ALLOCATE:
            assert message.get(RequestedTransport) == RequestedTransport(17)
            self.allocated = True
            return message.success_response(
                [XorRelayedAddress(*RELAYED), XorMappedAddress(*MAPPED), Lifetime(self.lifetime)]
            )
        if message.method == Method.REFRESH:
            requested = message.get(Lifetime)
            assert requested is not None
            if requested.seconds == 0:
                self.allocated = False
                return message.success_response([Lifetime(0)])
            return message.success_response([Lifetime(self.lifetime)])
        if message.method == Method.CREATE_PERMISSION:
            self.permissions.update(host for host, _ in message.xor_peer_addresses)
            return message.success_response()
        assert message.method == Method.CHANNEL_BIND
        number = message.get(ChannelNumber)
        assert number is not None
        self.channels[number.number] = message.xor_peer_addresses[0]
        self.permissions.add(message.xor_peer_addresses[0][0])
        return message.success_response()

    def data_indication(self, peer: Address, data: bytes) -> bytes:
        message = Message.create(
            Method.DATA, MessageClass.INDICATION, [XorPeerAddress(*peer), Data(data)]
        )
        return bytes(message)


class Harness:
    """Moves datagrams between the client and the fake server; records events."""

    def __init__(self, client: TurnClient | None = None, server: FakeTurnServer | None = None):
        ids = (i.to_bytes(12, "big") for i in itertools.count(1))
        self.client = client or TurnClient(
            SERVER, USER, PASSWORD, transaction_id=lambda: next(ids)
        )
        self.server = server or FakeTurnServer()
        self.events: list[TurnEvent] = []
        self.sent: list[bytes] = []

    def pump(self, now: float) -> None:
        while (item := self.client.poll()) is not None:
            if isinstance(item, Transmit):
                assert item.destination == SERVER
                self.sent.append(item.data)
                answer = self.server.handle(item.data)
                if answer is not None:
                    assert self.client.receive(answer, now)
            else:
                self.events.append(item)

    def allocate(self, now: float = 0.0) -> None:
        self.client.allocate(now)
        self.pump(now)
        assert self.client.state is TurnState.ALLOCATED

    def tick(self, now: float) -> None:
        self.client.tick(now)
        self.pump(now)

    def of(self, kind: type[TurnEvent]) -> list[TurnEvent]:
        return [e for e in self.events if isinstance(e, kind)]


def test_allocate_answers_the_401_challenge_with_long_term_credentials() -> None:
    h = Harness()
    h.allocate()
    first, second = h.server.requests
    assert first.method == second.method == Method.ALLOCATE
    assert not first.has_integrity and first.username is None
    assert second.username == USER and second.realm == REALM and second.nonce == "nonce-1"
    assert second.verify_integrity(long_term_key(USER, REALM, PASSWORD))
    assert second.transaction_id != first.transaction_id
    assert h.events == [Allocated(RELAYED, MAPPED, 600)]
    assert h.client.relayed_address == RELAYED and h.client.mapped_address == MAPPED


def test_wrong_password_fails_allocation_with_401() -> None:
    h = Harness(server=FakeTurnServer(password="other"))
    h.client.allocate(0.0)
    h.pump(0.0)
    assert h.events == [AllocationFailed(401, "Unauthorized")]
    assert h.client.state is TurnState.FAILED
    assert h.client.deadline() is None


def test_allocate_error_response_is_reported_with_its_code() -> None:
    h = Harness()
    h.server.fail_next[Method.ALLOCATE] = 486
    h.client.allocate(0.0)
    h.pump(0.0)
    assert h.events == [AllocationFailed(486, "scripted")]
    assert h.client.state is TurnState.FAILED


def test_stale_nonce_is_retried_with_the_new_nonce() -> None:
    h = Harness()
    h.allocate()
    h.server.nonce = "nonce-2"
    h.client.refresh(10.0)
    h.pump(10.0)
    stale, retried = h.server.requests[-2:]
    assert stale.nonce == "nonce-1" and retried.nonce == "nonce-2"
    assert h.of(Refreshed) == [Refreshed(600)]
    # Later requests use the new nonce straight away.
    h.client.create_permission(PEER[0], 11.0)
    h.pump(11.0)
    assert h.server.requests[-1].nonce == "nonce-2"
    assert h.of(PermissionCreated) == [PermissionCreated(PEER[0])]


def test_401_with_a_fresh_nonce_to_a_signed_request_is_retried_once() -> None:
    h = Harness()
    h.allocate()

    class NonceBy401(FakeTurnServer):
        """Signals an expired nonce with 401 instead of 438, as some servers do."""

        def handle(self, data: bytes) -> bytes | None:
            message = Message.parse(data)
            if message.has_integrity and message.nonce != self.nonce:
                challenge = [Realm(REALM), Nonce(self.nonce)]
                return message.error_response(401, "Unauthorized", challenge).encode()
            return super().handle(data)

    server = NonceBy401(nonce="nonce-2")
    h.server = server
    h.client.refresh(1.0)
    h.pump(1.0)
    assert h.of(Refreshed) == [Refreshed(600)]
    assert [r.nonce for r in server.requests] == ["nonce-2"]
    # A wrong password gets 401 again with the same nonce: that is a failure, not a loop.
    server.password = "changed"
    h.client.refresh(2.0)
    h.pump(2.0)
    assert h.of(AllocationLost) == [AllocationLost(401, "Unauthorized")]


def test_refresh_goes_out_a_minute_before_expiry_and_keeps_the_allocation() -> None:
    h = Harness()
    h.allocate(0.0)
    assert h.client.deadline() == 540.0
    h.tick(539.9)
    assert len(h.server.requests) == 2
    h.tick(540.0)
    refresh = h.server.requests[-1]
    assert refresh.method == Method.REFRESH and refresh.get(Lifetime) == Lifetime(600)
    assert h.of(Refreshed) == [Refreshed(600)]
    assert h.client.deadline() == 1080.0


def test_short_granted_lifetime_is_refreshed_halfway() -> None:
    h = Harness(server=FakeTurnServer(lifetime=100))
    h.allocate(0.0)
    assert h.client.lifetime == 100 and h.client.deadline() == 50.0


def test_send_installs_a_permission_first_then_uses_send_indications() -> None:
    h = Harness()
    h.allocate()
    h.client.send(PEER, b"hello", 1.0)
    h.pump(1.0)
    assert h.server.permissions == {PEER[0]}
    assert h.of(PermissionCreated) == [PermissionCreated(PEER[0])]
    assert h.server.indications == [(PEER, b"hello")]
    h.client.send(PEER, b"again", 2.0)
    h.pump(2.0)
    assert h.server.indications[-1] == (PEER, b"again")
    assert h.client.stats.send_indications == 2


def test_permission_is_refreshed_before_its_five_minutes_run_out() -> None:
    h = Harness()
    h.allocate(0.0)
    h.client.create_permission(PEER[0], 0.0)
    h.pump(0.0)
    assert h.client.deadline() == 240.0
    h.tick(240.0)
    last = h.server.requests[-1]
    assert last.method == Method.CREATE_PERMISSION
    assert last.xor_peer_addresses == [(PEER[0], 0)]
    assert h.client.deadline() == 480.0
    assert len(h.of(PermissionCreated)) == 1  # a refresh is not a new permission


def test_permission_failure_drops_the_queued_data() -> None:
    h = Harness()
    h.allocate()
    h.server.fail_next[Method.CREATE_PERMISSION] = 403
    h.client.send(PEER, b"a", 1.0)
    h.client.send(PEER, b"b", 1.0)
    h.pump(1.0)
    assert h.of(PermissionFailed) == [PermissionFailed(PEER[0], 403, "scripted")]
    assert h.server.indications == []
    assert h.client.stats.dropped_sends == 2


def test_channel_bind_switches_sends_to_channel_data_and_is_refreshed() -> None:
    h = Harness()
    h.allocate(0.0)
    channel = h.client.bind_channel(PEER, 0.0)
    assert channel == 0x4000
    h.client.send(PEER, b"before", 0.0)  # queued until the permission (or binding) is in
    h.pump(0.0)
    assert h.of(ChannelBound) == [ChannelBound(PEER, 0x4000)]
    assert h.server.channels == {0x4000: PEER}
    h.client.send(PEER, b"after", 1.0)
    h.pump(1.0)
    assert h.server.indications == [(PEER, b"before")]
    assert h.server.channel_data == [(0x4000, b"after")]
    assert h.client.channel_for(PEER) == 0x4000
    assert h.client.bind_channel(PEER, 1.0) == 0x4000  # idempotent
    # The permission refreshes at 240 s, the channel at 540 s (RFC 8656 §9, §12).
    h.tick(240.0)
    assert h.server.requests[-1].method == Method.CREATE_PERMISSION
    h.tick(480.0)
    h.tick(540.0)
    methods = [r.method for r in h.server.requests[-2:]]
    assert Method.CHANNEL_BIND in methods and Method.REFRESH in methods


def test_data_indications_and_channel_data_are_delivered_with_the_peer() -> None:
    h = Harness()
    h.allocate()
    channel = h.client.bind_channel(PEER, 0.0)
    h.pump(0.0)
    assert h.client.receive(h.server.data_indication(PEER, b"via indication"), 1.0)
    assert h.client.receive(bytes(ChannelData(channel, b"via channel")), 1.0)
    # UDP ChannelData may carry up to 3 bytes of padding (RFC 8656 §12.5).
    assert h.client.receive(bytes(ChannelData(channel, b"pad")) + b"\x00", 1.0)
    h.pump(1.0)
    assert h.of(DataReceived) == [
        DataReceived(PEER, b"via indication"),
        DataReceived(PEER, b"via channel"),
        DataReceived(PEER, b"pad"),
    ]
    assert h.client.stats.data_indications == 1 and h.client.stats.channel_data_received == 2


def test_lost_request_is_retransmitted_with_rfc8489_backoff() -> None:
    h = Harness()
    h.client.allocate(0.0)
    h.server.drop_next = 3
    h.pump(0.0)
    assert h.client.deadline() == 0.5
    h.tick(0.5)
    assert h.client.deadline() == 1.5
    h.tick(1.5)
    assert h.client.deadline() == 3.5
    assert h.sent[0] == h.sent[1] == h.sent[2]  # the same request, byte for byte
    h.tick(3.5)  # the fourth transmission is answered (401), then the real Allocate
    assert h.of(Allocated) == [Allocated(RELAYED, MAPPED, 600)]
    assert h.client.stats.retransmissions == 3


def test_server_that_never_answers_fails_the_allocation_after_39_5_seconds() -> None:
    h = Harness()
    h.server.drop_next = 100
    h.client.allocate(0.0)
    h.pump(0.0)
    times = []
    while (deadline := h.client.deadline()) is not None:
        times.append(deadline)
        h.tick(deadline)
    assert times == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5, 39.5]
    assert len(h.server.requests) == 7
    assert h.events == [AllocationFailed(None, "no answer from TURN server")]


def test_refresh_rejected_with_437_loses_the_allocation() -> None:
    h = Harness()
    h.allocate(0.0)
    h.server.fail_next[Method.REFRESH] = 437
    h.tick(540.0)
    assert h.of(AllocationLost) == [AllocationLost(437, "scripted")]
    assert h.client.state is TurnState.FAILED and h.client.relayed_address is None


def test_server_vanishing_after_allocation_loses_it_when_the_refresh_times_out() -> None:
    h = Harness()
    h.allocate(0.0)
    h.server.drop_next = 100
    while (deadline := h.client.deadline()) is not None:
        h.tick(deadline)
    assert h.of(AllocationLost) == [AllocationLost(None, "no answer from TURN server")]
    # The refresh went out at 540 s; giving up at 579.5 s is before the 600 s expiry.
    assert deadline is None and h.client.state is TurnState.FAILED


@given(st.lists(st.booleans(), min_size=1, max_size=12).filter(lambda d: sum(d) <= 4))
def test_allocation_and_data_survive_any_few_lost_requests(drops: list[bool]) -> None:
    pattern = iter(drops)

    class LossyServer(FakeTurnServer):
        def handle(self, data: bytes) -> bytes | None:
            is_request = data[0] < 0x40 and Message.parse(data).message_class is REQUEST
            if is_request and next(pattern, False):
                return None
            return super().handle(data)

    h = Harness(server=LossyServer())
    h.client.allocate(0.0)
    h.client.bind_channel(PEER, 0.0)
    h.pump(0.0)
    now = 0.0
    while h.client.channel_for(PEER) is None:
        deadline = h.client.deadline()
        assert deadline is not None and deadline < 39.5
        now = deadline
        h.tick(now)
    assert h.of(Allocated) and h.of(ChannelBound)
    h.client.send(PEER, b"through", now)
    h.pump(now)
    assert h.server.channel_data == [(0x4000, b"through")]


def test_close_deallocates_with_lifetime_zero() -> None:
    h = Harness()
    h.allocate(0.0)
    h.client.close(5.0)
    assert h.client.state is TurnState.CLOSING
    h.pump(5.0)
    assert h.server.requests[-1].get(Lifetime) == Lifetime(0)
    assert not h.server.allocated
    assert h.events[-1] == Closed()
    assert h.client.state.value == "closed"  # (mypy still holds on to CLOSING)
    assert h.client.deadline() is None


def test_close_while_allocating_deallocates_what_may_exist() -> None:
    h = Harness()
    h.client.allocate(0.0)
    h.server.drop_signed = 2  # the 401 arrives, the authenticated Allocate is "lost"
    h.pump(0.0)
    assert h.server.requests[-1].has_integrity and h.client.state is TurnState.ALLOCATING
    h.client.close(0.1)
    h.pump(0.1)  # and so is the first Refresh(0)
    h.tick(0.6)
    assert h.server.requests[-1].get(Lifetime) == Lifetime(0)
    assert h.events == [Closed()] and h.client.deadline() is None
    # Closing before the challenge was even answered has nothing to deallocate.
    other = Harness()
    other.client.allocate(0.0)
    other.client.close(0.0)
    assert other.client.poll() is not None  # the first Allocate was already queued
    assert other.client.poll() == Closed() and other.client.deadline() is None


def test_data_sent_while_allocating_goes_out_once_allocated() -> None:
    h = Harness()
    h.client.allocate(0.0)
    h.client.send(PEER, b"early", 0.0)
    v6_peer = ("2001:db8:0:0::7", 9)
    h.client.send(v6_peer, b"early v6", 0.0)  # IPv6 text is normalised
    assert not h.client.has_permission(PEER[0])
    h.pump(0.0)
    assert h.client.has_permission(PEER[0]) and h.client.has_permission("2001:db8::7")
    assert h.server.permissions == {PEER[0], "2001:db8::7"}
    assert h.server.indications == [(PEER, b"early"), (("2001:db8::7", 9), b"early v6")]


def test_malformed_and_forged_server_input_is_dropped_and_counted() -> None:
    h = Harness()
    h.client.allocate(0.0)
    h.pump(0.0)  # allocated; now feed junk
    client = h.client
    challenge = h.server.requests[0]
    forged_key = long_term_key(USER, REALM, "guess")
    pending = Message.create(Method.REFRESH, MessageClass.REQUEST, [Lifetime(600)])
    client.refresh(1.0)
    transmit = client.poll()
    assert isinstance(transmit, Transmit)
    refresh_request = Message.parse(transmit.data)
    junk: list[bytes] = [
        b"",
        b"\x00\x01",  # truncated header
        b"\x01\x01\x00\x04" + bytes(16),  # no magic cookie
        bytes(refresh_request)[:-3],  # truncated attribute
        b"\x40\x00\x00\x10abc",  # ChannelData claiming more than it has
        b"\x40",  # one byte of ChannelData
        # A Data indication without DATA.
        bytes(Message.create(Method.DATA, MessageClass.INDICATION, [XorPeerAddress(*PEER)])),
        # A Data indication with a broken XOR-PEER-ADDRESS value.
        bytes(
            Message.create(
                Method.DATA,
                MessageClass.INDICATION,
                [RawAttribute(0x0012, b"\x00\x09\x00"), Data(b"x")],
            )
        ),
        # A success for the pending Refresh signed with the wrong key (forged).
        refresh_request.success_response([Lifetime(1)]).encode(forged_key, fingerprint=True),
        # ... and one without any MESSAGE-INTEGRITY.
        refresh_request.success_response([Lifetime(1)]).encode(fingerprint=True),
        # An error response without ERROR-CODE.
        bytes(
            Message.create(
                Method.REFRESH, MessageClass.ERROR_RESPONSE, [], refresh_request.transaction_id
            )
        ),
        # A response with a wrong FINGERPRINT.
        refresh_request.success_response().encode(h.server.key, fingerprint=True)[:-1] + b"\x00",
    ]
    for datagram in junk:
        assert client.receive(datagram, 1.0) is False
    # Responses to transactions the client never sent (e.g. another user of the socket).
    assert not client.receive(challenge.success_response().encode(), 1.0)
    assert not client.receive(pending.success_response().encode(), 1.0)
    assert client.stats.malformed == 10
    assert client.stats.integrity_failures == 2
    assert client.stats.unmatched == 2
    assert client.state is TurnState.ALLOCATED
    # The genuine answer still completes the transaction.
    answer = h.server.handle(bytes(refresh_request))
    assert answer is not None and client.receive(answer, 1.0)
    h.pump(1.0)
    assert h.of(Refreshed) == [Refreshed(600)]


@given(st.binary(max_size=64))
def test_receive_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    h = Harness()
    h.allocate()
    h.client.bind_channel(PEER, 0.0)
    h.pump(0.0)
    h.client.receive(data, 1.0)
    header = b"\x01\x01" + len(data).to_bytes(2, "big") + b"\x21\x12\xa4\x42" + bytes(12)
    h.client.receive(header + data, 1.0)
