"""Sans-IO ICE scenarios on a fake clock and a scripted network."""

from __future__ import annotations

import pytest

from pywebrtc.ice.agent import Agent
from pywebrtc.ice.candidate import host_candidate
from pywebrtc.ice.config import AgentConfig
from pywebrtc.ice.credentials import Credentials
from pywebrtc.ice.events import IceState, PairValidated, StateChanged, Transmit
from pywebrtc.jsep.candidates import parse_candidate
from pywebrtc.stun import binding_request, new_transaction_id
from pywebrtc.stun.constants import MessageClass
from pywebrtc.stun.message import Message
from tests.simnet import Datagram, Network

from .scenarios import A_ADDR, B_ADDR, connect_pair, connected, make_agent, selected_events


@pytest.mark.parametrize("a_controls", [True, False])
def test_full_agents_connect_in_both_roles_within_a_few_round_trips(a_controls: bool) -> None:
    net = Network(delay=0.01)
    a, b = make_agent(a_controls, 1), make_agent(not a_controls, 2)
    connect_pair(net, a, b)
    t = net.run(5.0, stop=lambda: connected(a, b))
    assert connected(a, b)
    # Check, triggered check, nomination: about three round trips of 20 ms each.
    assert t <= 0.07
    pa, pb = a.selected_pair(), b.selected_pair()
    assert pa is not None and pb is not None
    assert pa.remote.address == B_ADDR and pb.remote.address == A_ADDR
    assert pa.nominated and pb.nominated
    net.run(1.0)
    assert a.state is IceState.COMPLETED and b.state is IceState.COMPLETED
    assert a.counters.dropped == 0 and b.counters.dropped == 0


@pytest.mark.parametrize("controlling", [True, False])
def test_the_first_valid_pair_carries_data_until_a_pair_is_selected(controlling: bool) -> None:
    # RFC 8445 §15.1: once a check succeeds the agent "can now send and receive data on the
    # pair": DTLS need not wait for the nomination round trip.
    net = Network(delay=0.01)
    a, b = make_agent(True, 1), make_agent(False, 2)
    agent = a if controlling else b
    connect_pair(net, a, b)
    t = net.run(5.0, stop=lambda: any(isinstance(e, PairValidated) for e in net.events_of(agent)))
    assert agent.selected_pair() is None and agent.state is IceState.CHECKING
    pair = agent.usable_pair(1, t)
    assert pair is not None and pair.valid
    assert pair.remote.address == (B_ADDR if controlling else A_ADDR)
    assert agent.usable_pair(1, t + 31.0) is None  # its consent (RFC 7675) has run out
    t = net.run(5.0, stop=lambda: connected(a, b))
    assert agent.selected_pair() is pair and agent.usable_pair(1, t) is None
    assert sum(isinstance(e, PairValidated) for e in net.events_of(agent)) == 1


def test_states_follow_w3c_order() -> None:
    net = Network(delay=0.001)
    a, b = make_agent(True, 1), make_agent(False, 2)
    connect_pair(net, a, b)
    net.run(1.0)
    states = [e.state for e in net.events_of(a) if isinstance(e, StateChanged)]
    assert states == [IceState.CHECKING, IceState.CONNECTED, IceState.COMPLETED]
    a.close()
    assert a.state is IceState.CLOSED


def test_full_controlling_agent_connects_to_lite_peer() -> None:
    net = Network(delay=0.01)
    full, lite = make_agent(False, 1), make_agent(False, 2, lite=True)
    full.set_remote_lite(True)
    assert full.controlling
    connect_pair(net, full, lite)
    net.run(5.0, stop=lambda: connected(full, lite))
    assert connected(full, lite)
    assert lite.counters.checks_sent == 0
    sel = lite.selected_pair()
    assert sel is not None and sel.remote.address == A_ADDR
    # The lite agent keeps consent from the full agent's consent checks; its answers keep NAT
    # bindings open, so it sends no Binding indication while checks come (RFC 8445 §11: a
    # keepalive is due when nothing was sent on the pair for Tr seconds).
    net.run(120.0)
    assert connected(full, lite)
    assert full.counters.checks_sent > 15

    def indications() -> list[float]:
        return [
            tx.at
            for tx in net.sent
            if tx.source == B_ADDR
            and Message.parse(tx.data).message_class is MessageClass.INDICATION
        ]

    assert indications() == []
    # The full agent goes silent: one indication 15 s after the lite agent's last answer, and
    # consent expires 30 s after it.
    last_answer = max(tx.at for tx in net.sent if tx.source == B_ADDR)
    net.drop = lambda d: d.source == A_ADDR
    net.run(net.now + 60.0)
    assert lite.state is IceState.FAILED
    # (Keepalive and consent deadlines are rounded up to the quarter second: agent._soft.)
    (keepalive,) = indications()
    assert last_answer + 15.0 <= keepalive <= last_answer + 15.25
    assert full.counters.dropped == 0


@pytest.mark.parametrize("controlling", [True, False])
def test_role_conflict_is_resolved_by_tie_breaker(controlling: bool) -> None:
    net = Network(delay=0.01)
    a = make_agent(controlling, 1, tie_breaker=100)
    b = make_agent(controlling, 2, tie_breaker=200)
    connect_pair(net, a, b)
    net.run(5.0, stop=lambda: connected(a, b))
    assert connected(a, b)
    assert a.controlling != b.controlling
    # The larger tie breaker wins the controlling role.
    assert b.controlling and not a.controlling
    assert a.counters.role_switches + b.counters.role_switches >= 1
    assert a.counters.role_conflicts_sent + b.counters.role_conflicts_sent >= 1


def test_a_lost_first_check_is_replaced_by_a_triggered_check_within_a_round_trip() -> None:
    net = Network(delay=0.01)
    a, b = make_agent(True, 1), make_agent(False, 2)
    lost: list[bytes] = []

    def drop(d: Datagram) -> bool:
        if d.source == A_ADDR and not lost:
            lost.append(d.data)
            return True
        return False

    net.drop = drop
    connect_pair(net, a, b)
    t = net.run(10.0, stop=lambda: connected(a, b))
    assert connected(a, b) and lost
    # b's check reached a, which cancelled its lost check and sent a fresh one at once
    # instead of waiting for its 500 ms retransmission.
    assert t < 0.1
    assert a.counters.retransmissions == 0


def test_lost_checks_are_retransmitted() -> None:
    net = Network(delay=0.01)
    a, b = make_agent(True, 1), make_agent(False, 2)
    lost: list[int] = []

    def drop(d: Datagram) -> bool:
        if len(lost) < 4:
            lost.append(1)
            return True
        return False

    net.drop = drop
    connect_pair(net, a, b)
    t = net.run(10.0, stop=lambda: connected(a, b))
    assert connected(a, b)
    assert a.counters.retransmissions + b.counters.retransmissions >= 1
    assert t < 3.0


def test_nat_rewriting_yields_peer_reflexive_candidates() -> None:
    net = Network(delay=0.01)
    a, b = make_agent(True, 1), make_agent(False, 2)
    public = ("203.0.113.7", 40000)
    net.nat(A_ADDR, public)
    connect_pair(net, a, b)
    net.run(5.0, stop=lambda: connected(a, b))
    assert connected(a, b)
    pb = b.selected_pair()
    assert pb is not None and pb.remote.address == public
    assert pb.remote.type == "prflx"
    pa = a.selected_pair()
    assert pa is not None and pa.mapped is not None and pa.mapped.address == public
    assert pa.mapped.type == "prflx"


def test_checks_without_a_response_fail_the_pair_then_the_agent_after_end_of_candidates() -> None:
    net = Network(delay=0.01)
    a, b = make_agent(True, 1), make_agent(False, 2)
    net.drop = lambda d: True
    connect_pair(net, a, b)
    t = net.run(120.0, stop=lambda: a.state is IceState.FAILED)
    assert a.state is IceState.FAILED
    assert 5.0 < t < 40.0
    assert a.deadline() is None


def test_late_trickle_connects_and_end_of_candidates_completes() -> None:
    net = Network(delay=0.01)
    a, b = make_agent(True, 1), make_agent(False, 2)
    net.attach(a, A_ADDR)
    net.attach(b, B_ADDR)
    a.add_local_candidate(host_candidate(*A_ADDR))
    b.add_local_candidate(host_candidate(*B_ADDR))
    a.set_remote_credentials(b.local_ufrag, b.local_credentials.pwd)
    b.set_remote_credentials(a.local_ufrag, a.local_credentials.pwd)
    a.start(0.0)
    b.start(0.0)
    # Nothing to check for a while: no failure without end-of-candidates.
    net.run(10.0)
    assert a.state is IceState.CHECKING and b.state is IceState.CHECKING
    # A dead candidate first, then the real one.
    dead = host_candidate("10.9.9.9", 9)
    a.add_remote_candidate(dead, net.now)
    net.run(12.0)
    start = net.now
    a.add_remote_candidate(host_candidate(*B_ADDR), net.now)
    net.run(20.0, stop=lambda: connected(a, b))
    assert connected(a, b) and net.now - start < 0.1
    assert a.state.value == "connected"
    b.add_remote_candidate(None, net.now)
    a.add_remote_candidate(None, net.now)
    net.run(net.now + 30.0, stop=lambda: a.state is IceState.COMPLETED)
    assert a.state.value == "completed"


def test_end_of_candidates_with_nothing_reachable_fails() -> None:
    net = Network(delay=0.001)
    a = make_agent(True, 1)
    net.attach(a, A_ADDR)
    a.add_local_candidate(host_candidate(*A_ADDR))
    a.set_remote_credentials("peer", "p" * 22)
    a.start(0.0)
    a.add_remote_candidate(None, 0.0)
    net.run(1.0)
    assert a.state is IceState.FAILED


def test_consent_checks_keep_the_pair_for_minutes() -> None:
    net = Network(delay=0.01)
    a, b = make_agent(True, 1), make_agent(False, 2)
    connect_pair(net, a, b)
    net.run(300.0)
    assert connected(a, b)
    # RFC 7675: one check per ~5 s from each side (randomised 4-6 s).
    consent_a = a.counters.checks_sent
    assert 300 / 6 - 2 <= consent_a <= 300 / 4 + 5
    times = [
        tx.at
        for tx in net.sent
        if tx.source == A_ADDR and Message.parse(tx.data).message_class is MessageClass.REQUEST
    ]
    gaps = [y - x for x, y in zip(times[3:], times[4:], strict=False)]
    assert min(gaps) >= 3.9 and max(gaps) <= 6.1


def test_consent_expiry_fails_the_connection_after_30_seconds() -> None:
    net = Network(delay=0.01)
    a, b = make_agent(True, 1), make_agent(False, 2)
    connect_pair(net, a, b)
    net.run(1.0)
    assert connected(a, b)
    cut = net.now
    net.drop = lambda d: d.source == B_ADDR  # b's replies vanish
    net.run(100.0, stop=lambda: a.state is IceState.FAILED)
    assert a.state is IceState.FAILED
    assert 29.0 <= net.now - cut <= 31.5
    states = [e.state for e in net.events_of(a) if isinstance(e, StateChanged)]
    assert states[-2:] == [IceState.DISCONNECTED, IceState.FAILED]
    assert not a.consent_ok(net.now)
    assert a.deadline() is None


def test_ice_restart_selects_a_new_pair_and_keeps_the_old_meanwhile() -> None:
    net = Network(delay=0.01)
    a, b = make_agent(True, 1), make_agent(False, 2)
    connect_pair(net, a, b)
    net.run(1.0)
    old = a.selected_pair()
    assert old is not None
    a.restart(Credentials("restartA", "r" * 22), net.now)
    b.restart(Credentials("restartB", "s" * 22), net.now)
    assert a.selected_pair() is old
    a.set_remote_credentials(b.local_ufrag, b.local_credentials.pwd)
    b.set_remote_credentials(a.local_ufrag, a.local_credentials.pwd)
    a.add_remote_candidate(host_candidate(*B_ADDR))
    b.add_remote_candidate(host_candidate(*A_ADDR))
    start = net.now
    net.run(net.now + 5.0, stop=lambda: a.selected_pair() is not old)
    new = a.selected_pair()
    assert new is not None and new is not old and net.now - start < 0.1
    net.run(net.now + 60.0)
    assert connected(a, b)
    assert len(selected_events(net, a)) == 2


def test_ice_restart_recovers_a_failed_session() -> None:
    net = Network(delay=0.01)
    a, b = make_agent(True, 1), make_agent(False, 2)
    connect_pair(net, a, b)
    net.run(1.0)
    net.drop = lambda d: True
    net.run(100.0, stop=lambda: a.state is IceState.FAILED and b.state is IceState.FAILED)
    assert a.state is IceState.FAILED and b.state is IceState.FAILED
    net.drop = lambda d: False
    a.restart(Credentials("againA", "r" * 22), net.now)
    b.restart(Credentials("againB", "s" * 22), net.now)
    assert a.state.value == "checking" and a.selected_pair() is None
    a.set_remote_credentials(b.local_ufrag, b.local_credentials.pwd)
    b.set_remote_credentials(a.local_ufrag, a.local_credentials.pwd)
    a.add_remote_candidate(host_candidate(*B_ADDR), net.now)
    b.add_remote_candidate(host_candidate(*A_ADDR), net.now)
    start = net.now
    net.run(net.now + 5.0, stop=lambda: connected(a, b))
    assert connected(a, b) and net.now - start < 0.1


def _restart_both(net: Network, a: Agent, b: Agent) -> None:
    a.restart(Credentials("restartA", "r" * 22), net.now)
    b.restart(Credentials("restartB", "s" * 22), net.now)
    a.set_remote_credentials(b.local_ufrag, b.local_credentials.pwd)
    b.set_remote_credentials(a.local_ufrag, a.local_credentials.pwd)


def test_ice_restart_of_a_working_pair_goes_connected_then_completed() -> None:
    # W3C (and browsers): the checks run again, so completed becomes connected; the old pair
    # carries data meanwhile, so never checking.
    net = Network(delay=0.01)
    a, b = make_agent(True, 1), make_agent(False, 2)
    connect_pair(net, a, b)
    net.run(1.0)
    assert a.state is IceState.COMPLETED
    seen = len(net.events_of(a))
    _restart_both(net, a, b)
    net.run(net.now + 0.001)
    assert a.state.value == "connected" and not a.nominated
    for agent, remote in ((a, B_ADDR), (b, A_ADDR)):
        agent.add_remote_candidate(host_candidate(*remote), net.now)
        agent.add_remote_candidate(None, net.now)
    net.run(net.now + 5.0)
    states = [e.state for e in net.events_of(a)[seen:] if isinstance(e, StateChanged)]
    assert states == [IceState.CONNECTED, IceState.COMPLETED]
    assert a.nominated and b.nominated


def test_a_client_that_moved_is_checking_then_connected_after_a_restart() -> None:
    # The old pair went quiet (b's address is gone): disconnected; the restart, from b's new
    # address with its local candidates gathered again, is checking until the new pair.
    net = Network(delay=0.01)
    a, b = make_agent(True, 1), make_agent(False, 2)
    connect_pair(net, a, b)
    net.run(1.0)
    net.drop = lambda d: B_ADDR in (d.source, d.destination)
    net.run(net.now + 60.0, stop=lambda: a.state is IceState.DISCONNECTED)
    moved = ("10.0.0.3", 7000)
    net.move(B_ADDR, moved)
    net.drop = None
    a.restart(Credentials("restartA", "r" * 22), net.now)
    b.restart(Credentials("restartB", "s" * 22), net.now, keep_local_candidates=False)
    assert b.local_candidates == []
    b.add_local_candidate(host_candidate(*moved))
    a.set_remote_credentials(b.local_ufrag, b.local_credentials.pwd)
    b.set_remote_credentials(a.local_ufrag, a.local_credentials.pwd)
    a.add_remote_candidate(host_candidate(*moved), net.now)
    b.add_remote_candidate(host_candidate(*A_ADDR), net.now)
    net.run(net.now + 5.0, stop=lambda: a.nominated and b.nominated)
    states = [e.state for e in net.events_of(a) if isinstance(e, StateChanged)]
    assert states[-3:] == [IceState.DISCONNECTED, IceState.CHECKING, IceState.CONNECTED]
    pair = a.selected_pair()
    assert pair is not None and pair.remote.address == moved


def test_a_nomination_sent_before_the_peer_had_our_credentials_is_sent_again() -> None:
    # b offered the restart; a (controlling) has b's credentials and nominates before b has
    # a's answer. An agent may answer that check without taking the nomination (Firefox
    # does), so a nominates once more on b's first check of the pair.
    net = Network(delay=0.01)
    a, b = make_agent(True, 1), make_agent(False, 2)
    connect_pair(net, a, b)
    net.run(1.0)
    a.restart(Credentials("restartA", "r" * 22), net.now)
    b.restart(Credentials("restartB", "s" * 22), net.now)
    a.set_remote_credentials(b.local_ufrag, b.local_credentials.pwd)
    a.add_remote_candidate(host_candidate(*B_ADDR), net.now)
    nominations: list[float] = []

    def sniff(d: Datagram) -> bool:
        request = d.source == A_ADDR and d.data[:2] == b"\x00\x01"
        if request and Message.parse(d.data).use_candidate:
            nominations.append(d.at)
        return False

    net.drop = sniff
    net.run(net.now + 2.0, stop=lambda: a.nominated)
    assert a.nominated and len(nominations) == 1
    b.set_remote_credentials(a.local_ufrag, a.local_credentials.pwd)
    b.add_remote_candidate(host_candidate(*A_ADDR), net.now)
    start = net.now
    net.run(net.now + 2.0, stop=lambda: len(nominations) == 2)
    # At b's first check, not at a's next consent check (with USE-CANDIDATE, ~5 s on).
    assert len(nominations) == 2 and nominations[1] - start < 0.1
    net.run(net.now + 1.0)
    assert connected(a, b) and b.nominated


def test_checks_naming_the_previous_credentials_are_answered_after_a_restart() -> None:
    # libwebrtc keeps pinging its selected connection with our previous ufrag (it does not
    # replace it when an ICE-lite peer keeps its address): answered with the previous key;
    # the credentials before those are forgotten.
    agent = make_agent(False, 1, lite=True)
    agent.add_local_candidate(host_candidate(*A_ADDR))
    agent.set_remote_credentials("peer", "p" * 22)
    agent.start(0.0)
    old = agent.local_credentials
    agent.restart(Credentials("second", "s" * 22), 1.0)
    agent.restart(Credentials("third1", "t" * 22), 2.0)
    for creds, answered in ((old, False), (Credentials("second", "s" * 22), True)):
        request = binding_request(
            new_transaction_id(), f"{creds.ufrag}:peer", creds.pwd.encode(), priority=1,
            controlling=True, tie_breaker=1,
        )  # fmt: skip
        assert agent.receive(request, B_ADDR, A_ADDR, 3.0)
        sent = [out for out in iter(agent.poll, None) if isinstance(out, Transmit)]
        if not answered:
            assert sent == []
            continue
        response = Message.parse(sent[0].data)
        assert response.message_class is MessageClass.SUCCESS_RESPONSE
        assert response.verify_integrity(creds.pwd.encode())
    assert agent.counters.dropped_unknown_ufrag == 1


def test_agent_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError):
        AgentConfig(ta=0)
    with pytest.raises(ValueError):
        AgentConfig(check_rto=5, max_rto=1)


def test_agent_never_reads_a_clock_deadline_is_none_when_idle() -> None:
    a = make_agent(True, 1)
    assert a.deadline() is None
    assert a.poll() is None


def test_checks_carry_the_rfc_8445_attributes() -> None:
    net = Network(delay=0.001)
    a, b = make_agent(True, 1, tie_breaker=7), make_agent(False, 2)
    connect_pair(net, a, b)
    net.drain()
    first = next(tx for tx in net.sent if tx.source == A_ADDR)
    msg = Message.parse(first.data)
    assert msg.username == f"{b.local_ufrag}:{a.local_ufrag}"
    assert msg.ice_controlling == 7
    assert msg.priority is not None and msg.priority >> 24 == 110
    assert msg.verify_integrity(b.local_credentials.pwd.encode())
    assert msg.verify_fingerprint()



def _nominating_check(agent: Agent, peer_ufrag: str, priority: int) -> bytes:
    return binding_request(
        new_transaction_id(),
        f"{agent.local_ufrag}:{peer_ufrag}",
        agent.local_credentials.pwd.encode(),
        priority=priority,
        controlling=True,
        tie_breaker=2**63,
        use_candidate=True,
    )


def test_controlled_side_follows_the_peer_to_a_new_network_but_not_aggressive_nomination() -> None:
    b = make_agent(False, 2, lite=True)
    b.add_local_candidate(host_candidate(*B_ADDR))
    b.set_remote_credentials("peer", "p" * 22)
    b.start(0.0)
    wifi, lte, other = ("10.0.0.5", 1000), ("100.64.0.9", 2000), ("10.0.0.6", 3000)
    b.receive(_nominating_check(b, "peer", 2000), wifi, B_ADDR, 1.0)
    first = b.selected_pair()
    assert first is not None and first.remote.address == wifi
    # A lower-priority nomination while the current pair is alive: ignored (aggressive
    # nomination racing through the checklist must not drag us to its worst pair).
    b.receive(_nominating_check(b, "peer", 1000), other, B_ADDR, 1.5)
    assert b.selected_pair() is first
    # The old path goes quiet and the peer nominates a pair on its new network: follow it.
    b.receive(_nominating_check(b, "peer", 1000), lte, B_ADDR, 4.0)
    new = b.selected_pair()
    assert new is not None and new.remote.address == lte


def test_a_lite_agent_follows_a_consent_check_from_a_new_address_once_the_old_is_quiet() -> None:
    # NAT rebinding: the full peer's consent checks (no USE-CANDIDATE) arrive from a new port.
    b = make_agent(False, 2, lite=True)
    b.add_local_candidate(host_candidate(*B_ADDR))
    b.set_remote_credentials("peer", "p" * 22)
    b.start(0.0)
    old, new = ("10.0.0.5", 1000), ("10.0.0.5", 1001)
    b.receive(_nominating_check(b, "peer", 2000), old, B_ADDR, 1.0)
    first = b.selected_pair()
    assert first is not None and first.remote.address == old

    def consent(at: float) -> None:
        request = binding_request(
            new_transaction_id(), f"{b.local_ufrag}:peer", b.local_credentials.pwd.encode(),
            priority=1000, controlling=True, tie_breaker=2**63,
        )  # fmt: skip
        assert b.receive(request, new, B_ADDR, at)

    b.note_data(first, 1.5)
    consent(2.0)  # the old address carried data 0.5 s ago: a stray check does not move us
    assert b.selected_pair() is first
    consent(1.5 + 2.0)  # quiet for renomination_silence: follow the peer
    moved = b.selected_pair()
    assert moved is not None and moved.remote.address == new


def test_uncheckable_remote_candidates_are_ignored() -> None:
    a = make_agent(True, 1)
    a.add_local_candidate(host_candidate(*A_ADDR))
    for text in (
        "1 1 udp 100 0.0.0.0 9 typ host",
        "1 1 udp 100 10.0.0.2 0 typ host",
        "1 1 udp 100 224.0.0.1 9 typ host",
        "1 1 udp 100 abc.local 9 typ host",
        "1 1 udp 100 example.com 9 typ host",
        "1 1 tcp 100 10.0.0.2 9 typ host tcptype active",  # RFC 6544: we never listen
    ):
        a.add_remote_candidate(parse_candidate(text))
    assert a.remote_candidates == [] and len(a.checklist) == 0
    # A passive TCP candidate is kept, but pairs with no UDP local candidate (RFC 6544 §6.2).
    a.add_remote_candidate(parse_candidate("1 1 tcp 100 10.0.0.2 443 typ host tcptype passive"))
    assert len(a.remote_candidates) == 1 and len(a.checklist) == 0


def test_disconnected_recovers_when_traffic_returns() -> None:
    net = Network(delay=0.01)
    a, b = make_agent(True, 1), make_agent(False, 2)
    connect_pair(net, a, b)
    net.run(1.0)
    net.drop = lambda d: True
    net.run(20.0, stop=lambda: a.state is IceState.DISCONNECTED)
    assert a.state is IceState.DISCONNECTED and a.consent_ok(net.now)
    net.drop = lambda d: False
    net.run(40.0, stop=lambda: connected(a, b))
    assert connected(a, b) and net.now < 29.0
    states = [e.state for e in net.events_of(a) if isinstance(e, StateChanged)]
    assert states[-2:] == [IceState.DISCONNECTED, IceState.COMPLETED]


@pytest.mark.parametrize("media_flows", [True, False])
def test_a_lite_agent_takes_authenticated_media_as_consent(media_flows: bool) -> None:
    """A full peer that stops sending checks while its media flows (Pion before ice v4.0.8)
    keeps the lite side's consent as long as its SRTP authenticates; with nothing arriving the
    lite side still fails after the consent timeout."""
    net = Network(delay=0.01)
    full, lite = make_agent(False, 1), make_agent(False, 2, lite=True)
    full.set_remote_lite(True)
    connect_pair(net, full, lite)
    net.run(5.0, stop=lambda: connected(full, lite))
    assert connected(full, lite)
    net.drop = lambda d: d.source == A_ADDR  # no more checks reach the lite agent
    for _ in range(90):
        net.run(net.now + 1.0)
        pair = lite.selected_pair()
        if media_flows and pair is not None:
            lite.note_data(pair, net.now)  # what the session does for SRTP that decrypted
            lite.note_authenticated(net.now)
    if media_flows:
        assert lite.state in (IceState.CONNECTED, IceState.COMPLETED), lite.state
        assert lite.consent_ok(net.now)
    else:
        assert lite.state is IceState.FAILED


def test_crossing_first_checks_are_not_repeated_when_answered_within_ta() -> None:
    # Both sides check the one pair at once; each gets the other's check while its own is in
    # flight. The triggered check waits for the next pacing slot (Ta, 5 ms) and is dropped
    # when the check in flight is answered first (RFC 8445 §6.1.4.2, §7.3.1.4): one check
    # each way and the nomination, not two each way.
    net = Network(delay=0.0005)
    a, b = make_agent(True, 1), make_agent(False, 2)
    connect_pair(net, a, b)
    net.run(1.0, stop=lambda: connected(a, b))
    assert connected(a, b)
    net.run(0.02)
    assert a.counters.checks_sent == 2  # its check, then the nomination
    assert b.counters.checks_sent == 1
    assert not a.checklist.triggered and not b.checklist.triggered
