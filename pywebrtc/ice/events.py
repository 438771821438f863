"""What the sans-IO agent outputs: datagrams to send and events, plus the W3C states."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from pywebrtc.ice.candidate import Address, Candidate
from pywebrtc.ice.pair import CandidatePair
from pywebrtc.transmit import Transmit as Transmit


class IceState(enum.StrEnum):
    """``RTCIceConnectionState`` (W3C webrtc-pc §4.3.3)."""

    NEW = "new"
    CHECKING = "checking"
    CONNECTED = "connected"
    COMPLETED = "completed"
    DISCONNECTED = "disconnected"
    FAILED = "failed"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class StateChanged:
    state: IceState


@dataclass(frozen=True, slots=True)
class SelectedPairChanged:
    component: int
    pair: CandidatePair


@dataclass(frozen=True, slots=True)
class PairValidated:
    """A component without a selected pair has its first valid pair: data may flow on it
    before nomination (RFC 8445 §15.1, "can now send and receive data on the pair")."""

    component: int
    pair: CandidatePair


@dataclass(frozen=True, slots=True)
class LocalCandidateGathered:
    """A server-reflexive candidate learned from a STUN server (to signal to the peer)."""

    candidate: Candidate


@dataclass(frozen=True, slots=True)
class GatherDone:
    """A STUN-server query from ``base`` ended: ``candidate`` is None on timeout or error, or
    when the mapped address equals the base (no NAT)."""

    base: Address
    server: Address
    candidate: Candidate | None


Event = StateChanged | SelectedPairChanged | PairValidated | LocalCandidateGathered | GatherDone
Output = Transmit | Event
