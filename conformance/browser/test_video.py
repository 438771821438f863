"""Video between pywebrtc and headless Chromium and Firefox ESR, both offer directions, VP8
(and the browser's own choice; H.264 with Chromium): the browser sends its fake camera
(Chromium ``--use-fake-device-for-media-stream``, Firefox ``media.navigator.streams.fake``), we
decode it; we send the quadrant test pattern, the browser decodes it, shows it (read back
through a canvas) and its getStats counts the frames, their size and rate. AV1, which we only
receive: Chromium's camera in AV1, decoded here. A whole call: microphone, camera and data
channel each way on one transport. One launch per browser.

node libwebrtc and Pion can reuse :mod:`conformance.browser.video_scenario`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import pytest

from conformance.browser.driver import (
    BrowserSession,
    Closer,
    launch_chromium,
    launch_firefox,
)
from conformance.browser.video_scenario import (
    TIMEOUT,
    VideoLink,
    browser_decodes_our_pattern,
    connect_video,
    video_both_ways,
)
from pywebrtc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from pywebrtc.stats import RTCInboundRtpStreamStats
from tests.peerconnection.audio_helpers import ToneTrack, tone_of
from tests.peerconnection.video_helpers import PatternTrack, pattern_frames

OFFERS = pytest.mark.parametrize(
    "we_offer", [True, False], ids=["pywebrtc-offers", "browser-offers"]
)
LAUNCHERS: dict[str, Callable[[str], Awaitable[Closer]]] = {
    "chromium": launch_chromium,
    "firefox": launch_firefox,
}


@pytest.fixture(scope="module", params=sorted(LAUNCHERS))
def browser(request: pytest.FixtureRequest) -> Iterator[BrowserSession]:
    yield from BrowserSession.open(LAUNCHERS[request.param])


def over_video(
    browser: BrowserSession,
    we_offer: bool,
    codec: str | None,
    scenario: Callable[[VideoLink], Awaitable[None]],
) -> None:
    async def body() -> None:
        link = await connect_video(browser.page, we_offer, codec)
        try:
            await scenario(link)
        finally:
            await link.close()

    browser.run(body(), timeout=120)


@OFFERS
@pytest.mark.parametrize("codec", ["VP8", None], ids=["VP8", "any"])
def test_video_both_ways(browser: BrowserSession, we_offer: bool, codec: str | None) -> None:
    over_video(browser, we_offer, codec, lambda link: video_both_ways(link, codec))


@OFFERS
@pytest.mark.parametrize("browser", ["chromium"], indirect=True)
def test_h264_both_ways(browser: BrowserSession, we_offer: bool) -> None:
    """Chromium only: Firefox ESR here has no OpenH264 (a download it cannot make offline) and
    needs prefs and a preloaded library for H.264 (test_firefox_h264)."""
    over_video(browser, we_offer, "H264", lambda link: video_both_ways(link, "H264"))


@pytest.mark.parametrize("browser", ["chromium"], indirect=True)
def test_chromium_sends_av1_and_we_decode_it(browser: BrowserSession) -> None:
    """AV1 is received only (we never encode it): with AV1 alone in our offer, Chromium sends
    its camera in AV1 and we decode it (libdav1d)."""

    async def scenario(link: VideoLink) -> None:
        track = await asyncio.wait_for(link.remote_track, TIMEOUT)
        frames = await pattern_frames(track, 15, TIMEOUT, check=False)
        assert all(f.width > 0 and f.height > 0 for f in frames)
        stats = await link.pc.getStats()
        (inbound,) = stats.of_type("inbound-rtp")
        assert isinstance(inbound, RTCInboundRtpStreamStats)
        assert (inbound.framesDecoded or 0) >= 15 and (inbound.keyFramesDecoded or 0) >= 1
        codec = next(c for c in stats.of_type("codec") if c.id == inbound.codecId)
        assert getattr(codec, "mimeType", "") == "video/AV1"
        assert not stats.of_type("outbound-rtp")  # nothing of ours to send AV1 with

    over_video(browser, True, "AV1", scenario)


@OFFERS
def test_audio_video_and_data_on_one_transport(browser: BrowserSession, we_offer: bool) -> None:
    """A call as apps make it (pipecat, fastrtc): microphone, camera and a data channel each
    way on one BUNDLE transport. Both media decode on both sides; the transport-wide CC
    feedback we send covers audio and video."""

    async def body() -> None:
        page = browser.page
        pc = RTCPeerConnection()
        browser_pc = await page.call("newPc")
        tracks: dict[str, asyncio.Future[MediaStreamTrack]] = {
            kind: asyncio.get_running_loop().create_future() for kind in ("audio", "video")
        }

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if not tracks[track.kind].done():
                tracks[track.kind].set_result(track)

        await page.call("watchVideo", browser_pc)
        assert await page.call("addMic", browser_pc) == 1
        assert await page.call("addCamera", browser_pc, 320, 240) == 1
        if we_offer:
            pc.createDataChannel("events")
            pc.addTrack(ToneTrack(440))
            pc.addTrack(PatternTrack())
            await pc.setLocalDescription(await pc.createOffer())
            assert pc.localDescription is not None
            answer = await page.call("answer", browser_pc, pc.localDescription.sdp)
            await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        else:
            await page.call("createChannel", browser_pc, "events", {})
            offer = await page.call("offer", browser_pc)
            await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
            pc.addTrack(ToneTrack(440))
            pc.addTrack(PatternTrack())
            await pc.setLocalDescription(await pc.createAnswer())
            assert pc.localDescription is not None
            await page.call("setAnswer", browser_pc, pc.localDescription.sdp)
        try:
            await page.call("waitOpen", browser_pc, "events")
            assert [t.currentDirection for t in pc.getTransceivers()] == ["sendrecv"] * 2
            video = await asyncio.wait_for(tracks["video"], TIMEOUT)
            await pattern_frames(video, 15, TIMEOUT, check=False)
            await tone_of(await asyncio.wait_for(tracks["audio"], TIMEOUT))
            link = VideoLink(pc, page, browser_pc)
            await browser_decodes_our_pattern(link)
            theirs = await page.call("audioStats", browser_pc)
            assert (theirs["inbound"] or {}).get("packetsReceived", 0) > 20, theirs
            assert pc._media.drops.unrouted == 0
            twcc = pc._media._twcc
            assert twcc is not None and twcc.feedback_sent > 0
        finally:
            await pc.close()
            await page.call("closePc", browser_pc)

    browser.run(body(), timeout=120)
