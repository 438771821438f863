"""Audio between pywebrtc and headless Chromium and Firefox ESR, both offer directions, with a
data channel on the same BUNDLE transport: the browser sends a tone (Chrome a 660 Hz one from a
WAV file this module writes, ``--use-file-for-fake-audio-capture``; Firefox its fake
microphone's 1 kHz), we decode it and find that frequency; we send 440 Hz Opus and the
browser's getStats counts about 50 packets/s from us (headless ``audioLevel`` stays 0, so
packets and bytes are what is checked). DTMF: the browser's RTCDTMFSender to our receiver, ours
to the browser (its stats see the stream continue). Audio added to a data session, then
stopped. Codec preferences (Chromium): PCMU first in our offer or answer, and Chrome sends and
receives PCMU. ICE restart, either offer direction: the browser's restartIce() and its new
offer, or ours towards it; new credentials both sides, then data-channel messages both ways and
audio both ways (the browser's inbound packets still rising at ~50/s, its tone still decoded
here) over the same DTLS association. One launch per browser."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from typing import NamedTuple

import pytest

from conformance.browser.audio_scenario import (
    AudioLink,
    audio_both_ways,
    capability,
    connect_audio,
    dtmf_both_ways,
    ice_restart_keeps_audio_and_data,
    pcmu_both_ways,
    renegotiate_audio_into_data_session,
    write_tone_wav,
)
from conformance.browser.driver import (
    BrowserSession,
    Closer,
    launch_chromium,
    launch_firefox,
)
from pywebrtc.rtcrtptransceiver import RTCRtpCodecCapability
from pywebrtc.settings import SettingEngine
from pywebrtc.stats import RTCTransportStats

CHROME_TONE = 660.0
FIREFOX_TONE = 1000.0  # Firefox's fake microphone
OFFERS = pytest.mark.parametrize(
    "we_offer", [True, False], ids=["pywebrtc-offers", "browser-offers"]
)


class Browser(NamedTuple):
    session: BrowserSession
    tone: float  # what its microphone sends, Hz


@pytest.fixture(scope="module", params=["chromium", "firefox"])
def browser(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    launch: Callable[[str], Awaitable[Closer]] = launch_firefox
    tone = FIREFOX_TONE
    if request.param == "chromium":
        wav = write_tone_wav(tmp_path_factory.mktemp("audio") / "tone.wav", CHROME_TONE)
        flag = f"--use-file-for-fake-audio-capture={wav}"
        launch, tone = functools.partial(launch_chromium, extra_args=(flag,)), CHROME_TONE
    for session in BrowserSession.open(launch):
        yield Browser(session, tone)


def over_audio(
    browser: Browser,
    we_offer: bool,
    scenario: Callable[[AudioLink], Awaitable[None]],
    codecs: list[RTCRtpCodecCapability] | None = None,
    settings: SettingEngine | None = None,
) -> None:
    """``scenario`` on a fresh audio link to ``browser``, closed afterwards."""

    async def body() -> None:
        link = await connect_audio(browser.session.page, we_offer, codecs, settings)
        try:
            await scenario(link)
        finally:
            await link.close()

    browser.session.run(body())


@OFFERS
def test_audio_both_ways(browser: Browser, we_offer: bool) -> None:
    over_audio(browser, we_offer, lambda link: audio_both_ways(link, browser.tone))


@OFFERS
def test_browser_sends_dtmf_to_us_and_receives_ours(browser: Browser, we_offer: bool) -> None:
    over_audio(browser, we_offer, dtmf_both_ways)


@OFFERS
@pytest.mark.parametrize("browser", ["chromium"], indirect=True)
def test_chrome_follows_our_codec_preferences(browser: Browser, we_offer: bool) -> None:
    codecs = [capability("audio/PCMU", 8000), capability("audio/opus", 48000),
              capability("audio/telephone-event", 8000)]  # fmt: skip
    over_audio(browser, we_offer, lambda link: pcmu_both_ways(link, browser.tone), codecs)


def test_audio_added_to_a_data_session_then_stopped(browser: Browser) -> None:
    browser.session.run(renegotiate_audio_into_data_session(browser.session.page, browser.tone))


@OFFERS
@pytest.mark.parametrize("restarter", ["browser", "pywebrtc"])
def test_ice_restart_keeps_audio_and_data_flowing(
    browser: Browser, we_offer: bool, restarter: str
) -> None:
    over_audio(
        browser,
        we_offer,
        lambda link: ice_restart_keeps_audio_and_data(link, browser.tone, restarter == "browser"),
    )


@OFFERS
def test_audio_and_data_over_dtls13(browser: Browser, we_offer: bool) -> None:
    """With DTLS 1.3 allowed, the browser negotiates it (X25519MLKEM768) in either DTLS role:
    audio both ways and the data channel open, DTLS 1.3 in our getStats and Chromium's."""
    settings = SettingEngine()
    settings.set_dtls_versions("1.3", "1.2")

    async def scenario(link: AudioLink) -> None:
        await audio_both_ways(link, browser.tone)
        (transport,) = (await link.pc.getStats()).of_type("transport")
        assert isinstance(transport, RTCTransportStats)
        assert transport.tlsVersion == "FEFC", transport
        assert transport.dtlsCipher is not None and transport.dtlsCipher.startswith("TLS_")
        session = link.pc._session
        assert session is not None and session.dtls is not None
        v13 = session.dtls._v13
        assert v13 is not None and v13.group == 0x11EC  # X25519MLKEM768
        theirs = await link.page.call("transportStats", link.browser_pc)
        if browser.tone == CHROME_TONE:  # Firefox leaves these out of its stats
            assert theirs["tlsVersion"] == "FEFC", theirs
            assert theirs["dtlsCipher"] == transport.dtlsCipher, theirs

    over_audio(browser, we_offer, scenario, settings=settings)
