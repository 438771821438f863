"""VideoSession on a fake clock: two sessions on the simulated network sending real libvpx and
libx264 frames, with loss, reordering and duplication both ways; RTX wrapping and unwrapping,
NACK answered at once, PLI/FIR sent rate-limited and received as KeyframeRequested, BYE, and
Hypothesis over what the receive path parses."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pywebrtc.media.video import EncodedVideoFrame, VideoCodec
from pywebrtc.media.video.session import (
    KeyframeRequested,
    RemoteEnded,
    Transmit,
    VideoFrameReceived,
    VideoSession,
    VideoSessionConfig,
)
from pywebrtc.rtp import RtpPacket, parse_rtcp, serialize_rtcp
from pywebrtc.rtp.rtcp import Bye, Fir, FirEntry, Nack, Pli
from pywebrtc.rtp.sender import ExtensionIds
from pywebrtc.rtp.video.h264 import split_annexb
from tests.simnet import Duplicate, Impairment, Loss, Network, Reorder

from .streams import HEIGHT, TICKS, WIDTH, LiveEncoder, encoded

A, B = ("192.0.2.1", 5004), ("192.0.2.2", 5004)
CODECS = {
    "vp8": VideoCodec("VP8", 96, rtx_payload_type=97),
    "vp9": VideoCodec("VP9", 98, {"profile-id": "0"}, rtx_payload_type=99),
    "h264": VideoCodec("H264", 102, {"packetization-mode": "1"}, rtx_payload_type=103),
    "av1": VideoCodec("AV1", 45, rtx_payload_type=46),
}
SSRC = {"a": 0xA1, "b": 0xB2}
RTX_SSRC = {"a": 0xA101, "b": 0xB201}
MTU = 300  # several packets per frame at 160x120
FRAME = 1 / 30


def config(
    name: str, codec: str = "vp8", *, rtx: bool = True, **kwargs: object
) -> VideoSessionConfig:
    other = "b" if name == "a" else "a"
    c = CODECS[codec]
    if not rtx:
        c = replace(c, rtx_payload_type=None)
    base: dict[str, object] = {
        "ssrc": SSRC[name],
        "cname": f"peer-{name}",
        "send_codec": c,
        "receive_codecs": {c.payload_type: c},
        "rtx_ssrc": RTX_SSRC[name] if rtx else None,
        "mid": "1",
        "extension_ids": ExtensionIds(mid=4, transport_cc=3),
        "mtu": MTU,
        "remote_ssrc": SSRC[other],
        "remote_rtx_ssrc": RTX_SSRC[other] if rtx else None,
    }
    base.update(kwargs)
    return VideoSessionConfig(**base)  # type: ignore[arg-type]


class Call:
    """``a`` sends frames to ``b`` every 1/30 s over a network impaired both ways."""

    def __init__(self, a: VideoSession, b: VideoSession, impairments: tuple[Impairment, ...] = (),
                 delay: float = 0.03, seed: int = 1) -> None:  # fmt: skip
        self.net = Network(delay=delay, seed=seed)
        self.a = self.net.attach(a, A, peer=B, impairments=impairments, name="a",
                                 on_event=self._on_a_event)  # fmt: skip
        self.b = self.net.attach(b, B, peer=A, impairments=impairments, name="b")
        self.keyframe_wanted = False

    def _on_a_event(self, event: object) -> None:
        if isinstance(event, KeyframeRequested):
            self.keyframe_wanted = True

    def run(self, frames: tuple[EncodedVideoFrame, ...], tail: float = 2.0) -> None:
        """Send pre-encoded ``frames`` (keyframe requests go unanswered)."""
        self._run(len(frames), lambda i: [frames[i]], tail)

    def run_live(self, encoder: LiveEncoder, count: int, tail: float = 2.0) -> None:
        """Encode ``count`` frames as they are sent, a keyframe when ``a`` was asked for one."""

        def frame(index: int) -> list[EncodedVideoFrame]:
            wanted, self.keyframe_wanted = self.keyframe_wanted, False
            return encoder.encode(index, wanted)

        self._run(count, frame, tail)

    def _run(self, count: int, make: Callable[[int], list[EncodedVideoFrame]],
             tail: float) -> None:  # fmt: skip
        net = self.net
        sender: VideoSession = self.a.machine

        def send(index: int) -> None:
            for frame in make(index):
                sender.send_encoded(frame, net.now)
            if index + 1 < count:
                net.call_at(net.now + FRAME, lambda: send(index + 1))

        send(0)
        net.run(count * FRAME + tail)

    def received(self) -> list[EncodedVideoFrame]:
        return [e.frame for e in self.b.events if isinstance(e, VideoFrameReceived)]


def pair(
    codec: str = "vp8", *, rtx: bool = True, **kwargs: object
) -> tuple[VideoSession, VideoSession]:
    a = VideoSession(config("a", codec, rtx=rtx, **kwargs), rng=random.Random(1))
    b = VideoSession(config("b", codec, rtx=rtx, **kwargs), rng=random.Random(2))
    return a, b


def stat(session: VideoSession, kind: str) -> dict[str, float]:
    """The numeric fields of the session's ``kind`` stats entry."""
    entry = next(s for s in session.stats() if s["type"] == kind)
    return {k: v for k, v in entry.items() if isinstance(v, int | float)}


def nals(frame: EncodedVideoFrame) -> object:
    """The frame's content: H.264 start codes may be 3 or 4 bytes (we write 4)."""
    return split_annexb(frame.data) if frame.codec == "h264" else frame.data


def check_decodable(
    sender: VideoSession, sent: Sequence[EncodedVideoFrame], got: list[EncodedVideoFrame]
) -> list[int]:
    """What arrived is sent frames, content for content, in order, a keyframe first and after
    every gap; returns the indexes that arrived."""
    assert sender.sender is not None
    by_ts = {sender.sender.rtp_timestamp(f.timestamp): i for i, f in enumerate(sent)}
    previous = -1
    indexes: list[int] = []
    for frame in got:
        index = by_ts[frame.timestamp]
        assert index > previous
        assert nals(frame) == nals(sent[index])
        assert frame.keyframe == sent[index].keyframe
        if index != previous + 1:
            assert frame.keyframe, f"frame {index} follows a gap but is not a keyframe"
        indexes.append(index)
        previous = index
    return indexes


@pytest.mark.parametrize("codec", ["vp8", "vp9", "h264", "av1"])
def test_clean_path_delivers_every_frame(codec: str) -> None:
    frames = encoded(codec)
    a, b = pair(codec)
    call = Call(a, b)
    call.run(frames)
    got = call.received()
    assert [nals(f) for f in got] == [nals(f) for f in frames]
    assert [f.keyframe for f in got] == [f.keyframe for f in frames]
    assert all(f.codec == codec for f in got)
    inbound, outbound = stat(b, "inbound-rtp"), stat(a, "outbound-rtp")
    assert inbound["framesReceived"] == len(frames)
    assert inbound["keyFramesReceived"] == 3
    assert inbound["packetsLost"] == 0 and inbound["framesDropped"] == 0
    assert inbound["pliCount"] == 0 and inbound["nackCount"] == 0
    assert outbound["framesSent"] == len(frames) and outbound["keyFramesSent"] == 3
    assert outbound["packetsSent"] == inbound["packetsReceived"]
    assert outbound["bytesSent"] == inbound["bytesReceived"]
    assert outbound["frameWidth"] == WIDTH and outbound["frameHeight"] == HEIGHT
    if codec == "vp8":  # read from the keyframe header
        assert (inbound["frameWidth"], inbound["frameHeight"]) == (WIDTH, HEIGHT)
    # reports went both ways: b knows a's SR, a knows the RTT from b's RR
    assert stat(b, "remote-outbound-rtp")["ssrc"] == SSRC["a"]
    rtt = stat(a, "remote-inbound-rtp")["roundTripTime"]
    assert rtt == pytest.approx(0.06, abs=0.005)


@pytest.mark.parametrize(
    ("codec", "rtx", "seed"),
    [(c, rtx, seed) for c in ("vp8", "h264") for rtx in (True, False) for seed in range(1, 7)]
    + [("av1", True, 1), ("av1", False, 2)],
)
def test_lossy_path_recovers_through_nack_and_pli(codec: str, rtx: bool, seed: int) -> None:
    """5 % loss, reordering and duplication both ways (RTCP too), a live encoder with no
    periodic keyframes: holes are repaired by NACK (RTX or resend); what cannot be (the
    stream's first packets, whose loss no later sequence number reveals, or a repair lost
    again and again) is asked for with a PLI, and the stream goes on from the keyframe the
    encoder makes. Every frame after that arrives, apart from the few before a keyframe."""
    encoder = LiveEncoder(codec)
    a, b = pair(codec, rtx=rtx)
    impairments = (Loss(0.05), Reorder(0.05, 0.02), Duplicate(0.02))
    call = Call(a, b, impairments, seed=seed)
    count = 150
    call.run_live(encoder, count)
    arrived = check_decodable(a, encoder.sent, call.received())
    inbound, outbound = stat(b, "inbound-rtp"), stat(a, "outbound-rtp")
    assert inbound["nackCount"] and outbound["nackCount"]
    assert outbound["retransmittedPacketsSent"]
    if rtx:
        assert inbound["retransmittedPacketsReceived"]
    else:
        assert inbound["retransmittedPacketsReceived"] == 0
    keyframes = [i for i, f in enumerate(encoder.sent) if f.keyframe]
    assert len(keyframes) - 1 == outbound["pliCount"] == len(call.a.events)  # each asked for
    assert inbound["pliCount"] >= outbound["pliCount"]
    missing = sorted(set(range(count)) - set(arrived))
    # A frame is missing only when a keyframe follows it (skipped to, or asked for by PLI),
    # or it is the last one (a lost tail packet reveals no hole).
    for i in missing:
        later = [k for k in keyframes if k > i]
        assert i == count - 1 or later, (i, missing, keyframes)
    assert arrived[-1] >= count - 2
    assert len(arrived) >= 0.9 * count, (len(arrived), missing, inbound)


@pytest.mark.parametrize("codec", ["vp8", "h264", "av1"])
def test_outage_longer_than_the_retransmission_buffer_recovers_by_pli(codec: str) -> None:
    """3.5 s of a's packets lost: the retransmission buffer keeps 3 s, so the hole cannot be
    repaired; b gives it up after max_delay, asks with a PLI (and a, NACKed for packets it no
    longer holds, knows it too), a's encoder makes a keyframe, and every frame from there on
    arrives."""
    encoder = LiveEncoder(codec)
    a, b = pair(codec)
    call = Call(a, b, (Loss(0.02),), seed=3)
    call.net.drop = lambda d: d.sender == "a" and 1.0 <= d.at < 4.5
    call.run_live(encoder, 200)
    arrived = check_decodable(a, encoder.sent, call.received())
    outbound = stat(a, "outbound-rtp")
    assert outbound["pliCount"] >= 1 and outbound["nackCount"]
    keyframes = [i for i, f in enumerate(encoder.sent) if f.keyframe]
    assert keyframes[0] == 0 and len(keyframes) >= 2
    recovery = keyframes[1]
    assert recovery * FRAME < 4.5 + 0.2  # the outage, a round trip and a frame (no max_delay)
    # the frames sent after the outage but before the keyframe refer to lost ones
    assert set(range(200)) - set(arrived) == set(range(round(1.0 / FRAME) + 1, recovery))


@pytest.mark.parametrize("outage", [1.0, 3.5])
def test_a_hole_longer_than_a_senders_packet_history_asks_for_a_keyframe_at_once(
    outage: float,
) -> None:
    """The first packet after an outage: a hole of 1 s is NACKed and waited for (the sender
    still holds the packets); one of 3.5 s is older than any sender's history (libwebrtc's and
    ours keep 3 s), so b sends its PLI with that packet instead of max_delay later."""
    a, b = pair("vp8")
    frames = encoded("vp8", 110, gop=1000)
    for frame in frames[:3]:
        for packet in _media(a, frame):
            b.receive_packet(packet, 0.0)
    list(iter(b.poll, None))
    sent = round(outage * 30)
    for i, frame in enumerate(frames[3:sent], 3):  # lost in the outage
        _media(a, replace(frame, timestamp=i * TICKS))
    packets = _media(a, replace(frames[sent], timestamp=sent * TICKS))
    b.receive_packet(packets[0], outage)
    b.tick(outage)
    rtcp = _rtcp(list(iter(b.poll, None)))
    plis = [p for p in rtcp if isinstance(p, Pli)]
    assert [p for p in rtcp if isinstance(p, Nack)]  # asked for in any case
    if outage < 3:
        assert plis == []  # the retransmissions will come
        b.tick(outage + 0.5)  # max_delay later, unrepaired, the hole is given up
        plis = [p for p in _rtcp(list(iter(b.poll, None))) if isinstance(p, Pli)]
    assert plis == [Pli(SSRC["b"], SSRC["a"])]


def test_lost_start_of_stream_is_asked_for_with_pli() -> None:
    """The first packets (the keyframe's start) are lost and no earlier sequence number
    reveals the hole to NACK: b asks for a keyframe once max_delay passed without one."""
    encoder = LiveEncoder("vp8")
    a, b = pair("vp8")
    call = Call(a, b)
    call.net.drop = lambda d: d.sender == "a" and d.index < 2
    call.run_live(encoder, 30)
    arrived = check_decodable(a, encoder.sent, call.received())
    assert stat(b, "inbound-rtp")["pliCount"] == 1
    assert arrived[0] > 0 and encoder.sent[arrived[0]].keyframe
    assert arrived == list(range(arrived[0], 30))
    assert arrived[0] * FRAME < 0.5 + 0.1 + 2 * FRAME


def test_lossy_path_without_nack_waits_for_keyframes_and_asks() -> None:
    """No NACK negotiated: nothing is retransmitted, a hole is given up after the reordering
    wait (not max_delay), and each loss is repaired by a keyframe asked for with PLI."""
    encoder = LiveEncoder("vp8")
    a, b = pair("vp8", nack=False)
    call = Call(a, b, (Loss(0.02),), seed=4)
    call.run_live(encoder, 90)
    arrived = check_decodable(a, encoder.sent, call.received())
    inbound = stat(b, "inbound-rtp")
    assert inbound["nackCount"] == 0 and inbound["pliCount"]
    assert stat(a, "outbound-rtp")["retransmittedPacketsSent"] == 0
    assert a.retransmit is None and b.nack is None
    # every loss costs the frames up to the next keyframe (and keyframes get lost too)
    assert 45 < len(arrived) < 90 and inbound["pliCount"] >= 3


def _media(session: VideoSession, frame: EncodedVideoFrame, now: float = 0.0) -> list[RtpPacket]:
    session.send_encoded(frame, now)
    out: list[RtpPacket] = []
    while (item := session.poll()) is not None:
        assert isinstance(item, Transmit)
        out.append(RtpPacket.parse(item.data))
    return out


def test_nack_is_answered_at_once_on_the_rtx_stream() -> None:
    a, _ = pair("vp8")
    packets = _media(a, encoded("vp8")[0])
    assert len(packets) > 3 and packets[-1].marker and not any(p.marker for p in packets[:-1])
    lost = [packets[1].sequence_number, packets[3].sequence_number]
    a.receive(serialize_rtcp([Nack.from_lost(SSRC["b"], SSRC["a"], lost)]), 0.1)
    out = [RtpPacket.parse(t.data) for t in iter(a.poll, None) if isinstance(t, Transmit)]
    assert [p.ssrc for p in out] == [RTX_SSRC["a"]] * 2
    assert all(p.payload_type == 97 for p in out)
    assert out[1].sequence_number == (out[0].sequence_number + 1) & 0xFFFF
    for rtx, original in zip(out, (packets[1], packets[3]), strict=True):
        assert int.from_bytes(rtx.payload[:2]) == original.sequence_number
        assert rtx.payload[2:] == original.payload
        assert rtx.timestamp == original.timestamp and rtx.marker == original.marker
        assert rtx.extension(4) == b"1"  # the mid goes with it
        assert rtx.extension(3) != original.extension(3)  # a fresh transport-wide number
    assert stat(a, "outbound-rtp")["retransmittedPacketsSent"] == 2
    assert stat(a, "outbound-rtp")["nackCount"] == 1


def test_nack_without_rtx_resends_the_packet_as_it_was() -> None:
    a, _ = pair("vp8", rtx=False, extension_ids=ExtensionIds())
    packets = _media(a, encoded("vp8")[0])
    a.receive(
        serialize_rtcp([Nack.from_lost(SSRC["b"], SSRC["a"], [packets[2].sequence_number])]), 0.1
    )
    out = [t.data for t in iter(a.poll, None) if isinstance(t, Transmit)]
    assert out == [bytes(packets[2])]


def test_rtx_is_unwrapped_into_the_packet_it_repairs() -> None:
    a, b = pair("vp8")
    packets = _media(a, encoded("vp8")[0])
    for p in packets:
        if p is not packets[2]:
            b.receive_packet(p, 0.0)
    assert not [e for e in iter(b.poll, None) if isinstance(e, VideoFrameReceived)]
    rtx = replace(packets[2], ssrc=RTX_SSRC["a"], payload_type=97, sequence_number=7,
                  payload=packets[2].sequence_number.to_bytes(2) + packets[2].payload)  # fmt: skip
    b.receive_packet(rtx, 0.05)
    frames = [e.frame for e in iter(b.poll, None) if isinstance(e, VideoFrameReceived)]
    assert [f.data for f in frames] == [encoded("vp8")[0].data]  # VP8: bytes as sent
    assert stat(b, "inbound-rtp")["retransmittedPacketsReceived"] == 1
    # RTX from an SSRC other than the negotiated one, and padding-only RTX, are dropped
    b.receive_packet(replace(rtx, ssrc=0x999), 0.06)
    b.receive_packet(replace(rtx, payload=b""), 0.06)
    assert b.drops.unknown_ssrc == 1 and b.drops.rtx_without_source == 1


def _rtcp(items: list[Transmit | object]) -> list[object]:
    out: list[object] = []
    for item in items:
        if isinstance(item, Transmit) and 192 <= item.data[1] <= 223:
            out.extend(parse_rtcp(item.data))
    return out


def test_keyframe_requests_are_rate_limited_and_retried() -> None:
    _, b = pair("vp8")
    b.request_keyframe(1.0)
    b.request_keyframe(1.1)
    b.request_keyframe(1.2)
    plis = [p for p in _rtcp(list(iter(b.poll, None))) if isinstance(p, Pli)]
    assert plis == [Pli(SSRC["b"], SSRC["a"])]
    assert b.deadline() == pytest.approx(1.3)  # the held-back request
    b.tick(1.3)
    assert len([p for p in _rtcp(list(iter(b.poll, None))) if isinstance(p, Pli)]) == 1
    assert stat(b, "inbound-rtp") if b.reporter.sources else True
    assert b.plis_sent == 2
    # a keyframe arriving cancels what is held back
    a, b = pair("vp8")
    b.request_keyframe(0.0)
    b.request_keyframe(0.1)
    for p in _media(a, encoded("vp8")[0]):
        b.receive_packet(p, 0.2)
    list(iter(b.poll, None))
    b.tick(0.3)
    assert not [p for p in _rtcp(list(iter(b.poll, None))) if isinstance(p, Pli)]
    assert b.plis_sent == 1


def test_keyframe_request_interval_grows_with_the_rtt() -> None:
    _, b = pair("vp8")
    b.reporter.round_trip_time = 0.8
    b.request_keyframe(0.0)
    b.request_keyframe(0.5)
    assert b.deadline() == pytest.approx(0.8)


def test_fir_when_only_fir_was_negotiated() -> None:
    _, b = pair("vp8", pli=False, fir=True)
    b.request_keyframe(0.0)
    b.request_keyframe(1.0)
    firs = [p for p in _rtcp(list(iter(b.poll, None))) if isinstance(p, Fir)]
    assert [f.entries for f in firs] == [(FirEntry(SSRC["a"], 1),), (FirEntry(SSRC["a"], 2),)]
    _, c = pair("vp8", pli=False, fir=False)
    c.request_keyframe(0.0)
    assert not _rtcp(list(iter(c.poll, None)))


def test_nack_for_a_packet_no_longer_held_raises_keyframe_requested_rate_limited() -> None:
    a, _ = pair("vp8")
    packets = _media(a, encoded("vp8")[0])
    seq = packets[1].sequence_number
    a.receive(serialize_rtcp([Nack.from_lost(SSRC["b"], SSRC["a"], [seq])]), 1.0)
    assert not [e for e in iter(a.poll, None) if isinstance(e, KeyframeRequested)]
    for at in (3.5, 3.6, 4.6):  # the packet is older than the 3 s a keeps: not resent
        a.receive(serialize_rtcp([Nack.from_lost(SSRC["b"], SSRC["a"], [seq])]), at)
    events = list(iter(a.poll, None))
    assert not [e for e in events if isinstance(e, Transmit) and RtpPacket.parse(e.data).ssrc]
    assert events == [KeyframeRequested("nack"), KeyframeRequested("nack")]  # 3.5 and 4.6


def test_pli_and_fir_received_raise_keyframe_requested() -> None:
    a, _ = pair("vp8")
    a.receive(serialize_rtcp([Pli(SSRC["b"], SSRC["a"])]), 0.0)
    a.receive(serialize_rtcp([Pli(SSRC["b"], 0x1234)]), 0.0)  # about another stream
    fir = Fir(SSRC["b"], (FirEntry(SSRC["a"], 5),))
    a.receive(serialize_rtcp([fir]), 0.1)
    a.receive(serialize_rtcp([fir]), 0.2)  # RFC 5104: the same request repeated
    a.receive(serialize_rtcp([Fir(SSRC["b"], (FirEntry(SSRC["a"], 6),))]), 0.3)
    events = list(iter(a.poll, None))
    assert events == [KeyframeRequested("pli"), KeyframeRequested("fir"), KeyframeRequested("fir")]
    outbound = stat(a, "outbound-rtp")
    assert outbound["pliCount"] == 1 and outbound["firCount"] == 2


def test_bye_ends_the_remote_and_close_sends_bye() -> None:
    a, b = pair("vp8")
    for p in _media(a, encoded("vp8")[0]):
        b.receive_packet(p, 0.0)
    list(iter(b.poll, None))
    a.close(1.0, "done")
    byes = [t for t in iter(a.poll, None) if isinstance(t, Transmit)]
    assert any(isinstance(p, Bye) for p in _rtcp(list(byes)))
    for t in byes:
        b.receive(t.data, 1.0)
    assert list(iter(b.poll, None)) == [RemoteEnded(SSRC["a"], "done")]
    a.send_encoded(encoded("vp8")[1], 1.1)
    a.receive(serialize_rtcp([Nack.from_lost(SSRC["b"], SSRC["a"], [0, 1, 2])]), 1.2)
    assert a.poll() is None and a.deadline() is None


def test_learns_the_remote_ssrc_and_drops_others() -> None:
    a, _ = pair("vp8")
    b = VideoSession(config("b", "vp8", remote_ssrc=None, remote_rtx_ssrc=None))
    for p in _media(a, encoded("vp8")[0]):
        b.receive_packet(p, 0.0)
        b.receive_packet(replace(p, ssrc=0x777), 0.0)
        b.receive_packet(replace(p, payload_type=45), 0.0)
    assert b.remote_ssrc == SSRC["a"]
    assert len([e for e in iter(b.poll, None) if isinstance(e, VideoFrameReceived)]) == 1
    assert b.drops.unknown_payload_type == b.drops.unknown_ssrc > 0


def test_a_frame_of_the_wrong_codec_is_a_caller_bug() -> None:
    a, _ = pair("vp8")
    with pytest.raises(ValueError):
        a.send_encoded(encoded("h264")[0], 0.0)


def test_a_negotiated_format_without_depacketizer_is_counted() -> None:
    h265 = VideoCodec("H265", 49)
    b = VideoSession(config("b", "vp8", receive_codecs={49: h265}))
    b.receive_packet(RtpPacket(49, 1, 0, SSRC["a"], b"\x10\x00", True), 0.0)
    assert b.poll() is None and b.drops.unsupported_codec == 1


def test_first_frame_timestamp_is_the_senders_offset_plus_media_time() -> None:
    a, _ = pair("vp8")
    first = _media(a, encoded("vp8")[0])[0]
    second = _media(a, encoded("vp8")[1], FRAME)[0]
    assert (second.timestamp - first.timestamp) & 0xFFFFFFFF == TICKS


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=20))
def test_arbitrary_datagrams_are_dropped_or_taken_never_raise(datagrams: list[bytes]) -> None:
    _, b = pair("vp8")
    for i, data in enumerate(datagrams):
        b.receive(data, i * 0.01)
        b.tick(i * 0.01)
        list(iter(b.poll, None))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([96, 97, 102, 103]),
            st.integers(0, 0xFFFF),
            st.integers(0, 0xFFFFFFFF),
            st.sampled_from([SSRC["a"], RTX_SSRC["a"]]),
            st.binary(max_size=40),
            st.booleans(),
        ),  # fmt: skip
        max_size=30,
    ),
    st.sampled_from(["vp8", "h264"]),
)
def test_arbitrary_rtp_and_rtx_packets_never_raise(
    packets: list[tuple[int, int, int, int, bytes, bool]], codec: str
) -> None:
    _, b = pair(codec)
    now = 0.0
    for pt, seq, ts, ssrc, payload, marker in packets:
        b.receive_packet(RtpPacket(pt, seq, ts, ssrc, payload, marker), now)
        now += 0.02
        b.tick(now)
        for e in iter(b.poll, None):
            if isinstance(e, VideoFrameReceived):
                assert e.frame.codec == codec
