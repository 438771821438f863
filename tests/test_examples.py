"""Every script in ``examples/`` started as a user would start it (``python examples/X.py``),
with a pywebrtc client on loopback: the aiortc-style server echoes a tone and answers ``ping``
with ``pong``; the fastrtc-style stream says back what it heard once the caller pauses (and
logs the pause on the data channel); the pipecat bot echoes a tone and answers messages; the
Realtime client talks to the voice agent with the tests' fake engines."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import av
import numpy as np

from pywebrtc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from tests.peerconnection.audio_helpers import mono_samples
from tests.signaling.service import SignalingProcess, free_port

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TONE = 440.0


@contextlib.contextmanager
def example(name: str, *args: str) -> Iterator[str]:
    """``python examples/<name> --port <free> *args`` until it listens; its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / name), "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=EXAMPLES.parent,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()[0].decode()
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"{name} did not listen"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        out = process.communicate(timeout=20)[0].decode()
        assert process.returncode in (0, -15), out


class Tone(AudioStreamTrack):
    """440 Hz for ``seconds`` (forever if None), then silence; 20 ms 48 kHz frames."""

    def __init__(self, seconds: float | None = None) -> None:
        super().__init__()
        self.seconds = seconds

    async def recv(self) -> av.AudioFrame:
        pts, time_base = await self.next_timestamp()
        t = (pts + np.arange(960)) / 48000
        on = self.seconds is None or pts < self.seconds * 48000
        pcm = (9000 * np.sin(2 * np.pi * TONE * t) * on).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 48000, pts, time_base
        return frame


async def loud_pitch(track: MediaStreamTrack, seconds: float = 0.5) -> float:
    """The strongest frequency in ``seconds`` of loud audio from ``track``."""
    heard: list[int] = []
    while len(heard) < 48000 * seconds:
        frame = await asyncio.wait_for(track.recv(), 10)
        assert isinstance(frame, av.AudioFrame)
        samples = mono_samples(frame)
        if max(map(abs, samples)) > 1000:
            heard += samples
    spectrum = np.abs(np.fft.rfft(np.array(heard) * np.hanning(len(heard))))
    return float(np.argmax(spectrum) * 48000 / len(heard))


class Caller:
    """A pywebrtc client: a tone, a data channel, the server's track and messages."""

    def __init__(self, tone: Tone, label: str = "chat") -> None:
        self.pc = RTCPeerConnection()
        self.pc.addTransceiver(tone, "sendrecv")
        self.channel: RTCDataChannel = self.pc.createDataChannel(label)
        self.messages: asyncio.Queue[str] = asyncio.Queue()
        self.channel.on("message", lambda m: self.messages.put_nowait(str(m)))
        self.track: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if not self.track.done():
                self.track.set_result(track)

    async def call(self, url: str, **extra: Any) -> dict[str, Any]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        local = self.pc.localDescription
        assert local is not None
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json={"sdp": local.sdp, "type": local.type, **extra}) as response,
        ):
            answer: dict[str, Any] = await response.json()
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        return answer

    async def open(self) -> None:
        while self.channel.readyState != "open":
            await asyncio.sleep(0.02)


def run(coroutine: Any) -> None:
    asyncio.run(asyncio.wait_for(coroutine, 60))


def test_aiortc_style_server() -> None:
    async def body(url: str) -> None:
        caller = Caller(Tone())
        try:
            await caller.call(url + "/offer")
            assert abs(await loud_pitch(await caller.track) - TONE) < 5
            await caller.open()
            caller.channel.send("ping 7")
            assert await asyncio.wait_for(caller.messages.get(), 5) == "pong 7"
        finally:
            await caller.pc.close()

    with example("aiortc_style_server.py") as url:
        run(body(url))


def test_fastrtc_style_stream() -> None:
    async def body(url: str) -> None:
        caller = Caller(Tone(seconds=0.6), label="text")
        try:
            await caller.call(url + "/webrtc/offer", webrtc_id="caller-1")
            await caller.open()
            logs = [json.loads(await asyncio.wait_for(caller.messages.get(), 10))]
            logs.append(json.loads(await asyncio.wait_for(caller.messages.get(), 5)))
            assert [m["data"] for m in logs] == ["pause_detected", "response_starting"], logs
            # what it said back is what it heard: the tone, about as long
            track = await caller.track
            assert abs(await loud_pitch(track, 0.4) - TONE) < 5
        finally:
            await caller.pc.close()

    with example("fastrtc_style_stream.py") as url:
        run(body(url))


def test_pipecat_bot() -> None:
    async def body(url: str) -> None:
        caller = Caller(Tone())
        try:
            answer = await caller.call(url + "/api/offer")
            assert answer["pc_id"]
            assert abs(await loud_pitch(await caller.track) - TONE) < 5
            await caller.open()
            caller.channel.send(json.dumps({"type": "hello"}))
            reply = json.loads(await asyncio.wait_for(caller.messages.get(), 5))
            assert reply["echo"] == {"type": "hello"}, reply
        finally:
            await caller.pc.close()

    with example("pipecat_bot.py") as url:
        run(body(url))


def test_realtime_client() -> None:
    service = SignalingProcess("--app", "tests.agent.fake_app:app")
    try:
        out = subprocess.run(
            [sys.executable, str(EXAMPLES / "realtime_client.py"), service.url, "--say", "hi"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=EXAMPLES.parent,
            env=dict(os.environ, PYTHONPATH=str(EXAMPLES.parent)),
        )
        assert out.returncode == 0, out.stderr
        assert "connected:" in out.stdout and "agent:" in out.stdout, out.stdout
    finally:
        assert service.terminate() == 0, service.output()
        service.close()
