"""Audio both ways between pywebrtc and libwebrtc (node's ``@roamhq/wrtc``), both offer
directions, next to a data channel on the one BUNDLE transport. libwebrtc sends a 1 kHz tone
through its RTCAudioSource (10 ms frames of 16-bit PCM) and we decode it from our
RemoteAudioTrack; we send a 440 Hz tone and libwebrtc's RTCAudioSink hears it, while its
getStats counts about 50 packets a second from us (20 ms Opus frames). Also with the audio
added later by renegotiating a data-only connection, each side re-offering.
"""

from __future__ import annotations

import asyncio
import base64
from array import array
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from conformance.channels import TIMEOUT
from conformance.libwebrtc.driver import NodePeer
from conformance.libwebrtc.link import (
    Link,
    add_channels,
    connect,
    negotiate,
    new_link,
    wait_open,
)
from pywebrtc import MediaStreamTrack, RTCSessionDescription
from pywebrtc.stats import RTCInboundRtpStreamStats, RTCOutboundRtpStreamStats
from tests.peerconnection.audio_helpers import ToneTrack, dominant_frequency, tone_of

OUR_TONE = 440.0
THEIR_TONE = 1000.0


def run(test: Callable[[NodePeer], Awaitable[None]]) -> None:
    async def main() -> None:
        async with NodePeer() as node:
            await test(node)

    asyncio.run(asyncio.wait_for(main(), 90))


async def they_hear(link: Link, seconds: float = 0.6) -> float:
    """The frequency libwebrtc's RTCAudioSink hears from us."""
    recording = await link.call("heard", seconds + 0.1)
    samples = array("h", base64.b64decode(recording["samples"]))
    rate = int(recording["rate"])
    return dominant_frequency(list(samples)[rate // 10 :], rate)


async def their_packet_rate(link: Link, window: float = 2.0) -> tuple[float, dict[str, Any]]:
    """Packets a second libwebrtc's inbound-rtp counts from us over about ``window`` seconds,
    timed by the reports' own timestamps (libwebrtc caches a report for a while, so the time
    of our call is not the time of its counts), and its last audio stats."""
    await link.call("waitTrack")
    first = await link.call("audioStats")
    await asyncio.sleep(window)
    last = await link.call("audioStats")
    assert first["inbound"] is not None and last["inbound"] is not None, last
    packets = last["inbound"]["packetsReceived"] - first["inbound"]["packetsReceived"]
    elapsed = (last["inbound"]["timestamp"] - first["inbound"]["timestamp"]) / 1000
    assert elapsed > window / 2, (first, last)
    return packets / elapsed, last


def track_future(link: Link) -> asyncio.Future[MediaStreamTrack]:
    """The first remote track our peer connection reports."""
    remote_track: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()

    def on_track(track: MediaStreamTrack) -> None:
        if not remote_track.done():
            remote_track.set_result(track)

    link.pc.on("track", on_track)
    return remote_track


async def audio_both_ways(link: Link, remote_track: asyncio.Future[MediaStreamTrack]) -> None:
    """Each side hears the other's tone, libwebrtc counts ~50 packets/s from us, and the data
    channel "events" still carries messages on the same transport."""
    pc = link.pc
    (transceiver,) = pc.getTransceivers()
    assert transceiver.currentDirection == "sendrecv"
    description = pc.remoteDescription
    assert description is not None
    assert "a=group:BUNDLE 0 1" in description.sdp, description.sdp

    frequency = await tone_of(await asyncio.wait_for(remote_track, TIMEOUT))
    assert abs(frequency - THEIR_TONE) < 20, frequency
    rate, stats = await their_packet_rate(link)
    assert 40 <= rate <= 60, (rate, stats)
    assert stats["inbound"]["mimeType"].lower() == "audio/opus", stats
    assert stats["outbound"]["packetsSent"] > 50, stats
    assert abs(await they_hear(link) - OUR_TONE) < 10

    link.channels["events"].send("after audio")
    assert await link.call("received", "events", 1) == [["s", "after audio"]]
    await link.call("send", "events", [["s", "back"]])
    assert await link.inboxes["events"].take(1) == ["back"]

    ours = await pc.getStats()
    (inbound,) = ours.of_type("inbound-rtp")
    (outbound,) = ours.of_type("outbound-rtp")
    assert isinstance(inbound, RTCInboundRtpStreamStats) and inbound.packetsReceived > 50
    assert isinstance(outbound, RTCOutboundRtpStreamStats) and outbound.packetsSent > 50


@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "libwebrtc-offers"])
def test_tone_both_ways_next_to_a_data_channel(we_offer: bool) -> None:
    async def body(node: NodePeer) -> None:
        link = await new_link(node)
        pc = link.pc
        remote_track = track_future(link)
        await add_channels(link, we_offer, {"events": {}})
        if we_offer:
            pc.addTrack(ToneTrack(OUR_TONE))
            await link.call("addTone", THEIR_TONE)
            await negotiate(link, we_offer=True)
        else:
            assert await link.call("addTone", THEIR_TONE) == 1
            offer_sdp = await link.call("offer")
            await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            pc.addTrack(ToneTrack(OUR_TONE))  # takes the transceiver the offer created
            await pc.setLocalDescription(await pc.createAnswer())
            answer = pc.localDescription
            assert answer is not None
            await link.call("setAnswer", answer.sdp)
        try:
            await wait_open(link, {"events": {}})
            await audio_both_ways(link, remote_track)
        finally:
            await link.close()

    run(body)


@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-reoffers", "libwebrtc-reoffers"])
def test_audio_added_by_renegotiating_a_data_only_connection(we_offer: bool) -> None:
    """A client that starts with a data channel and adds its microphone later: the second
    offer adds an audio section to the running BUNDLE transport (no ICE restart)."""

    async def body(node: NodePeer) -> None:
        link = await connect(node, True, {"events": {}})
        pc = link.pc
        remote_track = track_future(link)
        try:
            if we_offer:
                pc.addTrack(ToneTrack(OUR_TONE))
                await pc.setLocalDescription(await pc.createOffer())
                offer = pc.localDescription
                assert offer is not None
                await link.call("setOffer", offer.sdp)
                assert await link.call("addTone", THEIR_TONE) == 1
                answer = await link.call("answerNow")
                await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
            else:
                assert await link.call("addTone", THEIR_TONE) == 1
                offer_sdp = await link.call("offer")
                await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
                pc.addTrack(ToneTrack(OUR_TONE))
                await pc.setLocalDescription(await pc.createAnswer())
                answer_desc = pc.localDescription
                assert answer_desc is not None
                await link.call("setAnswer", answer_desc.sdp)
            assert pc.signalingState == "stable"
            await audio_both_ways(link, remote_track)
        finally:
            await link.close()

    run(body)
