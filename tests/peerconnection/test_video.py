"""Video between two pywebrtc peer connections on loopback: real encoders and decoders (PyAV),
a test pattern checked after decoding, getStats, and recovery from userspace loss.

Real time: the pattern tracks pace at 30 frames a second; each test waits for decoded frames
(bounded by timeouts), never on a fixed delay.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from pathlib import Path

import av
import pytest

from pywebrtc import MediaStreamError, MediaStreamTrack, RTCPeerConnection, SettingEngine
from pywebrtc.contrib.media import MediaPlayer
from pywebrtc.media import EncodedVideoTrack, RemoteVideoTrack
from pywebrtc.sdp import SessionDescription
from pywebrtc.stats import RTCInboundRtpStreamStats, RTCOutboundRtpStreamStats
from pywebrtc.transmit import Address

from .audio_helpers import ToneTrack, tone_of
from .helpers import InboundLink, negotiate
from .video_helpers import PatternTrack, assert_aiortc_timing, pattern_frames

TIMEOUT = 20.0


def run(test: Callable[[], Awaitable[None]], limit: float = 60) -> None:
    asyncio.run(asyncio.wait_for(test(), limit))


def settings() -> SettingEngine:
    s = SettingEngine()
    s.include_loopback = True
    return s


def tracks_of(pc: RTCPeerConnection, kind: str = "video") -> asyncio.Future[MediaStreamTrack]:
    fut: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if track.kind == kind and not fut.done():
            fut.set_result(track)

    return fut


def prefer(pc: RTCPeerConnection, name: str) -> None:
    """Codec preferences of every video transceiver: ``name`` only."""
    from pywebrtc import RTCRtpReceiver

    caps = RTCRtpReceiver.getCapabilities("video")
    assert caps is not None
    for t in pc.getTransceivers():
        if t.kind == "video":
            t.setCodecPreferences([c for c in caps.codecs if c.mimeType == f"video/{name}"])


@pytest.mark.parametrize("codec", ["VP8", "H264", "VP9"])
def test_a_test_pattern_flows_both_ways_and_decodes(codec: str) -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        source_a, source_b = PatternTrack(), PatternTrack(240, 160)
        a.addTrack(source_a)
        b.addTrack(source_b)
        prefer(a, codec)
        a_track, b_track = tracks_of(a), tracks_of(b)
        await negotiate(a, b)
        offer = SessionDescription.parse(a.localDescription.sdp)  # type: ignore[union-attr]
        assert [m.media for m in offer.media] == ["video"]
        got_b = await pattern_frames(await b_track, 10)
        got_a = await pattern_frames(await a_track, 10)
        assert {(f.width, f.height) for f in got_b} == {(320, 240)}
        assert {(f.width, f.height) for f in got_a} == {(240, 160)}
        assert_aiortc_timing(got_b)
        for pc in (a, b):
            (t,) = pc.getTransceivers()
            assert t.kind == "video" and t.currentDirection == "sendrecv"
            assert isinstance(t.receiver.track, RemoteVideoTrack)
        stats = await b.getStats()
        (inbound,) = stats.of_type("inbound-rtp")
        (outbound,) = stats.of_type("outbound-rtp")
        assert isinstance(inbound, RTCInboundRtpStreamStats) and inbound.kind == "video"
        assert inbound.framesDecoded is not None and inbound.framesDecoded >= 10
        assert inbound.keyFramesDecoded is not None and inbound.keyFramesDecoded >= 1
        assert (inbound.frameWidth, inbound.frameHeight) == (320, 240)
        assert inbound.framesPerSecond is not None and inbound.framesPerSecond > 0
        assert isinstance(outbound, RTCOutboundRtpStreamStats) and outbound.kind == "video"
        assert outbound.framesEncoded is not None and outbound.framesEncoded >= 10
        assert outbound.framesSent is not None and outbound.framesSent >= 10
        assert (outbound.frameWidth, outbound.frameHeight) == (240, 160)
        codecs = {getattr(c, "mimeType", "") for c in stats.of_type("codec")}
        assert f"video/{codec}" in codecs
        media = stats.of_type("media-source")
        assert [getattr(m, "kind", "") for m in media] == ["video"]
        await a.close()
        await b.close()

    run(body)


def test_video_and_audio_share_the_transport_with_a_data_channel() -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        a.createDataChannel("chat")
        a.addTrack(ToneTrack(440))
        a.addTrack(PatternTrack())
        audio_b, video_b = tracks_of(b, "audio"), tracks_of(b, "video")
        await negotiate(a, b)
        await pattern_frames(await video_b, 5)
        heard = await tone_of(await audio_b)
        assert abs(heard - 440) < 10, heard
        assert b._media.drops.unrouted == 0
        # Transport-wide CC feedback covers audio and video: the plane gives it, not the audio
        # session (whose feedback would report every video packet lost).
        twcc = b._media._twcc
        assert twcc is not None and twcc.feedback_sent > 0
        audio = next(t for t in b.getTransceivers() if t.kind == "audio")
        assert audio.session is not None and audio.session.twcc is None
        await a.close()
        await b.close()

    run(body)


def test_five_percent_loss_recovers_through_nack_rtx_and_pli() -> None:
    """A lossy network in front of the receiver (seeded: 5 % of SRTP datagrams dropped, RTX
    included): frames keep coming with the pattern; NACKs and retransmissions are counted."""

    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        a.addTrack(PatternTrack(640, 480))
        video_b = tracks_of(b)
        b._ensure_ice(controlling=False)
        link = InboundLink(b)
        deliver = link.deliver
        rng = random.Random(5)
        lost = 0

        def lossy(data: bytes, remote: Address, local: Address, now: float) -> bool:
            nonlocal lost
            if data and 128 <= data[0] <= 191 and rng.random() < 0.05:
                lost += 1
                return False
            return deliver(data, remote, local, now)

        link.receive = lossy
        await negotiate(a, b)
        frames = await pattern_frames(await video_b, 90, timeout=40)
        assert len(frames) == 90
        assert lost >= 5
        stats = await b.getStats()
        (inbound,) = stats.of_type("inbound-rtp")
        assert isinstance(inbound, RTCInboundRtpStreamStats)
        assert inbound.nackCount > 0, inbound
        sent = await a.getStats()
        (outbound,) = sent.of_type("outbound-rtp")
        assert isinstance(outbound, RTCOutboundRtpStreamStats)
        assert outbound.retransmittedPacketsSent > 0, outbound
        await a.close()
        await b.close()
        link.close()

    run(body, 90)


def test_raw_mode_hands_encoded_frames_and_they_are_sent_on_without_transcoding() -> None:
    """b receives a's VP8 undecoded and sends those frames to c as they are (pass-through):
    c decodes a's pattern."""

    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        c = RTCPeerConnection(settings=settings())
        a.addTrack(PatternTrack())
        b.addTransceiver("video", direction="recvonly", decode=False)
        raw_b = tracks_of(b)
        await negotiate(b, a)
        raw = await raw_b
        assert isinstance(raw, EncodedVideoTrack)
        packet = await asyncio.wait_for(raw.recv(), TIMEOUT)
        assert isinstance(packet, av.Packet) and packet.size > 0
        b2 = RTCPeerConnection(settings=settings())  # the forwarding leg: b2 -> c
        b2.addTrack(raw)
        video_c = tracks_of(c)
        await negotiate(b2, c)
        await pattern_frames(await video_c, 10)
        stats = await b2.getStats()
        (outbound,) = stats.of_type("outbound-rtp")
        assert isinstance(outbound, RTCOutboundRtpStreamStats)
        assert outbound.framesEncoded == 0 and (outbound.framesSent or 0) >= 10
        for pc in (a, b, b2, c):
            await pc.close()

    run(body)


def test_a_packet_lost_with_its_retransmissions_is_repaired_by_pli_and_a_keyframe() -> None:
    """One media packet and every RTX packet for a second are dropped: NACK cannot help, the
    receiver gives the frame up, sends a PLI, the sender encodes a keyframe, frames go on."""

    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        sender = a.addTrack(PatternTrack())
        video_b = tracks_of(b)
        b._ensure_ice(controlling=False)
        link = InboundLink(b)
        deliver = link.deliver
        loop = asyncio.get_running_loop()
        cut: dict[str, float] = {}

        def lossy(data: bytes, remote: Address, local: Address, now: float) -> bool:
            if data and 128 <= data[0] <= 191 and len(data) > 12 and "at" in cut:
                ssrc = int.from_bytes(data[8:12])
                if ssrc == sender.rtx_ssrc and now < cut["at"] + 1.0:
                    return False
                if ssrc == sender.ssrc and "dropped" not in cut:
                    cut["dropped"] = now
                    return False
            return deliver(data, remote, local, now)

        link.receive = lossy
        await negotiate(a, b)
        track = await video_b
        await pattern_frames(track, 10)
        cut["at"] = loop.time()
        await pattern_frames(track, 45)
        assert "dropped" in cut
        stats = await b.getStats()
        (inbound,) = stats.of_type("inbound-rtp")
        assert isinstance(inbound, RTCInboundRtpStreamStats)
        assert inbound.pliCount is not None and inbound.pliCount >= 1, inbound
        assert inbound.keyFramesDecoded is not None and inbound.keyFramesDecoded >= 2, inbound
        sent = await a.getStats()
        (outbound,) = sent.of_type("outbound-rtp")
        assert isinstance(outbound, RTCOutboundRtpStreamStats)
        assert outbound.pliCount is not None and outbound.pliCount >= 1, outbound
        assert outbound.keyFramesEncoded is not None and outbound.keyFramesEncoded >= 2
        await a.close()
        await b.close()
        link.close()

    run(body)


def test_video_added_by_renegotiation_then_replaced_redirected_and_stopped() -> None:
    """An audio session gets a video section in a second offer; replaceTrack changes the
    picture source without renegotiation; direction recvonly stops our frames; stop() rejects
    the section and ends the remote track."""

    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        a.addTrack(ToneTrack(440))
        await negotiate(a, b)
        video_b = tracks_of(b)
        sender = a.addTrack(PatternTrack())
        await negotiate(a, b)
        assert [t.kind for t in b.getTransceivers()] == ["audio", "video"]
        track = await video_b
        await pattern_frames(track, 5)
        await sender.replaceTrack(PatternTrack(160, 120))
        assert isinstance(track, RemoteVideoTrack)
        for _ in range(60):  # the frames already on their way keep the old size
            frame = await asyncio.wait_for(track.recv(), TIMEOUT)
            if (frame.width, frame.height) == (160, 120):
                break
        assert (frame.width, frame.height) == (160, 120)
        video_a = a.getTransceivers()[1]
        video_a.direction = "recvonly"
        await negotiate(a, b)
        # b sends no video: the answer to recvonly is inactive
        assert video_a.currentDirection == "inactive"
        assert b.getTransceivers()[1].currentDirection == "inactive"
        assert video_a.video is not None and video_a.video.send_task is None
        video_a.stop()
        await negotiate(a, b)
        offer = SessionDescription.parse(a.localDescription.sdp)  # type: ignore[union-attr]
        assert [(m.media, m.port) for m in offer.media] == [("audio", 9), ("video", 0)]
        assert b.getTransceivers()[1].stopped
        with pytest.raises(MediaStreamError):
            while True:
                await asyncio.wait_for(track.recv(), TIMEOUT)
        await a.close()
        await b.close()

    run(body)


def test_a_media_players_vp8_packets_are_sent_without_transcoding(tmp_path: Path) -> None:
    """``MediaPlayer(file, decode=False).video`` (aiortc's shape) gives the WebM file's VP8
    packets (pts in the container's 1/1000): they go out as they are, and the far side decodes
    the pattern."""
    path = tmp_path / "pattern.webm"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libvpx", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.codec_context.options = {"lag-in-frames": "0", "auto-alt-ref": "0"}
        source = PatternTrack()
        for i in range(90):
            frame = av.VideoFrame(320, 240, "yuv420p")
            for plane, data in zip(frame.planes, source._planes[i % 30], strict=True):
                plane.update(data)
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)

    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        player = MediaPlayer(str(path), decode=False)
        assert player.video is not None
        a.addTrack(player.video)
        video_b = tracks_of(b)
        await negotiate(a, b)
        frames = await pattern_frames(await video_b, 20)
        assert_aiortc_timing(frames)
        stats = await a.getStats()
        (outbound,) = stats.of_type("outbound-rtp")
        assert isinstance(outbound, RTCOutboundRtpStreamStats)
        assert outbound.framesEncoded == 0 and (outbound.framesSent or 0) >= 20
        await a.close()
        await b.close()

    run(body)
