"""Property tests: whatever the loss, duplication and reordering, both sides agree."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pywebrtc.ice.events import IceState
from tests.simnet import Duplicate, Jitter, Loss, Network

from .scenarios import A_ADDR, B_ADDR, connect_pair, connected, make_agent


@settings(max_examples=60)
@given(
    seed=st.integers(0, 2**32 - 1),
    loss=st.floats(0.0, 0.5),
    a_controls=st.booleans(),
    lite=st.booleans(),
)
def test_lossy_network_still_converges_on_one_pair(
    seed: int, loss: float, a_controls: bool, lite: bool
) -> None:
    net = Network(Loss(loss), delay=0.02, seed=seed)
    a = make_agent(a_controls or lite, 1)
    b = make_agent(not a_controls, 2, lite=lite)
    if lite:
        a.set_remote_lite(True)
    connect_pair(net, a, b)
    net.run(60.0, stop=lambda: connected(a, b))
    if connected(a, b):
        pa, pb = a.selected_pair(), b.selected_pair()
        assert pa is not None and pb is not None
        assert pa.remote.address == B_ADDR and pb.remote.address == A_ADDR
        assert a.controlling != b.controlling
    else:
        # Only heavy loss may defeat the checks, and then the agents say so.
        assert loss > 0.2
        assert a.state in (IceState.CHECKING, IceState.FAILED)


@settings(max_examples=40)
@given(seed=st.integers(0, 2**32 - 1))
def test_duplicated_and_reordered_packets_are_harmless(seed: int) -> None:
    # One, two or three copies of each datagram, each 1 to 50 ms late.
    net = Network(Duplicate(0.5), Duplicate(0.3), Jitter(0.049), delay=0.001, seed=seed)
    a, b = make_agent(True, 1), make_agent(False, 2)
    connect_pair(net, a, b)
    net.run(10.0, stop=lambda: connected(a, b))
    assert connected(a, b)
    net.run(net.now + 40.0)
    assert connected(a, b)
    assert a.counters.dropped_malformed == 0 and b.counters.dropped_malformed == 0
