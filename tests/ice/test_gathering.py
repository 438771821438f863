"""Server-reflexive gathering behind a NAT, multi-component and dual-stack checklists."""

from __future__ import annotations

from collections import deque

from pywebrtc.ice.candidate import Address, CandidateType, host_candidate, reflexive_candidate
from pywebrtc.ice.events import GatherDone, LocalCandidateGathered, Output, Transmit
from pywebrtc.stun import Message, MessageClass, Method, binding_success
from tests.simnet import Network

from .scenarios import A_ADDR, B_ADDR, connected, make_agent

STUN: Address = ("198.51.100.1", 3478)
PUBLIC_A: Address = ("203.0.113.7", 40000)


class FakeStunServer:
    """Answers Binding requests with the source address it saw (RFC 8489 §7.3.1)."""

    def __init__(self, address: Address) -> None:
        self.address = address
        self.out: deque[Output] = deque()

    def receive(self, data: bytes, source: Address, destination: Address, now: float) -> bool:
        msg = Message.parse(data)
        if msg.method == Method.BINDING and msg.message_class is MessageClass.REQUEST:
            reply = binding_success(msg.transaction_id, source, None)
            self.out.append(Transmit(reply, destination=source, source=self.address))
        return True

    def tick(self, now: float) -> None:
        pass

    def poll(self) -> Output | None:
        return self.out.popleft() if self.out else None

    def deadline(self) -> float | None:
        return None


def test_server_reflexive_candidate_behind_nat_connects_when_host_is_unreachable() -> None:
    net = Network(delay=0.01)
    a, b = make_agent(True, 1), make_agent(False, 2)
    server = FakeStunServer(STUN)
    net.attach(a, A_ADDR)
    net.attach(b, B_ADDR)
    net.attach(server, STUN)
    net.nat(A_ADDR, PUBLIC_A)
    # A's private address is not routable from B.
    net.drop = lambda d: d.destination == A_ADDR
    a.add_local_candidate(host_candidate(*A_ADDR))
    a.gather_server_reflexive(A_ADDR, STUN, 0.0)
    net.run(1.0)
    gathered = [e for e in net.events_of(a) if isinstance(e, LocalCandidateGathered)]
    done = [e for e in net.events_of(a) if isinstance(e, GatherDone)]
    assert len(gathered) == 1 and len(done) == 1
    srflx = gathered[0].candidate
    assert srflx.type is CandidateType.SERVER_REFLEXIVE and srflx.address == PUBLIC_A
    assert (srflx.related_address, srflx.related_port) == A_ADDR
    assert srflx.base == A_ADDR
    assert done[0].candidate == srflx
    # Signal both of A's candidates; only the server-reflexive one works.
    b.add_local_candidate(host_candidate(*B_ADDR))
    a.set_remote_credentials(b.local_ufrag, b.local_credentials.pwd)
    b.set_remote_credentials(a.local_ufrag, a.local_credentials.pwd)
    a.add_remote_candidate(host_candidate(*B_ADDR))
    for cand in a.local_candidates:
        b.add_remote_candidate(cand)
    a.start(net.now)
    b.start(net.now)
    net.run(10.0, stop=lambda: connected(a, b))
    assert connected(a, b)
    pb = b.selected_pair()
    assert pb is not None and pb.remote.address == PUBLIC_A
    assert pb.remote.type is CandidateType.SERVER_REFLEXIVE
    # The server-reflexive local candidate pairs nothing itself (RFC 8445 §6.1.2.4).
    assert all(p.local.type is not CandidateType.SERVER_REFLEXIVE for p in a.checklist)


def test_stun_server_timeout_reports_gather_done_without_candidate() -> None:
    net = Network(delay=0.01)
    a = make_agent(True, 1)
    net.attach(a, A_ADDR)
    a.add_local_candidate(host_candidate(*A_ADDR))
    a.gather_server_reflexive(A_ADDR, STUN, 0.0)
    net.run(120.0, stop=lambda: bool(net.events_of(a)))
    assert net.events_of(a) == [GatherDone(A_ADDR, STUN, None)]
    assert net.now < 60.0


def test_two_components_each_get_a_nominated_pair() -> None:
    net = Network(delay=0.01)
    a = make_agent(True, 1, components=2)
    b = make_agent(False, 2, components=2)
    a_rtcp, b_rtcp = (A_ADDR[0], A_ADDR[1] + 1), (B_ADDR[0], B_ADDR[1] + 1)
    net.attach(a, A_ADDR, a_rtcp)
    net.attach(b, B_ADDR, b_rtcp)
    for agent, addrs in ((a, (A_ADDR, a_rtcp)), (b, (B_ADDR, b_rtcp))):
        for component, addr in enumerate(addrs, start=1):
            agent.add_local_candidate(host_candidate(*addr, component=component))
    a.set_remote_credentials(b.local_ufrag, b.local_credentials.pwd)
    b.set_remote_credentials(a.local_ufrag, a.local_credentials.pwd)
    for src, dst in ((a, b), (b, a)):
        for cand in src.local_candidates:
            dst.add_remote_candidate(cand)
        dst.add_remote_candidate(None)
    a.start(0.0)
    b.start(0.0)
    net.run(5.0, stop=lambda: connected(a, b))
    assert connected(a, b)
    for agent in (a, b):
        p1, p2 = agent.selected_pair(1), agent.selected_pair(2)
        assert p1 is not None and p2 is not None
        assert p1.component == 1 and p2.component == 2
    p2a = a.selected_pair(2)
    assert p2a is not None and p2a.remote.address == b_rtcp


def test_dual_stack_pairs_only_same_family_and_prefers_ipv6() -> None:
    net = Network(delay=0.01)
    a, b = make_agent(True, 1), make_agent(False, 2)
    a6, b6 = ("2001:db8::1", 5000), ("2001:db8::2", 6000)
    net.attach(a, A_ADDR, a6)
    net.attach(b, B_ADDR, b6)
    for agent, addrs in ((a, (a6, A_ADDR)), (b, (b6, B_ADDR))):
        for index, addr in enumerate(addrs):
            agent.add_local_candidate(host_candidate(*addr, index=index))
    a.set_remote_credentials(b.local_ufrag, b.local_credentials.pwd)
    b.set_remote_credentials(a.local_ufrag, a.local_credentials.pwd)
    for src, dst in ((a, b), (b, a)):
        for cand in src.local_candidates:
            dst.add_remote_candidate(cand)
        dst.add_remote_candidate(None)
    assert len(a.checklist) == 2  # v4-v4 and v6-v6 only
    a.start(0.0)
    b.start(0.0)
    net.run(5.0, stop=lambda: connected(a, b))
    pa = a.selected_pair()
    assert pa is not None and pa.remote.address == b6


def test_relayed_local_candidate_sends_and_receives_on_its_relayed_base() -> None:
    """The TURN seam: a relayed candidate's base is the relayed address, so the agent's
    Transmit(source=relayed) is what the I/O layer hands to the TURN client."""
    net = Network(delay=0.01)
    a, b = make_agent(True, 1), make_agent(False, 2)
    relayed: Address = ("198.51.100.50", 60000)
    # The network delivers to A whatever reaches its relayed address, as a TURN relay would.
    net.attach(a, relayed)
    net.attach(b, B_ADDR)
    relay_candidate = reflexive_candidate(
        CandidateType.RELAYED, relayed, relayed, related=PUBLIC_A, server="turn"
    )
    a.add_local_candidate(relay_candidate)
    b.add_local_candidate(host_candidate(*B_ADDR))
    a.set_remote_credentials(b.local_ufrag, b.local_credentials.pwd)
    b.set_remote_credentials(a.local_ufrag, a.local_credentials.pwd)
    a.add_remote_candidate(host_candidate(*B_ADDR))
    b.add_remote_candidate(relay_candidate)
    a.start(0.0)
    b.start(0.0)
    net.run(5.0, stop=lambda: connected(a, b))
    assert connected(a, b)
    pa = a.selected_pair()
    assert pa is not None and pa.local.type is CandidateType.RELAYED
    assert pa.local_base == relayed
    assert all(tx.source == relayed for tx in net.sent if tx.destination == B_ADDR)
    assert relay_candidate.to_sdp().endswith(f"typ relay raddr {PUBLIC_A[0]} rport {PUBLIC_A[1]}")


def test_symmetric_nat_connects_through_peer_reflexive_candidates() -> None:
    """A behind an address- and port-dependent NAT: its server-reflexive mapping is useless to
    B, but A's own checks open a mapping that both sides learn as peer-reflexive."""
    net = Network(delay=0.01)
    a, b = make_agent(True, 1), make_agent(False, 2)
    server = FakeStunServer(STUN)
    net.attach(a, A_ADDR)
    net.attach(b, B_ADDR)
    net.attach(server, STUN)
    net.symmetric_nat(A_ADDR, "203.0.113.99")
    net.drop = lambda d: d.destination == A_ADDR  # private address: unroutable
    a.add_local_candidate(host_candidate(*A_ADDR))
    a.gather_server_reflexive(A_ADDR, STUN, 0.0)
    net.run(1.0)
    [srflx] = [c for c in a.local_candidates if c.type is CandidateType.SERVER_REFLEXIVE]
    b.add_local_candidate(host_candidate(*B_ADDR))
    a.set_remote_credentials(b.local_ufrag, b.local_credentials.pwd)
    b.set_remote_credentials(a.local_ufrag, a.local_credentials.pwd)
    a.add_remote_candidate(host_candidate(*B_ADDR))
    for cand in a.local_candidates:
        b.add_remote_candidate(cand)
    a.start(net.now)
    b.start(net.now)
    net.run(10.0, stop=lambda: connected(a, b))
    assert connected(a, b)
    pb = b.selected_pair()
    assert pb is not None and pb.remote.type is CandidateType.PEER_REFLEXIVE
    assert pb.remote.host == "203.0.113.99" and pb.remote.address != srflx.address
    pa = a.selected_pair()
    assert pa is not None and pa.mapped is not None and pa.mapped.address == pb.remote.address
