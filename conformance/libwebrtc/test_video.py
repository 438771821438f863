"""VP8 video both ways between pywebrtc and libwebrtc (node's ``@roamhq/wrtc``), both offer
directions. libwebrtc sends the quadrant pattern through its nonstandard RTCVideoSource (I420
frames at 30 fps) and we decode it from our RemoteVideoTrack, checking the picture, its size
and the pts; we send our PatternTrack and libwebrtc's RTCVideoSink counts the frames, their
size and rate, and reads the quadrants back; both sides' getStats agree on VP8.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from conformance.channels import TIMEOUT
from conformance.libwebrtc.driver import NodePeer
from conformance.libwebrtc.link import negotiate, new_link
from pywebrtc import MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from pywebrtc.stats import RTCInboundRtpStreamStats, RTCOutboundRtpStreamStats
from tests.media.video.patterns import QUADRANTS
from tests.peerconnection.video_helpers import (
    TOLERANCE,
    PatternTrack,
    assert_aiortc_timing,
    pattern_frames,
)

SIZE = (320, 240)


def run(test: Callable[[NodePeer], Awaitable[None]]) -> None:
    async def main() -> None:
        async with NodePeer() as node:
            await test(node)

    asyncio.run(asyncio.wait_for(main(), 120))


def prefer_vp8(pc: RTCPeerConnection) -> None:
    caps = RTCRtpReceiver.getCapabilities("video")
    assert caps is not None
    chosen = [c for c in caps.codecs if c.mimeType in ("video/VP8", "video/rtx")]
    for transceiver in pc.getTransceivers():
        transceiver.setCodecPreferences(chosen)


@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "libwebrtc-offers"])
def test_vp8_both_ways(we_offer: bool) -> None:
    async def body(node: NodePeer) -> None:
        link = await new_link(node)
        pc = link.pc
        remote: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video" and not remote.done():
                remote.set_result(track)

        ours = PatternTrack(*SIZE)
        try:
            if we_offer:
                pc.addTrack(ours)
                prefer_vp8(pc)
                await link.call("addPattern", *SIZE, list(QUADRANTS))
                await negotiate(link, we_offer=True)
            else:
                assert await link.call("addPattern", *SIZE, list(QUADRANTS)) == 1
                offer_sdp = await link.call("offer")
                await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
                pc.addTrack(ours)  # takes the transceiver the offer created
                prefer_vp8(pc)
                await pc.setLocalDescription(await pc.createAnswer())
                answer = pc.localDescription
                assert answer is not None
                await link.call("setAnswer", answer.sdp)
            (transceiver,) = pc.getTransceivers()
            assert transceiver.currentDirection == "sendrecv"

            # Theirs, here: the pattern, at most their size (libwebrtc scales down, never up,
            # when it thinks the CPU is short), on the 90 kHz clock.
            frames = await pattern_frames(await asyncio.wait_for(remote, TIMEOUT), 30, TIMEOUT)
            sizes = {(f.width, f.height) for f in frames}
            assert all(0 < w <= SIZE[0] and 0 < h <= SIZE[1] for w, h in sizes), sizes
            assert_aiortc_timing(frames)

            # Ours, there: 60 frames, our size, about our rate, the quadrants intact.
            seen = await link.call("seen", 60)
            assert set(seen["sizes"]) == {"320x240"}, seen["sizes"]
            rate = (seen["frames"] - 1) / (seen["span"] / 1000)
            assert 15 <= rate <= 40, (rate, seen)
            for mean, luma in zip(seen["means"], QUADRANTS, strict=True):
                assert abs(mean - luma) <= TOLERANCE, seen["means"]

            stats = await link.call("videoStats")
            assert stats["inbound"]["mimeType"] == "video/VP8", stats
            assert stats["outbound"]["mimeType"] == "video/VP8", stats
            assert stats["inbound"]["framesDecoded"] >= 60, stats["inbound"]
            assert stats["inbound"]["keyFramesDecoded"] >= 1, stats["inbound"]
            assert stats["outbound"]["framesEncoded"] >= 30, stats["outbound"]
            report = await pc.getStats()
            (inbound,) = report.of_type("inbound-rtp")
            (outbound,) = report.of_type("outbound-rtp")
            assert isinstance(inbound, RTCInboundRtpStreamStats) and inbound.kind == "video"
            assert (inbound.framesDecoded or 0) >= 30
            assert isinstance(outbound, RTCOutboundRtpStreamStats)
            assert (outbound.framesSent or 0) >= 60
        finally:
            await link.close()

    run(body)
