"""pywebrtc.ice.framed: frames in, the client address to the mux; replies framed, back to the
relay the client came through; junk and strangers dropped and counted; a UDP client and a
TCP-borne one (ICE-TCP through the relay) at the same ip:port are two clients."""

from __future__ import annotations

import asyncio
from typing import cast

from pywebrtc.framing import encode_address
from pywebrtc.ice.agent import Agent
from pywebrtc.ice.candidate import host_candidate
from pywebrtc.ice.framed import FramedMuxProtocol
from pywebrtc.ice.udpmux import MuxSession
from signaling.udp import TransceiverSocket
from tests.ice.scenarios import make_agent
from tests.ice.test_udpmux import binding_request


class _Transport:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sent.append((data, addr))


def test_replies_go_back_framed_through_the_last_relay() -> None:
    protocol = FramedMuxProtocol(("203.0.113.1", 3478), relays={"10.0.0.1", "10.0.0.2"})
    transport = _Transport()
    protocol.connection_made(cast(asyncio.BaseTransport, transport))
    seen: list[tuple[bytes, tuple[str, int]]] = []
    session = protocol.mux.register("ufrag", lambda d, r: seen.append((d, r)), lambda r: True)
    client = ("198.51.100.7", 5000)
    protocol.mux._by_address[client] = session  # as if the client had authenticated
    protocol.datagram_received(encode_address(client) + b"\x17dtls", ("10.0.0.1", 40000))
    assert seen == [(b"\x17dtls", client)]
    protocol.mux.send(b"\x17reply", client)
    assert transport.sent == [(encode_address(client) + b"\x17reply", ("10.0.0.1", 40000))]
    # The client moved to another relay (worker): replies follow it.
    protocol.datagram_received(encode_address(client) + b"\x17more", ("10.0.0.2", 40001))
    protocol.mux.send(b"x", client)
    assert transport.sent[-1][1] == ("10.0.0.2", 40001)
    assert protocol.mux.local_address == ("203.0.113.1", 3478)


def test_junk_and_strangers_are_dropped_and_counted() -> None:
    protocol = FramedMuxProtocol(("203.0.113.1", 3478), relays={"10.0.0.1"})
    transport = _Transport()
    protocol.connection_made(cast(asyncio.BaseTransport, transport))
    protocol.datagram_received(b"\x00\x01junk", ("10.0.0.1", 1))
    protocol.datagram_received(b"\xc6" + bytes(10), ("10.0.0.1", 1))  # a header cut short
    protocol.datagram_received(encode_address(("1.2.3.4", 5)) + b"x", ("192.0.2.66", 1))
    protocol.mux.send(b"x", ("9.9.9.9", 9))
    assert protocol.counters.dropped_bad_frame == 2
    assert protocol.counters.dropped_not_a_relay == 1
    assert protocol.counters.dropped_no_route == 1
    assert transport.sent == []


def test_a_udp_and_a_tcp_client_at_the_same_address_are_two_clients() -> None:
    # UDP and TCP ports are separate spaces: behind one NAT address, one caller's UDP flow and
    # another's TCP connection to the relay's ICE-TCP listener can have the same ip:port. Each
    # is bound to its own session, gets its own datagrams, and is answered on its transport.
    public = ("203.0.113.1", 3478)
    protocol = TransceiverSocket([public])
    transport = _Transport()
    protocol.connection_made(cast(asyncio.BaseTransport, transport))
    relay = ("10.0.0.1", 40000)
    client = ("198.51.100.7", 5000)
    udp, tcp = encode_address(client), encode_address(client, tcp=True)
    seen: dict[str, list[bytes]] = {"udp": [], "tcp": []}
    agents: dict[str, Agent] = {}
    sessions: dict[str, MuxSession] = {}
    for seed, kind in ((21, "udp"), (22, "tcp")):
        agent = agents[kind] = make_agent(False, seed, lite=True)
        agent.add_local_candidate(host_candidate(*public))

        def deliver(
            data: bytes, remote: tuple[str, int], agent: Agent = agent, kind: str = kind
        ) -> None:
            seen[kind].append(data)
            agent.receive(data, remote, public, 0.0)

        sessions[kind] = protocol.mux.register(agent.local_ufrag, deliver, agent.authenticated_from)
    for kind, header in (("udp", udp), ("tcp", tcp)):
        agent = agents[kind]
        check = binding_request(agent.local_ufrag, agent.local_credentials.pwd)
        protocol.datagram_received(header + check, relay)
    mux = protocol.mux
    assert mux.session_for(client) is sessions["udp"]
    assert mux.session_for(client, tcp=True) is sessions["tcp"]
    assert mux.address_count == 2
    protocol.datagram_received(udp + b"\x17over udp", relay)
    protocol.datagram_received(tcp + b"\x17over tcp", relay)
    assert seen["udp"][-1] == b"\x17over udp" and seen["tcp"][-1] == b"\x17over tcp"
    transport.sent.clear()
    mux.sender(sessions["udp"])(b"\x17to udp", client)
    mux.sender(sessions["tcp"])(b"\x17to tcp", client)
    assert transport.sent == [(udp + b"\x17to udp", relay), (tcp + b"\x17to tcp", relay)]
