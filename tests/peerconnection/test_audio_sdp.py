"""Answers to real browsers' audio offers (captured SDP): payload types and extension ids are
the offerer's, unsupported codecs and extensions are left out, directions mirror."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pywebrtc import RTCPeerConnection, RTCSessionDescription
from pywebrtc.sdp import Direction, SessionDescription

from .audio_helpers import ToneTrack

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sdp"


async def answer_with_track(name: str) -> SessionDescription:
    pc = RTCPeerConnection()
    await pc.setRemoteDescription(RTCSessionDescription((FIXTURES / name).read_text(), "offer"))
    pc.addTrack(ToneTrack(440))
    answer = await pc.createAnswer()
    await pc.close()
    return SessionDescription.parse(answer.sdp)


def test_answer_to_firefox_keeps_its_numbers_and_drops_g722() -> None:
    answer = asyncio.run(answer_with_track("firefox-offer-audio.sdp"))
    (audio,) = answer.media
    assert audio.port == 9 and audio.direction is Direction.SENDRECV
    assert audio.payload_types == [109, 0, 8, 101]  # G722 (9) is not ours
    rtpmap = audio.rtpmap(109)
    assert rtpmap is not None and (rtpmap.encoding_name, rtpmap.channels) == ("opus", 2)
    extmaps = {e.uri: e.id for e in audio.extmaps}
    assert extmaps == {
        "urn:ietf:params:rtp-hdrext:ssrc-audio-level": 1,
        "urn:ietf:params:rtp-hdrext:sdes:mid": 3,
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01": 7,
    }
    assert [(f.payload_type, f.type) for f in audio.rtcp_feedback] == [(109, "transport-cc")]
    assert audio.rtcp_mux and audio.rtcp_rsize
    fmtp = audio.fmtp(109)
    assert fmtp is not None and fmtp.get("useinbandfec") == "1"
    assert {s.attribute for s in audio.ssrcs} == {"cname", "msid"}
    assert audio.msids


def test_our_next_offer_keeps_the_extension_ids_firefox_offered() -> None:
    """RFC 8285 §6, JSEP §5.2.2: a subsequent offer keeps the negotiated ids (Firefox rejects
    an offer that remaps one, e.g. an ICE restart we offer after answering it)."""

    async def body() -> SessionDescription:
        pc = RTCPeerConnection()
        text = (FIXTURES / "firefox-offer-audio.sdp").read_text()
        await pc.setRemoteDescription(RTCSessionDescription(text, "offer"))
        pc.addTrack(ToneTrack(440))
        await pc.setLocalDescription(await pc.createAnswer())
        offer = await pc.createOffer()
        await pc.close()
        return SessionDescription.parse(offer.sdp)

    (audio,) = asyncio.run(body()).media
    assert {e.uri: e.id for e in audio.extmaps} == {
        "urn:ietf:params:rtp-hdrext:ssrc-audio-level": 1,
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time": 2,  # ours, id free
        "urn:ietf:params:rtp-hdrext:sdes:mid": 3,
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01": 7,
    }


@pytest.mark.parametrize(
    "name", ["chrome-offer-audio.sdp", "libwebrtc-offer-audio.sdp", "firefox-offer-audio.sdp"]
)
def test_answer_without_a_track_is_recvonly_and_has_no_ssrc(name: str) -> None:
    async def body() -> SessionDescription:
        pc = RTCPeerConnection()
        text = (FIXTURES / name).read_text()
        await pc.setRemoteDescription(RTCSessionDescription(text, "offer"))
        answer = await pc.createAnswer()
        await pc.close()
        return SessionDescription.parse(answer.sdp)

    answer = asyncio.run(body())
    audio = next(m for m in answer.media if m.media == "audio")
    assert audio.port == 9 and audio.direction is Direction.RECVONLY
    assert not audio.ssrcs
    group = answer.group("BUNDLE")
    assert group is not None and audio.mid in group.mids
