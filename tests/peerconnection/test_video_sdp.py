"""Video sections through the peer connection: answers to real browser offers, our offers,
transceivers of kind video, directions and codec preferences (no media flows here)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from pywebrtc import (
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    VideoStreamTrack,
)
from pywebrtc.jsep.video import NegotiatedVideo
from pywebrtc.media import RemoteVideoTrack
from pywebrtc.sdp import Direction, SessionDescription

from .audio_helpers import ToneTrack
from .helpers import negotiate

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sdp"


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 30))


@pytest.mark.parametrize(
    "name", ["chrome-offer-audio-video-data.sdp", "firefox-offer-audio-video-data.sdp"]
)
def test_a_browsers_camera_offer_is_answered_sendrecv_with_our_video_track(name: str) -> None:
    async def body() -> None:
        pc = RTCPeerConnection()
        tracks: list[object] = []
        pc.on("track", tracks.append)
        offer = (FIXTURES / name).read_text()
        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        kinds = sorted(getattr(t, "kind", "") for t in tracks)
        assert kinds == ["audio", "video"]
        video_track = next(t for t in tracks if getattr(t, "kind", "") == "video")
        assert isinstance(video_track, RemoteVideoTrack)
        sender = pc.addTrack(VideoStreamTrack())
        assert sender.kind == "video"
        answer = SessionDescription.parse((await pc.createAnswer()).sdp)
        await pc.close()
        offered = SessionDescription.parse(offer)
        assert [m.media for m in answer.media] == [m.media for m in offered.media]
        video = next(m for m in answer.media if m.media == "video")
        assert video.port == 9 and video.direction is Direction.SENDRECV
        first = video.rtpmap(video.payload_types[0])
        assert first is not None and first.encoding_name == "VP8"
        assert all(m.port != 0 for m in answer.media)
        (group,) = video.ssrc_groups
        assert group.semantics == "FID" and group.ssrcs == (sender.ssrc, sender.rtx_ssrc)
        bundle = answer.group("BUNDLE")
        assert bundle is not None and video.mid in bundle.mids

    run(body)


def test_video_between_two_peer_connections_negotiates_vp8_both_ways() -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(), RTCPeerConnection()
        a.addTrack(VideoStreamTrack())
        a.addTrack(ToneTrack(440))
        b.addTrack(VideoStreamTrack())
        await a.setLocalDescription(await a.createOffer())
        assert a.localDescription is not None
        offer = SessionDescription.parse(a.localDescription.sdp)
        assert [m.media for m in offer.media] == ["video", "audio"]
        await b.setRemoteDescription(a.localDescription)
        # b's addTrack took the transceiver the offer's video section made, not a new one.
        assert [t.kind for t in b.getTransceivers()] == ["video", "audio"]
        await b.setLocalDescription(await b.createAnswer())
        assert b.localDescription is not None
        await a.setRemoteDescription(b.localDescription)
        for pc in (a, b):
            video = pc.getTransceivers()[0]
            assert video.kind == "video" and video.currentDirection == "sendrecv"
            assert isinstance(video.negotiated, NegotiatedVideo)
            assert video.negotiated.send_codec is not None
            assert video.negotiated.send_codec.name == "VP8"
            assert isinstance(video.receiver.track, RemoteVideoTrack)
        (audio_b,) = [t for t in b.getTransceivers() if t.kind == "audio"]
        assert audio_b.currentDirection == "recvonly"
        await a.close()
        await b.close()

    run(body)


def test_codec_preferences_from_aiortc_style_capabilities_force_h264() -> None:
    """aiortc's examples/server ``force_codec``: the capabilities of one mimeType, rtx
    included, set as preferences; the offer and the answer carry H.264 only."""

    async def body() -> None:
        a, b = RTCPeerConnection(), RTCPeerConnection()
        t = a.addTransceiver("video", direction="recvonly")
        caps = RTCRtpSender.getCapabilities("video")
        assert caps is not None
        t.setCodecPreferences([c for c in caps.codecs if c.mimeType in ("video/H264",
                                                                         "video/rtx")])  # fmt: skip
        b.addTrack(VideoStreamTrack())
        await negotiate(a, b)
        assert a.localDescription is not None and b.localDescription is not None
        for sdp in (a.localDescription.sdp, b.localDescription.sdp):
            (video,) = SessionDescription.parse(sdp).media
            names = {video.rtpmap(pt).encoding_name for pt in video.payload_types}  # type: ignore[union-attr]
            assert names == {"H264", "rtx"}
        n = t.negotiated
        assert isinstance(n, NegotiatedVideo) and n.send_codec is not None
        assert n.send_codec.name == "H264" and n.direction is Direction.RECVONLY
        await a.close()
        await b.close()

    run(body)


def test_a_video_section_we_cannot_decode_is_rejected_and_audio_kept() -> None:
    chrome = (FIXTURES / "chrome-offer-audio-video-data.sdp").read_text()
    lines = []
    for line in chrome.splitlines():
        if line.startswith("m=video"):
            line = "m=video 9 UDP/TLS/RTP/SAVPF 100 101"  # VP9 profile 2 and its rtx only
        lines.append(line)

    async def body() -> None:
        pc = RTCPeerConnection()
        await pc.setRemoteDescription(RTCSessionDescription("\r\n".join(lines), "offer"))
        answer = SessionDescription.parse((await pc.createAnswer()).sdp)
        await pc.close()
        video = next(m for m in answer.media if m.media == "video")
        assert video.port == 0
        audio = next(m for m in answer.media if m.media == "audio")
        assert audio.port == 9

    run(body)


def test_add_transceiver_takes_audio_and_video_only() -> None:
    async def body() -> None:
        pc = RTCPeerConnection()
        assert pc.addTransceiver("video").kind == "video"
        with pytest.raises(ValueError):
            pc.addTransceiver("application")
        await pc.close()

    run(body)
