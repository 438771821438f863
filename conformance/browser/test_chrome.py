"""pywebrtc's RTCPeerConnection against headless Chromium (Debian's /usr/bin/chromium through
Playwright): both offer directions; ordered, unordered, maxRetransmits=0 and negotiated channels
with messages both ways; 1 MiB as 16 KiB messages intact and in order both ways; a channel
closed from each side, the close seen on both. One browser launch for the module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.browser.driver import BrowserSession, launch_chromium
from conformance.browser.scenario import (
    IN_BAND,
    NEGOTIATED,
    close_each_way,
    connect,
    echo_both_ways,
    mebibyte_both_ways,
)


@pytest.fixture(scope="module")
def chromium() -> Iterator[BrowserSession]:
    yield from BrowserSession.open(launch_chromium)


@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "chrome-offers"])
def test_chrome_data_channels(chromium: BrowserSession, we_offer: bool) -> None:
    async def body() -> None:
        link = await connect(chromium.page, we_offer, {**IN_BAND, **NEGOTIATED})
        try:
            for label in [*IN_BAND, *NEGOTIATED]:
                await echo_both_ways(link, label)
            await mebibyte_both_ways(link)
            await close_each_way(link, ours_closes="unordered", browser_closes="rexmit0")
            # The remaining channels still work after the closes.
            await echo_both_ways(link, "ordered", count=3)
        finally:
            await link.close()

    chromium.run(body())
