"""The agent and the mux on RFC 5769 §2.1's sample ICE check (a published, signed request)."""

from __future__ import annotations

from pywebrtc.ice.agent import Agent
from pywebrtc.ice.candidate import host_candidate
from pywebrtc.ice.credentials import Credentials
from pywebrtc.ice.events import Transmit
from pywebrtc.ice.udpmux import UdpMux
from pywebrtc.stun import Message, MessageClass
from tests.stun import vectors

LOCAL = ("192.0.2.10", 3478)
CLIENT = ("192.0.2.1", 32853)


def _agent() -> Agent:
    agent = Agent(True, Credentials("evtj", vectors.SHORT_TERM_PASSWORD))
    agent.add_local_candidate(host_candidate(*LOCAL))
    return agent


def test_sample_request_is_authenticated_and_answered() -> None:
    agent = _agent()
    assert agent.receive(vectors.SAMPLE_REQUEST, CLIENT, LOCAL, 0.0)
    out = agent.poll()
    assert isinstance(out, Transmit) and out.destination == CLIENT and out.source == LOCAL
    reply = Message.parse(out.data)
    assert reply.message_class is MessageClass.SUCCESS_RESPONSE
    assert reply.transaction_id == vectors.TRANSACTION_ID
    assert reply.xor_mapped_address == CLIENT
    assert reply.verify_integrity(vectors.SHORT_TERM_PASSWORD.encode())
    assert reply.verify_fingerprint()
    # The sender becomes a peer-reflexive candidate with the PRIORITY it sent (§7.3.1.3).
    [remote] = agent.remote_candidates
    assert remote.type == "prflx" and remote.priority == 0x6E0001FF
    assert remote.address == CLIENT
    assert agent.counters.dropped == 0 and agent.counters.requests_received == 1


def test_sample_request_is_routed_by_the_mux_on_first_contact() -> None:
    sent: list[tuple[bytes, tuple[str, int]]] = []
    mux = UdpMux(LOCAL, lambda data, remote: sent.append((data, remote)))
    agent = _agent()
    mux.register(
        "evtj",
        lambda data, remote: agent.receive(data, remote, LOCAL, 0.0),
        agent.authenticated_from,
    )
    mux.receive(vectors.SAMPLE_REQUEST, CLIENT)
    assert mux.session_for(CLIENT) is not None
    assert mux.counters.dropped == 0
    # Tamper with one byte of the signed part: dropped, and the address stays unknown.
    mux2 = UdpMux(LOCAL, lambda data, remote: None)
    agent2 = _agent()
    mux2.register(
        "evtj",
        lambda data, remote: agent2.receive(data, remote, LOCAL, 0.0),
        agent2.authenticated_from,
    )
    tampered = bytearray(vectors.SAMPLE_REQUEST)
    tampered[27] ^= 0x01  # inside SOFTWARE
    mux2.receive(bytes(tampered), CLIENT)
    assert mux2.session_for(CLIENT) is None
    assert agent2.counters.dropped_bad_fingerprint + agent2.counters.dropped_bad_integrity == 1
