"""A UDP mux and its server-side agents, as one machine on :class:`tests.simnet.Network`; lite
agents answer consent checks at the mux (as :class:`pywebrtc.shell.SessionDriver` has them do)."""

from __future__ import annotations

from pywebrtc.ice.agent import Agent
from pywebrtc.ice.candidate import Address, host_candidate
from pywebrtc.ice.events import Output, Transmit
from pywebrtc.ice.udpmux import MuxSession, UdpMux


class MuxHost:
    def __init__(self, address: Address) -> None:
        self.now = 0.0
        self.sent_by_mux: list[tuple[bytes, Address]] = []
        self.mux = UdpMux(address, lambda data, remote: self.sent_by_mux.append((data, remote)))
        self.agents: list[Agent] = []
        self.sessions: dict[int, MuxSession] = {}

    def add(self, agent: Agent) -> MuxSession:
        agent.add_local_candidate(host_candidate(*self.mux.local_address))
        local = self.mux.local_address

        def deliver(data: bytes, remote: Address) -> None:
            agent.receive(data, remote, local, self.now)

        def answer(data: bytes, remote: Address) -> bytes | None:
            return agent.answer_consent_check(data, remote, local, self.now)

        session = self.mux.register(
            agent.local_ufrag, deliver, agent.authenticated_from, answer if agent.lite else None
        )
        self.agents.append(agent)
        self.sessions[id(agent)] = session
        return session

    def remove(self, agent: Agent) -> None:
        self.mux.unregister(self.sessions.pop(id(agent)))
        self.agents.remove(agent)

    # The agent's shape, for the simulated network.
    def receive(self, data: bytes, source: Address, destination: Address, now: float) -> bool:
        self.now = now
        self.mux.receive(data, source)
        return True

    def tick(self, now: float) -> None:
        self.now = now
        for agent in self.agents:
            d = agent.deadline()
            if d is not None and d <= now:
                agent.tick(now)

    def deadline(self) -> float | None:
        times = [d for a in self.agents if (d := a.deadline()) is not None]
        return min(times) if times else None

    def poll(self) -> Output | None:
        if self.sent_by_mux:
            data, remote = self.sent_by_mux.pop(0)
            return Transmit(data, destination=remote, source=self.mux.local_address)
        for agent in self.agents:
            out = agent.poll()
            if out is not None:
                return out
        return None
