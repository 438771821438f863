"""pywebrtc's RTCPeerConnection against headless Firefox ESR (no WebDriver: the page fetches its
commands from the test server), both offer directions: every channel kind opens and echoes both
ways, 1 MiB crosses both ways, and closes are seen on both sides. One launch for the module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.browser.driver import BrowserSession, launch_firefox
from conformance.browser.scenario import (
    close_each_way,
    connect,
    echo_both_ways,
    mebibyte_both_ways,
)
from conformance.channels import IN_BAND, NEGOTIATED


@pytest.fixture(scope="module")
def firefox() -> Iterator[BrowserSession]:
    yield from BrowserSession.open(launch_firefox)


@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "firefox-offers"])
def test_firefox_data_channels(firefox: BrowserSession, we_offer: bool) -> None:
    async def body() -> None:
        link = await connect(firefox.page, we_offer, {**IN_BAND, **NEGOTIATED})
        try:
            for label in [*IN_BAND, *NEGOTIATED]:
                await echo_both_ways(link, label)
            await mebibyte_both_ways(link)
            await close_each_way(link, ours_closes="unordered", browser_closes="rexmit0")
        finally:
            await link.close()

    firefox.run(body())
