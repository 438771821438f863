"""Audio between pywebrtc and headless Firefox ESR, both offer directions, with a data channel
on the same BUNDLE transport: Firefox sends its fake microphone (a tone), we decode it; we send
a 440 Hz Opus tone and Firefox's getStats counts about 50 packets/s from us. DTMF both ways
(Firefox's RTCDTMFSender to our receiver, ours to Firefox). One browser launch for the module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.browser.audio_scenario import (
    audio_both_ways,
    connect_audio,
    dtmf_both_ways,
    renegotiate_audio_into_data_session,
)
from conformance.browser.driver import BrowserSession, launch_firefox


@pytest.fixture(scope="module")
def firefox() -> Iterator[BrowserSession]:
    yield from BrowserSession.open(launch_firefox)


@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "firefox-offers"])
def test_firefox_audio_both_ways(firefox: BrowserSession, we_offer: bool) -> None:
    async def body() -> None:
        link = await connect_audio(firefox.page, we_offer)
        try:
            # Firefox's fake microphone is a 1 kHz tone.
            await audio_both_ways(link, 1000.0)
        finally:
            await link.close()

    firefox.run(body())


@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "firefox-offers"])
def test_firefox_sends_dtmf_to_us_and_receives_ours(
    firefox: BrowserSession, we_offer: bool
) -> None:
    async def body() -> None:
        link = await connect_audio(firefox.page, we_offer)
        try:
            await dtmf_both_ways(link)
        finally:
            await link.close()

    firefox.run(body())


def test_firefox_audio_added_to_a_data_session_then_stopped(firefox: BrowserSession) -> None:
    firefox.run(renegotiate_audio_into_data_session(firefox.page, 1000.0))
