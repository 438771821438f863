"""Audio between pywebrtc and aiortc (unmodified, same event loop), both offer directions,
next to a data channel on the one BUNDLE transport: each side sends a tone (Opus, SRTP keyed
by DTLS), each side decodes the other's and finds its frequency, and both getStats count the
packets.
"""

from __future__ import annotations

import array
import asyncio
import fractions
import math
from collections.abc import Awaitable, Callable
from typing import Any

import aiortc
import av
import pytest
from aiortc.mediastreams import MediaStreamTrack as AiortcTrack

from pywebrtc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription, SettingEngine
from pywebrtc.stats import RTCInboundRtpStreamStats, RTCOutboundRtpStreamStats
from tests.peerconnection.audio_helpers import ToneTrack, tone_of

from .test_aiortc import negotiate

TIMEOUT = 20.0


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 60))


class AiortcTone(AiortcTrack):
    """aiortc's side of the tone: 20 ms s16 mono frames at 48 kHz, paced on the loop clock."""

    kind = "audio"

    def __init__(self, frequency: float) -> None:
        super().__init__()
        self.frequency = frequency
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            self._pts += 960
            delay = self._start + self._pts / 48000 - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        step = 2 * math.pi * self.frequency / 48000
        pcm = array.array("h", (int(9000 * math.sin(step * (self._pts + i))) for i in range(960)))
        frame = av.AudioFrame(format="s16", layout="mono", samples=960)
        frame.planes[0].update(pcm.tobytes())
        frame.sample_rate = 48000
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, 48000)
        return frame


def resolve(fut: asyncio.Future[Any]) -> Callable[[Any], None]:
    """An event handler that resolves ``fut`` with the first value it is given."""

    def handler(value: Any = None) -> None:
        if not fut.done():
            fut.set_result(value)

    return handler


@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "aiortc-offers"])
def test_tone_both_ways_with_a_data_channel(we_offer: bool) -> None:
    async def body() -> None:
        settings = SettingEngine()
        settings.include_loopback = True
        ours = RTCPeerConnection(settings=settings)
        theirs = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))
        loop = asyncio.get_running_loop()
        our_track: asyncio.Future[MediaStreamTrack] = loop.create_future()
        their_track: asyncio.Future[Any] = loop.create_future()
        ours.on("track", resolve(our_track))
        theirs.on("track", resolve(their_track))
        channel_open: asyncio.Future[Any] = loop.create_future()
        if we_offer:
            ours.createDataChannel("events")
            ours.addTrack(ToneTrack(440))
            theirs.addTrack(AiortcTone(1000))
        else:
            theirs.createDataChannel("events")
            theirs.addTrack(AiortcTone(1000))
        theirs.on("datachannel", resolve(channel_open))
        ours.on("datachannel", resolve(channel_open))
        if we_offer:
            await negotiate(ours, theirs, True)
        else:
            await theirs.setLocalDescription(await theirs.createOffer())
            offer = theirs.localDescription
            await ours.setRemoteDescription(RTCSessionDescription(offer.sdp, offer.type))
            ours.addTrack(ToneTrack(440))  # after the offer: reuses the offered transceiver
            await ours.setLocalDescription(await ours.createAnswer())
            answer = ours.localDescription
            assert answer is not None
            await theirs.setRemoteDescription(aiortc.RTCSessionDescription(answer.sdp, "answer"))
        await asyncio.wait_for(channel_open, TIMEOUT)
        we_heard = await tone_of(await asyncio.wait_for(our_track, TIMEOUT))
        they_heard = await tone_of(await asyncio.wait_for(their_track, TIMEOUT))
        assert abs(we_heard - 1000) < 20, we_heard
        assert abs(they_heard - 440) < 10, they_heard
        stats = await ours.getStats()
        (inbound,) = stats.of_type("inbound-rtp")
        (outbound,) = stats.of_type("outbound-rtp")
        assert isinstance(inbound, RTCInboundRtpStreamStats) and inbound.packetsReceived > 20
        assert isinstance(outbound, RTCOutboundRtpStreamStats) and outbound.packetsSent > 20
        their_stats = await theirs.getStats()
        received = [s for s in their_stats.values() if s.type == "inbound-rtp"]
        assert received and received[0].packetsReceived > 20
        await ours.close()
        await theirs.close()

    run(body)


@pytest.mark.parametrize("with_data", [False, True], ids=["audio-only", "audio-and-data"])
def test_aiortc_offers_pcmu_only_without_bundle(with_data: bool) -> None:
    """aiortc with bundlePolicy max-compat (a transport per m-line, its BUNDLE line removed)
    and only PCMU: we answer the first section on our one transport (the data section, when there is
    one, is rejected) and the tone arrives both ways through G.711."""

    async def body() -> None:
        settings = SettingEngine()
        settings.include_loopback = True
        ours = RTCPeerConnection(settings=settings)
        theirs = aiortc.RTCPeerConnection(
            aiortc.RTCConfiguration(iceServers=[], bundlePolicy=aiortc.RTCBundlePolicy.MAX_COMPAT)
        )
        loop = asyncio.get_running_loop()
        our_track: asyncio.Future[Any] = loop.create_future()
        their_track: asyncio.Future[Any] = loop.create_future()
        ours.on("track", resolve(our_track))
        theirs.on("track", resolve(their_track))
        transceiver = theirs.addTransceiver(AiortcTone(1000), direction="sendrecv")
        pcmu = [
            c
            for c in aiortc.RTCRtpSender.getCapabilities("audio").codecs
            if c.mimeType == "audio/PCMU"
        ]
        transceiver.setCodecPreferences(pcmu)
        if with_data:
            theirs.createDataChannel("events")
        await theirs.setLocalDescription(await theirs.createOffer())
        offer = theirs.localDescription
        assert "opus" not in offer.sdp
        # max-compat gives each m-line its own ICE/DTLS transport (its own port) but aiortc
        # still lists them in a BUNDLE group: without the group it is the pre-BUNDLE offer.
        offer_sdp = "".join(
            line for line in offer.sdp.splitlines(True) if not line.startswith("a=group:")
        )
        await ours.setRemoteDescription(RTCSessionDescription(offer_sdp, offer.type))
        ours.addTrack(ToneTrack(440))
        await ours.setLocalDescription(await ours.createAnswer())
        answer = ours.localDescription
        assert answer is not None
        if with_data:
            assert "m=application 0 " in answer.sdp
        await theirs.setRemoteDescription(aiortc.RTCSessionDescription(answer.sdp, "answer"))
        we_heard = await tone_of(await asyncio.wait_for(our_track, TIMEOUT))
        they_heard = await tone_of(await asyncio.wait_for(their_track, TIMEOUT))
        assert abs(we_heard - 1000) < 30, we_heard
        assert abs(they_heard - 440) < 15, they_heard
        stats = await ours.getStats()
        codecs = {getattr(c, "mimeType", "") for c in stats.of_type("codec")}
        assert codecs == {"audio/PCMU"}, codecs
        await ours.close()
        await theirs.close()

    run(body)
