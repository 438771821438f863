"""The UDP mux: ufrag on first contact, then address; bad traffic dropped, memory bounded."""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.ice.agent import Agent
from pywebrtc.ice.candidate import Address, host_candidate
from pywebrtc.ice.credentials import Credentials
from pywebrtc.ice.events import IceState, Transmit
from pywebrtc.ice.udpmux import UdpMux
from pywebrtc.stun.attributes import IceControlling, Priority, Username
from pywebrtc.stun.binding import binding_request as stun_binding_request
from pywebrtc.stun.binding import binding_success
from pywebrtc.stun.constants import FINGERPRINT_XOR, MessageClass, Method
from pywebrtc.stun.message import Message, new_transaction_id
from tests.simnet import Network

from .muxhost import MuxHost
from .scenarios import connected, make_agent

SERVER: Address = ("192.0.2.1", 3478)


def client_for(host: MuxHost, net: Network, i: int) -> tuple[Agent, Agent]:
    """A browser-like full controlling client and its lite server agent on the mux."""
    server = make_agent(False, 100_000 + i, lite=True)
    client = make_agent(True, i)
    host.add(server)
    addr = (f"10.{i // 250}.{i % 250}.1", 50000 + i % 1000)
    net.attach(client, addr)
    client.add_local_candidate(host_candidate(*addr))
    client.set_remote_credentials(server.local_ufrag, server.local_credentials.pwd)
    server.set_remote_credentials(client.local_ufrag, client.local_credentials.pwd)
    client.set_remote_lite(True)
    client.add_remote_candidate(host_candidate(*SERVER))
    client.add_remote_candidate(None)
    server.add_remote_candidate(None)
    client.start(0.0)
    server.start(0.0)
    return client, server


def binding_request(ufrag: str, pwd: str, tie: int = 1) -> bytes:
    msg = Message.create(
        Method.BINDING,
        MessageClass.REQUEST,
        [Username(f"{ufrag}:peer"), Priority(1), IceControlling(tie)],
    )
    return msg.encode(pwd.encode(), fingerprint=True)


def test_mux_serves_1000_agents_on_one_socket() -> None:
    net = Network(delay=0.005)
    host = MuxHost(SERVER)
    net.attach(host, SERVER)
    pairs = [client_for(host, net, i) for i in range(1000)]
    net.run(5.0, stop=lambda: all(connected(c, s) for c, s in pairs))
    assert all(connected(c, s) for c, s in pairs)
    assert net.now < 0.1
    assert host.mux.address_count == 1000
    for i, (_client, server) in enumerate(pairs[:20]):
        sel = server.selected_pair()
        assert sel is not None and sel.remote.address == (
            f"10.{i // 250}.{i % 250}.1",
            50000 + i % 1000,
        )
    assert host.mux.counters.dropped == 0
    # Closing a session releases its addresses; the others are unaffected.
    client0, server0 = pairs[0]
    host.remove(server0)
    assert host.mux.address_count == 999 and len(host.mux) == 999


def test_unknown_ufrag_malformed_and_non_stun_traffic_is_dropped_and_counted() -> None:
    sent: list[tuple[bytes, Address]] = []
    mux = UdpMux(SERVER, lambda d, a: sent.append((d, a)))
    agent = make_agent(False, 1, lite=True)
    agent.add_local_candidate(host_candidate(*SERVER))
    mux.register(
        agent.local_ufrag,
        lambda d, r: agent.receive(d, r, SERVER, 0.0),
        agent.authenticated_from,
    )
    mux.receive(binding_request("nobody", "x" * 22), ("10.0.0.1", 1))
    mux.receive(b"\x16\xfe\xfd" + os.urandom(40), ("10.0.0.2", 2))  # DTLS from a stranger
    mux.receive(b"\x00\x01\x00", ("10.0.0.3", 3))  # truncated STUN
    mux.receive(b"", ("10.0.0.4", 4))
    c = mux.counters
    assert c.dropped_unknown_ufrag == 1 and c.dropped_unknown_address == 3
    assert mux.address_count == 0 and sent == []
    # Right ufrag, wrong password: reaches the agent, which drops it; nothing is bound.
    mux.receive(binding_request(agent.local_ufrag, "y" * 22), ("10.0.0.5", 5))
    assert c.dropped_unauthenticated == 1
    assert agent.counters.dropped_bad_integrity == 1
    assert mux.address_count == 0


def test_flood_of_binding_requests_from_many_addresses_keeps_memory_bounded() -> None:
    net = Network(delay=0.005)
    host = MuxHost(SERVER)
    net.attach(host, SERVER)
    pairs = [client_for(host, net, i) for i in range(3)]
    victim_server = pairs[0][1]
    net.run(1.0)
    assert all(connected(c, s) for c, s in pairs)
    before = host.mux.address_count
    creds = victim_server.local_credentials
    for i in range(5000):
        source = (f"172.16.{i // 250}.{i % 250}", 1000 + i)
        # Unknown ufrag, and a known ufrag with the wrong password.
        host.receive(binding_request(f"x{i:05d}", "z" * 22), source, SERVER, net.now)
        host.receive(binding_request(creds.ufrag, "z" * 22), source, SERVER, net.now)
    c = host.mux.counters
    assert c.dropped_unknown_ufrag == 5000 and c.dropped_unauthenticated == 5000
    assert host.mux.address_count == before
    assert victim_server.counters.dropped_bad_integrity == 5000
    # Even an attacker who knows the credentials binds at most a few addresses per session.
    for i in range(500):
        source = (f"172.17.{i // 250}.{i % 250}", 2000 + i)
        host.receive(binding_request(creds.ufrag, creds.pwd), source, SERVER, net.now)
    assert host.mux.address_count <= before + host.mux.max_addresses_per_session
    assert len(victim_server.remote_candidates) <= victim_server.config.max_remote_candidates
    host.sent_by_mux.clear()
    while victim_server.poll() is not None:
        pass
    net.run(net.now + 60.0)
    # The other sessions never noticed.
    for client, server in pairs[1:]:
        assert connected(client, server)
        assert server.counters.dropped == 0


def test_session_released_after_consent_failure() -> None:
    net = Network(delay=0.005)
    host = MuxHost(SERVER)
    net.attach(host, SERVER)
    client, server = client_for(host, net, 7)
    net.run(1.0)
    assert connected(client, server)
    net.drop = lambda d: True
    net.run(60.0, stop=lambda: server.state is IceState.FAILED)
    assert server.state is IceState.FAILED
    host.remove(server)
    assert host.mux.address_count == 0 and len(host.mux) == 0


@given(st.binary(max_size=200), st.integers(min_value=1, max_value=65535))
def test_mux_never_raises_on_arbitrary_datagrams(data: bytes, port: int) -> None:
    mux = UdpMux(SERVER, lambda d, a: None)
    agent = make_agent(False, 3, lite=True)
    agent.add_local_candidate(host_candidate(*SERVER))
    mux.register("uf0003", lambda d, r: agent.receive(d, r, SERVER, 0.0), agent.authenticated_from)
    mux.receive(data, ("10.1.1.1", port))
    mux.receive(b"\x00\x01" + data, ("10.1.1.1", port))
    assert mux.address_count == 0


def test_an_address_reused_by_a_new_session_moves_to_it() -> None:
    mux = UdpMux(SERVER, lambda d, a: None)
    agents = []

    def deliver_to(agent: Agent) -> Callable[[bytes, Address], object]:
        return lambda d, r: agent.receive(d, r, SERVER, 0.0)

    for seed in (11, 12):
        agent = make_agent(False, seed, lite=True)
        agent.add_local_candidate(host_candidate(*SERVER))
        mux.register(agent.local_ufrag, deliver_to(agent), agent.authenticated_from)
        agents.append(agent)
    old, new = agents
    client = ("10.5.5.5", 5555)
    mux.receive(binding_request(old.local_ufrag, old.local_credentials.pwd), client)
    assert mux.session_for(client) is not None
    assert mux.session_for(client).ufrag == old.local_ufrag  # type: ignore[union-attr]
    # Same address, the other session's ufrag: it follows the request.
    mux.receive(binding_request(new.local_ufrag, new.local_credentials.pwd), client)
    session = mux.session_for(client)
    assert session is not None and session.ufrag == new.local_ufrag
    assert new.counters.requests_received == 1 and old.counters.dropped == 0
    assert mux.address_count == 1
    # A forged request naming the old session does not steal the address back.
    mux.receive(binding_request(old.local_ufrag, "w" * 22), client)
    session = mux.session_for(client)
    assert session is not None and session.ufrag == new.local_ufrag


def test_rekey_keeps_serving_the_previous_ufrag_and_releases_the_one_before() -> None:
    # An ICE restart re-keys the session; the peer may keep checking the old pair with the
    # old ufrag (libwebrtc does with an ICE-lite agent), so that one stays served until the
    # next restart; unregister releases both.
    mux = UdpMux(SERVER, lambda data, remote: None)
    got: list[bytes] = []
    session = mux.register("first", lambda data, remote: got.append(data), lambda a: True)
    mux.rekey(session, "second")
    assert len(mux) == 1 and set(mux._by_ufrag) == {"first", "second"}
    for ufrag in ("first", "second"):
        mux.receive(binding_request(ufrag, "x" * 22), (f"10.0.0.{len(got) + 1}", 5000))
    assert len(got) == 2 and mux.counters.dropped_unknown_ufrag == 0
    mux.rekey(session, "third")
    assert set(mux._by_ufrag) == {"second", "third"}
    mux.receive(binding_request("first", "x" * 22), ("10.0.0.9", 5000))
    assert mux.counters.dropped_unknown_ufrag == 1
    mux.unregister(session)
    assert len(mux) == 0 and mux._by_ufrag == {}


# --- consent checks answered at the mux (Agent.answer_consent_check) --------------------------


def consent_check(client: Agent, server: Agent, key: bytes | None = None) -> bytes:
    """A check as the client sends it on the selected pair (USE-CANDIDATE included: a
    controlling agent keeps it on its consent checks)."""
    return stun_binding_request(
        new_transaction_id(),
        f"{server.local_ufrag}:{client.local_ufrag}",
        key if key is not None else server.local_credentials.pwd.encode(),
        priority=1853824767,
        controlling=True,
        tie_breaker=client.tie_breaker,
        use_candidate=True,
    )


def idle_pair(seconds: float) -> tuple[Network, MuxHost, Agent, Agent]:
    net = Network(delay=0.005)
    host = MuxHost(SERVER)
    net.attach(host, SERVER)
    client, server = client_for(host, net, 9)
    net.run(seconds)
    return net, host, client, server


def test_consent_checks_are_answered_at_the_mux_and_keep_an_idle_session_alive() -> None:
    net, host, client, server = idle_pair(300.0)  # ten consent timeouts (RFC 7675)
    assert connected(client, server)
    assert server.state is IceState.COMPLETED
    counters = host.mux.counters
    # Every check after the first few (the nomination, the move to "completed") is answered
    # at the mux: one answer each, nothing dropped, and the lite agent sends no keepalive.
    checks = client.counters.checks_sent
    assert checks > 50
    assert counters.answered >= checks - 3
    assert server.counters.requests_received == server.counters.responses_sent == checks
    assert server.counters.dropped == 0 and client.counters.dropped == 0
    from_server = [Message.parse(d.data) for d in net.sent if d.source == SERVER]
    assert all(m.message_class is MessageClass.SUCCESS_RESPONSE for m in from_server)
    # The answers renew consent as the general path does: the session outlives its timeouts.
    sel = server.selected_pair()
    assert sel is not None and sel.last_received is not None
    assert net.now - sel.last_received < 6.5
    assert server.consent_ok(net.now)


def test_a_consent_check_failing_integrity_or_fingerprint_is_dropped_and_counted() -> None:
    net, host, client, server = idle_pair(20.0)
    counters = host.mux.counters
    answered, responses = counters.answered, server.counters.responses_sent
    sel = server.selected_pair()
    assert sel is not None
    heard = sel.last_received
    forged = consent_check(client, server, key=b"not the password")
    broken = bytearray(consent_check(client, server))
    broken[-1] ^= 1  # FINGERPRINT
    before = len(host.sent_by_mux)
    host.mux.receive(forged, sel.remote.address)
    host.mux.receive(bytes(broken), sel.remote.address)
    assert server.counters.dropped_bad_integrity == 1
    assert server.counters.dropped_bad_fingerprint == 1
    assert counters.answered == answered and server.counters.responses_sent == responses
    assert len(host.sent_by_mux) == before  # nothing answered
    assert sel.last_received == heard  # and nothing renewed
    # A good one is answered at once.
    host.mux.receive(consent_check(client, server), sel.remote.address)
    assert counters.answered == answered + 1 and len(host.sent_by_mux) == before + 1
    response = Message.parse(host.sent_by_mux[-1][0])
    assert response.message_class is MessageClass.SUCCESS_RESPONSE
    assert response.verify_integrity(server.local_credentials.pwd.encode())
    assert response.verify_fingerprint()
    assert response.xor_mapped_address == sel.remote.address


def test_a_check_from_a_new_address_takes_the_general_path() -> None:
    # A NAT rebinding: the same client, a new address, its consent check (USE-CANDIDATE
    # included) must reach the agent, which learns the address and may move its pair there.
    net, host, client, server = idle_pair(20.0)
    sel = server.selected_pair()
    assert sel is not None
    old = sel.remote.address
    new = (old[0], old[1] + 1)
    check = consent_check(client, server)
    assert server.answer_consent_check(check, new, SERVER, net.now) is None
    answered, requests = host.mux.counters.answered, server.counters.requests_received
    host.now = net.now
    host.mux.receive(check, new)
    assert host.mux.counters.answered == answered
    assert server.counters.requests_received == requests + 1
    out = server.poll()  # the general path's answer, queued by the agent
    assert isinstance(out, Transmit) and out.destination == new
    muxed = host.mux.session_for(new)
    assert muxed is not None and muxed.ufrag == server.local_ufrag
    assert server.is_remote_known(new)


def test_only_a_lite_agent_with_a_settled_selected_pair_answers_at_the_mux() -> None:
    net, host, client, server = idle_pair(20.0)
    sel = server.selected_pair()
    assert sel is not None
    remote, now = sel.remote.address, net.now
    check = consent_check(client, server)
    assert server.answer_consent_check(check, remote, SERVER, now) is not None
    # Another base, another ufrag, a comprehension-required attribute we do not know (420
    # from the general path), a full agent, an ICE restart under way: the general path.
    assert server.answer_consent_check(check, remote, ("192.0.2.9", 3478), now) is None
    other = stun_binding_request(
        new_transaction_id(), f"zzzz:{client.local_ufrag}", b"k" * 22,
        priority=1, controlling=True, tie_breaker=1,
    )  # fmt: skip
    assert server.answer_consent_check(other, remote, SERVER, now) is None
    unknown = Message.create(
        Method.BINDING,
        MessageClass.REQUEST,
        [Username(f"{server.local_ufrag}:{client.local_ufrag}"), (0x7FFF, b"x")],
    ).encode(server.local_credentials.pwd.encode(), fingerprint=True)
    assert server.answer_consent_check(unknown, remote, SERVER, now) is None
    assert client.answer_consent_check(check, SERVER, remote, now) is None
    server.restart(Credentials("uf9999", "pw9999" + "y" * 20), now)
    assert server.answer_consent_check(check, remote, SERVER, now) is None


def test_repeated_consent_checks_are_answered_as_binding_success_builds_the_answer() -> None:
    # The agent keeps the layout of the last check it answered and the answer's parts; every
    # answer, the first (read in full) and the next ones (same layout), is byte for byte what
    # binding_success makes, and so is one for a check whose layout changed.
    net, host, client, server = idle_pair(20.0)
    sel = server.selected_pair()
    assert sel is not None
    remote, key = sel.remote.address, server.local_credentials.pwd.encode()
    renamed = stun_binding_request(
        new_transaction_id(), f"{server.local_ufrag}:{client.local_ufrag}", key,
        priority=7, controlling=True, tie_breaker=client.tie_breaker,
    )  # fmt: skip
    for check in [consent_check(client, server) for _ in range(3)] + [renamed]:
        answer = server.answer_consent_check(check, remote, SERVER, net.now)
        assert answer == binding_success(check[8:20], remote, key)
    assert server.counters.dropped == 0


def test_a_consent_check_from_an_ipv6_client_is_answered_too() -> None:
    net, host, client, server = idle_pair(20.0)
    sel = server.selected_pair()
    assert sel is not None
    remote = ("2001:db8::7", 40000)
    sel.remote = replace(sel.remote, host=remote[0], port=remote[1])
    check = consent_check(client, server)
    for _ in range(2):
        answer = server.answer_consent_check(check, remote, SERVER, net.now)
        assert answer == binding_success(check[8:20], remote, server.local_credentials.pwd.encode())


def test_bad_checks_with_the_layout_answered_before_are_dropped_and_counted() -> None:
    net, host, client, server = idle_pair(20.0)
    sel = server.selected_pair()
    assert sel is not None
    remote, mux, counters = sel.remote.address, host.mux, server.counters
    good = consent_check(client, server)
    assert server.answer_consent_check(good, remote, SERVER, net.now)  # its layout is kept
    answered, responses = mux.counters.answered, counters.responses_sent
    sent = len(host.sent_by_mux)
    wrong_mac = bytearray(consent_check(client, server))
    wrong_mac[-12] ^= 1  # in MESSAGE-INTEGRITY's HMAC, with FINGERPRINT made right again
    wrong_mac[-4:] = (zlib.crc32(wrong_mac[:-8]) ^ FINGERPRINT_XOR).to_bytes(4, "big")
    wrong_crc = bytearray(consent_check(client, server))
    wrong_crc[-1] ^= 1
    forged = consent_check(client, server, key=b"x" * 22)  # same layout, another key
    for bad in (bytes(wrong_mac), bytes(wrong_crc), forged):
        mux.receive(bad, remote)
    assert counters.dropped_bad_integrity == 2 and counters.dropped_bad_fingerprint == 1
    # Truncated, or longer than its header says: not that layout, and not a check the fast
    # path reads; the agent's general path drops it and counts it.
    dropped = counters.dropped
    mux.receive(good[:-4], remote)
    mux.receive(good + b"\x00" * 4, remote)
    assert counters.dropped == dropped + 2
    assert mux.counters.answered == answered and counters.responses_sent == responses
    assert len(host.sent_by_mux) == sent  # nothing answered
    # A check naming a ufrag no session has, from an address no session has: dropped at the
    # mux and counted there.
    before = mux.counters.dropped_unknown_ufrag
    mux.receive(binding_request("nobody", "x" * 22), ("10.9.9.9", 9999))
    assert mux.counters.dropped_unknown_ufrag == before + 1
    # The good layout is still answered.
    mux.receive(consent_check(client, server), remote)
    assert mux.counters.answered == answered + 1
