from __future__ import annotations

from pywebrtc.rtp.receiver import MAX_DROPOUT, ReceiveStatistics, SequenceUnwrapper


def test_in_order_stream_has_no_loss_and_zero_jitter() -> None:
    s = ReceiveStatistics(1, 48000)
    for i in range(100):
        s.update(1000 + i, 960 * i, i * 0.02, 100)
    block = s.report_block(2.0)
    assert (block.fraction_lost, block.cumulative_lost) == (0, 0)
    assert block.extended_highest_sequence == 1099
    assert s.jitter == 0


def test_loss_fraction_per_interval_and_cumulative() -> None:
    s = ReceiveStatistics(1, 48000)
    for i in range(100):
        if i % 10 != 5:  # 10% loss
            s.update(i, 960 * i, i * 0.02, 100)
    block = s.report_block(2.0)
    assert block.cumulative_lost == 10
    assert block.fraction_lost == (10 << 8) // 100
    # Next interval without loss reports fraction 0 but keeps the cumulative count.
    for i in range(100, 150):
        s.update(i, 960 * i, i * 0.02, 100)
    block = s.report_block(3.0)
    assert block.fraction_lost == 0 and block.cumulative_lost == 10


def test_sequence_wrap_counts_cycles() -> None:
    s = ReceiveStatistics(1, 8000)
    exts = [s.update(seq & 0xFFFF, seq * 160, seq * 0.02, 10) for seq in range(65530, 65545)]
    assert exts == list(range(65530, 65545))
    assert s.cycles == 1 << 16 and s.packets_lost == 0


def test_reordered_and_duplicate_packets() -> None:
    s = ReceiveStatistics(1, 8000)
    for seq in (1, 2, 4, 3, 5, 5):
        s.update(seq, seq * 160, seq * 0.02, 10)
    assert s.extended_highest_sequence == 5
    assert s.duplicates == 1
    assert s.packets_lost == -1  # RFC 3550 §6.4.1: duplicates make the count negative


def test_jump_is_a_restart_only_when_confirmed() -> None:
    s = ReceiveStatistics(1, 8000)
    s.update(10, 0, 0.0, 10)
    assert s.update(10 + MAX_DROPOUT + 5, 0, 0.02, 10) == -1  # one stray packet
    assert s.update(11, 160, 0.04, 10) == 11
    far = 30000
    assert s.update(far, 0, 0.06, 10) == -1
    assert s.update(far + 1, 160, 0.08, 10) == far + 1  # confirmed: restart
    assert s.base_seq == far + 1


def test_jitter_estimate_follows_rfc3550_a8() -> None:
    s = ReceiveStatistics(1, 8000)
    # Arrival alternates 0 and 10 ms late: |D| = 80 timestamp units (8 kHz) every packet.
    for i in range(200):
        s.update(i, 160 * i, i * 0.02 + (0.01 if i % 2 else 0.0), 10)
    assert abs(s.jitter - 80) <= 2


def test_lsr_and_dlsr() -> None:
    s = ReceiveStatistics(1, 8000)
    s.update(1, 0, 0.0, 10)
    s.record_sender_report(0x1234_5678_9ABC_DEF0, 10.0)
    block = s.report_block(10.5)
    assert block.lsr == 0x5678_9ABC
    assert block.dlsr == 32768


def test_unwrapper_handles_reordering_across_wrap() -> None:
    u = SequenceUnwrapper()
    assert [u.unwrap(s) for s in (65534, 65535, 1, 0, 2)] == [65534, 65535, 65537, 65536, 65538]
