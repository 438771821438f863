"""The checklist of one data stream (RFC 8445 §6.1.2, §6.1.4, §7.2.5.3.3).

Holds the candidate pairs in priority order, the triggered-check queue, and answers "which pair
is checked next". Pairing follows §6.1.2.2 (same component, same address family; UDP with UDP,
TCP by RFC 6544 §6.2's tcptype rules, :func:`~pywebrtc.ice.candidate.transports_pair`),
server-reflexive local candidates are replaced by their base (§6.1.2.4, so they pair nothing new),
redundant pairs are pruned by key, and the list is capped (§6.1.2.5).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator

from pywebrtc.ice.candidate import Candidate, CandidateType, is_ipv6, transports_pair
from pywebrtc.ice.pair import CandidatePair, PairKey, PairState, pair_priority

_PENDING = frozenset((PairState.FROZEN, PairState.WAITING, PairState.IN_PROGRESS))


class ChecklistState(enum.Enum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


def can_pair(local: Candidate, remote: Candidate) -> bool:
    assert local.base is not None
    return (
        local.component == remote.component
        and transports_pair(local, remote)
        and local.type is not CandidateType.SERVER_REFLEXIVE
        and local.type is not CandidateType.PEER_REFLEXIVE
        and not remote.is_mdns
        and is_ipv6(local.base[0]) == is_ipv6(remote.host)
    )


class Checklist:
    def __init__(self, max_pairs: int = 100) -> None:
        self.max_pairs = max_pairs
        self.pairs: list[CandidatePair] = []
        self.by_key: dict[PairKey, CandidatePair] = {}
        self.triggered: list[CandidatePair] = []  # (a deque costs 760 bytes empty)
        self.state = ChecklistState.RUNNING

    def __iter__(self) -> Iterator[CandidatePair]:
        return iter(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def add(self, local: Candidate, remote: Candidate, controlling: bool) -> CandidatePair | None:
        """Pair ``local`` with ``remote`` if allowed and new; returns the new pair or None."""
        if not can_pair(local, remote):
            return None
        assert local.base is not None
        key = (local.base, remote.address, local.component)
        if key in self.by_key:
            return None
        pair = CandidatePair(local, remote, pair_priority(local, remote, controlling))
        if len(self.pairs) >= self.max_pairs:
            # §6.1.2.5: keep the highest-priority pairs; drop the lowest frozen/waiting one.
            victim = next(
                (
                    p
                    for p in reversed(self.pairs)
                    if p.state in (PairState.FROZEN, PairState.WAITING) and not p.valid
                ),
                None,
            )
            if victim is None or victim.priority > pair.priority:
                return None
            self.remove(victim)
        # §6.1.2.6: the first pair of a new foundation starts Waiting, others Frozen.
        lf, rf, frozen = local.foundation, remote.foundation, PairState.FROZEN
        active = any(
            p.state is not frozen and p.remote.foundation == rf and p.local.foundation == lf
            for p in self.pairs
        )
        pair.state = PairState.FROZEN if active else PairState.WAITING
        self._insert(pair)
        return pair

    def _insert(self, pair: CandidatePair) -> None:
        self.by_key[pair.key] = pair
        i = len(self.pairs)
        while i > 0 and self.pairs[i - 1].priority < pair.priority:
            i -= 1
        self.pairs.insert(i, pair)

    def remove(self, pair: CandidatePair) -> None:
        self.pairs.remove(pair)
        del self.by_key[pair.key]
        if pair in self.triggered:
            self.triggered.remove(pair)

    def find(self, key: PairKey) -> CandidatePair | None:
        return self.by_key.get(key)

    def recompute_priorities(self, controlling: bool) -> None:
        """After a role change (RFC 8445 §7.2.5.1, §7.3.1.1)."""
        for p in self.pairs:
            p.priority = pair_priority(p.local, p.remote, controlling)
        self.pairs.sort(key=lambda p: p.priority, reverse=True)

    def trigger(self, pair: CandidatePair) -> None:
        """Queue a triggered check (RFC 8445 §7.3.1.4) unless one is already queued."""
        if pair.state is not PairState.IN_PROGRESS:
            pair.state = PairState.WAITING
        if pair not in self.triggered:
            self.triggered.append(pair)

    def next_ordinary(self) -> CandidatePair | None:
        """The pair for the next paced check (RFC 8445 §6.1.4.2): the best Waiting pair, else
        the best Frozen one."""
        frozen: CandidatePair | None = None
        for p in self.pairs:
            if p.state is PairState.WAITING:
                return p
            if frozen is None and p.state is PairState.FROZEN:
                frozen = p
        return frozen

    def unfreeze_foundation(self, foundation: str) -> None:
        """RFC 8445 §7.2.5.3.3: a success unfreezes the pairs of the same foundation."""
        for p in self.pairs:
            if p.state is PairState.FROZEN and p.foundation == foundation:
                p.state = PairState.WAITING

    def pending(self) -> bool:
        """Whether any pair may still become valid."""
        # A loop, not any(<generator>): asked on every step of the agent.
        for p in self.pairs:  # noqa: SIM110
            if p.state in _PENDING:
                return True
        return False

    def valid_pairs(self, component: int | None = None) -> list[CandidatePair]:
        return [
            p for p in self.pairs if p.valid and (component is None or p.component == component)
        ]

    def best_pending_priority(self, component: int) -> int:
        return max(
            (
                p.priority
                for p in self.pairs
                if p.component == component
                and p.state in (PairState.FROZEN, PairState.WAITING, PairState.IN_PROGRESS)
            ),
            default=-1,
        )
