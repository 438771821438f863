"""Video between pywebrtc and headless Chromium and Firefox ESR, both offer directions, VP8
(and the browser's own choice; H.264 with Chromium): the browser sends its fake camera
(Chromium ``--use-fake-device-for-media-stream``, Firefox ``media.navigator.streams.fake``), we
decode it; we send the quadrant test pattern, the browser decodes it, shows it (read back
through a canvas) and its getStats counts the frames, their size and rate. AV1, which we only
receive: Chromium's camera in AV1, decoded here. One launch per browser.

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
    connect_video,
    video_both_ways,
)
from pywebrtc.stats import RTCInboundRtpStreamStats
from tests.peerconnection.video_helpers import pattern_frames

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
    """Firefox ESR here has no OpenH264 (a download it cannot make offline): Chromium only."""
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
