from __future__ import annotations

import random

from pywebrtc.rtp import Nack, RtpPacket, parse_rtcp, serialize_rtcp
from pywebrtc.rtp.interceptor import InterceptorChain
from pywebrtc.rtp.nack_generator import NackGenerator
from pywebrtc.rtp.retransmit_buffer import RetransmitBuffer
from pywebrtc.rtp.sender import RtpSender


def pkt(seq: int, ssrc: int = 5) -> RtpPacket:
    return RtpPacket(111, seq & 0xFFFF, seq * 960, ssrc, b"x")


def test_gap_is_nacked_and_retried_until_it_arrives() -> None:
    gen = NackGenerator(1, min_interval=0.02, initial_rtt=0.05)
    for seq in (10, 11, 14):
        gen.incoming_rtp(pkt(seq), 0.0)
    assert gen.missing == [12, 13]
    nacks = gen.poll_rtcp(0.0)
    assert len(nacks) == 1 and isinstance(nacks[0], Nack)
    assert nacks[0].lost == [12, 13] and nacks[0].media_ssrc == 5
    assert gen.poll_rtcp(0.01) == []  # not again before an RTT
    assert gen.deadline() == 0.05
    gen.incoming_rtp(pkt(12), 0.03)  # retransmission arrives
    again = gen.poll_rtcp(0.05)
    assert isinstance(again[0], Nack) and again[0].lost == [13]
    assert gen.recovered == 1


def test_gives_up_after_max_retries_and_max_age() -> None:
    gen = NackGenerator(1, max_retries=2, max_age=5, min_interval=0.01, initial_rtt=0.01)
    gen.incoming_rtp(pkt(1), 0)
    gen.incoming_rtp(pkt(3), 0)
    assert gen.poll_rtcp(0.0) and gen.poll_rtcp(0.02) and gen.poll_rtcp(0.04) == []
    gen.incoming_rtp(pkt(5), 0.05)
    gen.incoming_rtp(pkt(20), 0.06)  # 4 is now too old
    lost = [n.lost for n in gen.poll_rtcp(0.1) if isinstance(n, Nack)]
    assert lost == [[15, 16, 17, 18, 19]]


def test_other_ssrcs_and_wraps() -> None:
    gen = NackGenerator(1, media_ssrc=5)
    gen.incoming_rtp(pkt(9, ssrc=6), 0)
    for seq in (65534, 65535, 1):
        gen.incoming_rtp(pkt(seq), 0)
    nack = gen.poll_rtcp(0)[0]
    assert isinstance(nack, Nack) and nack.lost == [0]


def test_large_jump_is_not_a_loss_burst() -> None:
    gen = NackGenerator(1, max_gap=100)
    gen.incoming_rtp(pkt(1), 0)
    gen.incoming_rtp(pkt(5000), 0)
    assert gen.missing == []


def test_nack_roundtrip_through_retransmit_buffer_under_loss() -> None:
    rng = random.Random(7)
    sender = RtpSender(5, 111, 48000, rng=rng)
    buffer = RetransmitBuffer(5)
    chain = InterceptorChain([buffer])
    gen = NackGenerator(1, initial_rtt=0.04)
    received: set[int] = set()
    in_flight: list[tuple[float, RtpPacket]] = []
    now = 0.0
    for i in range(500):
        now = i * 0.02
        packet = chain.outgoing_rtp(sender.packetize(b"a", 960 * i, now), now)
        if rng.random() >= 0.1:  # 10% loss on the first transmission
            in_flight.append((now + 0.02, packet))
        for due, p in [x for x in in_flight if x[0] <= now]:
            in_flight.remove((due, p))
            received.add(p.sequence_number)
            gen.incoming_rtp(p, now)
        feedback = gen.poll_rtcp(now)
        for nack in parse_rtcp(serialize_rtcp(feedback)) if feedback else []:
            chain.incoming_rtcp(nack, now + 0.02)
        for p in chain.poll_rtp(now + 0.02):
            in_flight.append((now + 0.04, p))  # retransmissions are not lost
    sent = {(sender.sequence_number - 500 + i) & 0xFFFF for i in range(500 - 5)}
    assert sent <= received
    assert buffer.retransmitted >= 30


def test_retransmit_buffer_ignores_unknown_old_and_repeated_requests() -> None:
    buf = RetransmitBuffer(5, size=4, max_age=1.0, min_interval=0.1)
    for seq in range(10):
        buf.outgoing_rtp(pkt(seq), seq * 0.02)
    buf.incoming_rtcp(Nack.from_lost(1, 5, [1, 8, 9, 9]), 0.3)
    assert [p.sequence_number for p in buf.poll_rtp(0.3)] == [8, 9]
    assert buf.unavailable == 1
    buf.incoming_rtcp(Nack.from_lost(1, 5, [9]), 0.35)  # within min_interval
    assert buf.poll_rtp(0.35) == []
    buf.incoming_rtcp(Nack.from_lost(1, 5, [9]), 5.0)  # too old
    assert buf.poll_rtp(5.0) == []
    buf.incoming_rtcp(Nack.from_lost(1, 6, [9]), 0.5)  # other SSRC
    assert buf.poll_rtp(0.5) == []
