"""``RTCRtpTransceiver.setCodecPreferences`` with ``getCapabilities`` (W3C §5.4, RFC 8829
§5.2.1/§5.3.1): the offer's codecs and their order, an aiortc offer answered with the
preferences applied, bad preferences refused, and PCMU audio between two pywebrtc peers."""

from __future__ import annotations

import asyncio

import aiortc
import pytest

from pywebrtc import (
    InvalidModificationError,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCSessionDescription,
)
from pywebrtc.rtcrtptransceiver import RTCRtpReceiver, RTCRtpSender
from pywebrtc.sdp import SessionDescription
from pywebrtc.stats import RTCCodecStats, RTCInboundRtpStreamStats

from .audio_helpers import ToneTrack, tone_of
from .helpers import negotiate, reach
from .test_audio import next_track, run, settings


def capability(mime: str, rate: int) -> RTCRtpCodecCapability:
    caps = RTCRtpSender.getCapabilities("audio")
    assert caps is not None
    return next(
        c for c in caps.codecs if c.mimeType.lower() == mime.lower() and c.clockRate == rate
    )


def audio_formats(sdp: str) -> list[str]:
    media = SessionDescription.parse(sdp).media[0]
    return [
        f"{rtpmap.encoding_name}/{rtpmap.clock_rate}"
        for rtpmap in (media.rtpmap(pt) for pt in media.payload_types)
        if rtpmap is not None
    ]


def test_capabilities_list_our_audio_and_video_codecs_and_extensions() -> None:
    for cls in (RTCRtpSender, RTCRtpReceiver):
        caps = cls.getCapabilities("audio")
        assert caps is not None
        assert [(c.mimeType, c.clockRate, c.channels) for c in caps.codecs] == [
            ("audio/opus", 48000, 2), ("audio/PCMU", 8000, 1), ("audio/PCMA", 8000, 1),
            ("audio/telephone-event", 48000, 1), ("audio/telephone-event", 8000, 1),
        ]  # fmt: skip
        assert caps.codecs[0].sdpFmtpLine == "minptime=10;useinbandfec=1"
        assert any("ssrc-audio-level" in h.uri for h in caps.headerExtensions)
        video = cls.getCapabilities("video")
        assert video is not None
        names = [c.mimeType for c in video.codecs if c.mimeType != "video/rtx"]
        # AV1 is decoded, never encoded: only the receiver lists it.
        av1 = ["video/AV1"] if cls is RTCRtpReceiver else []
        assert names == ["video/VP8", "video/VP9", "video/H264", "video/H264", *av1]
        assert sum(c.mimeType == "video/rtx" for c in video.codecs) == len(names)
        assert cls.getCapabilities("application") is None


def test_the_offer_lists_the_preferred_codecs_in_order_and_an_empty_list_resets() -> None:
    async def body() -> None:
        pc = RTCPeerConnection(settings=settings())
        t = pc.addTransceiver("audio")
        t.setCodecPreferences(
            [capability("audio/PCMU", 8000), capability("audio/opus", 48000),
             capability("audio/telephone-event", 8000)]
        )  # fmt: skip
        offer = await pc.createOffer()
        assert audio_formats(offer.sdp) == ["PCMU/8000", "opus/48000", "telephone-event/8000"]
        assert SessionDescription.parse(offer.sdp).media[0].payload_types == [0, 111, 126]
        t.setCodecPreferences([])
        offer = await pc.createOffer()
        assert audio_formats(offer.sdp) == [
            "opus/48000", "PCMU/8000", "PCMA/8000", "telephone-event/48000", "telephone-event/8000"
        ]  # fmt: skip
        await pc.close()

    run(body)


def test_unknown_codecs_and_a_list_without_audio_codec_are_refused() -> None:
    async def body() -> None:
        pc = RTCPeerConnection(settings=settings())
        t = pc.addTransceiver("audio")
        assert issubclass(InvalidModificationError, ValueError)
        for bad in (
            RTCRtpCodecCapability("audio/G722", 8000, 1),
            RTCRtpCodecCapability("audio/opus", 44100, 2),
            RTCRtpCodecCapability("audio/opus", 48000, 2, "stereo=1"),
            RTCRtpCodecCapability("video/VP8", 90000),  # not for an audio section
        ):
            with pytest.raises(InvalidModificationError):
                t.setCodecPreferences([bad])
        with pytest.raises(InvalidModificationError):
            t.setCodecPreferences([capability("audio/telephone-event", 48000)])
        assert pc.getTransceivers()[0].codec_preferences == ()  # unchanged
        # fmtp given in another order, dicts, and aiortc's capabilities are fine.
        t.setCodecPreferences([RTCRtpCodecCapability("audio/OPUS", 48000, 2,
                                                     "useinbandfec=1;minptime=10")])  # fmt: skip
        t.setCodecPreferences([{"mimeType": "audio/PCMA", "clockRate": 8000}])
        aiortc_caps: list[aiortc.RTCRtpCodecCapability] = aiortc.RTCRtpSender.getCapabilities(
            "audio"
        ).codecs
        t.setCodecPreferences([cap for cap in aiortc_caps if cap.mimeType == "audio/PCMU"])
        assert [c.name for c in t.codec_preferences] == ["PCMU"]
        await pc.close()

    run(body)


def test_an_aiortc_offer_is_answered_in_preference_order_with_its_payload_types() -> None:
    async def body() -> None:
        theirs = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))
        theirs.addTransceiver("audio", direction="sendrecv")
        await theirs.setLocalDescription(await theirs.createOffer())
        offered = audio_formats(theirs.localDescription.sdp)
        assert offered[:3] == ["opus/48000", "G722/8000", "PCMU/8000"], offered
        ours = RTCPeerConnection(settings=settings())
        await ours.setRemoteDescription(RTCSessionDescription(theirs.localDescription.sdp, "offer"))
        (t,) = ours.getTransceivers()
        t.setCodecPreferences([capability("audio/PCMA", 8000), capability("audio/PCMU", 8000)])
        await ours.setLocalDescription(await ours.createAnswer())
        answer = ours.localDescription
        assert answer is not None
        assert audio_formats(answer.sdp) == ["PCMA/8000", "PCMU/8000"]
        await theirs.setRemoteDescription(aiortc.RTCSessionDescription(answer.sdp, "answer"))
        await ours.close()
        await theirs.close()

    run(body)


def test_pcmu_preferred_audio_flows_between_two_pywebrtc_peers() -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        a.addTrack(ToneTrack(440))
        b.addTrack(ToneTrack(1000))
        for pc in (a, b):
            pc.getTransceivers()[0].setCodecPreferences(
                [capability("audio/PCMU", 8000), capability("audio/opus", 48000)]
            )
        track_a, track_b = await next_track(a), await next_track(b)
        await negotiate(a, b)
        await reach(a, "connectionState", "connected")
        assert abs(await tone_of(await track_b) - 440) < 15
        assert abs(await tone_of(await track_a) - 1000) < 30
        for pc in (a, b):
            stats = await pc.getStats()
            (inbound,) = stats.of_type("inbound-rtp")
            assert isinstance(inbound, RTCInboundRtpStreamStats)
            codec = stats[inbound.codecId] if inbound.codecId else None
            assert isinstance(codec, RTCCodecStats) and codec.mimeType == "audio/PCMU", codec
        await asyncio.gather(a.close(), b.close())

    run(body)
