"""The signaling-state machine of W3C webrtc-pc §4.3.1 (the JSEP state diagram, RFC 8829 §3.2).

:data:`TRANSITIONS` maps (state, side, type) to the next state: ``side`` is ``local`` for
``setLocalDescription`` and ``remote`` for ``setRemoteDescription``. Any pair not in the table
is an InvalidStateError (W3C §4.4.1.6 "set the session description": the state checks, and
"rollback" in ``stable`` or a pranswer state). Rollback (RFC 8829 §4.1.10.2) may come from either
side in either offer state and returns to ``stable``. ``closed`` has no transitions.
"""

from __future__ import annotations

from typing import Literal

from pywebrtc.exceptions import InvalidStateError

SignalingState = Literal[
    "stable",
    "have-local-offer",
    "have-remote-offer",
    "have-local-pranswer",
    "have-remote-pranswer",
    "closed",
]
Side = Literal["local", "remote"]

# (state, side, type) -> next state; keys are SignalingState, Side and SdpType values.
TRANSITIONS: dict[tuple[str, str, str], SignalingState] = {
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


def next_signaling_state(state: str, side: Side, type_: str) -> SignalingState:
    """The state after applying a ``type_`` description on ``side`` in ``state``; raises
    :class:`~pywebrtc.exceptions.InvalidStateError` where W3C §4.3.1 has no transition."""
    following = TRANSITIONS.get((state, side, type_))
    if following is None:
        raise InvalidStateError(f"cannot set a {side} {type_} in {state}")
    return following
