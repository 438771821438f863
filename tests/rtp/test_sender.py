from __future__ import annotations

import random

from pywebrtc.rtp import (
    AudioLevel,
    RtpPacket,
    abs_send_time_to_seconds,
    unpack_abs_send_time,
    unpack_mid,
    unpack_transport_sequence_number,
)
from pywebrtc.rtp.sender import ExtensionIds, RtpSender, TransportSequence

IDS = ExtensionIds(mid=1, audio_level=2, abs_send_time=3, transport_cc=4)


def test_sequence_and_timestamp_advance_from_random_start() -> None:
    a = RtpSender(0x1234, 111, 48000, rng=random.Random(1))
    b = RtpSender(0x1234, 111, 48000, rng=random.Random(2))
    pa = [a.packetize(b"x", 960 * i, i * 0.02) for i in range(3)]
    assert [p.sequence_number - pa[0].sequence_number for p in pa] == [0, 1, 2]
    assert [(p.timestamp - pa[0].timestamp) & 0xFFFFFFFF for p in pa] == [0, 960, 1920]
    assert pa[0].sequence_number != b.packetize(b"x", 0, 0.0).sequence_number
    assert a.packet_count == 3 and a.octet_count == 3


def test_sequence_wraps() -> None:
    s = RtpSender(1, 0, 8000)
    s.sequence_number = 0xFFFF
    assert [s.packetize(b"", i * 160, 0).sequence_number for i in range(2)] == [0xFFFF, 0]


def test_extensions_are_written_and_parse_back() -> None:
    shared = TransportSequence(100)
    s = RtpSender(7, 111, 48000, extension_ids=IDS, mid="0", transport_sequence=shared)
    packet = RtpPacket.parse(
        bytes(s.packetize(b"opus", 0, 12.5, marker=True, audio_level=AudioLevel(True, 30)))
    )
    ext = packet.extensions
    assert packet.marker and packet.payload == b"opus" and packet.ssrc == 7
    assert unpack_mid(ext[1]) == "0"
    assert AudioLevel.parse(ext[2]) == AudioLevel(True, 30)
    assert abs(abs_send_time_to_seconds(unpack_abs_send_time(ext[3])) - 12.5) < 1e-5
    assert unpack_transport_sequence_number(ext[4]) == 100
    # A second stream on the same transport continues the transport-wide counter.
    other = RtpSender(8, 0, 8000, extension_ids=IDS, transport_sequence=shared)
    assert unpack_transport_sequence_number(other.packetize(b"", 0, 0).extensions[4]) == 101
    # A retransmission gets a fresh transport-wide number.
    again = s.stamp_transport_sequence(packet)
    assert unpack_transport_sequence_number(again.extensions[4]) == 102
    assert again.extensions[1] == ext[1]


def test_no_extensions_without_ids() -> None:
    packet = RtpSender(7, 0, 8000).packetize(b"x", 0, 0.0)
    assert packet.extension_profile is None


def test_bare_packetize_writes_what_packetize_would_and_counts_the_same() -> None:
    plain = RtpSender(7, 111, 48000, mid="0", rng=random.Random(3))
    bare = RtpSender(7, 111, 48000, mid="0", rng=random.Random(3))
    assert bare.bare and not RtpSender(7, 111, 48000, extension_ids=IDS, mid="0").bare
    for i, marker in enumerate((True, False, False)):
        expected = bytes(plain.packetize(b"opus%d" % i, 960 * i, 0.02 * i, marker=marker))
        assert bare.packetize_bare(b"opus%d" % i, 960 * i, 0.02 * i, marker) == expected
    for name in ("sequence_number", "packet_count", "octet_count", "last_rtp_timestamp"):
        assert getattr(bare, name) == getattr(plain, name), name
    assert bare.last_send_time == plain.last_send_time == 0.04
