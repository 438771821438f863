"""VP8 both ways between pywebrtc and headless Chromium through 5 % packet loss each way
(tests/impair.py's userspace proxy: there is no netem here), recovered by NACK/RTX and, where a
frame cannot be repaired in time, PLI. Chromium offers; its candidates are taken out of the
offer and our answer carries only the proxy's address, so every packet both ways crosses the
proxy (we learn Chromium's side as a peer-reflexive candidate through it). For about 8 s we
check: frames keep coming both ways (our decoded frames, its presented frames), no gap longer
than ~1 s, both sides sent NACKs and answered them with retransmissions. Then a 1 s outage
both ways: pictures come back within ~1 s of its end, both ways.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from conformance.browser.driver import BrowserSession, RemotePage, launch_chromium
from conformance.browser.video_scenario import CAMERA, OURS
from pywebrtc import MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from pywebrtc.stats import RTCInboundRtpStreamStats, RTCOutboundRtpStreamStats
from tests.impair import Impairment, Proxy
from tests.peerconnection.video_helpers import PatternTrack

LOSS = 0.05
SECONDS = 8.0
MAX_GAP = 1.0  # seconds between two frames, the longest freeze allowed
TIMEOUT = 30.0
# Seconds with every packet lost both ways, after the lossy stretch: one that retransmission
# repairs (libwebrtc and we keep sent packets up to 3 s), one only a keyframe repairs.
OUTAGES = (1.0, 4.0)


@pytest.fixture(scope="module")
def chromium() -> Iterator[BrowserSession]:
    yield from BrowserSession.open(launch_chromium)


def through(answer: str, host: str, port: int, proxy_port: int) -> str:
    """``answer`` with only its candidate ``host`` ``port``, moved to the proxy's port."""
    lines = []
    for line in answer.splitlines():
        if line.startswith("a=candidate:"):
            fields = line.split()
            if (fields[4], int(fields[5])) != (host, port):
                continue
            fields[5] = str(proxy_port)
            line = " ".join(fields)
        lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def our_host_candidate(sdp: str) -> tuple[str, int]:
    for line in sdp.splitlines():
        if not line.startswith("a=candidate:"):
            continue
        fields = line.split()
        if fields[2].lower() == "udp" and "." in fields[4] and fields[7] == "host":
            return fields[4], int(fields[5])
    raise AssertionError(f"no IPv4 UDP host candidate in {sdp}")


def set_loss(proxy: Proxy, loss: float) -> None:
    """Every mapping of ``proxy``, both ways, now loses ``loss`` of its packets."""
    for _, up, down in proxy.mappings.values():
        up.impairer.impairment = down.impairer.impairment = Impairment(loss=loss)


async def frames_for(track: MediaStreamTrack, seconds: float) -> tuple[int, float]:
    """Frames from ``track`` over ``seconds``, and the longest gap between two of them."""
    loop = asyncio.get_running_loop()
    start = last = loop.time()
    frames, max_gap = 0, 0.0
    while loop.time() - start < seconds:
        await asyncio.wait_for(track.recv(), TIMEOUT)
        now = loop.time()
        max_gap, last, frames = max(max_gap, now - last), now, frames + 1
    return frames, max_gap


async def outage(
    pc: RTCPeerConnection, page: RemotePage, browser_pc: int, proxy: Proxy,
    track: MediaStreamTrack, seconds: float,
) -> tuple[float, float, float | None, dict[str, int]]:  # fmt: skip
    """An outage of ``seconds`` both ways in a stretch of 5 % loss. Returns it, the longest
    gap between our decoded frames and between Chromium's presented ones (ms), and how many
    PLIs each receiver sent and keyframes each sender encoded meanwhile."""

    async def counts() -> dict[str, int]:
        theirs = await page.call("videoStats", browser_pc)
        report = await pc.getStats()
        (inbound,) = report.of_type("inbound-rtp")
        (outbound,) = report.of_type("outbound-rtp")
        assert isinstance(inbound, RTCInboundRtpStreamStats)
        assert isinstance(outbound, RTCOutboundRtpStreamStats)
        return {
            "our_pli": inbound.pliCount or 0, "their_pli": theirs["inbound"]["pliCount"],
            "our_keyframes": outbound.keyFramesEncoded or 0,
            "their_keyframes": theirs["outbound"]["keyFramesEncoded"],
        }  # fmt: skip

    before = await counts()
    await page.call("resetFrameGaps", browser_pc)
    watching = asyncio.ensure_future(frames_for(track, seconds + 4.0))
    await asyncio.sleep(1.0)
    set_loss(proxy, 1.0)
    await asyncio.sleep(seconds)
    set_loss(proxy, LOSS)
    _, our_gap = await watching
    gaps = await page.call("frameGaps", browser_pc)
    after = await counts()
    asked = {key: after[key] - before[key] for key in after}
    return seconds, our_gap, gaps["maxGap"] if gaps else None, asked


def test_vp8_both_ways_recovers_from_5_percent_loss(chromium: BrowserSession) -> None:
    page = chromium.page

    async def body() -> None:
        pc = RTCPeerConnection()
        remote: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video" and not remote.done():
                remote.set_result(track)

        browser_pc = await page.call("newPc")
        await page.call("watchVideo", browser_pc)
        assert await page.call("addCamera", browser_pc, *CAMERA) == 1
        offer = await page.call("offer", browser_pc)
        assert "VP8" in offer
        offer = "".join(
            line + "\r\n" for line in offer.splitlines() if not line.startswith("a=candidate:")
        )
        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        pc.addTrack(PatternTrack(*OURS))
        caps = RTCRtpReceiver.getCapabilities("video")
        assert caps is not None
        pc.getTransceivers()[0].setCodecPreferences(
            [c for c in caps.codecs if c.mimeType in ("video/VP8", "video/rtx")]
        )
        await pc.setLocalDescription(await pc.createAnswer())
        assert pc.localDescription is not None
        host, port = our_host_candidate(pc.localDescription.sdp)
        lossy = Impairment(loss=LOSS)
        proxy = Proxy((host, 0), (host, port), lossy, lossy, seed=7)
        await proxy.start()
        assert proxy.front is not None
        proxy_port = proxy.front.get_extra_info("sockname")[1]
        try:
            answer = through(pc.localDescription.sdp, host, port, proxy_port)
            await page.call("setAnswer", browser_pc, answer)
            track = await asyncio.wait_for(remote, TIMEOUT)
            await asyncio.wait_for(track.recv(), TIMEOUT)  # the first frame here
            await page.call("videoPicture", browser_pc)  # and there
            await page.call("resetFrameGaps", browser_pc)
            frames, max_gap = await frames_for(track, SECONDS)
            theirs = await page.call("videoStats", browser_pc)
            gaps = await page.call("frameGaps", browser_pc)
            report = await pc.getStats()
            outages = [await outage(pc, page, browser_pc, proxy, track, o) for o in OUTAGES]
        finally:
            await pc.close()
            await page.call("closePc", browser_pc)
            proxy.close()
        (inbound,) = report.of_type("inbound-rtp")
        (outbound,) = report.of_type("outbound-rtp")
        assert isinstance(inbound, RTCInboundRtpStreamStats)
        assert isinstance(outbound, RTCOutboundRtpStreamStats)
        summary = (frames, max_gap, gaps, theirs, inbound, outbound)
        print(summary)
        # Chromium -> us: frames flowing, no long freeze, losses NACKed and retransmitted.
        assert frames >= SECONDS * 10, summary
        assert max_gap <= MAX_GAP, summary
        assert inbound.nackCount > 0 and (inbound.retransmittedPacketsReceived or 0) > 0, summary
        assert theirs["outbound"]["nackCount"] > 0, summary
        assert theirs["outbound"]["retransmittedPacketsSent"] > 0, summary
        # us -> Chromium: the same seen from its side.
        assert gaps is not None and gaps["count"] >= SECONDS * 10, summary
        assert gaps["maxGap"] <= MAX_GAP * 1000, summary
        assert theirs["inbound"]["framesDecoded"] >= SECONDS * 10, summary
        assert theirs["inbound"]["nackCount"] > 0, summary
        assert outbound.retransmittedPacketsSent > 0 and (outbound.nackCount or 0) > 0, summary

        # After each outage pictures came back within ~1 s both ways; after the short one by
        # retransmission alone, after the long one (older than any sender keeps) by a keyframe.
        for seconds, ours_gap, their_gap, _ in outages:
            assert ours_gap <= seconds + MAX_GAP, outages
            assert their_gap is not None and their_gap <= (seconds + MAX_GAP) * 1000, outages
        (_, _, _, asked) = outages[-1]
        assert asked["our_pli"] >= 1 and asked["their_keyframes"] >= 1, outages
        assert asked["their_pli"] >= 1 and asked["our_keyframes"] >= 1, outages

    chromium.run(body(), timeout=120)
