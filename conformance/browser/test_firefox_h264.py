"""H.264 from pywebrtc to Firefox ESR without OpenH264: Firefox offers and accepts H.264 with
FIREFOX_H264_PREFS and decodes it with the system's libavcodec (in its RDD process);
we send the quadrant test pattern, Firefox shows it (read back through a canvas) and its getStats
counts the frames, their size and rate, under the H.264 codec. Both offer directions; Firefox
only receives (a recvonly transceiver, no camera).

Firefox sending H.264 this way does not work (its libx264 platform encoder holds ~40 frames of
lookahead and Firefox drops them all before they come out; docs/status.md), so that direction is
not tested here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest

from conformance.browser.driver import FIREFOX_H264_PREFS, BrowserSession, launch_firefox
from conformance.browser.video_scenario import OURS, browser_decodes_our_pattern, connect_video
from pywebrtc.stats import RTCOutboundRtpStreamStats


@pytest.fixture(scope="module")
def firefox_h264() -> Iterator[BrowserSession]:
    yield from BrowserSession.open(functools.partial(launch_firefox, prefs=FIREFOX_H264_PREFS))


@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "firefox-offers"])
def test_firefox_decodes_our_h264(firefox_h264: BrowserSession, we_offer: bool) -> None:
    async def body() -> None:
        link = await connect_video(firefox_h264.page, we_offer, "H264", camera=False)
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

    firefox_h264.run(body(), timeout=120)
