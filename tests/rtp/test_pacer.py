"""The video pacer on a fake clock: driven at its own deadlines, as the shell's timer does."""

from __future__ import annotations

import pytest

from pywebrtc.rtp.pacer import Pacer


def drain(pacer: Pacer, now: float, until: float) -> list[tuple[float, bytes]]:
    """Tick the pacer at each deadline up to ``until``; (time, packet) in release order."""
    released = [(now, p) for p in iter(pacer.poll, None)]
    while (due := pacer.deadline()) is not None and due <= until:
        now = max(now, due)
        pacer.tick(now)
        released += [(now, p) for p in iter(pacer.poll, None)]
    return released


def packet(tag: int, size: int = 1200) -> bytes:
    return tag.to_bytes(2) + bytes(size - 2)


def test_without_a_target_packets_leave_as_they_come() -> None:
    pacer = Pacer()
    for i in range(20):
        pacer.enqueue(packet(i), 1.0)
    assert [int.from_bytes(p[:2]) for p in iter(pacer.poll, None)] == list(range(20))
    assert pacer.deadline() is None


def test_a_keyframe_leaves_40_ms_of_it_at_once_then_at_2_5_times_the_target() -> None:
    pacer = Pacer()
    pacer.set_target(250_000)
    assert pacer.pacing_rate == 625_000
    for i in range(15):  # a 18 KB keyframe
        pacer.enqueue(packet(i), 10.0)
    first = [p for p in iter(pacer.poll, None)]
    spacing = 1200 * 8 / 625_000  # 15.4 ms
    assert len(first) == 3  # the idle pacer's 40 ms of credit (and the timer's 1 ms slack)
    released = drain(pacer, 10.0, 20.0)
    assert len(released) == 12
    assert pacer.deadline() is None and pacer.queued_bytes == 0
    gaps = [b[0] - a[0] for a, b in zip(released, released[1:], strict=False)]
    assert all(spacing - 0.0011 <= g <= spacing + 0.0011 for g in gaps), gaps
    assert released[-1][0] - 10.0 == pytest.approx(14 * spacing - 0.040, abs=0.002)


def test_without_credit_every_packet_is_spaced() -> None:
    pacer = Pacer(burst=0.0)
    pacer.set_target(250_000)
    for i in range(5):
        pacer.enqueue(packet(i), 10.0)
    released = drain(pacer, 10.0, 20.0)
    assert [round(t - 10.0, 4) for t, _ in released] == [0.0, 0.0154, 0.0307, 0.0461, 0.0614]


def test_a_sender_below_the_pacing_rate_is_not_delayed() -> None:
    pacer = Pacer()
    pacer.set_target(1_000_000)
    now, late = 0.0, 0.0
    for frame in range(60):  # 30 frames a second of two 1000-byte packets: 480 kbit/s
        now = frame / 30
        pacer.enqueue(packet(2 * frame, 1000), now)
        pacer.enqueue(packet(2 * frame + 1, 1000), now)
        for when, _ in drain(pacer, now, now + 1 / 30 - 1e-6):
            late = max(late, when - now)
    assert late < 0.005


def test_retransmissions_go_ahead_of_new_media() -> None:
    pacer = Pacer()
    pacer.set_target(100_000)
    for i in range(5):
        pacer.enqueue(packet(i), 0.0)
    pacer.enqueue(packet(100), 0.0, retransmission=True)  # (within the limit: 6 KB in 0.5 s)
    order = [int.from_bytes(p[:2]) for _, p in drain(pacer, 0.0, 10.0)]
    assert order == [0, 1, 100, 2, 3, 4]  # (0 and 1 had left, on credit, before it came)
    assert pacer.counters.retransmissions == 1 and pacer.counters.packets == 6


def test_a_queue_that_would_take_more_than_2_s_is_dropped_for_a_keyframe() -> None:
    pacer = Pacer()
    pacer.set_target(400_000)  # 1 Mbit/s pacing: 2 s is 250 KB
    for i in range(150):  # 180 KB: 1.4 s
        pacer.enqueue(packet(i), 0.0)
    assert not pacer.keyframe_needed and pacer.counters.overflows == 0
    pacer.set_target(40_000)  # the target collapsed: 14 s now
    pacer.tick(0.05)
    assert pacer.keyframe_needed and pacer.counters.overflows == 1
    assert len(pacer) == 0 and pacer.deadline() is None
    assert pacer.counters.dropped == 150 - len(drain(pacer, 0.0, 0.0))
    # the keyframe that follows goes at the new rate
    pacer.keyframe_needed = False
    for i in range(3):
        pacer.enqueue(packet(i), 0.1)
    assert len(drain(pacer, 0.1, 1.0)) == 3 and not pacer.keyframe_needed


def test_retransmissions_are_limited_to_the_target_over_half_a_second() -> None:
    pacer = Pacer()
    pacer.set_target(192_000)  # 12 KB in half a second: ten 1200-byte packets
    for i in range(30):
        pacer.enqueue(packet(i), 0.0, retransmission=True)
    assert pacer.counters.retransmissions_dropped == 20
    pacer.enqueue(packet(99), 0.49, retransmission=True)
    assert pacer.counters.retransmissions_dropped == 21
    pacer.enqueue(packet(100), 0.51, retransmission=True)  # the window moved on
    assert pacer.counters.retransmissions_dropped == 21
    sent = [int.from_bytes(p[:2]) for _, p in drain(pacer, 0.51, 10.0)]
    assert len(sent) == 11 and sent[-1] == 100


def test_the_queue_time_and_size_are_reported_and_clear_forgets_them() -> None:
    pacer = Pacer()
    pacer.set_target(100_000)
    for i in range(4):
        pacer.enqueue(packet(i), 1.0)
    assert len(list(iter(pacer.poll, None))) == 2  # (on credit)
    assert len(pacer) == 2 and pacer.queued_bytes == 2400
    assert pacer.queue_time(1.5) == pytest.approx(0.5)
    pacer.clear()
    assert len(pacer) == 0 and pacer.queue_time(2.0) == 0.0 and pacer.deadline() is None


def test_dropping_the_target_releases_what_waits() -> None:
    pacer = Pacer()
    pacer.set_target(100_000)
    for i in range(4):
        pacer.enqueue(packet(i), 1.0)
    assert len(list(iter(pacer.poll, None))) == 2
    pacer.set_target(None)
    assert len(list(iter(pacer.poll, None))) == 2


def test_bad_settings_raise() -> None:
    with pytest.raises(ValueError):
        Pacer(factor=0)
    with pytest.raises(ValueError):
        Pacer(max_queue_time=-1)
    with pytest.raises(ValueError):
        Pacer(burst=-0.1)
