"""H.264 between pywebrtc and Firefox ESR without OpenH264 (its plugin is a download it cannot
make offline), both offer directions; docs/firefox-h264.md has the details.

Firefox receiving, as it ships plus FIREFOX_H264_PREFS: it offers and accepts H.264 and
decodes it with the system's libavcodec; we send the quadrant test pattern, Firefox shows it
(read back through a canvas) and its getStats counts the frames, their size and rate, under
video/H264. Firefox only receives here (a recvonly transceiver, no camera).

Both ways, with FIREFOX_H264_SEND_PREFS and x264_zerolatency.c preloaded: Firefox also encodes
its fake camera with libx264 and sends it; we decode it, and both getStats say video/H264.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest

from conformance.browser.driver import (
    FIREFOX_H264_PREFS,
    FIREFOX_H264_SEND_PREFS,
    BrowserSession,
    firefox_h264_sender_env,
    launch_firefox,
)
from conformance.browser.video_scenario import (
    CAMERA,
    OURS,
    browser_decodes_our_pattern,
    connect_video,
    video_both_ways,
)
from pywebrtc.stats import RTCOutboundRtpStreamStats

OFFERS = pytest.mark.parametrize(
    "we_offer", [True, False], ids=["pywebrtc-offers", "firefox-offers"]
)


@pytest.fixture(scope="module")
def firefox_h264_receiver() -> Iterator[BrowserSession]:
    yield from BrowserSession.open(functools.partial(launch_firefox, prefs=FIREFOX_H264_PREFS))


@pytest.fixture(scope="module")
def firefox_h264_sender() -> Iterator[BrowserSession]:
    launcher = functools.partial(
        launch_firefox, prefs=FIREFOX_H264_SEND_PREFS, env=firefox_h264_sender_env()
    )
    yield from BrowserSession.open(launcher)


@OFFERS
def test_firefox_decodes_our_h264(firefox_h264_receiver: BrowserSession, we_offer: bool) -> None:
    async def body() -> None:
        link = await connect_video(firefox_h264_receiver.page, we_offer, "H264", camera=False)
        try:
            theirs = await browser_decodes_our_pattern(link)
            assert theirs["codecs"].get(theirs["inbound"]["codecId"]) == "video/H264", theirs
            assert theirs["outbound"] is None, theirs  # Firefox only receives
            ours = await link.pc.getStats()
            (outbound,) = ours.of_type("outbound-rtp")
            assert isinstance(outbound, RTCOutboundRtpStreamStats)
            assert (outbound.framesSent or 0) >= 20
            assert (outbound.frameWidth, outbound.frameHeight) == OURS
            codec = next(c for c in ours.of_type("codec") if c.id == outbound.codecId)
            assert getattr(codec, "mimeType", "") == "video/H264"
            assert "packetization-mode=1" in getattr(codec, "sdpFmtpLine", "")
        finally:
            await link.close()

    firefox_h264_receiver.run(body(), timeout=120)


@OFFERS
def test_h264_both_ways_with_firefox(firefox_h264_sender: BrowserSession, we_offer: bool) -> None:
    async def body() -> None:
        page = firefox_h264_sender.page
        link = await connect_video(page, we_offer, "H264")
        try:
            await video_both_ways(link, "H264")
            # What Firefox's getStats says of the camera it encodes (it may scale it down
            # when it thinks the CPU is short, never up).
            outbound = (await page.call("videoStats", link.browser_pc))["outbound"]
            assert 0 < outbound["frameWidth"] <= CAMERA[0], outbound
            assert 0 < outbound["frameHeight"] <= CAMERA[1], outbound
            assert outbound["framesPerSecond"] >= 3, outbound  # 30 sent; 3 on a loaded host
        finally:
            await link.close()

    firefox_h264_sender.run(body(), timeout=120)
