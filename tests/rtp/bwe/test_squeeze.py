"""A paced video sender (30 frames a second, keyframes of half a second of the target after a
loss) through a scripted bottleneck (:mod:`.sim`): steady at 1 Mbit/s, the link squeezed 4 or
7 times for 20 s, then back. The estimate fills the link, follows the squeeze without
collapsing, and finds the link again within seconds once it is back."""

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


def test_a_paced_sender_fills_the_link_an_unpaced_one_half_of_it() -> None:
    # Unpaced, every frame leaves in one burst: the queue each one builds reads as over-use.
    paced, unpaced = squeezed(4), squeezed(4, paced=False)
    assert statistics.mean(paced.target_between(10.0, 20.0)) >= 0.85 * MBPS
    assert statistics.mean(unpaced.target_between(10.0, 20.0)) < 0.6 * MBPS
    assert paced.loss_between(0.0, 20.0) < 0.01


@pytest.mark.parametrize("squeeze", [4, 7])
def test_a_squeeze_is_followed_without_collapsing_the_estimate(squeeze: int) -> None:
    sim = squeezed(squeeze)
    low = MBPS / squeeze
    reached = sim.first_within(20.0, low)
    assert reached is not None and reached < 1.5
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
