"""SentPacketHistory: what is kept, for how long, and the bytes in flight."""

from __future__ import annotations

from pywebrtc.rtp.bwe.history import SentPacketHistory


def test_unreported_packets_are_kept_10_s_and_reported_ones_1_s() -> None:
    h = SentPacketHistory()
    for n in range(50):  # 1 s of audio, 100 bytes each
        assert h.add(n, 100, n * 0.02) is not None
    assert h.add(49, 100, 0.99) is None  # a number still in the history
    first = h.lookup(0)
    assert first is not None and h.in_flight_bytes == 5000
    h.mark_reported(first)
    h.mark_reported(first)  # once only
    assert h.in_flight_bytes == 4900
    h.add(50, 100, 1.01)  # the reported packet is 1.01 s old: forgotten; the rest kept
    assert h.lookup(0) is None and h.lookup(1) is not None and len(h) == 50
    assert h.in_flight_bytes == 5000
    h.add(51, 100, 10.05)  # 1 and 2 are over 10 s old (unreported: their bytes leave too)
    assert h.lookup(2) is None and h.lookup(3) is not None
    assert len(h) == 49 and h.in_flight_bytes == 4900


def test_at_most_a_quarter_of_the_number_space_is_kept_across_a_wrap() -> None:
    h = SentPacketHistory()
    for n in range(0x4000 + 10):
        h.add((0xFFF0 + n) & 0xFFFF, 10, n * 1e-4)  # all within 10 s
    assert len(h) == 0x4000 and h.in_flight_bytes == 0x4000 * 10
    assert h.lookup((0xFFF0 + 9) & 0xFFFF) is None
    newest = h.lookup((0xFFF0 + 0x4000 + 9) & 0xFFFF)
    assert newest is not None and newest.sequence == 0xFFF0 + 0x4000 + 9
