"""Video between pywebrtc and aiortc (unmodified, same event loop), both offer directions,
VP8 and H.264: each side sends the quadrant test pattern (tests/peerconnection/
video_helpers.py), each side decodes the other's and checks the pattern; both getStats count
the frames.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiortc
import av
import pytest
from aiortc.mediastreams import VideoStreamTrack as AiortcVideoTrack

from pywebrtc import RTCPeerConnection, RTCSessionDescription, SettingEngine
from pywebrtc.stats import RTCInboundRtpStreamStats, RTCOutboundRtpStreamStats
from tests.peerconnection.video_helpers import (
    NoiseTrack,
    PatternTrack,
    assert_aiortc_timing,
    pattern_frames,
)

TIMEOUT = 30.0


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 90))


class AiortcPattern(AiortcVideoTrack):
    """aiortc's side of the pattern: its VideoStreamTrack pacer (30 fps, 90 kHz pts) with our
    pictures in the frames."""

    def __init__(self, width: int = 320, height: int = 240) -> None:
        super().__init__()
        self.pictures = PatternTrack(width, height)

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        source = self.pictures
        frame = av.VideoFrame(source.width, source.height, "yuv420p")
        planes = source._planes[source.frames_sent % len(source._planes)]
        for plane, data in zip(frame.planes, planes, strict=True):
            plane.update(data)
        source.frames_sent += 1
        frame.pts = pts
        frame.time_base = time_base
        return frame


def resolve(fut: asyncio.Future[Any]) -> Callable[[Any], None]:
    def handler(value: Any = None) -> None:
        if not fut.done():
            fut.set_result(value)

    return handler


def force(transceiver: Any, mime: str) -> None:
    """aiortc's examples/server ``force_codec``: the codec and its rtx."""
    codecs = aiortc.RTCRtpSender.getCapabilities("video").codecs
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType in (mime, "video/rtx")])


@pytest.mark.parametrize("codec", ["VP8", "H264"])
@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "aiortc-offers"])
def test_the_pattern_both_ways(we_offer: bool, codec: str) -> None:
    async def body() -> None:
        settings = SettingEngine()
        settings.include_loopback = True
        ours = RTCPeerConnection(settings=settings)
        theirs = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))
        loop = asyncio.get_running_loop()
        our_track: asyncio.Future[Any] = loop.create_future()
        their_track: asyncio.Future[Any] = loop.create_future()
        ours.on("track", resolve(our_track))
        theirs.on("track", resolve(their_track))
        their_transceiver = theirs.addTransceiver(AiortcPattern(), direction="sendrecv")
        force(their_transceiver, f"video/{codec}")
        if we_offer:
            ours.addTrack(PatternTrack(240, 160))
            caps = aiortc.RTCRtpSender.getCapabilities("video").codecs
            ours.getTransceivers()[0].setCodecPreferences(
                [c for c in caps if c.mimeType in (f"video/{codec}", "video/rtx")]
            )
            await ours.setLocalDescription(await ours.createOffer())
            offer = ours.localDescription
            assert offer is not None
            # aiortc's transceiver (made before the offer) takes our video section.
            await theirs.setRemoteDescription(aiortc.RTCSessionDescription(offer.sdp, "offer"))
            await theirs.setLocalDescription(await theirs.createAnswer())
            answer = theirs.localDescription
            await ours.setRemoteDescription(RTCSessionDescription(answer.sdp, "answer"))
        else:
            await theirs.setLocalDescription(await theirs.createOffer())
            their_offer = theirs.localDescription
            await ours.setRemoteDescription(RTCSessionDescription(their_offer.sdp, "offer"))
            ours.addTrack(PatternTrack(240, 160))  # takes the offered transceiver
            await ours.setLocalDescription(await ours.createAnswer())
            our_answer = ours.localDescription
            assert our_answer is not None
            await theirs.setRemoteDescription(
                aiortc.RTCSessionDescription(our_answer.sdp, "answer")
            )
        we_got = await pattern_frames(await asyncio.wait_for(our_track, TIMEOUT), 10, TIMEOUT)
        they_got = await pattern_frames(await asyncio.wait_for(their_track, TIMEOUT), 10, TIMEOUT)
        assert {(f.width, f.height) for f in we_got} == {(320, 240)}
        assert {(f.width, f.height) for f in they_got} == {(240, 160)}
        assert_aiortc_timing(we_got)
        stats = await ours.getStats()
        (inbound,) = stats.of_type("inbound-rtp")
        (outbound,) = stats.of_type("outbound-rtp")
        assert isinstance(inbound, RTCInboundRtpStreamStats) and inbound.kind == "video"
        assert (inbound.framesDecoded or 0) >= 10 and inbound.frameWidth == 320
        assert isinstance(outbound, RTCOutboundRtpStreamStats)
        assert (outbound.framesEncoded or 0) >= 10
        codecs = {getattr(c, "mimeType", "") for c in stats.of_type("codec")}
        assert f"video/{codec}" in codecs, codecs
        their_stats = await theirs.getStats()
        received = [s for s in their_stats.values() if s.type == "inbound-rtp"]
        assert received and received[0].packetsReceived > 10
        await ours.close()
        await theirs.close()

    run(body)


def test_aiortcs_remb_drives_our_video_encoder() -> None:
    """aiortc receiving our video answers with goog-remb and no transport-cc: its REMB (its
    receive-side estimate) is then our estimate's cap and our encoder follows it as it grows."""

    async def body() -> None:
        settings = SettingEngine()
        settings.include_loopback = True
        ours = RTCPeerConnection(settings=settings)
        theirs = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))
        theirs.on("track", lambda track: None)
        ours.addTrack(NoiseTrack())
        try:
            await ours.setLocalDescription(await ours.createOffer())
            offer = ours.localDescription
            assert offer is not None
            await theirs.setRemoteDescription(aiortc.RTCSessionDescription(offer.sdp, "offer"))
            await theirs.setLocalDescription(await theirs.createAnswer())
            answer = theirs.localDescription.sdp
            assert "goog-remb" in answer and "transport-cc" not in answer
            await ours.setRemoteDescription(RTCSessionDescription(answer, "answer"))
            loop = asyncio.get_running_loop()
            end = loop.time() + TIMEOUT
            while (bw := ours._media.bandwidth) is None or bw.estimator.remb_bitrate is None:
                assert loop.time() < end, "no REMB from aiortc"
                await asyncio.sleep(0.25)
            samples: list[tuple[int, int]] = []  # (REMB, our encoder's target)
            while loop.time() < end:
                await asyncio.sleep(0.5)
                remb = bw.estimator.remb_bitrate
                assert remb is not None and bw.target_bitrate <= remb
                (outbound,) = (await ours.getStats()).of_type("outbound-rtp")
                assert isinstance(outbound, RTCOutboundRtpStreamStats)
                target = int(outbound.targetBitrate or 0)
                samples.append((remb, target))
                assert target <= remb, samples
                if len(samples) > 2 and target > 1.3 * samples[0][1]:
                    break  # it grew with aiortc's estimate
            else:
                raise AssertionError(f"our encoder did not follow aiortc's REMB up: {samples}")
            assert bw.estimator.counters.feedbacks == 0  # REMB alone drove it
        finally:
            await ours.close()
            await theirs.close()

    run(body)
