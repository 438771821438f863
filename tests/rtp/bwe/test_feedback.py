"""Odd transport-wide feedback: wrapped, duplicated, reordered, unknown and inconsistent
reports are counted, never raised, and do not move the estimate the wrong way."""

from __future__ import annotations

import random

from pywebrtc.rtp.bwe import BandwidthEstimator
from pywebrtc.rtp.rtcp import RunLengthChunk, TransportCcFeedback

SIZE = 1000
SPACING = 0.008  # 1 Mbit/s of 1000-byte packets


def send(estimator: BandwidthEstimator, first: int, count: int, start: float) -> list[int]:
    seqs = [(first + i) & 0xFFFF for i in range(count)]
    for i, seq in enumerate(seqs):
        estimator.on_packet_sent(seq, SIZE, start + i * SPACING)
    return seqs


def feedback(
    seqs: list[int], start: float, delay: float = 0.05, lost: frozenset[int] = frozenset()
) -> TransportCcFeedback:
    return TransportCcFeedback.from_arrivals(
        1, 2, [(s, None if s in lost else 100.0 + start + i * SPACING + delay)
               for i, s in enumerate(seqs)],
    )  # fmt: skip


def test_sequence_numbers_that_wrap_find_their_packets() -> None:
    estimator = BandwidthEstimator()
    seqs = send(estimator, 0xFFF0, 40, 0.0)
    estimator.on_transport_feedback(feedback(seqs[:20], 0.0), 0.3)
    estimator.on_transport_feedback(feedback(seqs[20:], 20 * SPACING), 0.5)
    assert estimator.counters.unknown == 0
    assert estimator.counters.feedbacks == 2


def test_a_duplicated_feedback_counts_once() -> None:
    estimator = BandwidthEstimator()
    seqs = send(estimator, 100, 100, 0.0)
    fb = feedback(seqs, 0.0, lost=frozenset(seqs[10:20]))
    estimator.on_transport_feedback(fb, 1.0)
    target = estimator.target_bitrate
    estimator.on_transport_feedback(fb, 1.0)
    assert estimator.counters.duplicates == 90
    assert estimator.target_bitrate == target


def test_reordered_feedback_is_used_for_throughput_but_not_for_the_delay_trend() -> None:
    estimator = BandwidthEstimator()
    seqs = send(estimator, 500, 60, 0.0)
    estimator.on_transport_feedback(feedback(seqs[30:], 30 * SPACING), 0.6)
    estimator.on_transport_feedback(feedback(seqs[:30], 0.0), 0.61)
    assert estimator.counters.reordered == 30
    assert estimator.counters.unknown == 0


def test_numbers_never_sent_are_unknown() -> None:
    estimator = BandwidthEstimator()
    send(estimator, 1000, 10, 0.0)
    estimator.on_transport_feedback(feedback([40000, 40001, 40002], 0.0), 0.2)
    assert estimator.counters.unknown == 3
    before = BandwidthEstimator()
    before.on_transport_feedback(feedback([1, 2, 3], 0.0), 0.2)  # nothing sent yet
    assert before.counters.unknown == 3


def test_a_packet_reported_lost_then_received_is_not_counted_lost() -> None:
    estimator = BandwidthEstimator()
    seqs = send(estimator, 7, 60, 0.0)
    estimator.on_transport_feedback(feedback(seqs[:30], 0.0, lost=frozenset(seqs[5:25])), 0.3)
    # The late ones, reported received by a later feedback.
    late = TransportCcFeedback.from_arrivals(1, 2, [(s, 100.5 + i * 0.001)
                                                    for i, s in enumerate(seqs[5:25])])  # fmt: skip
    estimator.on_transport_feedback(late, 0.5)
    estimator.on_transport_feedback(feedback(seqs[30:], 30 * SPACING), 0.7)
    assert estimator.loss_based_bitrate >= estimator.delay_based_bitrate


def test_inconsistent_feedback_is_counted_malformed() -> None:
    estimator = BandwidthEstimator()
    send(estimator, 0, 10, 0.0)
    # Ten packets reported received with only three deltas: parse would refuse it; a caller
    # that builds one by hand gets a counted drop.
    bad = TransportCcFeedback(1, 2, 0, 10, 0, 0, (RunLengthChunk(1, 10),), (4, 4, 4))
    estimator.on_transport_feedback(bad, 0.2)
    assert estimator.counters.malformed == 1


def test_a_receiver_clock_jump_restarts_grouping() -> None:
    estimator = BandwidthEstimator()
    seqs = send(estimator, 0, 40, 0.0)
    estimator.on_transport_feedback(feedback(seqs[:20], 0.0), 0.3)
    jumped = TransportCcFeedback.from_arrivals(
        1, 2, [(s, 5000.0 + i * SPACING) for i, s in enumerate(seqs[20:])]
    )
    estimator.on_transport_feedback(jumped, 0.5)
    assert estimator.target_bitrate == 300_000  # no over-use read into the jump


def test_random_feedback_never_raises() -> None:
    rng = random.Random(7)
    estimator = BandwidthEstimator()
    now = 0.0
    for round_ in range(300):
        base = rng.randrange(0x10000)
        for i in range(rng.randrange(1, 30)):
            estimator.on_packet_sent((base + i) & 0xFFFF, rng.randrange(50, 1500), now)
            now += rng.random() * 0.01
        count = rng.randrange(1, 40)
        start = rng.randrange(0x10000) if round_ % 3 == 0 else base
        arrivals: list[tuple[int, float | None]] = []
        t = rng.uniform(-100, 100)
        for i in range(count):
            t += rng.uniform(-0.05, 0.2)
            arrivals.append(((start + i) & 0xFFFF, None if rng.random() < 0.2 else t))
        if all(a is None for _, a in arrivals):
            continue
        try:
            fb = TransportCcFeedback.from_arrivals(1, 2, arrivals)
        except ValueError:
            continue
        estimator.on_transport_feedback(TransportCcFeedback.parse(bytes(fb)), now)
        estimator.tick(now)
        assert estimator.min_bitrate <= estimator.target_bitrate <= estimator.max_bitrate
