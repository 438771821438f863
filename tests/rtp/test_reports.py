from __future__ import annotations

import random

from pywebrtc.rtp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    SenderReport,
    SourceDescription,
    parse_rtcp,
    seconds_to_ntp,
    serialize_rtcp,
)
from pywebrtc.rtp.receiver import ReceiveStatistics
from pywebrtc.rtp.reports import RtcpReporter, rtcp_interval
from pywebrtc.rtp.sender import RtpSender


def test_interval_is_randomised_around_the_minimum() -> None:
    rng = random.Random(1)
    values = [
        rtcp_interval(
            members=2,
            senders=1,
            we_sent=True,
            rtcp_bandwidth=400,
            avg_rtcp_size=100,
            initial=False,
            min_interval=1.0,
            rng=rng,
        )  # fmt: skip
        for _ in range(1000)
    ]
    assert min(values) >= 0.5 / 1.21828 - 1e-9 and max(values) <= 1.5 / 1.21828 + 1e-9
    assert 0.75 < sum(values) / len(values) < 0.9
    initial = rtcp_interval(
        members=2, senders=0, we_sent=False, rtcp_bandwidth=4000, avg_rtcp_size=100,
        initial=True, min_interval=1.0, rng=random.Random(2),
    )  # fmt: skip
    assert initial <= 0.75 / 1.21828 + 1e-9


def test_interval_grows_with_low_bandwidth() -> None:
    t = rtcp_interval(
        members=2, senders=1, we_sent=False, rtcp_bandwidth=10, avg_rtcp_size=200,
        initial=False, min_interval=1.0, rng=random.Random(3),
    )  # fmt: skip
    assert t > 5


def make_pair() -> tuple[RtcpReporter, RtpSender, RtcpReporter]:
    sender = RtpSender(0xA, 111, 48000, rng=random.Random(1))
    a = RtcpReporter(0xA, "alice", sender=sender, ntp_offset=1000.0, rng=random.Random(1))
    b = RtcpReporter(0xB, "bob", ntp_offset=5000.0, rng=random.Random(2))
    return a, sender, b


def test_sender_report_then_receiver_report_gives_rtt() -> None:
    a, sender, b = make_pair()
    now = 0.0
    a_out: list[list[object]] = []
    for i in range(300):  # 6 s of audio, 50 ms one-way delay
        now = i * 0.02
        packet = a.outgoing_rtp(sender.packetize(b"x" * 60, 960 * i, now), now)
        b.incoming_rtp(packet, now + 0.05)
        for p in a.poll_rtcp(now):
            b.incoming_rtcp(p, now + 0.05)
            a_out.append([p])
        for p in b.poll_rtcp(now + 0.05):
            a.incoming_rtcp(p, now + 0.1)
    assert a.reports_sent >= 4 and b.reports_sent >= 4
    assert a.round_trip_time is not None and abs(a.round_trip_time - 0.1) < 0.002
    assert a.remote_inbound is not None and a.remote_inbound.packets_lost == 0
    assert 0xA in b.remote_outbound and b.remote_outbound[0xA].packets_sent > 0
    assert isinstance(a_out[0][0], SenderReport)


def test_compound_is_report_then_sdes_and_serializes() -> None:
    a, sender, _ = make_pair()
    sender.packetize(b"x", 0, 0.0)
    packets = a.build_report(1.0)
    assert isinstance(packets[0], SenderReport) and isinstance(packets[1], SourceDescription)
    assert packets[1].chunks[0].cname == "alice"
    assert parse_rtcp(serialize_rtcp(packets), strict=True) == packets
    # Nothing sent since: the next report is an RR.
    assert isinstance(a.build_report(2.0)[0], ReceiverReport)


def test_sr_rtp_timestamp_extrapolates_from_last_packet() -> None:
    a, sender, _ = make_pair()
    packet = sender.packetize(b"x", 0, 10.0)
    report = a.build_report(10.5)[0]
    assert isinstance(report, SenderReport)
    assert report.rtp_timestamp == (packet.timestamp + 24000) & 0xFFFFFFFF
    assert report.ntp_timestamp == seconds_to_ntp(1010.5)


def test_bye_from_peer_ends_source_and_emits_event() -> None:
    a, _, b = make_pair()
    a.incoming_rtcp(Bye((0xB,), b"done"), 1.0)
    events = a.poll_events()
    assert [(e.ssrc, e.reason) for e in events] == [(0xB, "done")]
    assert 0xB in a.ended
    a.incoming_rtcp(Bye((0xB,)), 1.1)
    assert a.poll_events() == []


def test_our_bye_ends_reporting() -> None:
    a, _, _ = make_pair()
    a.start(0.0)
    packets = a.bye(1.0, "bye")
    assert isinstance(packets[-1], Bye) and packets[-1].ssrcs == (0xA,)
    assert a.deadline() is None


def test_blocks_about_other_ssrcs_are_ignored() -> None:
    a, _, _ = make_pair()
    a.incoming_rtcp(ReceiverReport(0xB, (ReportBlock(0x999, 10, 5),)), 1.0)
    assert a.remote_inbound is None


def test_report_includes_block_per_source() -> None:
    _, _, b = make_pair()
    for i in range(10):
        b.record_rtp(0x1, i, i * 960, 50, i * 0.02)
        b.record_rtp(0x2, i, i * 960, 50, i * 0.02)
    report = b.build_report(1.0)[0]
    assert isinstance(report, ReceiverReport)
    assert {blk.ssrc for blk in report.reports} == {1, 2}
    assert isinstance(b.sources[1], ReceiveStatistics)
