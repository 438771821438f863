"""The W3C §4.3.1 signaling-state table: every (state, side, type) either moves to the state the
spec's diagram shows or raises InvalidStateError."""

from __future__ import annotations

import itertools

import pytest

from pywebrtc.exceptions import InvalidStateError
from pywebrtc.jsep.signaling import TRANSITIONS, next_signaling_state

STATES = (
    "stable",
    "have-local-offer",
    "have-remote-offer",
    "have-local-pranswer",
    "have-remote-pranswer",
    "closed",
)
SIDES = ("local", "remote")
TYPES = ("offer", "answer", "pranswer", "rollback")

# Written out from the W3C diagram (and RFC 8829 §3.2), not from the module's table.
EXPECTED = {
    ("stable", "local", "offer"): "have-local-offer",
    ("stable", "remote", "offer"): "have-remote-offer",
    ("have-local-offer", "local", "offer"): "have-local-offer",
    ("have-local-offer", "remote", "answer"): "stable",
    ("have-local-offer", "remote", "pranswer"): "have-remote-pranswer",
    ("have-local-offer", "local", "rollback"): "stable",
    ("have-local-offer", "remote", "rollback"): "stable",
    ("have-remote-offer", "remote", "offer"): "have-remote-offer",
    ("have-remote-offer", "local", "answer"): "stable",
    ("have-remote-offer", "local", "pranswer"): "have-local-pranswer",
    ("have-remote-offer", "local", "rollback"): "stable",
    ("have-remote-offer", "remote", "rollback"): "stable",
    ("have-local-pranswer", "local", "pranswer"): "have-local-pranswer",
    ("have-local-pranswer", "local", "answer"): "stable",
    ("have-remote-pranswer", "remote", "pranswer"): "have-remote-pranswer",
    ("have-remote-pranswer", "remote", "answer"): "stable",
}


@pytest.mark.parametrize(("state", "side", "type_"), list(itertools.product(STATES, SIDES, TYPES)))
def test_each_transition(state: str, side: str, type_: str) -> None:
    expected = EXPECTED.get((state, side, type_))
    if expected is None:
        with pytest.raises(InvalidStateError):
            next_signaling_state(state, side, type_)  # type: ignore[arg-type]
    else:
        assert next_signaling_state(state, side, type_) == expected  # type: ignore[arg-type]


def test_the_table_has_nothing_else() -> None:
    assert TRANSITIONS == EXPECTED


def test_rollback_needs_an_offer_and_nothing_leaves_closed() -> None:
    for side, type_ in itertools.product(SIDES, TYPES):
        with pytest.raises(InvalidStateError):
            next_signaling_state("closed", side, type_)  # type: ignore[arg-type]
    for state in ("stable", "have-local-pranswer", "have-remote-pranswer"):
        for side in SIDES:
            with pytest.raises(InvalidStateError):
                next_signaling_state(state, side, "rollback")  # type: ignore[arg-type]


def test_an_unknown_type_is_refused() -> None:
    with pytest.raises(InvalidStateError):
        next_signaling_state("stable", "local", "bogus")
