"""A pipecat bot on pywebrtc: pipecat's SmallWebRTC transport with its imports turned from
``pipecat.transports.smallwebrtc`` to ``pywebrtc.contrib.pipecat`` (no aiortc).

The pipeline is ``transport.input() → Echo → transport.output()``: what the caller says comes
back as the bot's voice, and each JSON message on the data channel is answered with
``{"echo": message, "audio_frames": n}``. Put an STT → LLM → TTS chain where ``Echo`` is for
a real bot. Signalling is what pipecat's web client speaks: POST ``/api/offer`` with
``{"sdp", "type"}`` (and ``pc_id`` to renegotiate), PATCH ``/api/offer`` with trickled
candidates.

    pip install 'pywebrtc[pipecat]'
    python examples/pipecat_bot.py --port 7860
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from aiohttp import web
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    InputTransportMessageFrame,
    OutputAudioRawFrame,
    OutputTransportMessageUrgentFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.transports.base_transport import TransportParams
from pipecat.workers.runner import WorkerRunner

from pywebrtc.contrib.pipecat.connection import SmallWebRTCConnection
from pywebrtc.contrib.pipecat.request_handler import (
    IceCandidate,
    SmallWebRTCPatchRequest,
    SmallWebRTCRequest,
    SmallWebRTCRequestError,
    SmallWebRTCRequestHandler,
)
from pywebrtc.contrib.pipecat.transport import SmallWebRTCTransport

logger = logging.getLogger("bot")

HANDLER = web.AppKey("handler", SmallWebRTCRequestHandler)
RUNNER = web.AppKey("runner", WorkerRunner)
RUN = web.AppKey("run", asyncio.Task[None])


class Echo(FrameProcessor):
    """The caller's audio back as the bot's; messages answered with a count."""

    def __init__(self) -> None:
        super().__init__()
        self.audio_frames = 0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            self.audio_frames += 1
            await self.push_frame(
                OutputAudioRawFrame(frame.audio, frame.sample_rate, frame.num_channels)
            )
        elif isinstance(frame, InputTransportMessageFrame):
            reply = {"echo": frame.message, "audio_frames": self.audio_frames}
            await self.push_frame(OutputTransportMessageUrgentFrame(message=reply))
        else:
            await self.push_frame(frame, direction)


async def run_bot(connection: SmallWebRTCConnection, runner: WorkerRunner) -> None:
    """One caller's pipeline, added to the app's runner; it ends when the caller leaves."""
    transport = SmallWebRTCTransport(
        connection, TransportParams(audio_in_enabled=True, audio_out_enabled=True)
    )
    worker = PipelineWorker(
        Pipeline([transport.input(), Echo(), transport.output()]),
        params=PipelineParams(audio_in_sample_rate=16000, audio_out_sample_rate=16000),
        enable_rtvi=False,
        idle_timeout_secs=None,
    )

    @transport.event_handler("on_client_disconnected")  # type: ignore[untyped-decorator]
    async def on_client_disconnected(transport: SmallWebRTCTransport, client: Any) -> None:
        await worker.cancel()

    await runner.add_workers(worker)


async def offer(request: web.Request) -> web.Response:
    body = SmallWebRTCRequest.from_dict(await request.json())
    runner = request.app[RUNNER]
    try:
        answer = await request.app[HANDLER].handle_web_request(
            body, lambda connection: run_bot(connection, runner)
        )
    except SmallWebRTCRequestError as error:
        return web.json_response({"detail": error.detail}, status=error.status_code)
    return web.json_response(answer)


async def patch(request: web.Request) -> web.Response:
    body = await request.json()
    candidates = [IceCandidate(**c) for c in body["candidates"]]
    try:
        await request.app[HANDLER].handle_patch_request(
            SmallWebRTCPatchRequest(pc_id=body["pc_id"], candidates=candidates)
        )
    except SmallWebRTCRequestError as error:
        return web.json_response({"detail": error.detail}, status=error.status_code)
    return web.json_response({"status": "success"})


async def on_startup(app: web.Application) -> None:
    runner = app[RUNNER] = WorkerRunner(handle_sigint=False)
    app[RUN] = asyncio.create_task(runner.run(auto_end=False))


async def on_shutdown(app: web.Application) -> None:
    await app[HANDLER].close()
    await app[RUNNER].cancel()
    await app[RUN]


def make_app() -> web.Application:
    app = web.Application()
    app[HANDLER] = SmallWebRTCRequestHandler()
    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.router.add_post("/api/offer", offer)
    app.router.add_patch("/api/offer", patch)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="a pipecat echo bot on pywebrtc")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    web.run_app(make_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
