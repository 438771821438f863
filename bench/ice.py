"""ICE: time to a nominated pair on this machine, and Binding Requests answered per second.

* ``connect`` — two connections on this host's addresses (real UDP sockets, candidates
  gathered and exchanged beforehand); the clock runs from calling ``connect()`` on both sides
  (the first check goes out then) until both have returned with a nominated pair. Ours↔ours
  against aioice↔aioice, default settings on both.
* ``binding`` — a connected session answering consent-style Binding Requests (USERNAME,
  PRIORITY, ICE-CONTROLLING, MESSAGE-INTEGRITY, FINGERPRINT) from its selected remote: parse,
  check fingerprint and integrity, role, build the signed response. Ours goes through
  ``UdpMux.receive`` with 1000 sessions registered (address lookup, then the agent); aioice
  through its own ``StunProtocol.datagram_received`` of a connected ``aioice.Connection``.
  Neither touches a socket (responses go to a no-op sender), so this is the protocol work
  per request on one core.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aioice

from bench.harness import Case, Scenario, ops_per_second
from pywebrtc.ice import Agent, Connection, Credentials, UdpMux, host_candidate
from pywebrtc.stun import binding_request, new_transaction_id

# --- connect -----------------------------------------------------------------------------------


async def _exchange(a: Any, b: Any, to_remote: Any) -> None:
    await asyncio.gather(a.gather_candidates(), b.gather_candidates())
    a.remote_username, a.remote_password = b.local_username, b.local_password
    b.remote_username, b.remote_password = a.local_username, a.local_password
    for c in b.local_candidates:
        await a.add_remote_candidate(to_remote(c))
    for c in a.local_candidates:
        await b.add_remote_candidate(to_remote(c))
    await a.add_remote_candidate(None)
    await b.add_remote_candidate(None)


async def _time_connect(a: Any, b: Any, to_remote: Any) -> float:
    try:
        await _exchange(a, b, to_remote)
        start = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), 10)
        return (time.perf_counter() - start) * 1000.0
    finally:
        await a.close()
        await b.close()


def connect_ours() -> float:
    return asyncio.run(
        _time_connect(Connection(True), Connection(False), lambda c: c)
    )


def connect_aioice() -> float:
    return asyncio.run(
        _time_connect(
            aioice.Connection(ice_controlling=True),
            aioice.Connection(ice_controlling=False),
            lambda c: aioice.Candidate.from_sdp(c.to_sdp()),
        )
    )


# --- binding -----------------------------------------------------------------------------------

SERVER = ("192.0.2.10", 3478)


def _request(ufrag_pair: str, pwd: str) -> bytes:
    return binding_request(
        new_transaction_id(),
        ufrag_pair,
        pwd.encode(),
        priority=1853824767,
        controlling=True,
        tie_breaker=12345,
    )


def make_ours() -> Any:
    sent: list[int] = [0]
    mux = UdpMux(SERVER, lambda data, remote: None)
    agents: list[Agent] = []
    for i in range(1000):
        agent = Agent(False, Credentials(f"srv{i:05d}", "p" * 22), lite=True)
        agent.add_local_candidate(host_candidate(*SERVER))
        agent.set_remote_credentials(f"cli{i:05d}", "q" * 22)

        def deliver(data: bytes, remote: tuple[str, int], agent: Agent = agent) -> None:
            agent.receive(data, remote, SERVER, 1.0)
            while agent.poll() is not None:
                sent[0] += 1

        mux.register(agent.local_ufrag, deliver, agent.authenticated_from)
        agents.append(agent)
    remote = ("10.1.2.3", 50000)
    agent = agents[500]
    first = _request(f"{agent.local_ufrag}:cli00500", "p" * 22)
    mux.receive(first, remote)  # first contact binds the address
    assert mux.session_for(remote) is not None
    request = _request(f"{agent.local_ufrag}:cli00500", "p" * 22)

    def op() -> None:
        mux.receive(request, remote)

    return op


def make_first_contact() -> Any:
    """Every request from a new client address: USERNAME peek, ufrag lookup, authentication,
    peer-reflexive learning and address binding, across 1000 sessions."""
    mux = UdpMux(SERVER, lambda data, remote: None)
    requests: list[bytes] = []
    agents: list[Agent] = []
    for i in range(1000):
        agent = Agent(False, Credentials(f"srv{i:05d}", "p" * 22), lite=True)
        agent.add_local_candidate(host_candidate(*SERVER))
        agent.set_remote_credentials(f"cli{i:05d}", "q" * 22)

        def deliver(data: bytes, remote: tuple[str, int], agent: Agent = agent) -> None:
            agent.receive(data, remote, SERVER, 1.0)
            while agent.poll() is not None:
                pass

        mux.register(agent.local_ufrag, deliver, agent.authenticated_from)
        agents.append(agent)
        requests.append(_request(f"{agent.local_ufrag}:cli{i:05d}", "p" * 22))
    counter = [0]

    def op() -> None:
        i = counter[0] = counter[0] + 1
        remote = (f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}", 1024 + (i % 60000))
        mux.receive(requests[i % 1000], remote)

    return op


class _NullTransport:
    def sendto(self, data: bytes, addr: Any = None) -> None:
        pass

    def close(self) -> None:
        pass


def make_aioice() -> Any:
    async def setup() -> tuple[Any, Any]:
        a = aioice.Connection(ice_controlling=True)
        b = aioice.Connection(ice_controlling=False)
        await _exchange(a, b, lambda c: aioice.Candidate.from_sdp(c.to_sdp()))
        await asyncio.gather(a.connect(), b.connect())
        return a, b

    loop = asyncio.new_event_loop()
    a, b = loop.run_until_complete(setup())
    pair = b._nominated[1]
    protocol = pair.protocol
    remote = pair.remote_addr
    real_transport = protocol.transport
    protocol.transport = _NullTransport()
    request = _request(f"{b.local_username}:{a.local_username}", b.local_password)

    def op() -> None:
        protocol.datagram_received(request, remote)

    def cleanup() -> None:
        protocol.transport = real_transport
        loop.run_until_complete(a.close())
        loop.run_until_complete(b.close())
        loop.close()

    op.cleanup = cleanup  # type: ignore[attr-defined]
    return op


def binding_ours() -> float:
    return ops_per_second(make_ours())


def binding_aioice() -> float:
    op = make_aioice()
    try:
        return ops_per_second(op)
    finally:
        op.cleanup()


def binding_first_contact() -> float:
    return ops_per_second(make_first_contact())


def scenario() -> Scenario:
    return Scenario(
        name="ice",
        description=(
            "ICE: time from the first check to a nominated pair (real UDP sockets on this "
            "host's addresses), and Binding Requests answered per second on one core "
            "(protocol work only, no socket)."
        ),
        cases=[
            Case(
                "connect: first check to nominated pair, ours↔ours vs aioice↔aioice",
                connect_ours,
                connect_aioice,
                peer_name="aioice 0.13",
                unit="ms",
                higher_is_better=False,
            ),
            Case(
                "binding: requests answered/s (ours: mux with 1000 sessions)",
                binding_ours,
                binding_aioice,
                peer_name="aioice 0.13 (datagram_received)",
                unit="requests/s",
            ),
            Case(
                "binding, first contact: each request from a new address (mux, 1000 sessions)",
                binding_first_contact,
                unit="requests/s",
            ),
        ],
        repeats=7,
        notes=[
            "connect: candidates gathered and exchanged before the clock starts; both sides "
            "gather the same host addresses (IPv4 and IPv6, no loopback); aioice paces "
            "checks 20 ms apart, ours 5 ms, with triggered checks sent at once.",
            "binding: the request comes from an address the session already knows (ours: "
            "bound in the mux; aioice: its nominated pair's remote), so both sides only "
            "validate and answer; ours also does the mux's lookup among 1000 sessions.",
            "binding, first contact: ours only — aioice has no shared socket for many "
            "sessions, so it has no equivalent path; each session keeps at most 16 client "
            "addresses and 64 remote candidates, so memory stays flat.",
        ],
    )
