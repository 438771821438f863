"""Our packets read by aiortc's independent RTP/RTCP parsers and Opus path, and theirs by us.

aiortc is used here only as a peer implementation (its parsers and codec wrappers); it is not
imported by the library.
"""

from __future__ import annotations

import random

import aiortc.codecs.opus as aiortc_opus
import aiortc.rtcrtpparameters as aiortc_params
import aiortc.rtp as aiortc_rtp
import av
from aiortc.jitterbuffer import JitterFrame

from pywebrtc.demux import PacketKind, classify
from pywebrtc.media import AudioSession, FrameReceived, Transmit
from pywebrtc.rtp import Nack, SenderReport, parse_rtcp, serialize_rtcp
from pywebrtc.rtp.sender import ExtensionIds

from .peers import Call, config
from .tone import mono_samples, sine_frame, zero_crossing_frequency

MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
AST = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
TWCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"


def aiortc_ext_map() -> aiortc_rtp.HeaderExtensionsMap:
    ext = aiortc_rtp.HeaderExtensionsMap()
    p = aiortc_params
    ext.configure(
        p.RTCRtpParameters(
            headerExtensions=[
                p.RTCRtpHeaderExtensionParameters(id=1, uri=MID),
                p.RTCRtpHeaderExtensionParameters(id=2, uri=LEVEL),
                p.RTCRtpHeaderExtensionParameters(id=3, uri=AST),
                p.RTCRtpHeaderExtensionParameters(id=4, uri=TWCC),
            ]
        )
    )
    return ext


def test_aiortc_reads_our_rtp_extensions_rtcp_and_opus() -> None:
    ids = ExtensionIds(mid=1, audio_level=2, abs_send_time=3, transport_cc=4)
    a = AudioSession(config(0xA1, extension_ids=ids), rng=random.Random(1))
    b = AudioSession(config(0xB2), rng=random.Random(2))
    net = Call(a, b)
    net.run(3.0, b_sends=True)
    ext_map = aiortc_ext_map()
    decoder = aiortc_opus.OpusDecoder()
    frames = []
    for i in range(150):
        a.send_frame(sine_frame(1000 + i), net.now + i * 0.02)
        t = a.poll()
        assert isinstance(t, Transmit) and classify(t.data) is PacketKind.RTP
        packet = aiortc_rtp.RtpPacket.parse(t.data, ext_map)
        assert packet.ssrc == 0xA1 and packet.payload_type == 111
        assert packet.extensions.mid == "0"
        assert packet.extensions.audio_level is not None
        assert packet.extensions.abs_send_time is not None
        assert packet.extensions.transport_sequence_number is not None
        for frame in decoder.decode(JitterFrame(data=packet.payload, timestamp=packet.timestamp)):
            assert isinstance(frame, av.AudioFrame)
            frames.append(frame)
    assert abs(zero_crossing_frequency(mono_samples(frames[10:]), 48000) - 440) < 5
    # Our compound SR + SDES, and a NACK.
    report = serialize_rtcp(a.reporter.build_report(net.now))
    sr, sdes = aiortc_rtp.RtcpPacket.parse(report)
    assert isinstance(sr, aiortc_rtp.RtcpSrPacket) and sr.ssrc == 0xA1
    assert sr.reports[0].ssrc == 0xB2
    assert isinstance(sdes, aiortc_rtp.RtcpSdesPacket)
    nack = aiortc_rtp.RtcpPacket.parse(serialize_rtcp([Nack.from_lost(1, 2, [10, 12, 40])]))[0]
    assert isinstance(nack, aiortc_rtp.RtcpRtpfbPacket)
    assert nack.lost == [10, 12, 40] and nack.media_ssrc == 2


def test_we_decode_what_aiortc_encodes_and_read_its_reports() -> None:
    encoder = aiortc_opus.OpusEncoder()
    ext_map = aiortc_ext_map()
    session = AudioSession(config(0xB2, send_codec=None), rng=random.Random(3))
    seq = 500
    for i in range(100):
        payloads, timestamp = encoder.encode(sine_frame(i, 440.0))
        for payload in payloads:
            packet = aiortc_rtp.RtpPacket(
                payload_type=111, sequence_number=seq, timestamp=timestamp
            )
            packet.ssrc = 0xCAFE
            packet.payload = payload
            packet.extensions.mid = "0"
            seq += 1
            session.receive(packet.serialize(ext_map), i * 0.02)
        session.tick(i * 0.02)
    frames = []
    while (event := session.poll()) is not None:
        if isinstance(event, FrameReceived):
            frames.append(event.frame)
    assert len(frames) >= 90 and session.drops == type(session.drops)()
    assert abs(zero_crossing_frequency(mono_samples(frames[10:]), 48000) - 440) < 5
    sr = aiortc_rtp.RtcpSrPacket(
        ssrc=0xCAFE,
        sender_info=aiortc_rtp.RtcpSenderInfo(
            ntp_timestamp=1 << 40, rtp_timestamp=0, packet_count=100, octet_count=5000
        ),
    )
    session.receive(bytes(sr), 2.0)
    remote = next(s for s in session.stats() if s["type"] == "remote-outbound-rtp")
    assert remote["packetsSent"] == 100 and remote["bytesSent"] == 5000
    ours = parse_rtcp(bytes(sr))[0]
    assert isinstance(ours, SenderReport) and ours.packet_count == 100
