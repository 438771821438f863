"""Helpers shared by the agent scenarios: make agents, exchange credentials and candidates."""

from __future__ import annotations

import random

from pywebrtc.ice.agent import Agent
from pywebrtc.ice.candidate import Address, host_candidate
from pywebrtc.ice.config import AgentConfig
from pywebrtc.ice.credentials import Credentials
from pywebrtc.ice.events import IceState, SelectedPairChanged
from tests.simnet import Network

A_ADDR: Address = ("10.0.0.1", 5000)
B_ADDR: Address = ("10.0.0.2", 6000)


def make_agent(
    controlling: bool,
    seed: int,
    lite: bool = False,
    config: AgentConfig | None = None,
    tie_breaker: int | None = None,
    components: int = 1,
) -> Agent:
    rng = random.Random(seed)
    creds = Credentials(f"uf{seed:04d}", f"pw{seed:04d}" + "x" * 20)
    return Agent(
        controlling,
        creds,
        lite=lite,
        config=config,
        rng=rng,
        tie_breaker=tie_breaker,
        components=components,
    )


def connect_pair(
    net: Network,
    a: Agent,
    b: Agent,
    a_addr: Address = A_ADDR,
    b_addr: Address = B_ADDR,
    a_advertised: Address | None = None,
    trickle_b: bool = True,
) -> None:
    """Attach both agents, give each its host candidate, and signal everything."""
    net.attach(a, a_addr)
    net.attach(b, b_addr)
    ca = host_candidate(*a_addr)
    if a_advertised is not None:
        ca = ca.with_address(*a_advertised)
    cb = host_candidate(*b_addr)
    a.add_local_candidate(ca)
    b.add_local_candidate(cb)
    a.set_remote_credentials(b.local_credentials.ufrag, b.local_credentials.pwd)
    b.set_remote_credentials(a.local_credentials.ufrag, a.local_credentials.pwd)
    a.add_remote_candidate(cb)
    b.add_remote_candidate(ca)
    if trickle_b:
        a.add_remote_candidate(None)
        b.add_remote_candidate(None)
    a.start(net.now)
    b.start(net.now)


def connected(*agents: Agent) -> bool:
    return all(x.state in (IceState.CONNECTED, IceState.COMPLETED) for x in agents)


def selected_events(net: Network, agent: Agent) -> list[SelectedPairChanged]:
    return [e for e in net.events_of(agent) if isinstance(e, SelectedPairChanged)]
