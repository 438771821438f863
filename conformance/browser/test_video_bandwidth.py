"""Chromium receiving our VP8 sends transport-cc feedback, and our send-side estimate drives
the encoder: our datagrams to it squeezed through a 300 kbit/s userspace bottleneck in our
socket's send path (:class:`conformance.browser.test_audio_bandwidth.BottleneckSocket`), off
while connecting, then on, then off again. We send noise (the encoder fills any budget).
Asserted: behaviour, not speed. The encoder's target and what we actually send fall below the
link while Chromium keeps decoding, then the target rises again once the limit is lifted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from conformance.browser.driver import BrowserSession, launch_chromium
from conformance.browser.test_audio_bandwidth import BottleneckSocket
from conformance.browser.video_scenario import VideoLink, connect_video
from pywebrtc.settings import SettingEngine
from pywebrtc.stats import RTCOutboundRtpStreamStats
from tests.peerconnection.video_helpers import NoiseTrack

LINK = 300_000  # bit/s


@pytest.fixture(scope="module")
def chromium() -> Iterator[BrowserSession]:
    yield from BrowserSession.open(launch_chromium)


async def outbound(link: VideoLink) -> RTCOutboundRtpStreamStats | None:
    for stats in (await link.pc.getStats()).of_type("outbound-rtp"):
        assert isinstance(stats, RTCOutboundRtpStreamStats)
        if stats.targetBitrate is not None:
            return stats
    return None


async def sample(link: VideoLink, seconds: float) -> tuple[list[int], float, int]:
    """Our encoder's targets every 0.25 s for ``seconds``; the bit/s of RTP payload we sent
    meanwhile (outbound-rtp ``bytesSent``); the frames Chromium decoded."""
    first = await outbound(link)
    page_before = (await link.page.call("videoStats", link.browser_pc))["inbound"] or {}
    targets: list[int] = []
    for _ in range(int(seconds * 4)):
        await asyncio.sleep(0.25)
        stats = await outbound(link)
        if stats is not None and stats.targetBitrate is not None:
            targets.append(int(stats.targetBitrate))
    last = await outbound(link)
    page_after = (await link.page.call("videoStats", link.browser_pc))["inbound"] or {}
    sent = 0.0
    if first is not None and last is not None:
        sent = (last.bytesSent - first.bytesSent) * 8 / seconds
    decoded = (page_after.get("framesDecoded") or 0) - (page_before.get("framesDecoded") or 0)
    return targets, sent, decoded


async def until_target(link: VideoLink, above: float | None, below: float | None,
                       limit: float) -> int:  # fmt: skip
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    seen: list[int] = []
    while loop.time() < end:
        stats = await outbound(link)
        if stats is not None and stats.targetBitrate is not None:
            target = int(stats.targetBitrate)
            seen.append(target)
            if (above is None or target > above) and (below is None or target < below):
                return target
        await asyncio.sleep(0.25)
    raise AssertionError(f"target not past {above}/{below} in {limit} s: {seen}")


@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "browser-offers"])
def test_chrome_feedback_drives_our_vp8_encoder_down_on_a_300_kbps_link_and_back_up(
    chromium: BrowserSession, we_offer: bool
) -> None:
    async def body() -> None:
        socket = await BottleneckSocket.open()
        socket.queue = 0.25
        assert socket.mux is not None
        settings = SettingEngine()
        settings.set_udp_mux(socket.mux)
        link = await connect_video(chromium.page, we_offer, "VP8", settings, NoiseTrack())
        try:
            for sdp in (link.pc.localDescription, link.pc.remoteDescription):
                assert sdp is not None and "transport-cc" in sdp.sdp  # both sides negotiate it
            high = await until_target(link, 2 * LINK, None, 40.0)
            media = link.pc._media
            assert media.bandwidth is not None and media.bandwidth.estimator.counters.feedbacks
            socket.rate = LINK
            low = await until_target(link, None, 0.9 * LINK, 40.0)
            # After the fall's losses (repaired by NACK and PLI), Chromium decodes our video
            # again at 10 frames a second or more, the encoder and what we send below the link.
            loop = asyncio.get_running_loop()
            end = loop.time() + 40.0
            while True:
                targets, sent, decoded = await sample(link, 3.0)
                if decoded > 30:
                    break
                assert loop.time() < end, (targets, sent, decoded)
            assert targets and sum(targets) / len(targets) < LINK, targets
            assert sent < LINK, (sent, targets)
            socket.rate = None
            up = await until_target(link, 1.5 * max(targets), None, 40.0)
            print(f"targets: high {high}, low {low}, squeezed {targets}, up {up}; "
                  f"sent {sent:.0f} bit/s, {decoded} frames decoded in 3 s; "
                  f"{socket.dropped} datagrams dropped")
        finally:
            await link.close()
            if socket.transport is not None:
                socket.transport.close()

    chromium.run(body(), timeout=180)
