"""VP8 pass-through with Pion WebRTC v3 (127.0.0.1), both offer directions. Pion has no video
codec: it only moves encoded VP8. Reflect (Pion's examples/reflect): Pion writes the RTP
packets of the video track it receives from us onto its own VP8 track (its
TrackLocalStaticRTP rewrites SSRC and payload type) and passes our PLIs upstream as its own;
we decode our own quadrant pattern coming back. IVF: Pion plays an IVF file this test encodes
with libvpx beforehand, 30 frames a second (its ivfreader and TrackLocalStaticSample's VP8
packetizer); we decode the pattern at the file's size and rate."""

from __future__ import annotations

import asyncio
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest

from conformance.pion.driver import PionPeer
from conformance.pion.test_datachannels import loopback_settings, run
from pywebrtc import MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from pywebrtc.stats import RTCInboundRtpStreamStats, RTCOutboundRtpStreamStats
from tests.media.video.patterns import quadrants
from tests.peerconnection.video_helpers import PatternTrack, assert_aiortc_timing, pattern_frames

TIMEOUT = 20.0
SIZE = (320, 240)
OFFERS = pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "pion-offers"])


def write_ivf(path: Path, frames: int = 60) -> None:
    """``frames`` of the quadrant pattern as VP8 in IVF, 30 a second, a keyframe first."""
    with av.open(str(path), "w", format="ivf") as container:
        stream: Any = container.add_stream("libvpx", rate=30)
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = 500_000
        for index in range(frames):
            frame = quadrants(index, *SIZE, pts=index, time_base=Fraction(1, 30))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


async def connect(pion: PionPeer, we_offer: bool, track: PatternTrack | None) -> Any:
    """Our peer connection, negotiated with Pion (whose video command ran before), VP8 only;
    returns it and the future of its remote video track."""
    ours = RTCPeerConnection(settings=loopback_settings())
    remote: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()

    def on_track(value: MediaStreamTrack) -> None:
        if value.kind == "video" and not remote.done():
            remote.set_result(value)

    ours.on("track", on_track)

    def add_ours() -> None:
        if track is not None:
            ours.addTrack(track)
        else:
            ours.addTransceiver("video", direction="recvonly")
        caps = RTCRtpReceiver.getCapabilities("video")
        assert caps is not None
        vp8 = [c for c in caps.codecs if c.mimeType in ("video/VP8", "video/rtx")]
        ours.getTransceivers()[0].setCodecPreferences(vp8)

    if we_offer:
        add_ours()
        await ours.setLocalDescription(await ours.createOffer())
        assert ours.localDescription is not None
        answer = (await pion.call("answer", sdp=ours.localDescription.sdp))["sdp"]
        await ours.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    else:
        offer = (await pion.call("offer"))["sdp"]
        await ours.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        add_ours()  # reuses the offered transceiver
        await ours.setLocalDescription(await ours.createAnswer())
        assert ours.localDescription is not None
        await pion.call("accept", sdp=ours.localDescription.sdp)
    return ours, remote


@OFFERS
def test_vp8_reflected_by_pion(pion: None, we_offer: bool) -> None:
    async def body() -> None:
        async with await PionPeer.start() as peer:
            await peer.call("video", reflect=True)
            ours, remote = await connect(peer, we_offer, PatternTrack(*SIZE))
            try:
                frames = await pattern_frames(await asyncio.wait_for(remote, TIMEOUT), 30, TIMEOUT)
                assert {(f.width, f.height) for f in frames} == {SIZE}
                assert_aiortc_timing(frames)
                stats = await peer.call("video_stats")
                assert stats["mimeType"] == "video/VP8", stats
                assert stats["packets"] >= 30 and stats["reflected"] >= 30, stats
                report = await ours.getStats()
                (inbound,) = report.of_type("inbound-rtp")
                (outbound,) = report.of_type("outbound-rtp")
                assert isinstance(inbound, RTCInboundRtpStreamStats)
                assert (inbound.framesDecoded or 0) >= 30 and (inbound.keyFramesDecoded or 0) >= 1
                assert (inbound.frameWidth, inbound.frameHeight) == SIZE
                assert isinstance(outbound, RTCOutboundRtpStreamStats)
                assert (outbound.framesSent or 0) >= 30
            finally:
                await ours.close()

    run(body)


@OFFERS
def test_vp8_from_an_ivf_file(pion: None, we_offer: bool, tmp_path: Path) -> None:
    ivf = tmp_path / "pattern.ivf"
    write_ivf(ivf)

    async def body() -> None:
        async with await PionPeer.start() as peer:
            await peer.call("video", send=str(ivf))
            ours, remote = await connect(peer, we_offer, None)
            try:
                track = await asyncio.wait_for(remote, TIMEOUT)
                loop = asyncio.get_running_loop()
                frames = await pattern_frames(track, 60, TIMEOUT)
                start = loop.time()
                frames += await pattern_frames(track, 30, TIMEOUT)
                rate = 30 / (loop.time() - start)
                assert 20 <= rate <= 40, rate
                assert {(f.width, f.height) for f in frames} == {SIZE}
                assert_aiortc_timing(frames)
                report = await ours.getStats()
                (inbound,) = report.of_type("inbound-rtp")
                assert isinstance(inbound, RTCInboundRtpStreamStats)
                assert (inbound.framesDecoded or 0) >= 90
            finally:
                await ours.close()

    run(body)
