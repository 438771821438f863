"""The transport glue: the sequence number read from the packet bytes, feedback and REMB
routed to the estimator, loss reports counted once, audio's share of the target."""

from __future__ import annotations

from pywebrtc.rtp import RtpPacket
from pywebrtc.rtp.bwe.transport import WIRE_OVERHEAD, TransportBandwidth, transport_sequence_number
from pywebrtc.rtp.extensions import ExtensionForm, serialize_header_extensions
from pywebrtc.rtp.reports import RemoteInbound
from pywebrtc.rtp.rtcp import ReceiverReport, Remb, TransportCcFeedback
from pywebrtc.rtp.sender import ExtensionIds, RtpSender, TransportSequence


def packet(elements: list[tuple[int, bytes]], form: ExtensionForm = "auto") -> bytes:
    profile, block = serialize_header_extensions(elements, form=form)
    return bytes(RtpPacket(111, 1, 2, 3, b"x" * 40, False, (), profile, block))


def test_the_sequence_number_is_read_from_one_and_two_byte_blocks() -> None:
    one = packet([(1, b"0"), (3, (0xABCD).to_bytes(2))])
    assert transport_sequence_number(one, 3) == (0xABCD, len(one) - 40)
    two = packet([(1, b"0"), (3, (7).to_bytes(2))], form="two-byte")
    assert transport_sequence_number(two, 3) == (7, len(two) - 40)
    assert transport_sequence_number(one, 5) is None


def test_packets_without_it_rtcp_and_truncated_ones_give_none() -> None:
    assert transport_sequence_number(bytes(RtpPacket(111, 1, 2, 3, b"x")), 3) is None
    assert transport_sequence_number(bytes(ReceiverReport(1)), 3) is None
    one = packet([(3, (9).to_bytes(2))])
    assert transport_sequence_number(one[:14], 3) is None
    assert transport_sequence_number(b"\x90", 3) is None


def test_what_a_sender_numbers_is_what_the_estimator_sees() -> None:
    sender = RtpSender(1, 111, 48000, extension_ids=ExtensionIds(mid=1, transport_cc=3),
                       mid="0", transport_sequence=TransportSequence(65534))  # fmt: skip
    bandwidth = TransportBandwidth()
    datas = [bytes(sender.packetize(b"y" * 60, i * 960, i * 0.02)) for i in range(4)]
    for i, data in enumerate(datas):
        bandwidth.sent(data, 3, i * 0.02)
    assert bandwidth.overhead < len(datas[0]) - 60 + WIRE_OVERHEAD + 1
    feedback = TransportCcFeedback.from_arrivals(
        9, 1, [(65534, 1.0), (65535, 1.02), (0, 1.04), (1, 1.06)]
    )
    bandwidth.receive_rtcp([feedback, Remb(9, 100_000, (1,))], 0.2)
    assert bandwidth.estimator.counters.unknown == 0
    assert bandwidth.target_bitrate == 100_000
    assert bandwidth.changed() is not None and bandwidth.changed() is None


def test_a_loss_report_counts_once_and_audio_gets_the_target_less_its_headers() -> None:
    bandwidth = TransportBandwidth()
    report = RemoteInbound(1, 0.5, 10, 0.0, 0.1, 1.0)
    bandwidth.loss_report(report, 1.0)
    bandwidth.loss_report(report, 1.1)
    assert bandwidth.target_bitrate == 225_000  # 300 kbit/s * (1 - 0.25), once
    headers = 50 * 8 * bandwidth.overhead
    assert bandwidth.audio_bitrate(1) == int(225_000 - headers)
    assert bandwidth.audio_bitrate(2) == int((225_000 - 2 * headers) / 2)
