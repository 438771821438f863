"""Forwarder decisions on a fake clock: flow creation, drops by reason, expiry, bound,
migration, chaining and the route-cache hooks. No sockets."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.framing import encode_address
from relay.flows import Backend
from relay.forwarder import Drop, Forwarder, backends
from relay.routing import Route, RouteCodec
from tests.relay.stunmsg import binding_request, binding_success

CODEC = RouteCodec({0: bytes(range(16))}, active=0)
T1 = ("10.0.0.1", 4000)
T2 = ("10.0.0.2", 4000)
RELAY_C1 = ("10.1.0.1", 3478)
ALICE = ("198.51.100.7", 50000)
BOB = ("2001:db8::7", 50001)
Addr = tuple[str, int]


def make(**kwargs: object) -> Forwarder[Addr]:
    return Forwarder(
        CODEC,
        encode_address,
        backends({1: T1, 2: T2}),
        cluster=0,
        peer_relays=backends({1: RELAY_C1}, chained=True),
        **kwargs,  # type: ignore[arg-type]
    )


def request(route: Route, remote: str = "peer") -> bytes:
    return binding_request(f"{CODEC.encode(route)}:{remote}")


def test_binding_request_with_routable_ufrag_creates_a_flow() -> None:
    fw = make()
    flow = fw.from_client(ALICE, request(Route(0, 2)), now=1.0)
    assert flow is not None
    assert flow.backend.address == T2
    assert flow.header == encode_address(ALICE)
    assert fw.flows_created == 1
    # From now on anything from that address is forwarded opaque.
    assert fw.from_client(ALICE, b"\x16\xfe\xfd" + bytes(20), now=1.1) is flow
    assert fw.from_client(ALICE, b"\x80\x6f" + bytes(20), now=1.2) is flow


def test_ipv6_clients() -> None:
    fw = make()
    flow = fw.from_client(BOB, request(Route(0, 1)), now=0.0)
    assert flow is not None and len(flow.header) == 19


def test_drops_are_counted_by_reason_and_create_nothing() -> None:
    fw = make()
    forged = CODEC.encode(Route(0, 1))
    forged = forged[:5] + ("A" if forged[5] != "A" else "B") + forged[6:]
    cases = [
        (b"\x16\xfe\xfd" + bytes(40), Drop.NOT_STUN),
        (b"\x80\x6f" + bytes(40), Drop.NOT_STUN),
        (b"", Drop.NOT_STUN),
        (binding_success(), Drop.NOT_STUN),
        (b"\x00\x01" + bytes(30), Drop.NO_USERNAME),
        (binding_request(f"{forged}:x"), Drop.BAD_UFRAG),
        (binding_request("randomufrag:x"), Drop.BAD_UFRAG),
        (binding_request("peer:" + CODEC.encode(Route(0, 1))), Drop.BAD_UFRAG),  # wrong part
        (request(Route(0, 9)), Drop.UNKNOWN_TRANSCEIVER),
        (request(Route(5, 1)), Drop.UNKNOWN_CLUSTER),
    ]
    for datagram, reason in cases:
        before = fw.drops[reason]
        assert fw.from_client(ALICE, datagram, now=0.0) is None
        assert fw.drops[reason] == before + 1, reason
    assert not fw.flows and not fw.by_header and fw.flows_created == 0


@given(st.binary(max_size=200))
def test_random_first_packets_never_create_flows(data: bytes) -> None:
    fw = make()
    assert fw.from_client(ALICE, data, now=0.0) is None
    assert sum(fw.drops.values()) == 1


def test_backend_frames_go_to_the_client_named_in_the_header() -> None:
    fw = make()
    flow = fw.from_client(ALICE, request(Route(0, 1)), now=0.0)
    assert flow is not None
    reply = flow.header + b"\x17\xfe\xfd-dtls"
    assert fw.from_backend(reply, now=0.5) is flow
    assert reply[len(flow.header) :] == b"\x17\xfe\xfd-dtls"
    assert fw.from_backend(encode_address(BOB) + b"x", now=0.5) is None
    assert fw.drops[Drop.UNKNOWN_FLOW] == 1
    for bad in [b"", b"\x00\x01xxxx", b"\xc4\x00"]:
        assert fw.from_backend(bad, now=0.5) is None
    assert fw.drops[Drop.BAD_FRAME] == 3


def test_idle_flows_expire_and_traffic_in_either_direction_keeps_them() -> None:
    fw = make(idle_timeout=10.0)
    a = fw.from_client(ALICE, request(Route(0, 1)), now=0.0)
    b = fw.from_client(BOB, request(Route(0, 1)), now=0.0)
    assert a is not None and b is not None
    fw.from_client(ALICE, b"\x80\x6f", now=8.0)
    fw.from_backend(b.header + b"x", now=9.0)
    assert fw.expire(now=15.0) == 0
    assert fw.expire(now=18.5) == 1  # alice idle since 8
    assert ALICE not in fw.flows and BOB in fw.flows
    assert fw.expire(now=19.5) == 1
    assert not fw.by_header and fw.flows_expired == 2
    # Expired: the address is unknown again and needs a Binding Request.
    assert fw.from_client(ALICE, b"\x80\x6f", now=20.0) is None


def test_expiry_in_slices_sweeps_the_table_a_limit_at_a_time() -> None:
    fw = make(idle_timeout=10.0)
    clients = [("192.0.2.1", port) for port in range(10)]
    for i, c in enumerate(clients):
        fw.from_client(c, request(Route(0, 1)), now=0.0 if i < 5 else 15.0)
    fw.from_client(clients[0], b"\x80\x6f", now=19.0)  # one stays busy
    # A sweep looks at the flows of the moment it starts, ``limit`` at a time.
    assert fw.expire(now=20.0, limit=3) == 0  # clients 7-9: not idle for 10 s yet
    assert fw.expire(now=20.0) == 4  # meanwhile a full look expires clients 1-4
    fw.from_client(clients[4], request(Route(0, 1)), now=20.0)  # 4 again, a new flow
    # The rest of the sweep still holds the old flows of clients 1-4: they are gone (or,
    # for client 4, replaced by a new flow under the same header), so not counted again.
    counts = [fw.expire(now=26.0, limit=3) for _ in range(3)]
    assert counts == [2, 0, 0]  # clients 5 and 6
    assert set(fw.flows) == {clients[i] for i in (0, 4, 7, 8, 9)}
    assert fw.flows_expired == 6
    # That sweep is over; the next starts over the flows of its moment.
    assert fw.expire(now=40.0, limit=10) == 5 and not fw.flows


def test_table_is_bounded() -> None:
    fw = make(max_flows=3)
    for port in range(10):
        fw.from_client(("192.0.2.1", port), request(Route(0, 1)), now=0.0)
    assert len(fw.by_header) == 3 and len(fw.flows) == 3
    assert fw.drops[Drop.TABLE_FULL] == 7
    fw.expire(now=100.0)
    assert fw.from_client(("192.0.2.1", 99), request(Route(0, 1)), now=100.0) is not None


def test_binding_request_naming_another_transceiver_moves_the_flow() -> None:
    fw = make()
    flow = fw.from_client(ALICE, request(Route(0, 1)), now=0.0)
    assert flow is not None and flow.backend.address == T1
    # Consent check with the same ufrag: no move, no decode needed.
    username = f"{flow.ufrag}:peer"
    assert fw.from_client(ALICE, binding_request(username), now=1.0) is flow
    assert fw.flows_migrated == 0
    # ICE restart towards transceiver 2.
    assert fw.from_client(ALICE, request(Route(0, 2)), now=2.0) is flow
    assert flow.backend.address == T2 and fw.flows_migrated == 1
    # A forged ufrag on a known flow is forwarded where the flow goes, and moves nothing.
    assert fw.from_client(ALICE, binding_request("forged:x"), now=3.0) is flow
    assert flow.backend.address == T2
    # A route to an unknown transceiver does not move it either.
    fw.from_client(ALICE, request(Route(0, 77)), now=4.0)
    assert flow.backend.address == T2 and fw.flows_migrated == 1


def test_route_to_another_cluster_goes_to_its_relay() -> None:
    fw = make()
    flow = fw.from_client(ALICE, request(Route(1, 5)), now=0.0)
    assert flow is not None and flow.backend.address == RELAY_C1 and flow.backend.chained


def test_chained_frames_from_a_peer_relay() -> None:
    # This is cluster 1's relay; cluster 0's relay forwards Alice's frames here.
    fw = Forwarder(CODEC, encode_address, backends({5: T1}), cluster=1)
    upstream = Backend(("10.0.0.9", 40000), chained=True)
    header = encode_address(ALICE)
    first = header + request(Route(1, 5))
    flow = fw.from_peer_relay(upstream, first, now=0.0)
    assert flow is not None and flow.via is upstream and flow.key is None
    assert flow.backend.address == T1
    assert fw.from_peer_relay(upstream, header + b"\x17\xfe\xfd", now=0.1) is flow
    # The transceiver's reply goes back, whole, to the upstream relay.
    assert fw.from_backend(header + b"reply", now=0.2) is flow
    # Only one hop: a chained route for yet another cluster is dropped.
    other = encode_address(BOB) + request(Route(2, 5))
    assert fw.from_peer_relay(upstream, other, now=0.3) is None
    assert fw.drops[Drop.UNKNOWN_CLUSTER] == 1
    assert fw.from_peer_relay(upstream, encode_address(BOB) + b"\x17", now=0.3) is None
    assert fw.drops[Drop.NOT_STUN] == 1
    assert fw.from_peer_relay(upstream, b"junk", now=0.3) is None
    assert fw.drops[Drop.BAD_FRAME] == 1


def test_route_cache_writes_on_creation_and_refreshes_at_most_every_interval() -> None:
    fw = make(cache_enabled=True, cache_refresh=5.0)
    flow = fw.from_client(ALICE, request(Route(0, 1)), now=0.0)
    assert flow is not None
    assert fw.cache_writes == [(flow.header, Route(0, 1))]
    fw.cache_writes.clear()
    consent = binding_request(f"{flow.ufrag}:peer")
    for t in range(1, 5):
        fw.from_client(ALICE, consent, now=float(t))
        fw.from_client(ALICE, b"\x80\x6f" * 10, now=t + 0.5)  # media never writes
    assert fw.cache_writes == []
    fw.from_client(ALICE, consent, now=5.0)
    fw.from_client(ALICE, consent, now=6.0)
    assert len(fw.cache_writes) == 1


def test_cache_lookup_for_non_stun_from_unknown_address() -> None:
    fw = make(cache_enabled=True, max_pending_lookups=2, negative_ttl=5.0)
    assert fw.from_client(ALICE, b"\x17\xfe\xfd", now=0.0) is None
    assert fw.from_client(ALICE, b"\x17\xfe\xfd", now=0.1) is None  # already pending
    assert fw.lookups == [(ALICE, encode_address(ALICE))]
    flow = fw.cache_hit(ALICE, Route(0, 2), now=0.2)
    assert flow is not None and flow.backend.address == T2
    assert fw.from_client(ALICE, b"\x17\xfe\xfd", now=0.3) is flow
    # Misses are remembered for negative_ttl; pending lookups are bounded.
    fw.lookups.clear()
    fw.from_client(BOB, b"\x17", now=1.0)
    fw.cache_miss(BOB, now=1.0)
    fw.from_client(BOB, b"\x17", now=2.0)
    assert len(fw.lookups) == 1
    fw.from_client(BOB, b"\x17", now=6.5)
    assert len(fw.lookups) == 2
    for port in range(100):
        fw.from_client(("192.0.2.9", port), b"\x17", now=7.0)
    assert len(fw.lookups) == 3  # only one more slot was free


def test_packets_that_came_during_the_lookup_go_out_in_order_when_it_answers() -> None:
    # A relay that just replaced a killed one: the call's first packets are not dropped while
    # Redis is asked, they are held and released on the flow the answer creates.
    fw = make(cache_enabled=True, max_held_per_lookup=3)
    rtp = [b"\x80\x6f" + bytes([n]) for n in range(5)]
    for n, packet in enumerate(rtp):
        assert fw.from_client(ALICE, packet, now=n * 0.02) is None
    assert len(fw.lookups) == 1 and fw.released == []
    assert fw.drops[Drop.NOT_STUN] == 2  # beyond the three held
    flow = fw.cache_hit(ALICE, Route(0, 2), now=0.1)
    assert flow is not None
    assert fw.released == [(flow, rtp[0]), (flow, rtp[1]), (flow, rtp[2])]
    assert fw.drops[Drop.NOT_STUN] == 2
    # Answered: the next ones go the normal way, and a second answer releases nothing.
    fw.released.clear()
    assert fw.from_client(ALICE, rtp[4], now=0.12) is flow
    assert fw.cache_hit(ALICE, Route(0, 2), now=0.13) is flow and fw.released == []


def test_held_packets_of_a_miss_are_dropped_unless_stun_made_the_flow_meanwhile() -> None:
    fw = make(cache_enabled=True)
    fw.from_client(ALICE, b"\x17\xfe\xfd", now=0.0)
    fw.from_client(BOB, b"\x17\xfe\xfd", now=0.0)
    flow = fw.from_client(BOB, request(Route(0, 1)), now=0.01)  # consent check got there first
    fw.cache_miss(ALICE, now=0.02)
    fw.cache_miss(BOB, now=0.02)
    assert flow is not None and fw.released == [(flow, b"\x17\xfe\xfd")]
    assert fw.drops[Drop.NOT_STUN] == 1  # ALICE's


def test_held_bytes_are_bounded() -> None:
    fw = make(cache_enabled=True, max_held_bytes=1000)
    for port in range(10):
        fw.from_client(("192.0.2.1", port), bytes(300), now=0.0)
    assert fw._held_bytes == 900 and fw.drops[Drop.NOT_STUN] == 7
    for key, _ in fw.lookups:
        fw.cache_miss(key, now=0.1)
    assert fw._held_bytes == 0 and not fw._held


def test_cache_disabled_asks_nothing() -> None:
    fw = make()
    fw.from_client(ALICE, b"\x17\xfe\xfd", now=0.0)
    assert fw.lookups == [] and fw.cache_writes == []


def test_a_direct_flow_replaces_a_chained_one_for_the_same_address() -> None:
    fw = Forwarder(CODEC, encode_address, backends({5: T1}), cluster=1)
    forgotten: list[object] = []
    fw.on_forget = forgotten.append
    upstream = Backend(("10.0.0.9", 40000), chained=True)
    chained = fw.from_peer_relay(upstream, encode_address(ALICE) + request(Route(1, 5)), 0.0)
    direct = fw.from_client(ALICE, request(Route(1, 5)), now=1.0)
    assert chained is not None and direct is not None and direct is not chained
    assert fw.by_header[encode_address(ALICE)] is direct and direct.via is None
    assert forgotten == [chained]
    # Replies now go to the client directly.
    assert fw.from_backend(encode_address(ALICE) + b"x", now=1.5) is direct


def test_on_forget_is_called_for_expired_flows() -> None:
    fw = make(idle_timeout=1.0)
    forgotten: list[object] = []
    fw.on_forget = forgotten.append
    flow = fw.from_client(ALICE, request(Route(0, 1)), now=0.0)
    fw.expire(now=5.0)
    assert forgotten == [flow]


def test_one_ufrag_binds_at_most_max_addresses_per_ufrag() -> None:
    fw = make(idle_timeout=10.0)
    assert fw.max_addresses_per_ufrag == 16  # the default
    flooded = request(Route(0, 1))  # one session, from many (spoofed) addresses
    spoofed = [("192.0.2.1", port) for port in range(1000)]
    bound = [fw.from_client(a, flooded, now=0.0) for a in spoofed]
    assert sum(flow is not None for flow in bound) == 16
    assert len(fw.by_header) == 16
    assert fw.drops[Drop.SESSION_FULL] == 1000 - 16
    # Refused addresses got no state, not even for their next datagram.
    assert fw.from_client(spoofed[-1], b"\x17\xfe\xfd", now=0.1) is None
    # Other sessions, on the same transceiver or another, are unaffected.
    assert fw.from_client(ALICE, request(Route(0, 1)), now=1.0) is not None
    assert fw.from_client(BOB, request(Route(0, 2)), now=1.0) is not None
    # The bound addresses keep their session: consent checks and media still flow.
    assert fw.from_client(spoofed[0], flooded, now=2.0) is bound[0]
    assert fw.from_client(spoofed[0], b"\x80\x6f", now=2.0) is bound[0]
    assert fw.drops[Drop.SESSION_FULL] == 1000 - 16


def test_an_expired_or_migrated_address_frees_its_slot() -> None:
    fw = make(idle_timeout=10.0, max_addresses_per_ufrag=2)
    session, other = request(Route(0, 1)), request(Route(0, 2))
    a, b, c = (("192.0.2.1", port) for port in (1, 2, 3))
    first = fw.from_client(a, session, now=0.0)
    assert first is not None and fw.from_client(b, session, now=5.0) is not None
    assert fw.from_client(c, session, now=5.0) is None
    # a expires: its slot is c's now.
    assert fw.expire(now=12.0) == 1
    assert fw.from_client(c, session, now=12.0) is not None
    assert fw.per_ufrag == {first.ufrag: 2}
    # b migrates to another session (an ICE restart): its slot is free again.
    moved = fw.from_client(b, other, now=13.0)
    assert moved is not None and moved.backend.address == T2
    assert fw.from_client(a, session, now=13.0) is not None
    # Into a full session an address does not move: dropped, counted, still bound where it was.
    assert fw.from_client(c, other, now=14.0) is not None  # other: b and now c
    assert fw.from_client(a, other, now=14.0) is None
    assert fw.flows[a].backend.address == T1 and fw.flows[a].ufrag == first.ufrag
    assert fw.drops[Drop.SESSION_FULL] == 2
    assert sorted(fw.per_ufrag.values()) == [1, 2]


def test_chained_flows_count_towards_their_session() -> None:
    fw = Forwarder(CODEC, encode_address, backends({5: T1}), cluster=1, max_addresses_per_ufrag=3)
    upstream = Backend(("10.0.0.9", 40000), chained=True)
    session = request(Route(1, 5))
    for port in range(10):
        fw.from_peer_relay(upstream, encode_address(("192.0.2.1", port)) + session, now=0.0)
    assert len(fw.by_header) == 3 and fw.drops[Drop.SESSION_FULL] == 7
