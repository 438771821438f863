"""ICE (RFC 8445): a sans-IO agent, candidates, a one-socket UDP mux, and an asyncio shell.

* :class:`Agent` — the state machine: ``receive(data, source, destination, now)``,
  ``tick(now)``, ``poll() -> Transmit | event | None``, ``deadline()``. Full and lite, both
  roles, regular nomination, 487 role conflicts, peer-reflexive candidates, trickle with
  end-of-candidates (RFC 8838), ICE restart, consent freshness (RFC 7675).
* :class:`UdpMux` — one socket serving many agents (ufrag on first contact, then address).
* :class:`Connection` — aioice-shaped asyncio API over an agent, its sockets (or a mux), a
  STUN server for server-reflexive candidates and a TURN client for relayed ones.
* Credentials and their validation (:class:`Credentials`), candidate text (``to_sdp()``; reading
  it is :func:`pywebrtc.jsep.candidates.parse_candidate`: ICE imports nothing from SDP).
"""

from pywebrtc.ice.agent import Agent, IceCounters
from pywebrtc.ice.candidate import (
    Address,
    Candidate,
    CandidateType,
    candidate_priority,
    host_candidate,
)
from pywebrtc.ice.checklist import Checklist
from pywebrtc.ice.config import AgentConfig
from pywebrtc.ice.connection import Connection, ConnectionStats
from pywebrtc.ice.credentials import Credentials, validate_pwd, validate_ufrag
from pywebrtc.ice.errors import CandidateParseError, IceError, InvalidCredentialError
from pywebrtc.ice.events import (
    GatherDone,
    IceState,
    LocalCandidateGathered,
    PairValidated,
    SelectedPairChanged,
    StateChanged,
    Transmit,
)
from pywebrtc.ice.pair import CandidatePair, PairState
from pywebrtc.ice.udpmux import MuxCounters, UdpMux, open_udp_mux

__all__ = [
    "Address",
    "Agent",
    "AgentConfig",
    "Candidate",
    "CandidatePair",
    "CandidateParseError",
    "CandidateType",
    "Checklist",
    "Connection",
    "ConnectionStats",
    "Credentials",
    "GatherDone",
    "IceCounters",
    "IceError",
    "IceState",
    "InvalidCredentialError",
    "LocalCandidateGathered",
    "MuxCounters",
    "PairState",
    "PairValidated",
    "SelectedPairChanged",
    "StateChanged",
    "Transmit",
    "UdpMux",
    "candidate_priority",
    "host_candidate",
    "open_udp_mux",
    "validate_pwd",
    "validate_ufrag",
]
