from __future__ import annotations

import random

from pywebrtc.rtp.jitter_buffer import JitterBuffer, JitterFrame, JitterLoss


def play(buf: JitterBuffer, start: float, ticks: int) -> list[JitterFrame | JitterLoss | None]:
    return [buf.pop(start + i * 0.02) for i in range(ticks)]


def test_in_order_stream_plays_every_frame_after_the_initial_delay() -> None:
    buf = JitterBuffer(initial_delay=0.06)
    out: list[JitterFrame | JitterLoss | None] = []
    for i in range(50):
        now = i * 0.02
        buf.push(i, 960 * i, bytes([i]), now)
        out.append(buf.pop(now))
    played = [x for x in out if isinstance(x, JitterFrame)]
    assert out[0] is None and out[2] is None
    seqs = [f.sequence for f in played]
    assert seqs == sorted(set(seqs)) and seqs[-1] >= 45
    assert not any(isinstance(x, JitterLoss) for x in out)
    # The target settles at one frame on a calm path; at most the start-up excess is dropped.
    assert buf.stats.discarded <= 2 and buf.target_delay < 0.03


def test_reordered_and_duplicate_packets() -> None:
    buf = JitterBuffer(initial_delay=0.04)
    for seq in (0, 2, 1, 3, 3, 4):
        buf.push(seq, seq * 960, bytes([seq]), 0.0)
    frames = play(buf, 0.04, 5)
    assert [f.sequence for f in frames if isinstance(f, JitterFrame)] == [0, 1, 2, 3, 4]
    assert buf.stats.duplicates == 1
    assert buf.push(1, 960, b"late", 1.0) is False and buf.stats.late == 1


def test_missing_packet_becomes_a_loss_with_the_next_payload_for_fec() -> None:
    buf = JitterBuffer(initial_delay=0.04)
    for seq in (0, 1, 3, 4):
        buf.push(seq, seq * 960, bytes([seq]), 0.0)
    out = play(buf, 0.04, 4)
    assert isinstance(out[2], JitterLoss)
    assert out[2].sequence == 2 and out[2].timestamp == 1920 and out[2].next_payload == b"\x03"
    assert buf.stats.concealed == 1


def test_sequence_wrap() -> None:
    buf = JitterBuffer(initial_delay=0.02)
    for k, seq in enumerate((65534, 65535, 0, 1)):
        buf.push(seq, k * 960, b"x", 0.0)
    out = play(buf, 0.02, 4)
    assert all(isinstance(x, JitterFrame) for x in out)


def test_target_delay_adapts_to_jitter() -> None:
    calm = JitterBuffer()
    jittery = JitterBuffer()
    rng = random.Random(3)
    for i in range(300):
        calm.push(i, 960 * i, b"x", i * 0.02 + rng.uniform(0, 0.002))
        jittery.push(i, 960 * i, b"x", i * 0.02 + rng.uniform(0, 0.12))
        calm.pop(i * 0.02)
        jittery.pop(i * 0.02)
    assert calm.target_delay < 0.03
    assert 0.1 < jittery.target_delay <= 0.2


def test_jittery_stream_with_loss_keeps_playing() -> None:
    rng = random.Random(5)
    buf = JitterBuffer()
    arrivals = []
    for i in range(1000):
        if rng.random() < 0.1:
            continue
        arrivals.append((i * 0.02 + rng.uniform(0, 0.05), i))
    arrivals.sort()
    out: list[JitterFrame | JitterLoss | None] = []
    k = 0
    for tick in range(1100):
        now = tick * 0.02
        while k < len(arrivals) and arrivals[k][0] <= now:
            buf.push(arrivals[k][1], arrivals[k][1] * 960, b"x", arrivals[k][0])
            k += 1
        out.append(buf.pop(now))
    frames = sum(isinstance(x, JitterFrame) for x in out)
    losses = sum(isinstance(x, JitterLoss) for x in out)
    assert frames >= 850 and 80 <= losses <= 150
    assert buf.stats.late < 30


def test_long_outage_skips_instead_of_concealing_everything() -> None:
    buf = JitterBuffer(initial_delay=0.02, max_loss_run=3)
    buf.push(0, 0, b"a", 0.0)
    buf.pop(0.02)
    buf.push(100, 96000, b"b", 2.0)
    out = play(buf, 2.0, 6)
    assert sum(isinstance(x, JitterLoss) for x in out) == 3
    assert any(isinstance(x, JitterFrame) and x.sequence == 100 for x in out)


def test_burst_is_drained_to_target() -> None:
    buf = JitterBuffer(initial_delay=0.04)
    for i in range(30):  # 600 ms arrive at once, then the stream continues in real time
        buf.push(i, i * 960, b"x", 0.0)
    # The burst counts as jitter while it is in the 200-packet window, then the excess drains.
    for tick in range(350):
        now = 0.04 + tick * 0.02
        buf.push(30 + tick, (30 + tick) * 960, b"x", now)
        buf.pop(now)
    assert buf.stats.discarded >= 20 and buf.stats.concealed == 0
    assert buf.target_delay < 0.05 and buf.level <= buf.target_delay + 0.06 + 1e-9


def test_reset_forgets_the_previous_source_timing() -> None:
    buf = JitterBuffer(initial_delay=0.02)
    for i in range(50):
        buf.push(i, 960 * i, b"x", i * 0.02)
        buf.pop(i * 0.02)
    buf.reset()
    for i in range(50):  # a new source: unrelated sequence and timestamp bases
        buf.push(40000 + i, 3_000_000_000 + 960 * i, b"y", 1.0 + i * 0.02)
        buf.pop(1.0 + i * 0.02)
    assert buf.target_delay < 0.05 and buf.stats.concealed == 0


def test_without_discard_a_burst_is_played_faster_and_nothing_is_lost() -> None:
    buf = JitterBuffer(initial_delay=0.04, discard=False)
    for i in range(30):  # 600 ms arrive at once (the sender stalled), then real time again
        buf.push(i, i * 960, b"x", 0.0)
    played: list[int] = []
    for tick in range(100):
        now = 0.04 + tick * 0.02
        buf.push(30 + tick, (30 + tick) * 960, b"x", now)
        for _ in range(2 if buf.behind() else 1):  # what AudioSession(hurry=True) does
            item = buf.pop(now)
            assert isinstance(item, JitterFrame), item
            played.append(item.sequence)
    assert played == list(range(len(played))) and len(played) > 100
    assert buf.stats.discarded == 0 and buf.stats.concealed == 0
    assert not buf.behind()
