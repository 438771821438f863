"""Hostile and broken input: dropped and counted, never raised, other sessions unaffected."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.ice.agent import Agent
from pywebrtc.ice.candidate import host_candidate
from pywebrtc.ice.events import Transmit
from pywebrtc.stun import Message as StunMessage
from pywebrtc.stun import (
    MessageClass,
    Method,
    Username,
    binding_request,
    binding_success,
    new_transaction_id,
)
from tests.simnet import Network

from .scenarios import A_ADDR, B_ADDR, connect_pair, connected, make_agent

ATTACKER = ("10.66.0.1", 4444)


def _connected_pair() -> tuple[Network, Agent, Agent]:
    net = Network(delay=0.01)
    a, b = make_agent(True, 1), make_agent(False, 2)
    connect_pair(net, a, b)
    net.run(1.0)
    assert connected(a, b)
    return net, a, b


def _check(ufrag_pair: str, pwd: str) -> bytes:
    return binding_request(
        new_transaction_id(),
        ufrag_pair,
        pwd.encode(),
        priority=1000,
        controlling=True,
        tie_breaker=1,
    )


def test_each_kind_of_bad_packet_is_dropped_and_counted() -> None:
    b = make_agent(False, 2)
    b.add_local_candidate(host_candidate(*B_ADDR))
    b.start(0.0)
    pwd = b.local_credentials.pwd
    good = _check(f"{b.local_ufrag}:peer", pwd)
    bad_fp = good[:-1] + bytes([good[-1] ^ 1])
    cases = [
        (b"\x00\x01\x00\x04\x21\x12\xa4\x42" + os.urandom(12), "dropped_malformed"),
        (b"\x00\x01", "dropped_malformed"),
        (_check(f"{b.local_ufrag}:peer", "w" * 22), "dropped_bad_integrity"),
        (bad_fp, "dropped_bad_fingerprint"),
        (_check("someoneelse:peer", pwd), "dropped_unknown_ufrag"),
        (
            binding_success(new_transaction_id(), ATTACKER, pwd.encode()),
            "dropped_unmatched_response",
        ),
        (
            StunMessage.create(Method.ALLOCATE, MessageClass.REQUEST, [Username("x")]).encode(),
            "dropped_unexpected",
        ),
    ]
    for data, counter in cases:
        before = getattr(b.counters, counter)
        assert b.receive(data, ATTACKER, B_ADDR, 0.1) is True
        assert getattr(b.counters, counter) == before + 1, counter
    # Nothing was answered and nothing was learned from any of it.
    assert not any(isinstance(out, Transmit) for out in iter(b.poll, None))
    assert b.remote_candidates == []
    assert b.counters.dropped == len(cases)


def test_response_with_wrong_integrity_does_not_complete_the_check() -> None:
    net = Network(delay=0.01)
    a, b = make_agent(True, 1), make_agent(False, 2)
    net.drop = lambda d: d.source == B_ADDR
    connect_pair(net, a, b)
    net.run(0.005)
    request = next(tx for tx in net.sent if tx.source == A_ADDR)
    tid = StunMessage.parse(request.data).transaction_id
    forged = binding_success(tid, A_ADDR, b"not-the-password-at-all")
    a.receive(forged, B_ADDR, A_ADDR, net.now)
    assert a.counters.dropped_bad_integrity == 1
    assert a.selected_pair() is None
    net.drop = lambda d: False
    net.run(5.0, stop=lambda: connected(a, b))
    assert connected(a, b)


def test_garbage_into_a_live_session_leaves_it_connected() -> None:
    net, a, b = _connected_pair()
    for i in range(2000):
        net.inject(os.urandom(i % 120), ATTACKER, B_ADDR)
        net.inject(b"\x00\x01\x00\x00\x21\x12\xa4\x42" + os.urandom(12), ATTACKER, A_ADDR)
    net.run(net.now + 60.0)
    assert connected(a, b)
    assert b.counters.dropped > 0


def test_authenticated_flood_from_many_addresses_stays_bounded() -> None:
    net, a, b = _connected_pair()
    creds = b.local_credentials
    for i in range(3000):
        source = (f"172.16.{i // 250}.{i % 250}", 1000 + i)
        net.inject(_check(f"{creds.ufrag}:x", creds.pwd), source, B_ADDR)
    net.run(net.now + 10.0)
    cfg = b.config
    assert len(b.remote_candidates) <= cfg.max_remote_candidates
    assert len(b.checklist) <= cfg.max_pairs
    net.run(net.now + 60.0)
    assert connected(a, b)


@given(st.binary(max_size=300))
def test_receive_never_raises(data: bytes) -> None:
    b = make_agent(False, 2)
    b.set_remote_credentials("peer", "p" * 22)
    for payload in (data, b"\x00\x01" + data, b"\x01\x01" + data[:2] + b"\x21\x12\xa4\x42" + data):
        b.receive(payload, ATTACKER, B_ADDR, 0.0)
        b.tick(1.0)
    while b.poll() is not None:
        pass


def test_unknown_comprehension_required_attribute_gets_420() -> None:
    b = make_agent(False, 2)
    b.add_local_candidate(host_candidate(*B_ADDR))
    msg = StunMessage.create(
        Method.BINDING,
        MessageClass.REQUEST,
        [Username(f"{b.local_ufrag}:peer"), (0x7FAA, b"\x00\x00\x00\x00")],
    )
    b.receive(msg.encode(b.local_credentials.pwd.encode(), fingerprint=True), ATTACKER, B_ADDR, 0)
    out = b.poll()
    assert isinstance(out, Transmit)
    reply = StunMessage.parse(out.data)
    assert reply.message_class is MessageClass.ERROR_RESPONSE
    error = reply.error_code
    assert error is not None and error.code == 420
    assert reply.unknown_attributes == (0x7FAA,)
    assert b.remote_candidates == [] and b.counters.unknown_attributes_rejected == 1
