"""Random interleavings of client, backend and clock events against the forwarder; after
every step the flow table is consistent, bounded, and only ever holds routable flows."""

from __future__ import annotations

from collections import Counter

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from pywebrtc.framing import encode_address
from relay.forwarder import Forwarder, backends
from relay.routing import Route, RouteCodec
from tests.relay.stunmsg import binding_request

CODEC = RouteCodec({0: bytes(range(16))}, active=0)
ADDRESSES = [(f"192.0.2.{i}", 1000 + i) for i in range(1, 9)]
MAX_FLOWS = 5
IDLE = 10.0
MAX_PER_UFRAG = 2
# Two sessions per transceiver (3 is unknown), few enough that they fill up.
UFRAGS = [CODEC.encode(Route(0, t)) for t in (1, 1, 2, 2, 3)]


class ForwarderMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.fw: Forwarder[tuple[str, int]] = Forwarder(
            CODEC,
            encode_address,
            backends({1: ("10.0.0.1", 1), 2: ("10.0.0.2", 1)}),
            max_flows=MAX_FLOWS,
            max_addresses_per_ufrag=MAX_PER_UFRAG,
            idle_timeout=IDLE,
            cache_enabled=True,
        )
        self.routable: set[tuple[str, int]] = set()  # addresses that ever sent a good request

    @rule(address=st.sampled_from(ADDRESSES), ufrag=st.sampled_from(UFRAGS))
    def binding_request(self, address: tuple[str, int], ufrag: str) -> None:
        known = self.fw.flows.get(address)
        was = known.ufrag if known is not None else None
        full = self.fw.per_ufrag.get(ufrag, 0) >= MAX_PER_UFRAG and ufrag != was
        route = CODEC.decode(ufrag)
        assert route is not None
        flow = self.fw.from_client(address, binding_request(f"{ufrag}:x"), self.now)
        if full:
            # No slot in that session: dropped; a known flow stays bound where it was.
            assert flow is None
            assert self.fw.flows.get(address) is known
            assert known is None or known.ufrag == was
        elif known is not None:
            assert flow is known  # a known flow is never replaced
        if route.transceiver != 3 and flow is not None:
            self.routable.add(address)
            assert flow.route == route and flow.ufrag == ufrag

    @rule(address=st.sampled_from(ADDRESSES), data=st.binary(max_size=40))
    def other_datagram(self, address: tuple[str, int], data: bytes) -> None:
        known = self.fw.flows.get(address)
        flow = self.fw.from_client(address, data, self.now)
        assert flow is known

    @rule(address=st.sampled_from(ADDRESSES), payload=st.binary(max_size=20))
    def backend_reply(self, address: tuple[str, int], payload: bytes) -> None:
        flow = self.fw.from_backend(encode_address(address) + payload, self.now)
        assert flow is self.fw.flows.get(address)

    @rule(seconds=st.floats(0, 2 * IDLE))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds
        self.fw.expire(self.now)

    @invariant()
    def table_is_consistent_and_bounded(self) -> None:
        fw = self.fw
        assert len(fw.by_header) <= MAX_FLOWS
        assert {f.header for f in fw.flows.values()} == set(fw.by_header)
        for address, flow in fw.flows.items():
            assert flow.key == address and flow.header == encode_address(address)
            assert address in self.routable
            assert flow.backend.address in {("10.0.0.1", 1), ("10.0.0.2", 1)}
            assert self.now - flow.last_seen <= IDLE  # idle ones are gone after expire()
        # Every flow holds one slot of its session, and only while it is in the table.
        bound = Counter(flow.ufrag for flow in fw.by_header.values() if flow.ufrag)
        assert fw.per_ufrag == dict(bound)
        assert max(bound.values(), default=0) <= MAX_PER_UFRAG


ForwarderMachine.TestCase.settings = settings(max_examples=50, stateful_step_count=40)
TestForwarder = ForwarderMachine.TestCase
