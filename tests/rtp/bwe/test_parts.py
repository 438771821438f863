"""The estimator's parts on hand-made inputs: groups (§5.2), the trend and its detector
(§5.3-§5.4), AIMD (§5.5), loss-based control (§6), the acknowledged rate."""

from __future__ import annotations

import pytest

from pywebrtc.rtp.bwe import BandwidthUsage
from pywebrtc.rtp.bwe.acked import AckedBitrate
from pywebrtc.rtp.bwe.aimd import AimdRateControl, RateControlState
from pywebrtc.rtp.bwe.inter_arrival import InterArrival
from pywebrtc.rtp.bwe.loss import LossBasedControl
from pywebrtc.rtp.bwe.overuse import INITIAL_THRESHOLD, OveruseDetector
from pywebrtc.rtp.bwe.trendline import TrendlineFilter


def test_packets_sent_within_5_ms_form_one_group() -> None:
    groups = InterArrival()
    assert groups.add(0.000, 10.000, 100) is None
    assert groups.add(0.004, 10.004, 100) is None  # same burst
    assert groups.add(0.020, 10.030, 100) is None  # completes the first group; no previous
    delta = groups.add(0.040, 10.050, 100)  # completes the second
    assert delta is not None
    assert delta.send_delta == pytest.approx(0.016)  # last packets: 0.020 - 0.004
    assert delta.arrival_delta == pytest.approx(0.026)
    assert delta.delay_variation == pytest.approx(0.010)
    assert delta.size == 100


def test_a_packet_that_queued_behind_its_group_joins_it() -> None:
    groups = InterArrival()
    groups.add(0.000, 10.000, 100)
    # Sent 8 ms later but arrives 2 ms after the group: it waited behind it (§5.2 burst).
    assert groups.add(0.008, 10.002, 100) is None
    groups.add(0.030, 10.030, 100)
    delta = groups.add(0.060, 10.060, 100)
    assert delta is not None and delta.send_delta == pytest.approx(0.022)


def test_a_packet_sent_before_the_current_group_is_ignored_and_a_clock_jump_resets() -> None:
    groups = InterArrival()
    groups.add(1.0, 10.0, 100)
    assert groups.add(0.5, 10.1, 100) is None
    groups.add(1.02, 20.0, 100)
    assert groups.resets == 1


def _trend(growth_per_group: float, groups: int = 40) -> tuple[float, BandwidthUsage]:
    trendline = TrendlineFilter()
    detector = OveruseDetector()
    arrival = 0.0
    state = BandwidthUsage.NORMAL
    trend = 0.0
    inter = InterArrival()
    for i in range(groups):
        send = i * 0.02
        arrival = send + i * growth_per_group
        delta = inter.add(send, arrival, 1000)
        if delta is not None:
            trend = trendline.update(delta)
            state = detector.detect(trend, delta.send_delta, trendline.groups, arrival)
    return trend, state


def test_a_growing_queue_is_over_use_a_draining_one_under_use_a_steady_one_normal() -> None:
    trend, state = _trend(0.002)  # 2 ms more queue per group
    assert trend > INITIAL_THRESHOLD and state is BandwidthUsage.OVERUSE
    trend, state = _trend(-0.002)
    assert state is BandwidthUsage.UNDERUSE
    trend, state = _trend(0.0)
    assert abs(trend) < 1 and state is BandwidthUsage.NORMAL


def test_the_threshold_follows_the_trend_slowly_and_ignores_spikes() -> None:
    detector = OveruseDetector()
    now = 0.0
    for _ in range(100):
        now += 0.02
        detector.detect(20.0, 0.02, 10, now)  # sustained 20 ms: the threshold rises toward it
    assert INITIAL_THRESHOLD < detector.threshold <= 20.0
    raised = detector.threshold
    detector.detect(raised + 100.0, 0.02, 10, now + 0.02)  # a spike does not move it
    assert detector.threshold == raised


def test_aimd_decreases_to_0_85_of_the_acknowledged_rate_then_holds() -> None:
    aimd = AimdRateControl(1_000_000, 10_000, 5_000_000)
    aimd.update(BandwidthUsage.NORMAL, 900_000, 0.0)
    rate = aimd.update(BandwidthUsage.OVERUSE, 800_000, 0.1)
    assert rate == pytest.approx(680_000)
    assert aimd.state is RateControlState.HOLD
    # Still over-using a moment later: not again within the RTT.
    assert aimd.update(BandwidthUsage.OVERUSE, 700_000, 0.15) == pytest.approx(680_000)
    # Under-use holds, normal increases: additively now that 800 kbit/s is the known capacity.
    assert aimd.update(BandwidthUsage.UNDERUSE, 700_000, 0.4) == pytest.approx(680_000)
    rate = aimd.update(BandwidthUsage.NORMAL, 800_000, 0.5)
    rate = aimd.update(BandwidthUsage.NORMAL, 800_000, 1.5)
    assert 680_000 < rate < 680_000 * 1.08


def test_aimd_increases_multiplicatively_far_from_the_capacity() -> None:
    aimd = AimdRateControl(100_000, 10_000, 5_000_000)
    aimd.update(BandwidthUsage.OVERUSE, 100_000, 0.0)  # one decrease: start phase over
    aimd.update(BandwidthUsage.NORMAL, None, 0.1)
    before = aimd.bitrate
    after = aimd.update(BandwidthUsage.NORMAL, None, 1.1)
    assert after == pytest.approx(before * 1.08)


def test_loss_based_control_follows_the_2_and_10_percent_thresholds() -> None:
    loss = LossBasedControl(100_000, 10_000, 1_000_000)
    assert loss.report(0.01, 100_000, 0.1, 0.0) == pytest.approx(105_000)
    assert loss.report(0.05, 100_000, 0.1, 1.0) == pytest.approx(100_000)
    assert loss.report(0.30, 100_000, 0.1, 2.0) == pytest.approx(85_000)
    assert loss.report(0.30, 100_000, 0.1, 2.2) == pytest.approx(85_000)  # same episode
    assert loss.report(0.30, 100_000, 0.1, 2.5) == pytest.approx(72_250)
    assert loss.report(1.0, 100_000, 0.1, 9.0) >= 10_000


def test_the_acknowledged_rate_needs_a_full_window() -> None:
    acked = AckedBitrate()
    for i in range(25):
        acked.add(i * 0.02, 250)  # 100 kbit/s
    assert acked.bitrate is None or acked.bitrate == pytest.approx(100_000, rel=0.05)
    acked.add(0.5, 250)
    assert acked.bitrate == pytest.approx(100_000, rel=0.05)
