from __future__ import annotations

from pywebrtc.rtp import RtpPacket, TransportCcFeedback, parse_rtcp, serialize_rtcp
from pywebrtc.rtp.twcc_feedback import TwccFeedback


def pkt(tseq: int) -> RtpPacket:
    return RtpPacket(111, tseq, 0, 9, b"x").with_extensions({3: (tseq & 0xFFFF).to_bytes(2)})


def test_feedback_reports_arrivals_and_losses() -> None:
    fb = TwccFeedback(1, 3, interval=0.1)
    for seq, t in ((100, 1.0), (101, 1.02), (103, 1.05)):
        fb.incoming_rtp(pkt(seq), t)
    assert fb.poll_rtcp(1.05) == []
    assert fb.deadline() == 1.1
    out = fb.poll_rtcp(1.1)
    assert len(out) == 1 and isinstance(out[0], TransportCcFeedback)
    parsed = parse_rtcp(serialize_rtcp(out))[0]
    assert isinstance(parsed, TransportCcFeedback) and parsed.media_ssrc == 9
    got = parsed.packets()
    assert [s for s, _ in got] == [100, 101, 102, 103]
    assert got[2][1] is None
    times = [t for _, t in got if t is not None]
    assert abs((times[1] - times[0]) - 0.02) < 0.0005 and abs((times[2] - times[0]) - 0.05) < 0.0005


def test_next_feedback_continues_and_counts_and_late_packets_are_dropped() -> None:
    fb = TwccFeedback(1, 3, interval=0.1)
    fb.incoming_rtp(pkt(65535), 0.0)
    fb.incoming_rtp(pkt(1), 0.01)
    first = fb.poll_rtcp(0.1)[0]
    fb.incoming_rtp(pkt(0), 0.11)  # already reported as lost
    fb.incoming_rtp(pkt(2), 0.12)
    second = fb.poll_rtcp(0.25)[0]
    assert isinstance(first, TransportCcFeedback) and isinstance(second, TransportCcFeedback)
    assert second.base_sequence == 2 and second.feedback_count == first.feedback_count + 1
    assert fb.late == 1


def test_packets_without_the_extension_are_ignored() -> None:
    fb = TwccFeedback(1, 3)
    fb.incoming_rtp(RtpPacket(111, 1, 0, 9, b"x"), 0.0)
    assert fb.deadline() is None and fb.poll_rtcp(1.0) == []


def test_a_packet_whose_extension_block_is_truncated_is_counted_not_raised() -> None:
    fb = TwccFeedback(1, 3)
    # A one-byte element that claims 16 bytes in a 4-byte block (the packet itself parses).
    fb.incoming_rtp(RtpPacket(111, 1, 0, 9, b"x", False, (), 0xBEDE, b"\x3f\x00\x00\x00"), 0.0)
    assert fb.malformed == 1 and fb.deadline() is None
    fb.incoming_rtp(pkt(7), 0.01)
    assert fb.malformed == 1 and fb.deadline() is not None
