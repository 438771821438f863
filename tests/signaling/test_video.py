"""Video through ``pywebrtc-signaling`` (a subprocess on loopback, as users run it), with pywebrtc
peer connections as clients:

* ``--app echo`` sends a client's video back as it came (no transcoding; VP8, H.264 or VP9,
  whichever the client prefers, is what it gets back): the client decodes its own test
  pattern; a keyframe request from the client reaches the client's own sender as a PLI relayed
  by the echo; the video RTP counters of ``/metrics`` move.
* WHIP, ``/offer`` and ``/v1/realtime/calls`` answer offers with video; a video section in no
  codec we have is rejected alone (port 0) and only an offer with nothing usable left is a 422.
* A session whose client sends garbage "VP8" (and a second camera) does not disturb another
  one, nor does its end.
* A ``MODULE:CALLABLE`` app (``signaling.examples.camera``) gets the camera as decoded frames.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import random
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import av
import pytest
from av.stream import Stream

from pywebrtc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpTransceiver,
    RTCSessionDescription,
    SettingEngine,
    VideoStreamTrack,
)
from pywebrtc.stats import RTCInboundRtpStreamStats, RTCOutboundRtpStreamStats
from tests.peerconnection.video_helpers import PatternTrack, pattern_frames
from tests.signaling.bad_offers import make_offer
from tests.signaling.service import SignalingProcess, request

TIMEOUT = 20.0
STATES = ("new", "connecting", "connected", "disconnected", "failed", "closed")


@pytest.fixture(scope="module")
def service() -> Iterator[SignalingProcess]:
    process = SignalingProcess("--app", "echo", "--drain-timeout", "2")
    yield process
    assert process.terminate() == 0, process.output()
    process.close()


def run(test: Callable[[], Awaitable[None]], limit: float = 90) -> None:
    asyncio.run(asyncio.wait_for(test(), limit))


def _client() -> RTCPeerConnection:
    settings = SettingEngine()
    settings.include_loopback = True  # the service listens on 127.0.0.1
    return RTCPeerConnection(RTCConfiguration(iceServers=[]), settings=settings)


def _first_track(pc: RTCPeerConnection, kind: str) -> asyncio.Future[MediaStreamTrack]:
    future: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()

    def on_track(track: MediaStreamTrack) -> None:
        if track.kind == kind and not future.done():
            future.set_result(track)

    pc.on("track", on_track)
    return future


async def _whip(pc: RTCPeerConnection, url: str) -> tuple[str, str]:
    """POST ``pc``'s offer (with its candidates) to ``url``/whip: (answer, resource URL)."""
    await pc.setLocalDescription(await pc.createOffer())
    assert pc.localDescription is not None
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            url + "/whip",
            data=pc.localDescription.sdp,
            headers={"Content-Type": "application/sdp"},
        ) as response,
    ):
        assert response.status == 201, await response.text()
        answer = await response.text()
        location = url + response.headers["Location"]
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    return answer, location


def _section(sdp: str, kind: str) -> str:
    """The text of the first ``m=<kind>`` section of ``sdp``."""
    start = sdp.index(f"m={kind} ")
    end = sdp.find("\r\nm=", start)
    return sdp[start : end if end >= 0 else len(sdp)]


async def _video_stats(
    pc: RTCPeerConnection,
) -> tuple[RTCInboundRtpStreamStats, RTCOutboundRtpStreamStats]:
    stats = await pc.getStats()
    (inbound,) = [s for s in stats.of_type("inbound-rtp") if getattr(s, "kind", "") == "video"]
    (outbound,) = [s for s in stats.of_type("outbound-rtp") if getattr(s, "kind", "") == "video"]
    assert isinstance(inbound, RTCInboundRtpStreamStats)
    assert isinstance(outbound, RTCOutboundRtpStreamStats)
    return inbound, outbound


async def _until(probe: Callable[[], Awaitable[Any]], ok: Callable[[Any], bool], what: str) -> Any:
    loop = asyncio.get_running_loop()
    end = loop.time() + TIMEOUT
    while True:
        value = await probe()
        if ok(value):
            return value
        if loop.time() > end:
            raise AssertionError(f"{what}: {value}")
        await asyncio.sleep(0.1)


def _prefer(transceiver: RTCRtpTransceiver, name: str) -> None:
    """Offer every video codec we have, ``name`` first (what the client will send)."""
    caps = RTCRtpReceiver.getCapabilities("video")
    assert caps is not None
    first = [c for c in caps.codecs if c.mimeType == f"video/{name}"]
    transceiver.setCodecPreferences(first + [c for c in caps.codecs if c not in first])


def _requests(stats: RTCInboundRtpStreamStats | RTCOutboundRtpStreamStats) -> int:
    """Keyframe requests (PLI and FIR) sent (inbound-rtp) or received (outbound-rtp)."""
    return (stats.pliCount or 0) + (stats.firCount or 0)


def _live_sessions(service: SignalingProcess) -> float:
    return sum(service.metric("pywebrtc_sessions", f'state="{s}"') for s in STATES)


@pytest.mark.parametrize("codec", ["VP8", "H264", "VP9"])
def test_echo_sends_a_clients_video_back_and_relays_its_keyframe_requests(
    service: SignalingProcess, codec: str
) -> None:
    async def body() -> None:
        video_before = service.metric("pywebrtc_video_rtp_packets_sent_total")
        pc = _client()
        pattern = PatternTrack()
        transceiver = pc.addTransceiver(pattern, "sendrecv")
        _prefer(transceiver, codec)
        echoed = _first_track(pc, "video")
        answer, location = await _whip(pc, service.url)
        video = _section(answer, "video")
        assert "a=sendrecv" in video and f"{codec}/90000" in video, answer
        track = await asyncio.wait_for(echoed, TIMEOUT)
        # The client's own pattern, decoded after a trip through the echo.
        frames = await pattern_frames(track, count=30)
        assert {(f.width, f.height) for f in frames} == {(320, 240)}
        inbound, outbound = await _video_stats(pc)
        assert (inbound.framesDecoded or 0) >= 30 and inbound.frameWidth == 320, inbound
        stats = await pc.getStats()
        received = next(c for c in stats.of_type("codec") if c.id == inbound.codecId)
        assert getattr(received, "mimeType", "") == f"video/{codec}"  # the codec it sent
        # Pass-through: what comes back is what the client encoded, nothing re-encoded on the
        # way (the echo's sender would start with a keyframe of its own otherwise; here the
        # client's keyframes and the echo's are the same count, give or take one in flight).
        decoded, encoded = inbound.keyFramesDecoded or 0, outbound.keyFramesEncoded or 0
        assert decoded >= 1 and abs(decoded - encoded) <= 1, (inbound, outbound)

        # A keyframe request (PLI) from the client on the echoed stream goes upstream: the
        # echo asks the client's sender for a keyframe, which comes back and is decoded.
        requests_before = _requests(outbound)
        keyframes_before = decoded
        receiving: RTCRtpTransceiver = pc.getTransceivers()[0]
        assert receiving.video is not None
        receiving.video.request_keyframe()
        inbound, outbound = await _until(
            lambda: _video_stats(pc),
            lambda s: (
                _requests(s[1]) > requests_before
                and (s[0].keyFramesDecoded or 0) > keyframes_before
            ),
            "the keyframe request was not relayed",
        )
        assert _requests(inbound) >= 1  # the client did send its request
        assert (outbound.keyFramesEncoded or 0) > keyframes_before
        assert service.metric("pywebrtc_video_rtp_packets_received_total") > 0
        assert service.metric("pywebrtc_video_rtp_packets_sent_total") > video_before + 30
        assert service.metric("pywebrtc_rtp_packets_sent_total") >= service.metric(
            "pywebrtc_video_rtp_packets_sent_total"
        )
        assert request("DELETE", location).status_code == 200
        await pc.close()
        assert _live_sessions(service) == 0

    run(body)


def _only_codec(offer: str, name: str) -> str:
    """``offer`` whose video section offers one payload type of codec ``name``, unknown to us."""
    video = _section(offer, "video")
    fields = video.split("\r\n", 1)[0].split(" ")
    lines = [" ".join([*fields[:3], "100"])]
    lines += [f"a=rtpmap:100 {name}/90000"]
    lines += [
        line
        for line in video.split("\r\n")[1:]
        if not line.startswith(("a=rtpmap:", "a=fmtp:", "a=rtcp-fb:", "a=ssrc"))
    ]
    return offer.replace(video, "\r\n".join(lines))


def test_every_endpoint_answers_offers_with_video(service: SignalingProcess) -> None:
    offer = make_offer(video=True)
    whip = request("POST", service.url + "/whip", {"Content-Type": "application/sdp"}, offer)
    assert whip.status_code == 201, whip.text
    plain = request(
        "POST", service.url + "/offer", {"Content-Type": "application/json"},
        json.dumps({"type": "offer", "sdp": offer}),
    )  # fmt: skip
    assert plain.status_code == 200, plain.text
    calls = service.url + "/v1/realtime/calls"
    call = request("POST", calls, {"Content-Type": "application/sdp"}, offer)
    assert call.status_code == 201, call.text
    answer = plain.json()
    assert isinstance(answer, dict)
    for sdp in (whip.text, str(answer["sdp"]), call.text):
        video = _section(sdp, "video")
        assert not video.startswith("m=video 0 ") and "a=sendrecv" in video, sdp
        assert "a=sendrecv" in _section(sdp, "audio")
        assert not _section(sdp, "application").startswith("m=application 0 ")
    assert request("DELETE", service.url + whip.headers["Location"]).status_code == 200
    hangup = service.url + call.headers["Location"] + "/hangup"
    assert request("POST", hangup).status_code == 200


def test_a_video_section_in_no_codec_we_have_is_rejected_alone(service: SignalingProcess) -> None:
    sdp = {"Content-Type": "application/sdp"}
    live = _live_sessions(service)
    offer = _only_codec(make_offer(video=True), "H265")
    response = request("POST", service.url + "/whip", sdp, offer)
    assert response.status_code == 201, response.text
    assert _section(response.text, "video").startswith("m=video 0 "), response.text
    assert "a=sendrecv" in _section(response.text, "audio")
    assert request("DELETE", service.url + response.headers["Location"]).status_code == 200
    # An unknown kind of section too (RFC 3264 §6), beside usable ones.
    text = make_offer(video=True).replace("m=video ", "m=text ")
    response = request("POST", service.url + "/whip", sdp, text)
    assert response.status_code == 201, response.text
    assert "m=text 0 " in response.text
    assert request("DELETE", service.url + response.headers["Location"]).status_code == 200
    # Nothing usable left: 422 with its reason.
    alone = _only_codec(make_offer(audio=False, channel=False, video=True), "H265")
    response = request("POST", service.url + "/whip", sdp, alone)
    assert response.status_code == 422 and "video" in response.text, response.text
    assert "\n" not in response.text.strip()
    assert _live_sessions(service) == live


class GarbageVideo(MediaStreamTrack):
    """Random bytes claiming to be VP8 keyframes, 60 a second: the echo passes them through, so
    the client's own decoder rejects every one and asks for keyframes all the time."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.timestamp = 0
        self.rng = random.Random(7)

    async def recv(self) -> av.Packet[Stream]:
        await asyncio.sleep(1 / 60)
        self.timestamp += 1500
        packet = av.Packet(self.rng.randbytes(self.rng.randrange(100, 3000)))
        packet.pts = self.timestamp  # an encoded frame as EncodedVideoTrack gives them
        packet.time_base = fractions.Fraction(1, 90000)
        packet.is_keyframe = True
        return packet


def test_a_bad_video_session_does_not_disturb_another(service: SignalingProcess) -> None:
    async def body() -> None:
        good = _client()
        good.addTransceiver(PatternTrack(), "sendrecv")
        echoed = _first_track(good, "video")
        _, good_location = await _whip(good, service.url)
        track = await asyncio.wait_for(echoed, TIMEOUT)
        await pattern_frames(track, count=10)

        live = await asyncio.to_thread(_live_sessions, service)
        bad = _client()
        bad.addTransceiver(GarbageVideo(), "sendrecv")
        bad.addTransceiver(VideoStreamTrack(), "sendonly")  # a second camera, black
        await _whip(bad, service.url)
        # While the bad client's garbage goes through the echo, the good one's pattern comes
        # back frame after frame, each checked (no speed asserted here: a loaded host is slow).
        frames = await pattern_frames(track, count=60)
        assert len(frames) == 60
        stats = await bad.getStats()
        received = [getattr(s, "packetsReceived", 0) for s in stats.of_type("inbound-rtp")]
        assert received and received[0] > 0  # the garbage did come back to its sender
        # The bad client leaves (DTLS close_notify): only its session ends.
        await bad.close()
        await _until(
            lambda: asyncio.to_thread(_live_sessions, service), lambda n: n == live,
            "the bad session did not end",
        )  # fmt: skip
        await pattern_frames(track, count=30)
        assert service.metric("pywebrtc_sessions", 'state="connected"') == 1
        assert request("DELETE", good_location).status_code == 200
        await good.close()

    run(body)


def test_an_app_gets_the_camera_as_decoded_frames() -> None:
    process = SignalingProcess("--app", "signaling.examples.camera:app")

    async def body() -> None:
        pc = _client()
        pc.addTransceiver("audio", "sendrecv")
        pc.addTransceiver(PatternTrack(320, 240), "sendonly")
        channel = pc.createDataChannel("look")
        replies: asyncio.Queue[str | bytes] = asyncio.Queue()
        channel.on("message", replies.put_nowait)
        answer, location = await _whip(pc, process.url)
        assert "a=recvonly" in _section(answer, "video")
        assert "a=inactive" in _section(answer, "audio")
        await _open(channel)

        async def look() -> dict[str, float]:
            channel.send("look")
            reply = json.loads(await asyncio.wait_for(replies.get(), TIMEOUT))
            assert isinstance(reply, dict)
            return reply

        seen = await _until(look, lambda r: r["frames"] >= 20, "the app saw no frames")
        assert (seen["width"], seen["height"]) == (320, 240)
        assert abs(seen["luma"] - 130) < 15, seen  # the quadrants' mean (40+100+160+220)/4
        assert request("DELETE", location).status_code == 200
        await pc.close()

    try:
        run(body)
    finally:
        assert process.terminate() == 0, process.output()
        process.close()


async def _open(channel: RTCDataChannel) -> None:
    if channel.readyState == "open":
        return
    opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    channel.on("open", lambda: None if opened.done() else opened.set_result(None))
    await asyncio.wait_for(opened, TIMEOUT)


def test_the_audio_only_example_app_answers_a_camera_inactive() -> None:
    process = SignalingProcess("--app", "signaling.examples.greeter:app", "--drain-timeout", "2")
    try:
        sdp = {"Content-Type": "application/sdp"}
        response = request("POST", process.url + "/whip", sdp, make_offer(video=True))
        assert response.status_code == 201, response.text
        video = _section(response.text, "video")
        assert not video.startswith("m=video 0 ") and "a=inactive" in video, response.text
        assert "a=sendrecv" in _section(response.text, "audio")
        assert request("DELETE", process.url + response.headers["Location"]).status_code == 200
    finally:
        assert process.terminate() == 0, process.output()
        process.close()
