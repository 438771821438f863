"""The estimator against a scripted bottleneck (:mod:`.sim`): convergence, a capacity drop,
random loss, a REMB cap, feedback that stops; and RR-only loss reports."""

from __future__ import annotations

import statistics

import pytest

from pywebrtc.rtp.bwe import CHANGE_FRACTION, BandwidthEstimator
from tests.impair import Impairment

from .sim import BottleneckSim

MBPS = 1_000_000


@pytest.mark.parametrize("delay", [0.005, 0.025, 0.1], ids=["rtt10ms", "rtt50ms", "rtt200ms"])
def test_converges_within_15_percent_below_1_mbps_in_10_s_without_a_standing_queue(
    delay: float,
) -> None:
    estimator = BandwidthEstimator(start_bitrate=300_000)
    sim = BottleneckSim(estimator, capacity=MBPS, delay=delay)
    sim.run(10.0)
    first = next(t for t, bps in sim.targets if bps >= 0.85 * MBPS)
    assert first < 5.0
    settled = sim.target_between(7.0, 10.0)
    assert statistics.mean(settled) >= 0.85 * MBPS
    assert min(settled) >= 0.8 * MBPS
    assert max(settled) <= 1.1 * MBPS
    queue = sim.queue_delays_between(0.0, 10.0)
    assert max(queue) < 0.1  # not even the first overshoot queues 100 ms
    assert statistics.median(sim.queue_delays_between(5.0, 10.0)) < 0.03
    assert sim.link.dropped == 0


def test_a_drop_from_1_mbps_to_300_kbps_brings_the_target_below_it_within_2_s() -> None:
    estimator = BandwidthEstimator(start_bitrate=300_000)
    sim = BottleneckSim(estimator, capacity=MBPS)
    sim.run(15.0)
    assert estimator.target_bitrate > 0.85 * MBPS
    sim.set_capacity(300_000)
    sim.run(17.0)
    assert estimator.target_bitrate < 300_000
    sim.run(30.0)
    # Still using the link: not collapsed to the minimum, and the queue drained again.
    later = sim.target_between(25.0, 30.0)
    assert 0.6 * 300_000 <= statistics.mean(later) <= 300_000
    assert statistics.median(sim.queue_delays_between(25.0, 30.0)) < 0.1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_5_percent_random_loss_holds_the_target_instead_of_collapsing_it(seed: int) -> None:
    estimator = BandwidthEstimator(start_bitrate=300_000)
    sim = BottleneckSim(estimator, capacity=MBPS, loss=0.05, seed=seed)
    sim.run(30.0)
    targets = sim.target_between(0.0, 30.0)
    assert min(targets) >= 0.8 * 300_000
    assert statistics.mean(sim.target_between(20.0, 30.0)) >= 300_000


def test_more_than_10_percent_loss_decreases_the_target() -> None:
    estimator = BandwidthEstimator(start_bitrate=300_000)
    sim = BottleneckSim(estimator, capacity=MBPS, loss=0.2)
    sim.run(10.0)
    assert estimator.target_bitrate < 150_000
    assert estimator.loss_based_bitrate == estimator.target_bitrate


def test_remb_caps_the_target_and_lifting_it_lets_the_target_climb_again() -> None:
    estimator = BandwidthEstimator(start_bitrate=300_000)
    sim = BottleneckSim(estimator, capacity=MBPS)
    sim.run(8.0)
    assert estimator.target_bitrate > 500_000
    estimator.on_remb(200_000, sim.now)
    assert estimator.target_bitrate == 200_000
    sim.run(12.0)
    assert max(sim.target_between(8.0, 12.0)) <= 200_000
    estimator.on_remb(10 * MBPS, sim.now)
    sim.run(20.0)
    assert estimator.target_bitrate > 0.8 * MBPS
    assert estimator.remb_bitrate == 10 * MBPS


def test_the_target_drops_while_feedback_stops_and_recovers_when_it_returns() -> None:
    estimator = BandwidthEstimator(start_bitrate=300_000)
    sim = BottleneckSim(estimator, capacity=MBPS)
    sim.run(5.0)
    before = estimator.target_bitrate
    sim.link.impairment = Impairment(loss=1.0)  # the path dies
    sim.run(8.5)
    # Three timeouts (1 s each after the last feedback), a fifth off each time.
    assert estimator.target_bitrate <= int(before * 0.8**2)
    assert estimator.target_bitrate >= estimator.min_bitrate
    sim.set_capacity(MBPS)
    sim.run(20.0)
    assert estimator.target_bitrate > 0.8 * MBPS


def test_an_application_limited_sender_does_not_let_the_estimate_run_away() -> None:
    estimator = BandwidthEstimator(start_bitrate=300_000)
    sim = BottleneckSim(estimator, capacity=10 * MBPS, app_rate=100_000, packet_size=250)
    sim.run(5.0)
    assert estimator.acked_bitrate == pytest.approx(100_000, rel=0.05)
    # It may keep what it had (the start rate, and the half second before the acknowledged
    # rate was known), but it does not climb on a link the sender does not fill.
    held = estimator.delay_based_bitrate
    assert held < 400_000
    sim.run(60.0)
    assert estimator.delay_based_bitrate == held


def test_events_announce_changes_of_more_than_a_few_percent() -> None:
    estimator = BandwidthEstimator(start_bitrate=300_000)
    sim = BottleneckSim(estimator, capacity=MBPS)
    sim.run(10.0)
    sim.set_capacity(300_000)
    sim.run(15.0)
    events = sim.events
    assert len(events) >= 5
    for before, after in zip(events, events[1:], strict=False):
        assert abs(after.bitrate - before.bitrate) > CHANGE_FRACTION * before.bitrate
    assert events[-1].bitrate == estimator.target_bitrate or (
        abs(estimator.target_bitrate - events[-1].bitrate) <= CHANGE_FRACTION * events[-1].bitrate
    )
    assert any(e.bitrate < 300_000 for e in events)


def test_receiver_reports_drive_the_loss_based_rate_without_transport_feedback() -> None:
    estimator = BandwidthEstimator(start_bitrate=300_000)
    estimator.on_loss_report(0.2, 0.1, 1.0)  # 20 % lost: times (1 - 0.1)
    assert estimator.target_bitrate == 270_000
    assert estimator.rtt == 0.1
    estimator.on_loss_report(0.2, 0.1, 1.2)  # within RTT + 300 ms: one episode, one decrease
    assert estimator.target_bitrate == 270_000
    estimator.on_loss_report(0.05, 0.1, 2.0)  # 2-10 %: hold
    assert estimator.target_bitrate == 270_000
    estimator.on_loss_report(0.0, 0.1, 3.0)  # clean: back to the delay-based rate
    assert estimator.target_bitrate == 300_000
    assert estimator.poll() is not None  # the first target


def test_limits_clamp_the_target() -> None:
    estimator = BandwidthEstimator(start_bitrate=50_000, min_bitrate=100_000, max_bitrate=200_000)
    assert estimator.target_bitrate == 100_000
    estimator.on_remb(1_000, 0.0)
    assert estimator.target_bitrate == 100_000
    with pytest.raises(ValueError):
        BandwidthEstimator(min_bitrate=0)
