"""A real pipecat pipeline (pipecat-ai from PyPI) over pywebrtc's SmallWebRTC transport:
``transport.input() → EchoBot → transport.output()``, where EchoBot sends the audio it hears
back and answers each data-channel message with what it has counted.

Headless Chromium is the client, doing what pipecat's web client does (microphone and camera
transceivers, a "chat" channel with keep-alive pings, the offer POSTed and candidates
trickled to the request handler): its microphone is a 440 Hz tone, the pipeline hears 440 Hz,
and the page hears it back (WebAudio level and pitch on a muted <audio>) and gets a reply to
every message; its camera reaches the pipeline as 640x480 RGB frames; when it hangs up, the
bot's ``on_client_disconnected`` fires. A pywebrtc client
does the same without a browser, and starts over on a new peer connection (``restart_pc``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiohttp import web
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    InputTransportMessageFrame,
    OutputAudioRawFrame,
    OutputTransportMessageUrgentFrame,
    UserImageRawFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.transports.base_transport import TransportParams, VideoInSourceParams
from pipecat.workers.runner import WorkerRunner

from conformance.browser.audio_scenario import write_tone_wav
from conformance.browser.driver import chromium_page
from pywebrtc import RTCPeerConnection, RTCSessionDescription
from pywebrtc.contrib.pipecat.connection import SmallWebRTCConnection
from pywebrtc.contrib.pipecat.request_handler import (
    IceCandidate,
    SmallWebRTCPatchRequest,
    SmallWebRTCRequest,
    SmallWebRTCRequestHandler,
)
from pywebrtc.contrib.pipecat.transport import SmallWebRTCTransport
from pywebrtc.mediastreams import AudioStreamTrack
from tests.peerconnection.audio_helpers import dominant_frequency, mono_samples

TONE = 440.0
RATE = 16000  # the pipeline's audio rate, in and out
PAGE = (Path(__file__).parent / "pipecat_client.html").read_bytes()


class EchoBot(FrameProcessor):
    """Sends the microphone back as the bot's voice; answers each message with counts;
    keeps the camera's frames' sizes and formats."""

    def __init__(self) -> None:
        super().__init__()
        self.audio_frames = 0
        self.samples: list[int] = []  # the first second heard, for its pitch
        self.messages: list[Any] = []
        self.images: list[tuple[tuple[int, int], str | None, str | None, int]] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, UserImageRawFrame):
            source = frame.transport_source
            self.images.append((frame.size, frame.format, source, len(frame.image)))
        elif isinstance(frame, InputAudioRawFrame):
            self.audio_frames += 1
            if len(self.samples) < frame.sample_rate:
                self.samples += memoryview(frame.audio).cast("h").tolist()
            echo = OutputAudioRawFrame(frame.audio, frame.sample_rate, frame.num_channels)
            await self.push_frame(echo)
        elif isinstance(frame, InputTransportMessageFrame):
            self.messages.append(frame.message)
            reply = {"echo": frame.message, "audio_frames": self.audio_frames}
            await self.push_frame(OutputTransportMessageUrgentFrame(message=reply))
        else:
            await self.push_frame(frame, direction)


class Bot:
    """The server: a request handler whose every new connection runs an EchoBot pipeline."""

    def __init__(self) -> None:
        self.handler = SmallWebRTCRequestHandler()
        self.echo = EchoBot()
        self.connected = asyncio.Event()
        self.disconnected = asyncio.Event()
        self.workers: list[PipelineWorker] = []
        self.runs: list[asyncio.Task[None]] = []

    async def start(self, connection: SmallWebRTCConnection) -> None:
        params = TransportParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            video_in_enabled=True,
            video_in_sources={"camera": VideoInSourceParams(framerate=10)},
        )
        transport = SmallWebRTCTransport(connection, params)

        @transport.event_handler("on_client_connected")  # type: ignore[untyped-decorator]
        async def on_connected(transport: SmallWebRTCTransport, client: Any) -> None:
            self.connected.set()

        @transport.event_handler("on_client_disconnected")  # type: ignore[untyped-decorator]
        async def on_disconnected(transport: SmallWebRTCTransport, client: Any) -> None:
            self.disconnected.set()

        worker = PipelineWorker(
            Pipeline([transport.input(), self.echo, transport.output()]),
            params=PipelineParams(audio_in_sample_rate=RATE, audio_out_sample_rate=RATE),
            enable_rtvi=False,
            idle_timeout_secs=None,
        )
        self.workers.append(worker)
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        self.runs.append(asyncio.create_task(runner.run()))

    async def offer(self, request: web.Request) -> web.Response:
        body = SmallWebRTCRequest.from_dict(await request.json())
        return web.json_response(await self.handler.handle_web_request(body, self.start))

    async def patch(self, request: web.Request) -> web.Response:
        body = await request.json()
        candidates = [IceCandidate(**c) for c in body["candidates"]]
        await self.handler.handle_patch_request(SmallWebRTCPatchRequest(body["pc_id"], candidates))
        return web.Response(text="ok")

    async def stop(self) -> None:
        await self.handler.close()
        for worker in self.workers:
            await worker.cancel()
        await asyncio.wait_for(asyncio.gather(*self.runs), 10)


@asynccontextmanager
async def serving(bot: Bot) -> AsyncIterator[str]:
    async def index(request: web.Request) -> web.Response:
        return web.Response(body=PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_post("/api/offer", bot.offer)
    app.router.add_patch("/api/offer", bot.patch)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    finally:
        await bot.stop()
        await runner.cleanup()


def test_a_pipecat_pipeline_echoes_chromium_over_pywebrtc(tmp_path: Path) -> None:
    wav = write_tone_wav(tmp_path / "tone.wav", TONE)
    messages = [{"type": "hello", "n": n} for n in range(5)]
    result: dict[str, Any] = {}

    async def body() -> None:
        bot = Bot()
        async with serving(bot) as url, chromium_page(url, wav) as page:
            await page.evaluate("messages => window.start(messages)", messages)
            await asyncio.wait_for(bot.connected.wait(), 30)
            # about a second of the echo heard at the page, and every message answered
            await page.wait_for_function(
                "(s => s.loudFor >= 20 && s.replies.length >= 5 || s.errors.length)(window.state)",
                timeout=30000,
            )
            for _ in range(300):  # and camera frames (the first keyframe may take a while)
                if len(bot.echo.images) >= 5:
                    break
                await asyncio.sleep(0.1)
            result["images"] = list(bot.echo.images)
            result.update(await page.evaluate("window.state"))
            result["heard"] = dominant_frequency(bot.echo.samples, RATE)
            result["messages"] = list(bot.echo.messages)
            result["audio_frames"] = bot.echo.audio_frames
            # the page hangs up: the bot's on_client_disconnected fires
            await page.evaluate("window.pc.close()")
            await asyncio.wait_for(bot.disconnected.wait(), 10)

    asyncio.run(asyncio.wait_for(body(), 90))
    assert not result["errors"], result["errors"]
    assert result["connection"] == "connected" and result["channel"] == "open", result
    assert result["patched"] >= 2, result  # trickled: a host candidate and the end
    # the pipeline heard the page's tone, 20 ms frames at its own rate
    assert abs(result["heard"] - TONE) < 5, result["heard"]
    assert result["audio_frames"] >= 50, result["audio_frames"]
    # ... and the page heard it back
    assert result["remoteLevel"] > 0.05, result["remoteLevel"]
    assert abs(result["remotePitch"] - TONE) < 15, result["remotePitch"]
    # each message reached the pipeline once (pings stay in the transport) and was answered
    assert result["messages"] == messages
    assert [r["echo"] for r in result["replies"][:5]] == messages
    counts = [r["audio_frames"] for r in result["replies"][:5]]
    assert counts == sorted(counts), counts
    # the camera (Chromium's fake 640x480 one) came in as RGB frames of that size, sampled at
    # the camera source's 10 frames a second
    images = result["images"]
    assert len(images) >= 5, images
    assert {i[:3] for i in images} == {((640, 480), "RGB", "camera")}, images[:3]
    assert {i[3] for i in images} == {640 * 480 * 3}


class Tone(AudioStreamTrack):
    """A tone at 48 kHz, 20 ms a frame."""

    def __init__(self, frequency: float = TONE) -> None:
        super().__init__()
        self.frequency = frequency

    async def recv(self) -> av.AudioFrame:
        pts, time_base = await self.next_timestamp()
        t = (pts + np.arange(960)) / 48000
        pcm = (9000 * np.sin(2 * np.pi * self.frequency * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 48000, pts, time_base
        return frame


async def pitch(track: Any, seconds: float = 1.0) -> float:
    """The strongest frequency in ``seconds`` of loud audio from ``track``. The echo may have
    gaps (silence where a frame came late on a loaded host), which a spectrum ignores."""
    heard: list[int] = []
    while len(heard) < 48000 * seconds:
        samples = mono_samples(await asyncio.wait_for(track.recv(), 10))
        if max(map(abs, samples)) > 1000:
            heard += samples
    spectrum = np.abs(np.fft.rfft(np.array(heard) * np.hanning(len(heard))))
    return float(np.argmax(spectrum) * 48000 / len(heard))


class Client:
    """A pywebrtc client doing what pipecat's web client does, without trickle."""

    def __init__(self, frequency: float = TONE) -> None:
        self.pc = RTCPeerConnection()
        self.pc.addTransceiver(Tone(frequency), "sendrecv")
        self.channel = self.pc.createDataChannel("chat")
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.channel.on("message", lambda m: self.replies.put_nowait(json.loads(m)))
        self.track: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pc.on("track", self.track.set_result)

    async def connect(self, bot: Bot, **request: Any) -> str:
        """Offer through the bot's request handler; the answer's pc_id."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        local = self.pc.localDescription
        assert local is not None
        answer = await bot.handler.handle_web_request(
            SmallWebRTCRequest(sdp=local.sdp, type=local.type, **request), bot.start
        )
        assert answer is not None and answer["pc_id"]
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        return answer["pc_id"]

    async def ask(self, message: dict[str, Any]) -> dict[str, Any]:
        while self.channel.readyState != "open":
            await asyncio.sleep(0.05)
        self.channel.send(json.dumps(message))
        return await asyncio.wait_for(self.replies.get(), 5)


def test_a_pipecat_pipeline_with_a_pywebrtc_client_that_hangs_up() -> None:
    async def body() -> None:
        bot = Bot()
        client = Client()
        try:
            await client.connect(bot)
            await asyncio.wait_for(bot.connected.wait(), 30)
            assert abs(await pitch(await client.track) - TONE) < 10
            reply = await client.ask({"type": "count"})
            assert reply["echo"] == {"type": "count"} and reply["audio_frames"] > 10, reply
            await client.pc.close()
            await asyncio.wait_for(bot.disconnected.wait(), 15)
        finally:
            await client.pc.close()
            await bot.stop()

    asyncio.run(asyncio.wait_for(body(), 90))


def test_a_restart_pc_renegotiation_moves_the_pipeline_to_a_new_peer_connection() -> None:
    """pipecat's client may start over on a new peer connection (``restart_pc``): the same
    pipeline then hears and answers the new one (its reader outlives the old track's end)."""

    async def body() -> None:
        bot = Bot()
        first, second = Client(TONE), Client(660.0)
        try:
            pc_id = await first.connect(bot)
            await asyncio.wait_for(bot.connected.wait(), 30)
            assert abs(await pitch(await first.track) - TONE) < 10
            await second.connect(bot, pc_id=pc_id, restart_pc=True)
            assert abs(await pitch(await second.track) - 660.0) < 10
            reply = await second.ask({"type": "again"})
            assert reply["echo"] == {"type": "again"}, reply
            assert len(bot.workers) == 1 and not bot.disconnected.is_set()
        finally:
            await first.pc.close()
            await second.pc.close()
            await bot.stop()

    asyncio.run(asyncio.wait_for(body(), 90))
