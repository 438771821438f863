"""Per-packet codec costs: STUN parse + integrity, ``read_username``, RTP parse, RTCP compound
parse — pywebrtc against aioice/aiortc's parsers on the same bytes, in operations per second.

The sample packets are built with aioice/aiortc's own encoders (or, for RTP header extensions,
by hand in Chrome's layout), so neither side parses bytes shaped for it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from aioice import stun as aioice_stun
from aiortc import rtp as aiortc_rtp

from bench.harness import Case, Scenario, ops_per_second
from pywebrtc import rtp, stun

ICE_PWD = "x" * 22
KEY = ICE_PWD.encode()


def _binding_request() -> bytes:
    """A Chrome-shaped ICE check: USERNAME, ICE-CONTROLLING, USE-CANDIDATE, PRIORITY, MI, FP."""
    msg = aioice_stun.Message(
        message_method=aioice_stun.Method.BINDING, message_class=aioice_stun.Class.REQUEST
    )
    msg.attributes["USERNAME"] = "Hq9Vx2Lm+Kd7Rt4Pz1Nw6Cb3:f8Jq"
    msg.attributes["ICE-CONTROLLING"] = 0x1234_5678_9ABC_DEF0
    msg.attributes["USE-CANDIDATE"] = None
    msg.attributes["PRIORITY"] = 1853817087
    msg.add_message_integrity(KEY)
    msg.add_fingerprint()
    return bytes(msg)


def _opus_rtp() -> bytes:
    """An Opus packet as Chrome sends it: one-byte extensions for audio level (id 1),
    abs-send-time (id 2), transport-wide seq (id 3) and mid (id 4), then 60 bytes of payload."""
    ext = (
        bytes([0x10, 0x8A])  # id 1, len 1: V=1, level 10
        + bytes([0x22, 0x12, 0x34, 0x56])  # id 2, len 3: abs-send-time
        + bytes([0x31, 0x01, 0x02])  # id 3, len 2: transport seq
        + bytes([0x40, 0x30])  # id 4, len 1: mid "0"
    )
    ext += b"\x00" * (-len(ext) % 4)
    header = struct.pack("!BBHII", 0x90, 111, 4242, 960_000, 0x1122_3344)
    return header + struct.pack("!HH", 0xBEDE, len(ext) // 4) + ext + bytes(range(60))


def _sr_sdes() -> bytes:
    sr = aiortc_rtp.RtcpSrPacket(
        ssrc=0x1122_3344,
        sender_info=aiortc_rtp.RtcpSenderInfo(
            ntp_timestamp=0xE1234567_89ABCDEF, rtp_timestamp=960_000, packet_count=50,
            octet_count=3000,
        ),
        reports=[
            aiortc_rtp.RtcpReceiverInfo(
                ssrc=0x5566_7788, fraction_lost=3, packets_lost=12, highest_sequence=70000,
                jitter=40, lsr=0x1234_5678, dlsr=0x0001_0000,
            )
        ],
    )
    sdes = aiortc_rtp.RtcpSdesPacket(
        chunks=[aiortc_rtp.RtcpSourceInfo(ssrc=0x1122_3344, items=[(1, b"abcdefghijklmnop")])]
    )
    return bytes(sr) + bytes(sdes)


def _rr_remb() -> bytes:
    rr = aiortc_rtp.RtcpRrPacket(
        ssrc=0x1122_3344,
        reports=[
            aiortc_rtp.RtcpReceiverInfo(
                ssrc=0x5566_7788, fraction_lost=0, packets_lost=0, highest_sequence=1000,
                jitter=5, lsr=0, dlsr=0,
            )
        ],
    )
    remb = aiortc_rtp.RtcpPsfbPacket(
        fmt=15, ssrc=0x1122_3344, media_ssrc=0,
        fci=aiortc_rtp.pack_remb_fci(300_000, [0x5566_7788]),
    )
    return bytes(rr) + bytes(remb)


def _rate(op: Callable[[], object]) -> Callable[[], float]:
    return lambda: ops_per_second(op)


def scenario() -> Scenario:
    check = _binding_request()
    opus = _opus_rtp()
    sr_sdes = _sr_sdes()
    rr_remb = _rr_remb()

    # Both sides must accept the sample, or the comparison is meaningless.
    ours_msg = stun.Message.parse(check)
    assert ours_msg.verify_integrity(KEY) and ours_msg.verify_fingerprint()
    assert aioice_stun.parse_message(check).check_message_integrity(KEY)
    assert stun.read_username(check) == "Hq9Vx2Lm+Kd7Rt4Pz1Nw6Cb3:f8Jq"
    assert rtp.RtpPacket.parse(opus).payload == aiortc_rtp.RtpPacket.parse(opus).payload
    assert len(rtp.parse_rtcp(sr_sdes)) == len(aiortc_rtp.RtcpPacket.parse(sr_sdes)) == 2
    assert len(rtp.parse_rtcp(rr_remb)) == len(aiortc_rtp.RtcpPacket.parse(rr_remb)) == 2

    def ours_stun() -> bool:
        m = stun.Message.parse(check)
        return m.verify_fingerprint() and m.verify_integrity(KEY)

    def aioice_stun_check() -> bool:
        return aioice_stun.parse_message(check).check_message_integrity(KEY)

    def aioice_username() -> object:
        return aioice_stun.parse_message(check).attributes["USERNAME"]

    return Scenario(
        name="codecs",
        description=(
            "Per-packet parse costs (issue 2): one core, single thread, same bytes for both "
            "sides. The STUN case includes FINGERPRINT and MESSAGE-INTEGRITY checks on both "
            "sides (aioice checks FINGERPRINT inside parse_message). aioice has no username "
            "fast path, so read_username is compared with its full parse. RTP: parse without "
            "decoding header extensions on both sides (aiortc's default extension map decodes "
            "none)."
        ),
        cases=[
            Case("STUN Binding parse + FINGERPRINT + integrity", _rate(ours_stun),
                 _rate(aioice_stun_check), peer_name="aioice"),
            Case("STUN read_username (relay fast path)", _rate(lambda: stun.read_username(check)),
                 _rate(aioice_username), peer_name="aioice parse_message"),
            Case("RTP parse, Opus + 4 header extensions", _rate(lambda: rtp.RtpPacket.parse(opus)),
                 _rate(lambda: aiortc_rtp.RtpPacket.parse(opus))),
            Case("RTCP compound parse, SR + SDES", _rate(lambda: rtp.parse_rtcp(sr_sdes)),
                 _rate(lambda: aiortc_rtp.RtcpPacket.parse(sr_sdes))),
            Case("RTCP compound parse, RR + REMB", _rate(lambda: rtp.parse_rtcp(rr_remb)),
                 _rate(lambda: aiortc_rtp.RtcpPacket.parse(rr_remb))),
        ],
        repeats=7,
    )
