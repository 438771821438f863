"""Video between pywebrtc and headless Chromium, both offer directions, VP8 and H.264 (and the
browser's own choice): Chromium sends its fake camera (``--use-fake-device-for-media-stream``),
we decode it; we send the quadrant test pattern, Chromium decodes it, shows it (read back
through a canvas) and its getStats counts the frames, their size and rate. One launch.

Firefox, node libwebrtc and Pion reuse :mod:`conformance.browser.video_scenario` (the
``browser`` fixture takes a launcher per browser, as test_audio.py's does).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import pytest

from conformance.browser.driver import BrowserSession, Closer, launch_chromium
from conformance.browser.video_scenario import VideoLink, connect_video, video_both_ways

OFFERS = pytest.mark.parametrize(
    "we_offer", [True, False], ids=["pywebrtc-offers", "browser-offers"]
)
LAUNCHERS: dict[str, Callable[[str], Awaitable[Closer]]] = {"chromium": launch_chromium}


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
@pytest.mark.parametrize("codec", ["VP8", "H264", None], ids=["VP8", "H264", "any"])
def test_video_both_ways(browser: BrowserSession, we_offer: bool, codec: str | None) -> None:
    over_video(browser, we_offer, codec, lambda link: video_both_ways(link, codec))
