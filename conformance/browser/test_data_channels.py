"""pywebrtc's RTCPeerConnection against headless Chromium (Debian's /usr/bin/chromium through
Playwright) and Firefox ESR (no WebDriver: the page fetches its commands from the test server),
both offer directions: ordered, unordered, maxRetransmits=0 and negotiated channels with
messages both ways; 1 MiB as 16 KiB messages intact and in order both ways; a channel closed
from each side, the close seen on both, the other channels still working. Chromium also offers
to an ICE-lite answerer on a UDP mux (the transceiver's setup), and restarts ICE towards one
(restartIce()), every channel working after it; and getStats() lists data channels as Chromium
does once one is closed and once the connection is. One launch per browser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.browser.driver import BrowserSession, launch_chromium, launch_firefox
from conformance.browser.scenario import connect, echo_both_ways
from conformance.channels import IN_BAND, NEGOTIATED, close_each_way, mebibyte_both_ways
from conformance.ice_lite import assert_lite_answer_on, lite_settings
from conformance.restart import ice_ufrag, peer_restarts
from pywebrtc import RTCPeerConnection
from pywebrtc.ice import open_udp_mux
from pywebrtc.stats import RTCDataChannelStats, RTCPeerConnectionStats


@pytest.fixture(scope="module", params=["chromium", "firefox"])
def browser(request: pytest.FixtureRequest) -> Iterator[BrowserSession]:
    yield from BrowserSession.open(
        launch_chromium if request.param == "chromium" else launch_firefox
    )


@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "browser-offers"])
def test_data_channels(browser: BrowserSession, we_offer: bool) -> None:
    async def body() -> None:
        link = await connect(browser.page, we_offer, {**IN_BAND, **NEGOTIATED})
        try:
            for label in [*IN_BAND, *NEGOTIATED]:
                await echo_both_ways(link, label)
            await mebibyte_both_ways(link)
            await close_each_way(link, ours_closes="unordered", far_closes="rexmit0")
            # The remaining channels still work after the closes.
            await echo_both_ways(link, "ordered", count=3)
        finally:
            await link.close()

    browser.run(body())


@pytest.mark.parametrize("browser", ["chromium"], indirect=True)
def test_chrome_offers_to_an_ice_lite_answerer_on_a_udp_mux(browser: BrowserSession) -> None:
    """The transceiver's deployment shape: ICE-lite, every session on one shared socket."""

    async def body() -> None:
        mux, socket = await open_udp_mux("127.0.0.1")
        try:
            link = await connect(browser.page, False, {**IN_BAND, **NEGOTIATED}, lite_settings(mux))
            try:
                assert_lite_answer_on(link.pc, mux)
                for label in [*IN_BAND, *NEGOTIATED]:
                    await echo_both_ways(link, label, count=3)
            finally:
                await link.close()
        finally:
            socket.close()

    browser.run(body())


@pytest.mark.parametrize("browser", ["chromium"], indirect=True)
def test_browser_restarts_ice_towards_an_ice_lite_answerer_on_a_udp_mux(
    browser: BrowserSession,
) -> None:
    """The transceiver's shape again: Chrome calls restartIce() and offers; our lite session
    answers with new credentials on the same mux socket (re-keyed, still one session), and
    every channel carries messages after it. (libwebrtc keeps its selected connection to an
    ICE-lite peer whose address did not change, pinging it with our previous ufrag: the
    agent and the mux keep answering that one.)"""

    async def body() -> None:
        mux, socket = await open_udp_mux("127.0.0.1")
        try:
            link = await connect(browser.page, False, {**IN_BAND, **NEGOTIATED}, lite_settings(mux))
            try:
                await echo_both_ways(link, "ordered", count=3)
                assert await peer_restarts(link.pc, link.call) == "restartIce"
                assert_lite_answer_on(link.pc, mux)
                answer = link.pc.localDescription
                assert answer is not None and len(mux) == 1  # the one session, re-keyed
                assert ice_ufrag(answer.sdp) in mux._by_ufrag
                for label in [*IN_BAND, *NEGOTIATED]:
                    await echo_both_ways(link, label, count=3)
            finally:
                await link.close()
        finally:
            socket.close()

    browser.run(body())


async def _channel_stats(pc: RTCPeerConnection) -> list[list[str]]:
    report = await pc.getStats()
    return sorted(
        [s.label, s.state]
        for s in report.of_type("data-channel")
        if isinstance(s, RTCDataChannelStats)
    )


@pytest.mark.parametrize("browser", ["chromium"], indirect=True)
def test_get_stats_lists_data_channels_as_chromium_does_after_closes(
    browser: BrowserSession,
) -> None:
    """getStats() (webrtc-stats RTCDataChannelStats): a channel closed from either side leaves
    the report on both (Chromium lists open channels only, no "closed" entries), and a closed
    peer connection lists no data channel (Chromium 156 likewise); ``peer-connection``'s
    dataChannelsOpened counts every channel opened."""

    async def body() -> None:
        link = await connect(browser.page, True, IN_BAND)
        try:
            await close_each_way(link, ours_closes="unordered", far_closes="rexmit0")
            far = await link.call("channelStats", False)
            ours = await _channel_stats(link.pc)
            assert ours == far["channels"] == [["ordered", "open"]]
            (stats,) = (await link.pc.getStats()).of_type("peer-connection")
            assert isinstance(stats, RTCPeerConnectionStats)
            assert stats.dataChannelsOpened == far["counts"][0] == len(IN_BAND)
            assert stats.dataChannelsClosed == far["counts"][1] == 2
            far = await link.call("channelStats", True)  # the browser closes its pc
            await link.pc.close()
            assert await _channel_stats(link.pc) == far["channels"] == []
        finally:
            await link.close()

    browser.run(body())
