"""A video sender (30 frames a second, keyframes of half a second of the target after a loss)
through a scripted bottleneck (:mod:`.sim`): steady at 1 Mbit/s, the link squeezed 2 to 7 times
for 20 s, then back. Paced, the keyframes fit the squeezed queue; the estimate follows the
squeeze without collapsing, and finds the link again within seconds once it is back."""

from __future__ import annotations

import statistics

import pytest

from pywebrtc.rtp.bwe import BandwidthEstimator
from pywebrtc.rtp.pacer import Pacer

from .sim import BottleneckSim

MBPS = 1_000_000


def squeezed(squeeze: int, *, paced: bool = True) -> BottleneckSim:
    """Steady for 20 s, squeezed for 20 s, back for 20 s."""
    estimator = BandwidthEstimator(start_bitrate=300_000)
    sim = BottleneckSim(estimator, capacity=MBPS, queue=0.25, video=True,
                        pacer=Pacer() if paced else None)  # fmt: skip
    sim.run(20.0)
    sim.set_capacity(MBPS / squeeze)
    sim.run(40.0)
    sim.set_capacity(MBPS)
    sim.run(60.0)
    return sim


@pytest.mark.parametrize("squeeze", [2, 4])
def test_paced_keyframes_fit_the_squeezed_queue_unpaced_ones_overflow_it(squeeze: int) -> None:
    # Unpaced, a keyframe (half a second of the target) lands in the bottleneck at once: the
    # squeezed queue (0.25 s) drops its tail, the receiver asks for another keyframe, and so on.
    paced, unpaced = squeezed(squeeze), squeezed(squeeze, paced=False)
    for sim in (paced, unpaced):
        assert statistics.mean(sim.target_between(10.0, 20.0)) >= 0.85 * MBPS
    assert paced.loss_between(25.0, 40.0) < 0.005 < unpaced.loss_between(25.0, 40.0)
    assert paced.keyframes <= 5 and unpaced.keyframes >= 10


@pytest.mark.parametrize("squeeze", [4, 7])
def test_a_squeeze_is_followed_without_collapsing_the_estimate(squeeze: int) -> None:
    sim = squeezed(squeeze)
    low = MBPS / squeeze
    fell = next(t for t, bps in sim.targets if t >= 20.0 and bps <= 1.2 * low)
    assert fell - 20.0 < 1.0
    during = sim.target_between(20.0, 40.0)
    assert min(during) >= 0.35 * low  # (the estimator's minimum is 10 kbit/s)
    assert statistics.mean(sim.target_between(25.0, 40.0)) >= 0.85 * low
    assert max(sim.target_between(25.0, 40.0)) <= 1.3 * low  # (it tries above now and then)
    assert sim.loss_between(25.0, 40.0) < 0.02  # (the squeeze's own overflow comes before)


@pytest.mark.parametrize("squeeze", [4, 7])
def test_when_the_link_is_back_the_estimate_finds_it_within_8_s(squeeze: int) -> None:
    sim = squeezed(squeeze)
    back = sim.first_within(40.0, MBPS)
    assert back is not None and back < 8.0
    assert statistics.mean(sim.target_between(50.0, 60.0)) >= 0.85 * MBPS
    assert max(sim.queue_delays_between(40.0, 60.0)) < 0.2
    assert sim.loss_between(40.0, 60.0) < 0.01
