"""Audio between pywebrtc and headless Chromium, both offer directions, with a data channel on
the same BUNDLE transport: Chrome sends a 660 Hz tone from a WAV file this module writes
(``--use-file-for-fake-audio-capture``), we decode it and find 660 Hz; we send 440 Hz Opus
and Chrome's getStats counts about 50 packets/s from us (headless ``audioLevel`` stays 0, so
packets and bytes are what is checked). DTMF: Chrome's RTCDTMFSender to our receiver, ours
to Chrome (its stats see the stream continue). Codec preferences: PCMU first in our offer or
answer, and Chrome sends and receives PCMU. One browser launch for the module."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest

from conformance.browser.audio_scenario import (
    audio_both_ways,
    capability,
    connect_audio,
    dtmf_both_ways,
    pcmu_both_ways,
    renegotiate_audio_into_data_session,
    write_tone_wav,
)
from conformance.browser.driver import BrowserSession, launch_chromium

CHROME_TONE = 660.0


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserSession]:
    wav = write_tone_wav(tmp_path_factory.mktemp("audio") / "tone.wav", CHROME_TONE)
    launcher = functools.partial(
        launch_chromium, extra_args=(f"--use-file-for-fake-audio-capture={wav}",)
    )
    yield from BrowserSession.open(launcher)


@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "chrome-offers"])
def test_chrome_audio_both_ways(chromium: BrowserSession, we_offer: bool) -> None:
    async def body() -> None:
        link = await connect_audio(chromium.page, we_offer)
        try:
            await audio_both_ways(link, CHROME_TONE)
        finally:
            await link.close()

    chromium.run(body())


@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "chrome-offers"])
def test_chrome_sends_dtmf_to_us_and_receives_ours(
    chromium: BrowserSession, we_offer: bool
) -> None:
    async def body() -> None:
        link = await connect_audio(chromium.page, we_offer)
        try:
            await dtmf_both_ways(link)
        finally:
            await link.close()

    chromium.run(body())


@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "chrome-offers"])
def test_chrome_follows_our_codec_preferences(chromium: BrowserSession, we_offer: bool) -> None:
    async def body() -> None:
        codecs = [capability("audio/PCMU", 8000), capability("audio/opus", 48000),
                  capability("audio/telephone-event", 8000)]  # fmt: skip
        link = await connect_audio(chromium.page, we_offer, codecs)
        try:
            await pcmu_both_ways(link, CHROME_TONE)
        finally:
            await link.close()

    chromium.run(body())


def test_chrome_audio_added_to_a_data_session_then_stopped(chromium: BrowserSession) -> None:
    chromium.run(renegotiate_audio_into_data_session(chromium.page, CHROME_TONE))
