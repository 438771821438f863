"""The agent app in the transceiver service (``--app``, fake engines) with aiortc as the
client, as OpenAI's WebRTC clients do it: a microphone track and an ``oai-events`` channel, the
offer POSTed to ``/v1/realtime/calls``. A spoken question and a typed one are answered by events
on the channel and by audio on the track; a bad event gets an ``error``."""

from __future__ import annotations

import array
import asyncio
import fractions
import json
import math
from typing import Any

import aiohttp
import aioice.ice
import aiortc
import av
import pytest
from aiortc.mediastreams import MediaStreamTrack as AiortcTrack

from tests.signaling.bad_offers import make_offer
from tests.signaling.service import SignalingProcess, request

TIMEOUT = 20.0


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda **_: ["127.0.0.1"])


class Microphone(AiortcTrack):
    """20 ms frames in real time: a 220 Hz tone while speaking, else silence."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pts = 0
        self._start: float | None = None
        self._left = 0

    def speak(self, seconds: float) -> None:
        self._left = int(seconds * 48000)

    async def recv(self) -> av.AudioFrame:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            self._pts += 960
            delay = self._start + self._pts / 48000 - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        amplitude = 8000 if self._left > 0 else 0
        self._left -= 960
        step = 2 * math.pi * 220 / 48000
        pcm = array.array(
            "h", (int(amplitude * math.sin(step * (self._pts + i))) for i in range(960))
        )
        frame = av.AudioFrame(format="s16", layout="mono", samples=960)
        frame.planes[0].update(pcm.tobytes())
        frame.sample_rate = 48000
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, 48000)
        return frame


class Client:
    def __init__(self) -> None:
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.seen: list[tuple[float, dict[str, Any]]] = []
        self.heard: list[tuple[float, float]] = []  # (time, mean level) of each received frame

    async def expect(self, kind: str) -> dict[str, Any]:
        """The next event of type ``kind`` (errors on the way fail the test unless expected)."""
        while True:
            event = await asyncio.wait_for(self.events.get(), TIMEOUT)
            self.seen.append((asyncio.get_running_loop().time(), event))
            if event["type"] == kind:
                return event
            assert event["type"] != "error", event

    async def listen(self, track: AiortcTrack) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                frame = await track.recv()
            except Exception:
                return
            assert isinstance(frame, av.AudioFrame)
            samples = array.array("h", bytes(frame.planes[0])[: 2 * frame.samples])
            self.heard.append((loop.time(), sum(abs(s) for s in samples) / max(1, len(samples))))

    def loud_between(self, start: float, end: float) -> int:
        return sum(1 for at, level in self.heard if start <= at <= end and level > 500)


def test_a_camera_in_the_offer_is_answered_inactive() -> None:
    """The agent is audio-only: a video section (a camera, a screen) is answered ``inactive``,
    not refused, and the call goes on with its microphone and channel."""
    service = SignalingProcess("--app", "tests.agent.fake_app:app")
    try:
        offer = make_offer(video=True)
        headers = {"Content-Type": "application/sdp"}
        response = request("POST", service.url + "/v1/realtime/calls", headers, offer)
        assert response.status_code == 201, response.text
        sections = response.text.split("\r\nm=")
        (video,) = [s for s in sections if s.startswith("video ")]
        (audio,) = [s for s in sections if s.startswith("audio ")]
        assert not video.startswith("video 0 ") and "a=inactive" in video, response.text
        assert "a=sendrecv" in audio
        hangup = service.url + response.headers["Location"] + "/hangup"
        assert request("POST", hangup).status_code == 200
    finally:
        assert service.terminate() == 0, service.output()
        service.close()


def test_spoken_and_typed_questions_are_answered_over_webrtc() -> None:
    service = SignalingProcess("--app", "tests.agent.fake_app:app")

    async def body() -> None:
        client = Client()
        pc = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))
        microphone = Microphone()
        pc.addTrack(microphone)
        channel = pc.createDataChannel("oai-events")
        channel.on("message", lambda message: client.events.put_nowait(json.loads(message)))
        tasks: list[asyncio.Task[None]] = []
        pc.on("track", lambda track: tasks.append(asyncio.ensure_future(client.listen(track))))
        await pc.setLocalDescription(await pc.createOffer())
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                service.url + "/v1/realtime/calls",
                data=pc.localDescription.sdp,
                headers={"Content-Type": "application/sdp"},
            ) as response,
        ):
            assert response.status == 201, await response.text()
            answer = await response.text()
        await pc.setRemoteDescription(aiortc.RTCSessionDescription(answer, "answer"))
        loop = asyncio.get_running_loop()
        created = await client.expect("session.created")
        assert created["session"]["object"] == "realtime.session"

        # typed
        channel.send(
            json.dumps(
                {
                    "type": "conversation.item.create",
                    "item": {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "what's 7 plus 5"}],
                    },
                }
            )
        )
        channel.send(json.dumps({"type": "response.create"}))
        await client.expect("output_audio_buffer.started")
        started = loop.time()
        done = await client.expect("response.done")
        assert done["response"]["status"] == "completed"
        transcript = done["response"]["output"][0]["content"][0]["transcript"]
        assert transcript.strip() == "Seven plus five is twelve."
        await asyncio.sleep(0.3)  # the last frames' trip
        assert client.loud_between(started, loop.time()) >= 10  # the reply's tone arrived

        # spoken
        microphone.speak(1.0)
        await client.expect("input_audio_buffer.speech_started")
        await client.expect("input_audio_buffer.speech_stopped")
        heard = await client.expect("conversation.item.input_audio_transcription.completed")
        assert heard["transcript"] == "what is twelve times thirty four"
        await client.expect("output_audio_buffer.started")
        started = loop.time()
        done = await client.expect("response.done")
        assert done["response"]["status"] == "completed"
        transcript = done["response"]["output"][0]["content"][0]["transcript"]
        assert transcript.strip() == "Twelve times thirty four is four hundred and eight."
        await asyncio.sleep(0.3)
        assert client.loud_between(started, loop.time()) >= 20

        # barge-in: speaking over a long reply cuts its audio
        words = " ".join(f"word{i}" for i in range(60))
        channel.send(
            json.dumps(
                {
                    "type": "conversation.item.create",
                    "item": {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": f"repeat after me {words}"}],
                    },
                }
            )
        )
        channel.send(json.dumps({"type": "response.create"}))
        await client.expect("output_audio_buffer.started")
        await asyncio.sleep(1.0)
        microphone.speak(0.6)
        spoke = loop.time()
        await client.expect("input_audio_buffer.speech_started")
        await client.expect("output_audio_buffer.cleared")
        done = await client.expect("response.done")
        assert done["response"]["status"] == "cancelled"
        assert done["response"]["status_details"]["reason"] == "turn_detected"
        await client.expect("response.done")  # the interruption is answered in turn
        next_reply = max(at for at, event in client.seen if event["type"] == "response.created")
        assert client.loud_between(spoke - 0.5, spoke) >= 20  # the reply was playing
        assert next_reply - spoke > 1.0
        # then it stops: the server cuts it at the onset (tests/agent/test_pipeline.py); here
        # the margin covers both ways' transport and jitter buffers on a loaded host
        last = max(at for at, level in client.heard if level > 500 and at < next_reply)
        assert last - spoke < 0.5, last - spoke

        # a bad event, then the session still answers
        channel.send("{oops")
        error = await client.expect("error")
        assert error["error"]["code"] == "invalid_json"
        channel.send(json.dumps({"type": "session.update", "session": {"instructions": "hi"}}))
        updated = await client.expect("session.updated")
        assert updated["session"]["instructions"] == "hi"
        await pc.close()
        for task in tasks:
            task.cancel()

    try:
        asyncio.run(asyncio.wait_for(body(), 60))
    finally:
        assert service.terminate() == 0, service.output()
        service.close()


def test_the_reply_track_keeps_a_late_ticks_burst() -> None:
    """A pipeline tick up to 100 ms late (its ``_LATE_TICK``) hands over all the frames due by
    then at once; the track plays them all, in order, rather than dropping the oldest."""
    from agent.app import ReplyTrack
    from agent.pipeline import FRAME_BYTES
    from tests.simnet import Network, VirtualTimeLoop

    async def body() -> list[bytes]:
        track = ReplyTrack()
        await track.recv()  # the sender's schedule starts
        burst = [bytes([k]) * FRAME_BYTES for k in range(1, 6)]  # 100 ms of frames
        for pcm in burst:
            track.play(pcm)
        return [bytes((await track.recv()).planes[0])[:FRAME_BYTES] for _ in range(6)]

    loop = VirtualTimeLoop(Network())
    try:
        played = loop.run_until_complete(body())
    finally:
        loop.close()
    assert [pcm[0] for pcm in played] == [1, 2, 3, 4, 5, 0]
