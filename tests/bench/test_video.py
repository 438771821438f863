"""The short version of ``python -m bench video``: one short session per stack through the
outage proxy (sender and receiver in processes of their own, VP8 at 640×480), every figure of
the scenario produced; and the pieces the figures rest on (candidate rewriting, the proxy's
outage, the recovery rule) on their own."""

from __future__ import annotations

import socket
import time

import pytest

from bench import video

OFFER = (
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"
    "c=IN IP4 192.0.2.2\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\n"
    "a=candidate:1 1 udp 2130706431 fe80::1 40000 typ host\r\n"
    "a=candidate:2 1 udp 2130706431 192.0.2.2 40001 typ host\r\n"
    "a=candidate:3 1 tcp 1518280447 192.0.2.2 9 typ host tcptype active\r\n"
    "a=candidate:4 1 udp 2130706431 127.0.0.1 40002 typ host generation 0\r\n"
    "a=end-of-candidates\r\n"
)


def test_only_the_first_ipv4_udp_host_candidate_is_left_pointing_at_the_proxy() -> None:
    address = video.host_candidate(OFFER)
    assert address == ("192.0.2.2", 40001)
    rewritten = video.through_proxy(OFFER, address, ("192.0.2.2", 50000))
    candidates = [line for line in rewritten.splitlines() if line.startswith("a=candidate")]
    assert candidates == ["a=candidate:2 1 udp 2130706431 192.0.2.2 50000 typ host"]
    assert "a=end-of-candidates" in rewritten
    assert video.video_codec(rewritten) == "VP8"


def test_recovery_is_the_next_frame_and_the_first_full_second_after_the_outage() -> None:
    end = 100.0
    # 30 frames/s before; after the outage one frame at +0.2 s, then 30/s from +0.5 s.
    times = [end - 2 + i / 30 for i in range(30)]
    times += [end + 0.2] + [end + 0.5 + i / 30 for i in range(60)]
    to_frame, to_steady = video.recovery(times, end, rate=30)
    assert to_frame == pytest.approx(0.2)
    assert to_steady == pytest.approx(0.5)  # from +0.2 the second holds 1 + 21 frames only
    to_frame, to_steady = video.recovery(times, end, rate=60)
    assert to_steady is None  # never 54 frames in a second
    assert video.recovery(times[:30], end, rate=30) == (None, None)


def test_the_proxy_relays_both_ways_and_drops_everything_during_an_outage() -> None:
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for s in (a, b, stranger):
        s.bind(("127.0.0.1", 0))
        s.settimeout(5)
    proxy = video.OutageProxy("127.0.0.1", "127.0.0.1")
    proxy.a, proxy.b = a.getsockname(), b.getsockname()
    try:
        a.sendto(b"to b", proxy.port_for_a)
        assert b.recvfrom(100) == (b"to b", proxy.port_for_b)
        b.sendto(b"to a", proxy.port_for_b)
        assert a.recvfrom(100) == (b"to a", proxy.port_for_a)
        stranger.sendto(b"not relayed", proxy.port_for_a)
        proxy.outage(60)
        a.sendto(b"dropped", proxy.port_for_a)
        b.sendto(b"dropped", proxy.port_for_b)
        deadline = time.monotonic() + 5
        while proxy.dropped < 2 and time.monotonic() < deadline:  # the proxy's thread
            time.sleep(0.001)
        proxy.outage(0)
        a.sendto(b"after", proxy.port_for_a)
        assert b.recvfrom(100) == (b"after", proxy.port_for_b)  # nothing else came first
        assert proxy.dropped == 2
        assert (proxy.bytes_a_to_b, proxy.bytes_b_to_a) == (len(b"to bafter"), len(b"to a"))
    finally:
        proxy.close()
        for s in (a, b, stranger):
            s.close()


@pytest.mark.parametrize("stack", video.STACKS)
def test_a_short_session_gives_every_figure(stack: str) -> None:
    s = video.session(stack, seconds=3, warmup=0.5, observe=4)
    print(f"video {stack}:", s)
    assert s.size == (640, 480)
    assert 0 < s.first_frame_ms < 30_000
    # The plumbing, not the figures (the host is shared): frames flow, CPU is counted.
    assert s.sent_fps > 5 and s.decoded_fps > 5, s
    assert s.send_cpu_pct > 0 and s.recv_cpu_pct > 0, s
    assert s.wire_kbps > 50, s
    assert s.dropped > 0
    assert s.to_next_frame_ms is not None, s  # video comes back after the outage
