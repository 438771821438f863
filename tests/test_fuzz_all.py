"""One fuzz test over every parser in the stack: valid seed packets (captured or built) are
truncated, bit-flipped, spliced and extended, and random bytes are thrown in too. Each parser
may only raise its documented ``ValueError`` subclass (or, for fast paths documented never to
raise, nothing at all)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywebrtc import framing, rtp, sdp, stun
from pywebrtc.demux import classify
from pywebrtc.dtls import DtlsError, SrtpKeys, SrtpProfile
from pywebrtc.dtls.handshake import ClientHello, parse_fragments
from pywebrtc.dtls.record import parse_datagram
from pywebrtc.rtp import video
from pywebrtc.rtp.video.h264 import H264PayloadError, parse_payload, split_annexb
from pywebrtc.srtp import SrtpError, SrtpSession
from relay.routing import RouteCodec

FIXTURES = Path(__file__).parent / "fixtures"
KEY = b"k" * 22


@dataclass(frozen=True)
class Target:
    name: str
    parse: Callable[[bytes], object]
    raises: tuple[type[Exception], ...]  # (): documented never to raise
    seeds: tuple[bytes, ...]


def _stun_seeds() -> tuple[bytes, ...]:
    request = stun.binding_request(
        stun.new_transaction_id(), "remoteufrag:localufrag", KEY, priority=1234,
        controlling=True, tie_breaker=42, use_candidate=True,
    )
    ok = stun.binding_success(stun.Message.parse(request).transaction_id, ("192.0.2.1", 5000), KEY)
    return request, ok


def _rtp_seeds() -> tuple[bytes, ...]:
    packet = rtp.RtpPacket(
        payload_type=111, sequence_number=1, timestamp=960, ssrc=0x11223344,
        payload=b"\x01" * 40, marker=True,
    )
    return (bytes(packet),)


def _rtcp_seeds() -> tuple[bytes, ...]:
    sr = rtp.SenderReport(
        ssrc=1, ntp_timestamp=2, rtp_timestamp=3, packet_count=4, octet_count=5,
        reports=(rtp.ReportBlock(ssrc=2, fraction_lost=1, cumulative_lost=-3,
                                 extended_highest_sequence=100, jitter=7, lsr=8, dlsr=9),),
    )
    nack = rtp.Nack(sender_ssrc=1, media_ssrc=2, pairs=((10, 0b101),))
    return rtp.serialize_rtcp([sr, nack]), bytes(nack)


def _sdp_seeds() -> tuple[bytes, ...]:
    return tuple(p.read_bytes() for p in sorted((FIXTURES / "sdp").glob("*.sdp"))[:4])


def _dtls_seeds() -> tuple[bytes, ...]:
    """Chrome's and Firefox's DTLS 1.3 ClientHellos, each captured as two datagrams."""
    return tuple(p.read_bytes() for p in sorted((FIXTURES / "dtls").glob("*client-hello.*.bin")))


def _client_hello_bodies() -> tuple[bytes, ...]:
    bodies = []
    for browser in ("chrome", "firefox"):
        fragments = [
            f
            for p in sorted((FIXTURES / "dtls").glob(f"{browser}-client-hello.*.bin"))
            for record in parse_datagram(p.read_bytes())[0]
            for f in parse_fragments(record.fragment)
        ]
        fragments.sort(key=lambda f: f.fragment_offset)
        bodies.append(b"".join(f.body for f in fragments))
    return tuple(bodies)


CODEC = RouteCodec({1: bytes(range(16))}, active=1)


def _srtp_pair() -> tuple[SrtpSession, SrtpSession]:
    """Two ends of one DTLS-SRTP transport (AES-GCM), keys as DTLS would split them."""
    profile = SrtpProfile.SRTP_AEAD_AES_128_GCM
    a_key, a_salt, b_key, b_salt = b"\x01" * 16, b"\x02" * 12, b"\x03" * 16, b"\x04" * 12
    a = SrtpSession.from_dtls(SrtpKeys(profile, a_key, a_salt, b_key, b_salt))
    b = SrtpSession.from_dtls(SrtpKeys(profile, b_key, b_salt, a_key, a_salt))
    return a, b


SENDER = _srtp_pair()[0]
SRTP_SEEDS = tuple(SENDER.protect_rtp(seed) for seed in _rtp_seeds())
SRTCP_SEEDS = tuple(SENDER.protect_rtcp(seed) for seed in _rtcp_seeds())

TARGETS = [
    Target("stun.Message.parse", stun.Message.parse, (stun.StunParseError,), _stun_seeds()),
    Target("stun.read_username", stun.read_username, (), _stun_seeds()),
    Target("stun.ChannelData.parse", stun.ChannelData.parse, (stun.StunParseError,),
           (bytes(stun.ChannelData(0x4000, b"hello")),)),
    Target("rtp.RtpPacket.parse", rtp.RtpPacket.parse, (rtp.RtpParseError,), _rtp_seeds()),
    Target("rtp.parse_rtcp", rtp.parse_rtcp, (rtp.RtcpParseError,), _rtcp_seeds()),
    Target("rtp.video.h264.parse_payload", parse_payload, (H264PayloadError,),
           (b"\x18\x00\x02\x67\x42\x00\x02\x68\xce", b"\x7c\x85\x88\x84", b"\x41\x9a\x02")),
    Target("rtp.video.h264.split_annexb", split_annexb, (H264PayloadError,),
           (b"\x00\x00\x00\x01\x67\x42\x00\x00\x01\x68\xce\x00\x00\x00\x01\x65\x88",)),
    Target("rtp.video.depacketize_vp8", video.depacketize_vp8, (rtp.PayloadDescriptorError,),
           tuple(video.packetize_vp8(b"\x10\x02\x00" + bytes(40), 20, picture_id=300))),
    Target("rtp.video.depacketize_vp9", video.depacketize_vp9, (rtp.PayloadDescriptorError,),
           (bytes(video.Vp9Descriptor(True, False, flexible=True, picture_id=5, tid=1, sid=0,
                                      p_diffs=(1, 2), ss=video.Vp9ScalabilityStructure(
                                          1, ((640, 480),), ((0, False, (1,)),)))) + b"\x82",
            *video.packetize_vp9(bytes(40), 20, keyframe=True, picture_id=70))),
    Target("sdp.SessionDescription.parse",
           lambda b: sdp.SessionDescription.parse(b.decode("latin-1")), (sdp.SdpParseError,),
           _sdp_seeds()),
    Target("sdp.Candidate.parse", lambda b: sdp.Candidate.parse(b.decode("latin-1")),
           (sdp.SdpParseError,),
           (b"candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host generation 0",
            b"2 1 UDP 1686052607 198.51.100.7 3478 typ srflx raddr 0.0.0.0 rport 0")),
    Target("dtls.parse_datagram", parse_datagram, (DtlsError,), _dtls_seeds()),
    Target("dtls.parse_fragments", lambda b: parse_fragments(b[13:]), (DtlsError,), _dtls_seeds()),
    Target("dtls.ClientHello.parse", ClientHello.parse, (DtlsError,), _client_hello_bodies()),
    Target("framing.unframe", framing.unframe, (framing.FrameError,),
           (framing.frame(("192.0.2.1", 5000), b"payload"),
            framing.frame(("2001:db8::1", 443), b"x"))),
    Target("relay.RouteCodec.decode", lambda b: CODEC.decode(b.decode("latin-1")), (),
           (b"1AAAAAAAAAAAAAAAAAAAAAA",)),
    Target("demux.classify", classify, (), (b"\x16\xfe\xfd", b"\x80\x6f")),
    # A fresh receiver each time, so that a seed is never rejected as a replay.
    Target("srtp.unprotect_rtp", lambda b: _srtp_pair()[1].unprotect_rtp(b), (SrtpError,),
           SRTP_SEEDS),
    Target("srtp.unprotect_rtcp", lambda b: _srtp_pair()[1].unprotect_rtcp(b), (SrtpError,),
           SRTCP_SEEDS),
]


@st.composite
def mutated(draw: st.DrawFn, seeds: tuple[bytes, ...]) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "extend"]))
        if op == "truncate" and data:
            del data[draw(st.integers(0, len(data) - 1)) :]
        elif op == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            i = draw(st.integers(0, len(data)))
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and data:
            i = draw(st.integers(0, len(data) - 1))
            del data[i : i + draw(st.integers(1, 8))]
        elif op == "extend":
            data += draw(st.binary(min_size=1, max_size=2000))
    return bytes(data)


def test_every_target_has_seeds_its_parser_accepts() -> None:
    for target in TARGETS:
        assert target.seeds, target.name
        for seed in target.seeds:
            target.parse(seed)  # a seed that does not parse would make the fuzzing shallow


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_malformed_input_raises_only_the_documented_error(target: Target) -> None:
    @given(mutated(target.seeds))
    def check(data: bytes) -> None:
        with contextlib.suppress(*target.raises):
            target.parse(data)

    check()
