"""A voice app in fastrtc's style, on pywebrtc: a Python function becomes a WebRTC stream.

fastrtc's shape is kept: ``Stream(handler=ReplyOnPause(fn), modality="audio",
mode="send-receive")`` and ``stream.mount(app)``. ``fn`` gets what the caller said, once they
pause, as ``(sample_rate, samples)`` (int16, shape ``(1, n)``) and yields ``(sample_rate,
samples)`` chunks, which are played back to the caller as they come. The ``Stream`` and
``ReplyOnPause`` here are small versions written on pywebrtc's aiortc-shaped API (fastrtc itself
is built on aiortc, Gradio and FastAPI): a pause is found by level, not by a VAD model.

POST ``/webrtc/offer`` with ``{"sdp", "type", "webrtc_id"}`` and get the answer. On the
caller's data channel the server says ``{"type": "log", "data": "pause_detected"}`` when it
heard a pause and ``"response_starting"`` before the reply plays, as fastrtc does.

    python examples/fastrtc_style_stream.py --port 8000

The handler below is fastrtc's README example: it says back what it heard.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable, Iterator
from typing import Literal

import av
import numpy as np
import numpy.typing as npt
from aiohttp import web

from pywebrtc import (
    AudioStreamTrack,
    MediaStreamError,
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)

logger = logging.getLogger("stream")

Samples = npt.NDArray[np.int16]
Audio = tuple[int, Samples]  # (sample rate, int16 samples shaped (1, n)), as fastrtc's
ReplyFn = Callable[[Audio], Iterator[Audio]]

RATE = 48000
FRAME = RATE // 50  # 20 ms


class ReplyOnPause:
    """Collects the caller's speech and, when they pause, runs ``fn`` on it.

    Speech is a 20 ms frame louder than ``threshold`` (RMS of int16 samples); a pause is
    ``pause`` seconds of quiet after at least ``min_speech`` seconds of speech."""

    def __init__(
        self,
        fn: ReplyFn,
        threshold: float = 500.0,
        min_speech: float = 0.2,
        pause: float = 0.6,
    ) -> None:
        self.fn = fn
        self.threshold = threshold
        self.min_speech = min_speech
        self.pause = pause
        self._speech: list[Samples] = []
        self._spoken = 0.0
        self._quiet = 0.0

    def copy(self) -> ReplyOnPause:
        """A fresh handler for another caller."""
        return ReplyOnPause(self.fn, self.threshold, self.min_speech, self.pause)

    def receive(self, samples: Samples) -> Audio | None:
        """Take 48 kHz mono samples; return the utterance when the caller has paused."""
        seconds = samples.size / RATE
        loud = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) > self.threshold
        if loud:
            self._spoken += seconds
            self._quiet = 0.0
        elif self._spoken:
            self._quiet += seconds
        if self._spoken:
            self._speech.append(samples)
        if self._spoken >= self.min_speech and self._quiet >= self.pause:
            utterance = np.concatenate(self._speech).reshape(1, -1)
            self._speech, self._spoken, self._quiet = [], 0.0, 0.0
            return RATE, utterance
        if self._quiet >= self.pause:  # a click, not speech
            self._speech, self._spoken, self._quiet = [], 0.0, 0.0
        return None


class ReplyTrack(AudioStreamTrack):
    """What the handler yields, as 20 ms 48 kHz mono frames; silence in between."""

    def __init__(self) -> None:
        super().__init__()
        self._pending: deque[Samples] = deque()

    def play(self, audio: Audio) -> None:
        rate, samples = audio
        pcm = np.ascontiguousarray(samples.reshape(1, -1), dtype=np.int16)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = rate
        resampler = av.AudioResampler("s16", "mono", RATE)
        out = [f.to_ndarray().reshape(-1) for f in [*resampler.resample(frame)]]
        out += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
        whole = np.concatenate(out) if out else np.zeros(0, np.int16)
        for start in range(0, whole.size, FRAME):
            chunk = whole[start : start + FRAME]
            self._pending.append(np.pad(chunk, (0, FRAME - chunk.size)))

    async def recv(self) -> av.AudioFrame:
        pts, time_base = await self.next_timestamp()
        samples = self._pending.popleft() if self._pending else np.zeros(FRAME, np.int16)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = RATE, pts, time_base
        return frame


class Stream:
    """fastrtc's ``Stream``, audio only: one ``handler`` copy per caller."""

    def __init__(
        self,
        handler: ReplyOnPause,
        modality: Literal["audio"] = "audio",
        mode: Literal["send-receive"] = "send-receive",
    ) -> None:
        if modality != "audio" or mode != "send-receive":
            raise ValueError("this example streams audio both ways only")
        self.handler = handler
        self.pcs: dict[str, RTCPeerConnection] = {}
        self.channels: dict[str, RTCDataChannel] = {}

    def mount(self, app: web.Application, path: str = "") -> None:
        app.router.add_post(f"{path}/webrtc/offer", self.offer)
        app.on_shutdown.append(self.close)

    async def close(self, app: web.Application | None = None) -> None:
        await asyncio.gather(*(pc.close() for pc in self.pcs.values()))
        self.pcs.clear()

    def log(self, webrtc_id: str, event: str) -> None:
        channel = self.channels.get(webrtc_id)
        if channel is not None and channel.readyState == "open":
            channel.send(json.dumps({"type": "log", "data": event}))

    async def offer(self, request: web.Request) -> web.Response:
        body = await request.json()
        webrtc_id = str(body["webrtc_id"])
        if webrtc_id in self.pcs:
            return web.json_response(
                {"status": "failed", "meta": {"error": "connection_already_exists"}}
            )
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pcs[webrtc_id] = pc
        handler = self.handler.copy()

        @pc.on("datachannel")
        def on_datachannel(channel: RTCDataChannel) -> None:
            self.channels[webrtc_id] = channel

        @pc.on("connectionstatechange")
        async def on_connectionstatechange() -> None:
            if pc.connectionState in ("failed", "closed"):
                await pc.close()
                self.pcs.pop(webrtc_id, None)
                self.channels.pop(webrtc_id, None)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind != "audio":
                return
            reply = ReplyTrack()
            pc.addTrack(reply)  # answers on the caller's own transceiver
            asyncio.ensure_future(self._listen(webrtc_id, track, handler, reply))

        await pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type=body["type"]))
        await pc.setLocalDescription(await pc.createAnswer())
        local = pc.localDescription
        assert local is not None
        return web.json_response({"sdp": local.sdp, "type": local.type})

    async def _listen(
        self, webrtc_id: str, track: MediaStreamTrack, handler: ReplyOnPause, reply: ReplyTrack
    ) -> None:
        resampler = av.AudioResampler("s16", "mono", RATE)
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.AudioFrame):
                continue
            for mono in resampler.resample(frame):
                utterance = handler.receive(mono.to_ndarray().reshape(-1).astype(np.int16))
                if utterance is None:
                    continue
                self.log(webrtc_id, "pause_detected")
                self.log(webrtc_id, "response_starting")
                # The handler may be slow (a model): each chunk is computed off the loop.
                chunks = handler.fn(utterance)
                while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
                    reply.play(chunk)


def echo(audio: Audio) -> Iterator[Audio]:
    """fastrtc's README example: say back what was heard."""
    yield audio


def main() -> None:
    parser = argparse.ArgumentParser(description="fastrtc-style echo stream on pywebrtc")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    stream = Stream(handler=ReplyOnPause(echo), modality="audio", mode="send-receive")
    app = web.Application()
    stream.mount(app)
    web.run_app(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
