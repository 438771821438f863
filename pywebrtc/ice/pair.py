"""Candidate pairs and their states (RFC 8445 §6.1.2.2, §6.1.2.3, §6.1.2.6).

A pair is keyed by what actually goes on the wire: the local *base* address, the remote address
and the component. RFC 8445 §6.1.2.4 replaces server-reflexive local candidates by their base, and
a peer-reflexive local candidate learned from a response (§7.2.5.3.1) has the same base as the
pair that discovered it, so this implementation keeps the valid flag on the checked pair itself
and remembers the mapped (peer-reflexive) local candidate beside it, rather than building a
second pair object.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from pywebrtc.ice.candidate import Address, Candidate


class PairState(enum.Enum):
    FROZEN = "frozen"
    WAITING = "waiting"
    IN_PROGRESS = "in-progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def pair_priority(local: Candidate, remote: Candidate, controlling: bool) -> int:
    """RFC 8445 §6.1.2.3: ``2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0)``, G the controlling side's."""
    g, d = (local.priority, remote.priority) if controlling else (remote.priority, local.priority)
    return (min(g, d) << 32) + 2 * max(g, d) + (1 if g > d else 0)


PairKey = tuple[Address, Address, int]


@dataclass(eq=False, slots=True)
class CandidatePair:
    local: Candidate
    remote: Candidate
    priority: int
    state: PairState = PairState.FROZEN
    valid: bool = False
    nominated: bool = False
    # Controlled side: USE-CANDIDATE seen on a request for this pair (RFC 8445 §7.3.1.5); the
    # pair becomes nominated once (or as soon as) its own check succeeds.
    nominate_on_success: bool = False
    # The local candidate the peer saw us as (from XOR-MAPPED-ADDRESS), once valid.
    mapped: Candidate | None = None
    # Time the pair last received an authenticated STUN message or a datagram (W3C liveness).
    last_received: float | None = None
    # Controlling side: nomination checks of this (valid) pair that went unanswered.
    nomination_failures: int = 0
    # An authenticated check from the peer arrived on this pair: it has our credentials.
    peer_checked: bool = False

    @property
    def local_base(self) -> Address:
        assert self.local.base is not None
        return self.local.base

    @property
    def remote_address(self) -> Address:
        return self.remote.address

    @property
    def component(self) -> int:
        return self.local.component

    @property
    def key(self) -> PairKey:
        return (self.local_base, self.remote.address, self.local.component)

    @property
    def foundation(self) -> str:
        return f"{self.local.foundation}:{self.remote.foundation}"

    def __repr__(self) -> str:
        return (
            f"CandidatePair({self.local_base}->{self.remote.address}/{self.component} "
            f"{self.state.value}{' valid' if self.valid else ''}"
            f"{' nominated' if self.nominated else ''})"
        )
