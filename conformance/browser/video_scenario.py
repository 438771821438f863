"""Video both ways between pywebrtc and a browser page (its fake camera one way, our quadrant
test pattern the other): for the browser video modules (Chromium here; Firefox reuses it).

The browser's camera is checked here by decoded frames and their size; our pattern is checked
there by drawing the browser's remote <video> into a canvas (the quadrants' red level, which
is their luma through BT.601 limited range) and by its getStats (framesDecoded, frameWidth,
frameHeight, framesPerSecond).
"""

from __future__ import annotations

import asyncio
from typing import Any

from conformance.browser.driver import RemotePage
from pywebrtc import MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from pywebrtc.settings import SettingEngine
from pywebrtc.stats import RTCInboundRtpStreamStats, RTCOutboundRtpStreamStats
from tests.media.video.patterns import QUADRANTS
from tests.peerconnection.video_helpers import PatternTrack, assert_aiortc_timing, pattern_frames

TIMEOUT = 30.0
CAMERA = (320, 240)  # what the browser's getUserMedia asks for
OURS = (320, 240)  # our pattern's size
# The pattern's quadrants as the browser paints them: R = 1.164 (Y - 16) (BT.601 limited
# range, U = V = 128); a full-range reading (R = Y) is within the tolerance too.
PAINTED = tuple(1.164 * (y - 16) for y in QUADRANTS)
PAINT_TOLERANCE = 22.0


class VideoLink:
    def __init__(self, pc: RTCPeerConnection, page: RemotePage, browser_pc: int) -> None:
        self.pc = pc
        self.page = page
        self.browser_pc = browser_pc
        self.remote_track: asyncio.Future[MediaStreamTrack] = (
            asyncio.get_running_loop().create_future()
        )
        self.source: MediaStreamTrack = PatternTrack(*OURS)

    async def close(self) -> None:
        await self.pc.close()
        await self.page.call("closePc", self.browser_pc)


def _prefer(pc: RTCPeerConnection, codec: str | None) -> None:
    if codec is None:
        return
    caps = RTCRtpReceiver.getCapabilities("video")
    assert caps is not None
    chosen = [c for c in caps.codecs if c.mimeType in (f"video/{codec}", "video/rtx")]
    for t in pc.getTransceivers():
        if t.kind == "video":
            t.setCodecPreferences(chosen)


async def connect_video(
    page: RemotePage, we_offer: bool, codec: str | None = None,
    settings: SettingEngine | None = None, source: MediaStreamTrack | None = None,
    camera: bool = True,
) -> VideoLink:  # fmt: skip
    """The browser adds its camera, we add our pattern (or ``source``); ``codec`` (VP8, H264,
    ...) is our transceiver's codec preference, so the one codec both send. Non-trickle.
    ``camera=False``: the browser only receives (a recvonly transceiver), we only send."""
    link = VideoLink(RTCPeerConnection(settings=settings), page, await page.call("newPc"))
    if source is not None:
        link.source = source
    pc = link.pc

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if track.kind == "video" and not link.remote_track.done():
            link.remote_track.set_result(track)

    await page.call("watchVideo", link.browser_pc)
    if camera:
        assert await page.call("addCamera", link.browser_pc, *CAMERA) == 1
    elif not we_offer:
        await page.call("addVideoReceiver", link.browser_pc)
    if we_offer:
        pc.addTrack(link.source)
        _prefer(pc, codec)
        await pc.setLocalDescription(await pc.createOffer())
        offer = pc.localDescription
        assert offer is not None
        answer = await page.call("answer", link.browser_pc, offer.sdp)
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    else:
        offer_sdp = await page.call("offer", link.browser_pc)
        await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        pc.addTrack(link.source)  # takes the transceiver the offer created
        _prefer(pc, codec)
        await pc.setLocalDescription(await pc.createAnswer())
        answer_desc = pc.localDescription
        assert answer_desc is not None
        await page.call("setAnswer", link.browser_pc, answer_desc.sdp)
    (transceiver,) = pc.getTransceivers()
    direction = "sendrecv" if camera else "sendonly"
    assert transceiver.kind == "video" and transceiver.currentDirection == direction
    return link


async def browser_decodes_our_pattern(link: VideoLink, frames: int = 20) -> dict[str, Any]:
    """Wait until the browser has decoded ``frames`` of ours; check the picture it shows and
    its stats; return them."""
    loop = asyncio.get_running_loop()
    end = loop.time() + TIMEOUT
    stats: dict[str, Any] = {}
    while loop.time() < end:
        stats = await link.page.call("videoStats", link.browser_pc)
        inbound = stats["inbound"] or {}
        if (inbound.get("framesDecoded") or 0) >= frames:
            break
        await asyncio.sleep(0.2)
    inbound = stats["inbound"]
    assert inbound is not None and inbound["framesDecoded"] >= frames, stats
    assert (inbound["frameWidth"], inbound["frameHeight"]) == OURS, stats
    assert inbound["keyFramesDecoded"] >= 1, stats
    # 30 sent; a loaded host (2 cores shared by several browsers) was seen at 5
    assert (inbound.get("framesPerSecond") or 0) >= 3, stats
    picture = await link.page.call("videoPicture", link.browser_pc)
    assert (picture["width"], picture["height"]) == OURS, picture
    for mean, painted in zip(picture["means"], PAINTED, strict=True):
        assert abs(mean - painted) <= PAINT_TOLERANCE, (picture, PAINTED)
    return stats


async def video_both_ways(link: VideoLink, codec: str | None = None) -> None:
    """The browser's camera decoded here; our pattern decoded and shown there; both stats."""
    track = await asyncio.wait_for(link.remote_track, TIMEOUT)
    frames = await pattern_frames(track, 15, TIMEOUT, check=False)
    sizes = {(f.width, f.height) for f in frames}
    # Chromium may scale its camera down when it thinks the CPU is short, never up.
    assert all(0 < w <= CAMERA[0] and 0 < h <= CAMERA[1] for w, h in sizes), sizes
    assert_aiortc_timing(frames)
    theirs = await browser_decodes_our_pattern(link)
    if codec is not None:
        mime = theirs["codecs"].get(theirs["inbound"]["codecId"])
        assert mime == f"video/{codec}", theirs
        assert theirs["codecs"].get(theirs["outbound"]["codecId"]) == f"video/{codec}", theirs
    assert (theirs["outbound"]["framesEncoded"] or 0) >= 15, theirs
    ours = await link.pc.getStats()
    (inbound,) = ours.of_type("inbound-rtp")
    (outbound,) = ours.of_type("outbound-rtp")
    assert isinstance(inbound, RTCInboundRtpStreamStats) and inbound.kind == "video"
    assert (inbound.framesDecoded or 0) >= 15 and (inbound.keyFramesDecoded or 0) >= 1
    assert inbound.frameWidth is not None and inbound.frameWidth > 0
    assert isinstance(outbound, RTCOutboundRtpStreamStats) and outbound.kind == "video"
    assert (outbound.framesSent or 0) >= 20
    assert (outbound.frameWidth, outbound.frameHeight) == OURS
