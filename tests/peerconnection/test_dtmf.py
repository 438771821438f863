"""DTMF between two pywebrtc peer connections on loopback: RTCDTMFSender, tonechange, the
receiver's ``dtmf`` events; and the W3C rules when telephone-event is not negotiated."""

from __future__ import annotations

import asyncio
import re

import pytest

from pywebrtc import InvalidStateError, RTCPeerConnection, RTCSessionDescription
from pywebrtc.media import InvalidCharacterError, MediaStreamTrack, TelephoneEvent
from pywebrtc.rtcrtptransceiver import RTCDTMFSender, RTCDTMFToneChangeEvent

from .audio_helpers import ToneTrack
from .helpers import negotiate, reach
from .test_audio import TIMEOUT, next_track, run, settings


def dtmf_of(pc: RTCPeerConnection) -> RTCDTMFSender:
    dtmf = pc.getSenders()[0].dtmf
    assert dtmf is not None
    return dtmf


async def drain(track: MediaStreamTrack) -> None:
    while True:
        await track.recv()


def test_digits_reach_the_other_peer_and_tonechange_fires_for_each_then_empty() -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        a.addTrack(ToneTrack(440))
        track_b = await next_track(b)
        dtmf = dtmf_of(a)
        assert not dtmf.canInsertDTMF  # not negotiated yet
        with pytest.raises(InvalidStateError):
            dtmf.insertDTMF("1")
        await negotiate(a, b)
        await reach(a, "connectionState", "connected")
        player = asyncio.ensure_future(drain(await track_b))
        assert dtmf.canInsertDTMF
        changes: list[str] = []
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        @dtmf.on("tonechange")
        def on_tone(event: RTCDTMFToneChangeEvent) -> None:
            changes.append(event.tone)
            if event.tone == "" and not done.done():
                done.set_result(None)

        received: list[TelephoneEvent] = []
        b.getReceivers()[0].on("dtmf", received.append)
        with pytest.raises(InvalidCharacterError):
            dtmf.insertDTMF("12E")
        dtmf.insertDTMF("1#9d", duration=80, interToneGap=50)
        assert dtmf.toneBuffer == "1#9D" and changes == []  # the playout task is queued
        await asyncio.wait_for(done, TIMEOUT)
        assert changes == ["1", "#", "9", "D", ""]
        assert dtmf.toneBuffer == ""
        for _ in range(50):  # the last end packets cross the loopback
            if len(received) == 4:
                break
            await asyncio.sleep(0.02)
        assert [(e.event, e.duration) for e in received] == [
            ("1", 0.08), ("#", 0.08), ("9", 0.08), ("D", 0.08)
        ]  # fmt: skip
        player.cancel()
        await a.close()
        await b.close()

    run(body)


def without_telephone_event(sdp: str) -> str:
    pts = re.findall(r"a=rtpmap:(\d+) telephone-event/", sdp)
    lines = []
    for line in sdp.splitlines():
        if line.startswith("m=audio"):
            words = line.split(" ")
            line = " ".join(words[:3] + [w for w in words[3:] if w not in pts])
        if any(line.startswith(f"a={kind}:{pt} ") for pt in pts for kind in ("rtpmap", "fmtp")):
            continue
        lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def test_without_telephone_event_can_insert_dtmf_is_false_and_insert_raises() -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        a.addTrack(ToneTrack(440))
        await a.setLocalDescription(await a.createOffer())
        offer = a.localDescription
        assert offer is not None
        munged = without_telephone_event(offer.sdp)
        assert "telephone-event" not in munged
        await b.setRemoteDescription(RTCSessionDescription(munged, "offer"))
        await b.setLocalDescription(await b.createAnswer())
        answer = b.localDescription
        assert answer is not None and "telephone-event" not in answer.sdp
        await a.setRemoteDescription(RTCSessionDescription(answer.sdp, "answer"))
        await reach(a, "connectionState", "connected")
        dtmf = dtmf_of(a)
        assert a.getTransceivers()[0].currentDirection == "sendonly"
        assert not dtmf.canInsertDTMF
        with pytest.raises(InvalidStateError):
            dtmf.insertDTMF("1")
        await a.close()
        await b.close()

    run(body)


def test_a_stopped_or_receive_only_transceiver_cannot_send_dtmf() -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        t = a.addTransceiver("audio", direction="recvonly")
        b.addTrack(ToneTrack(440))
        await negotiate(a, b)
        assert t.sender.dtmf is not None and not t.sender.dtmf.canInsertDTMF
        with pytest.raises(InvalidStateError):
            t.sender.dtmf.insertDTMF("1")
        t.stop()
        with pytest.raises(InvalidStateError):
            t.sender.dtmf.insertDTMF("1")
        await a.close()
        await b.close()

    run(body)
