from __future__ import annotations

import random
import struct

from pywebrtc.media.passthrough import PassThroughSession
from pywebrtc.rtp import ReceiverReport, ReportBlock, SenderReport, parse_rtcp, serialize_rtcp
from pywebrtc.srtp import SrtpContext

from .peers import srtp_pair


def test_forwards_with_our_ssrc_counts_and_reports() -> None:
    caller, relay_in = srtp_pair()  # caller -> relay leg
    relay_out, callee = srtp_pair()  # relay -> callee leg
    session = PassThroughSession(
        relay_in.inbound, relay_out.outbound, local_ssrc=0xFEED, cname="relay",
        rng=random.Random(1),
    )  # fmt: skip
    sent = 0
    for i in range(200):
        now = i * 0.02
        data = caller.protect_rtp(struct.pack("!BBHII", 0x80, 111, i, 960 * i, 0xCA11) + b"op")
        out = session.forward_rtp(data, now)
        if i == 50:
            assert session.forward_rtp(data, now) is None  # replay
        assert out is not None
        plain = callee.unprotect_rtp(out)
        assert struct.unpack_from("!HII", plain, 2) == (i, 960 * i, 0xFEED) and plain[12:] == b"op"
        deadline = session.deadline()
        if deadline is not None and deadline <= now:
            report = session.handle_timeout(now)
            assert report is not None
            packets = parse_rtcp(callee.unprotect_rtcp(report))
            assert isinstance(packets[0], SenderReport) and packets[0].ssrc == 0xFEED
            assert packets[0].reports[0].ssrc == 0xCA11
            sent += 1
    assert 2 <= sent <= 6 and session.dropped == 1
    assert session.reporter.sources[0xCA11].packets_received == 200
    rr = ReceiverReport(0xCA11, (ReportBlock(0xFEED, 3, 1),))
    session.receive_rtcp(caller.protect_rtcp(serialize_rtcp([rr])), 4.0)
    assert session.reporter.remote_inbound is not None
    session.receive_rtcp(b"\x80\xc9\x00\x01junkjunk", 4.0)
    session.forward_rtp(b"\x00" * 40, 4.0)
    assert session.dropped == 3
    assert isinstance(relay_in.inbound, SrtpContext)


def test_only_the_expected_source_is_forwarded_when_one_is_given() -> None:
    caller, relay_in = srtp_pair()
    relay_out, _ = srtp_pair()
    session = PassThroughSession(
        relay_in.inbound, relay_out.outbound, local_ssrc=1, cname="r", remote_ssrc=0xCA11
    )
    good = caller.protect_rtp(struct.pack("!BBHII", 0x80, 111, 1, 0, 0xCA11) + b"x")
    other = caller.protect_rtp(struct.pack("!BBHII", 0x80, 111, 1, 0, 0xBAD) + b"x")
    assert session.forward_rtp(good, 0.0) is not None
    assert session.forward_rtp(other, 0.0) is None and session.unknown_ssrc == 1
