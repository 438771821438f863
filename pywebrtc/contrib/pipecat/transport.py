"""``SmallWebRTCTransport`` on pywebrtc: pipecat's ``transports/smallwebrtc/transport.py``
(pipecat-ai 1.14.0, Copyright (c) 2024-2026 Daily, BSD 2-Clause) over
:class:`~pywebrtc.contrib.pipecat.connection.SmallWebRTCConnection`.

The classes and what they do are pipecat's: ``SmallWebRTCTransport(connection, params)``
with ``input()`` and ``output()`` processors, the ``on_client_connected``,
``on_client_disconnected`` and ``on_app_message`` events, ``capture_participant_video`` /
``capture_participant_audio``, image requests answered from the camera or the screen share.
The microphone comes in as ``InputAudioRawFrame`` s at the pipeline's input rate, camera
frames as RGB ``UserImageRawFrame`` s, data-channel JSON as ``InputTransportMessageFrame`` s;
``OutputAudioRawFrame`` s go out in real time (10 ms chunks, silence between them unless
``audio_out_auto_silence`` is off), ``OutputTransportMessageFrame`` s on the data channel.

pipecat's module cannot be reused as it is: it imports its tracks' base classes and
``MediaStreamError`` from aiortc. Here they are pywebrtc's, and frames are turned into RGB by
PyAV rather than OpenCV (no ``opencv`` needed).
"""

from __future__ import annotations

import asyncio
import fractions
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import av
import numpy as np
from pipecat.frames.frames import (
    CancelFrame,
    ClientConnectedFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    InputTransportMessageFrame,
    OutputAudioRawFrame,
    OutputImageRawFrame,
    OutputTransportMessageFrame,
    OutputTransportMessageUrgentFrame,
    SpriteFrame,
    StartFrame,
    UserImageRawFrame,
    UserImageRequestFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessorSetup
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import BaseTransport, TransportParams
from pipecat.transports.video_in_sampler import _capture_framerate, _VideoInSamplers
from pipecat.utils.types import NOT_GIVEN, NotGiven, is_given
from pydantic import BaseModel

from pywebrtc.contrib.pipecat.connection import (
    AUDIO_TRANSCEIVER_INDEX,
    SCREEN_VIDEO_TRANSCEIVER_INDEX,
    VIDEO_TRANSCEIVER_INDEX,
    SmallWebRTCConnection,
    SmallWebRTCTrack,
)
from pywebrtc.exceptions import MediaStreamError
from pywebrtc.media.track import AudioStreamTrack, VideoStreamTrack

logger = logging.getLogger(__name__)

CAM_VIDEO_SOURCE = "camera"
SCREEN_VIDEO_SOURCE = "screenVideo"
MIC_AUDIO_SOURCE = "microphone"

_PEER_ID = "peer"  # one peer: its video samplers are kept under one id
_SOURCES_BY_RECEIVER = {
    AUDIO_TRANSCEIVER_INDEX: MIC_AUDIO_SOURCE,
    VIDEO_TRANSCEIVER_INDEX: CAM_VIDEO_SOURCE,
    SCREEN_VIDEO_TRANSCEIVER_INDEX: SCREEN_VIDEO_SOURCE,
}
_RECV_TIMEOUT = 2.0  # seconds without a frame before pipecat's "no frame" warning


class SmallWebRTCCallbacks(BaseModel):
    """What the client calls back into the transport."""

    on_app_message: Callable[[Any, str], Awaitable[None]]
    on_client_connected: Callable[[SmallWebRTCConnection], Awaitable[None]]
    on_client_disconnected: Callable[[SmallWebRTCConnection], Awaitable[None]]
    on_track_status: Callable[[str, bool], Awaitable[None]]


class RawAudioTrack(AudioStreamTrack):
    """The pipeline's output audio: 16-bit mono PCM queued in 10 ms chunks and sent in real
    time; silence while the queue is empty (``auto_silence``), else it waits for audio."""

    def __init__(self, sample_rate: int, auto_silence: bool = True) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self._auto_silence = auto_silence
        self._samples_per_10ms = sample_rate // 100
        self._bytes_per_10ms = self._samples_per_10ms * 2
        self._chunks: deque[tuple[bytes, asyncio.Future[bool] | None]] = deque()
        self._queued = asyncio.Event()
        self._time_base = fractions.Fraction(1, sample_rate)

    def add_audio_bytes(self, audio_bytes: bytes) -> asyncio.Future[bool]:
        """Queue ``audio_bytes`` (a whole number of 10 ms); the future is done when the last
        chunk has gone out."""
        if len(audio_bytes) % self._bytes_per_10ms != 0:
            raise ValueError("Audio bytes must be a multiple of 10ms size.")
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if self.readyState != "live":
            future.set_result(False)
            return future
        step = self._bytes_per_10ms
        for i in range(0, len(audio_bytes), step):
            last = i + step >= len(audio_bytes)
            self._chunks.append((audio_bytes[i : i + step], future if last else None))
        if not audio_bytes:
            future.set_result(True)
        self._queued.set()
        return future

    def stop(self) -> None:
        """End the track; what was queued is dropped, and its writers are let go."""
        while self._chunks:
            _, future = self._chunks.popleft()
            if future is not None and not future.done():
                future.set_result(False)
        self._queued.set()
        super().stop()

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            wait = self._start + self._timestamp / self.sample_rate - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
        if not self._chunks and not self._auto_silence:
            while not self._chunks:
                self._queued.clear()
                await self._queued.wait()
                if self.readyState != "live":
                    raise MediaStreamError
            # the wait is a pause in the stream: the schedule starts again from here
            self._start = loop.time() - self._timestamp / self.sample_rate
        if self._chunks:
            chunk, future = self._chunks.popleft()
            if future is not None and not future.done():
                future.set_result(True)
        else:
            chunk = bytes(self._bytes_per_10ms)
        samples = np.frombuffer(chunk, dtype=np.int16)
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="s16", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = self._timestamp
        frame.time_base = self._time_base
        self._timestamp += self._samples_per_10ms
        return frame


class RawVideoTrack(VideoStreamTrack):
    """The pipeline's output images (RGB, ``width`` × ``height``), sent as they come."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__()
        self._width = width
        self._height = height
        self._video_buffer: asyncio.Queue[OutputImageRawFrame] = asyncio.Queue()

    def add_video_frame(self, frame: OutputImageRawFrame) -> None:
        self._video_buffer.put_nowait(frame)

    async def recv(self) -> av.VideoFrame:
        raw = await self._video_buffer.get()
        rgb = np.frombuffer(raw.image, dtype=np.uint8).reshape((self._height, self._width, 3))
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts, frame.time_base = await self.next_timestamp()
        return frame


class SmallWebRTCClient:
    """The transport's side of the connection: its tracks, reading and writing media."""

    def __init__(
        self, webrtc_connection: SmallWebRTCConnection, callbacks: SmallWebRTCCallbacks
    ) -> None:
        self._webrtc_connection = webrtc_connection
        self._closing = False
        self._callbacks = callbacks
        self._audio_output_track: RawAudioTrack | None = None
        self._video_output_track: RawVideoTrack | None = None
        self._audio_input_track: SmallWebRTCTrack | None = None
        self._video_input_track: SmallWebRTCTrack | None = None
        self._screen_video_track: SmallWebRTCTrack | None = None
        self._params: TransportParams | None = None
        self._audio_in_channels = 0
        self._in_sample_rate = 0
        self._out_sample_rate = 0
        self._audio_in_resampler: av.AudioResampler | None = None
        self._audio_in_layout = "mono"

        connection = webrtc_connection

        @connection.event_handler("connected")  # type: ignore[untyped-decorator]
        async def on_connected(connection: SmallWebRTCConnection) -> None:
            await self._handle_client_connected()

        @connection.event_handler("disconnected")  # type: ignore[untyped-decorator]
        async def on_disconnected(connection: SmallWebRTCConnection) -> None:
            await self._handle_peer_disconnected()

        @connection.event_handler("closed")  # type: ignore[untyped-decorator]
        async def on_closed(connection: SmallWebRTCConnection) -> None:
            await self._handle_client_closed()

        @connection.event_handler("app-message")  # type: ignore[untyped-decorator]
        async def on_app_message(connection: SmallWebRTCConnection, message: Any) -> None:
            await self._callbacks.on_app_message(message, connection.pc_id)

        @connection.event_handler("track-status")  # type: ignore[untyped-decorator]
        async def on_track_status(
            connection: SmallWebRTCConnection, receiver_index: int, enabled: bool
        ) -> None:
            source = _SOURCES_BY_RECEIVER.get(receiver_index)
            if source:
                await self._callbacks.on_track_status(source, enabled)

    def _video_track(self, video_source: str) -> SmallWebRTCTrack | None:
        if video_source == CAM_VIDEO_SOURCE:
            return self._video_input_track
        return self._screen_video_track

    def video_source_enabled(self, video_source: str) -> bool:
        """Whether the peer sends ``video_source`` ("camera" or "screenVideo")."""
        track = self._video_track(video_source)
        return track is not None and track.is_enabled()

    async def _recv(self, track: SmallWebRTCTrack) -> av.AudioFrame | av.VideoFrame | None:
        """The track's next frame; None after a quiet spell (warned about while connected)."""
        try:
            return await asyncio.wait_for(track.recv(), timeout=_RECV_TIMEOUT)
        except TimeoutError:
            if self._webrtc_connection.is_connected() and track.is_enabled():
                logger.warning("no %s frame in %s s", track.kind, _RECV_TIMEOUT)
            return None

    async def read_video_frame(self, video_source: str) -> AsyncIterator[UserImageRawFrame]:
        """The peer's camera or screen share as RGB ``UserImageRawFrame`` s."""
        while True:
            track = self._video_track(video_source)
            if track is None:
                await asyncio.sleep(0.01)
                continue
            try:
                frame = await self._recv(track)
            except MediaStreamError:
                # The track ended: park until a renegotiation brings another.
                logger.warning("the %s track ended", video_source)
                if video_source == CAM_VIDEO_SOURCE:
                    self._video_input_track = None
                else:
                    self._screen_video_track = None
                continue
            if not isinstance(frame, av.VideoFrame):
                await asyncio.sleep(0.01)
                continue
            image = UserImageRawFrame(
                user_id=self._webrtc_connection.pc_id,
                image=frame.to_ndarray(format="rgb24").tobytes(),
                size=(frame.width, frame.height),
                format="RGB",
            )
            image.transport_source = video_source
            image.pts = frame.pts
            yield image

    async def read_audio_frame(self) -> AsyncIterator[InputAudioRawFrame]:
        """The peer's microphone as 16-bit ``InputAudioRawFrame`` s at the input rate."""
        resampler = self._audio_in_resampler
        assert resampler is not None, "setup() makes the resampler before reading starts"
        while True:
            track = self._audio_input_track
            if track is None:
                await asyncio.sleep(0.01)
                continue
            try:
                frame = await self._recv(track)
            except MediaStreamError:
                logger.warning("the microphone track ended")
                self._audio_input_track = None
                continue
            if not isinstance(frame, av.AudioFrame):
                await asyncio.sleep(0.01)
                continue
            # Our decoder gives stereo 48 kHz: through the resampler unless it already fits.
            if frame.sample_rate == self._in_sample_rate and (
                frame.layout.name == self._audio_in_layout and frame.format.name == "s16"
            ):
                converted = [frame]
            else:
                converted = resampler.resample(frame)
            for out in converted:
                audio = InputAudioRawFrame(
                    audio=out.to_ndarray().astype(np.int16).tobytes(),
                    sample_rate=self._in_sample_rate,
                    num_channels=self._audio_in_channels,
                )
                audio.pts = frame.pts
                yield audio

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        """Queue ``frame`` for sending; returns once it has gone out (real-time pacing)."""
        if self._can_send() and self._audio_output_track is not None:
            await self._audio_output_track.add_audio_bytes(frame.audio)
            return True
        return False

    async def write_video_frame(self, frame: OutputImageRawFrame) -> bool:
        if self._can_send() and self._video_output_track is not None:
            self._video_output_track.add_video_frame(frame)
            return True
        return False

    async def setup(self, params: TransportParams, setup: FrameProcessorSetup) -> None:
        self._audio_in_channels = params.audio_in_channels
        self._in_sample_rate = params.audio_in_sample_rate or setup.audio_in_sample_rate
        self._out_sample_rate = params.audio_out_sample_rate or setup.audio_out_sample_rate
        self._params = params
        self._audio_in_layout = "stereo" if self._audio_in_channels == 2 else "mono"
        self._audio_in_resampler = av.AudioResampler(
            "s16", self._audio_in_layout, self._in_sample_rate
        )

    async def connect(self) -> None:
        if self._webrtc_connection.is_connected():
            return
        await self._webrtc_connection.connect()

    async def disconnect(self) -> None:
        if self.is_connected and not self.is_closing:
            self._closing = True
            await self._webrtc_connection.disconnect()
            await self._handle_peer_disconnected()

    async def send_message(
        self, frame: OutputTransportMessageFrame | OutputTransportMessageUrgentFrame
    ) -> None:
        """Send ``frame.message`` as JSON on the data channel (queued until it opens)."""
        if self.is_closing:
            logger.debug("peer connection closing: app message dropped")
            return
        self._webrtc_connection.send_app_message(frame.message)

    async def _handle_client_connected(self) -> None:
        params = self._params
        if params is None:
            return  # the pipeline is not set up yet: connect() calls again
        connection = self._webrtc_connection
        self._audio_input_track = connection.audio_input_track()
        self._video_input_track = connection.video_input_track()
        self._screen_video_track = connection.screen_video_input_track()
        if params.audio_out_enabled:
            self._audio_output_track = RawAudioTrack(
                self._out_sample_rate, auto_silence=params.audio_out_auto_silence
            )
            connection.replace_audio_track(self._audio_output_track)
        if params.video_out_enabled:
            self._video_output_track = RawVideoTrack(
                params.video_out_width, params.video_out_height
            )
            connection.replace_video_track(self._video_output_track)
        await self._callbacks.on_client_connected(connection)

    def _drop_tracks(self) -> None:
        self._audio_input_track = self._video_input_track = self._screen_video_track = None
        if self._audio_output_track is not None:
            self._audio_output_track.stop()  # a write waiting on it returns
        self._audio_output_track = None
        self._video_output_track = None

    async def _handle_peer_disconnected(self) -> None:
        self._drop_tracks()

    async def _handle_client_closed(self) -> None:
        self._drop_tracks()
        if not self._closing:  # the client left, we did not hang up
            await self._callbacks.on_client_disconnected(self._webrtc_connection)

    def _can_send(self) -> bool:
        return self.is_connected and not self.is_closing

    @property
    def is_connected(self) -> bool:
        return self._webrtc_connection.is_connected()

    @property
    def is_closing(self) -> bool:
        return self._closing


class SmallWebRTCInputTransport(BaseInputTransport):
    """The peer's microphone, camera, screen share and data-channel messages into the
    pipeline; answers ``UserImageRequestFrame`` s with the next frame of the source."""

    def __init__(self, client: SmallWebRTCClient, params: TransportParams, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        self._client = client
        self._params = params
        self._receive_audio_task: asyncio.Task[None] | None = None
        self._receive_video_task: asyncio.Task[None] | None = None
        self._receive_screen_video_task: asyncio.Task[None] | None = None
        self._video_samplers = _VideoInSamplers()  # type: ignore[no-untyped-call]

    def _supports_video_in_source(self, video_source: str) -> bool:
        return video_source in (CAM_VIDEO_SOURCE, SCREEN_VIDEO_SOURCE)

    # pipecat's processors override BaseObject.setup(task_manager) with another argument
    async def setup(self, setup: FrameProcessorSetup) -> None:  # type: ignore[override]
        await super().setup(setup)
        await self._client.setup(self._params, setup)
        await self._client.connect()

    async def cleanup(self) -> None:
        await super().cleanup()  # type: ignore[no-untyped-call]
        await self._teardown()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, UserImageRequestFrame):
            await self.request_participant_image(frame)

    async def _stop_tasks(self) -> None:
        for name in ("_receive_audio_task", "_receive_video_task", "_receive_screen_video_task"):
            task = getattr(self, name)
            if task is not None:
                await self.cancel_task(task)
                setattr(self, name, None)

    async def _teardown(self) -> None:
        await self._stop_tasks()
        await self._client.disconnect()

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        if self._receive_audio_task is None and self._params.audio_in_enabled:
            self._receive_audio_task = self.create_task(self._receive_audio())
        if self._receive_video_task is None and self._params.video_in_enabled:
            self._receive_video_task = self.create_task(self._receive_video(CAM_VIDEO_SOURCE))
        await self.set_transport_ready(frame)

    async def stop(self, frame: EndFrame) -> None:
        await super().stop(frame)
        await self._teardown()

    async def cancel(self, frame: CancelFrame) -> None:
        await super().cancel(frame)
        await self._teardown()

    async def _receive_audio(self) -> None:
        try:
            async for audio_frame in self._client.read_audio_frame():
                await self.push_audio_frame(audio_frame)
        except Exception as exc:
            logger.error("%s: receiving audio failed: %r", self, exc)

    async def _receive_video(self, video_source: str) -> None:
        try:
            async for video_frame in self._client.read_video_frame(video_source):
                due, request = self._video_samplers.sample(_PEER_ID, video_source)
                if not due:
                    continue
                if request is not None:
                    video_frame.text = request.text
                    video_frame.append_to_context = request.append_to_context
                    video_frame.request = request
                await self.push_video_frame(video_frame)
        except Exception as exc:
            logger.error("%s: receiving video failed: %r", self, exc)

    async def push_app_message(self, message: Any) -> None:
        await self.broadcast_frame(InputTransportMessageFrame, message=message)

    def _start_video(self, video_source: str) -> None:
        """Start reading ``video_source`` if video input is on and nothing reads it yet."""
        if not self._params.video_in_enabled:
            return
        if video_source == CAM_VIDEO_SOURCE and self._receive_video_task is None:
            self._receive_video_task = self.create_task(self._receive_video(CAM_VIDEO_SOURCE))
        elif video_source == SCREEN_VIDEO_SOURCE and self._receive_screen_video_task is None:
            self._receive_screen_video_task = self.create_task(
                self._receive_video(SCREEN_VIDEO_SOURCE)
            )

    async def request_participant_image(self, frame: UserImageRequestFrame) -> None:
        """Answer ``frame`` with the next frame of its source (the camera if it names none)."""
        if frame.video_source is None:
            frame.video_source = CAM_VIDEO_SOURCE
        if not self._client.video_source_enabled(frame.video_source):
            error = f"The peer isn't sending {frame.video_source} video."
            await self._answer_image_requests([frame], error)
            return
        if not self._video_samplers.is_capturing(_PEER_ID, frame.video_source):
            self._video_samplers.capture(_PEER_ID, frame.video_source, None)
        self._video_samplers.add_request(_PEER_ID, frame.video_source, frame)
        self._start_video(frame.video_source)

    async def stop_video(self, video_source: str) -> None:
        """The peer turned ``video_source`` off: answer the requests waiting on it."""
        requests = self._video_samplers.take_requests(_PEER_ID, video_source)
        error = f"The peer turned off its {video_source} video."
        await self._answer_image_requests(requests, error)

    async def remove_all_video(self) -> None:
        requests = self._video_samplers.clear()
        await self._answer_image_requests(requests, "The peer disconnected.")

    async def capture_participant_media(
        self, source: str = CAM_VIDEO_SOURCE, framerate: int | None = None
    ) -> None:
        """Start reading ``source``; for video, pass on ``framerate`` frames a second (None:
        every frame, 0: only those that answer image requests)."""
        if source in (CAM_VIDEO_SOURCE, SCREEN_VIDEO_SOURCE):
            self._video_samplers.capture(_PEER_ID, source, framerate)
            self._start_video(source)
        elif (
            source == MIC_AUDIO_SOURCE
            and self._receive_audio_task is None
            and self._params.audio_in_enabled
        ):
            self._receive_audio_task = self.create_task(self._receive_audio())


class SmallWebRTCOutputTransport(BaseOutputTransport):
    """The pipeline's audio, images and messages to the peer."""

    def __init__(self, client: SmallWebRTCClient, params: TransportParams, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        self._client = client
        self._params = params

    # pipecat's processors override BaseObject.setup(task_manager) with another argument
    async def setup(self, setup: FrameProcessorSetup) -> None:  # type: ignore[override]
        await super().setup(setup)
        await self._client.setup(self._params, setup)
        await self._client.connect()

    async def cleanup(self) -> None:
        await super().cleanup()  # type: ignore[no-untyped-call]
        await self._client.disconnect()

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def stop(self, frame: EndFrame) -> None:
        await super().stop(frame)
        await self._client.disconnect()

    async def cancel(self, frame: CancelFrame) -> None:
        await super().cancel(frame)
        await self._client.disconnect()

    async def send_message(
        self, frame: OutputTransportMessageFrame | OutputTransportMessageUrgentFrame
    ) -> None:
        await self._client.send_message(frame)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        return await self._client.write_audio_frame(frame)

    async def write_video_frame(self, frame: OutputImageRawFrame) -> bool:
        return await self._client.write_video_frame(frame)


class SmallWebRTCTransport(BaseTransport):
    """pipecat's SmallWebRTC transport over a pywebrtc connection.

    Events: ``on_client_connected(transport, connection)``,
    ``on_client_disconnected(transport, connection)``, ``on_app_message(transport, message,
    sender)``."""

    def __init__(
        self,
        webrtc_connection: SmallWebRTCConnection,
        params: TransportParams,
        input_name: str | None = None,
        output_name: str | None = None,
    ) -> None:
        super().__init__(input_name=input_name, output_name=output_name)
        self._params = params
        self._callbacks = SmallWebRTCCallbacks(
            on_app_message=self._on_app_message,
            on_client_connected=self._on_client_connected,
            on_client_disconnected=self._on_client_disconnected,
            on_track_status=self._on_track_status,
        )
        self._client = SmallWebRTCClient(webrtc_connection, self._callbacks)
        self._input: SmallWebRTCInputTransport | None = None
        self._output: SmallWebRTCOutputTransport | None = None
        self._register_event_handler("on_app_message")
        self._register_event_handler("on_client_connected")
        self._register_event_handler("on_client_disconnected")

    def get_client_id(self, client: Any) -> str:
        return str(client.pc_id)

    def input(self) -> SmallWebRTCInputTransport:
        if self._input is None:
            self._input = SmallWebRTCInputTransport(
                self._client, self._params, name=self._input_name
            )
        return self._input

    def output(self) -> SmallWebRTCOutputTransport:
        if self._output is None:
            self._output = SmallWebRTCOutputTransport(
                self._client, self._params, name=self._output_name
            )
        return self._output

    async def send_image(self, frame: OutputImageRawFrame | SpriteFrame) -> None:
        if self._output is not None:
            await self._output.queue_frame(frame, FrameDirection.DOWNSTREAM)

    async def send_audio(self, frame: OutputAudioRawFrame) -> None:
        if self._output is not None:
            await self._output.queue_frame(frame, FrameDirection.DOWNSTREAM)

    async def _on_app_message(self, message: Any, sender: str) -> None:
        if self._input is not None:
            await self._input.push_app_message(message)
        await self._call_event_handler("on_app_message", message, sender)

    async def _on_client_connected(self, webrtc_connection: SmallWebRTCConnection) -> None:
        # The configured video sources first, so that a handler's own capture wins.
        if self._input is not None:
            for video_source, source in self._params.video_in_sources.items():
                if self._input._supports_video_in_source(video_source):
                    framerate = 0 if source.on_request_only else source.framerate
                    await self._input.capture_participant_media(video_source, framerate)
        await self._call_event_handler("on_client_connected", webrtc_connection)
        if self._input is not None:
            await self._input.push_frame(ClientConnectedFrame())

    async def _on_client_disconnected(self, webrtc_connection: SmallWebRTCConnection) -> None:
        if self._input is not None:
            await self._input.remove_all_video()
        await self._call_event_handler("on_client_disconnected", webrtc_connection)

    async def _on_track_status(self, source: str, enabled: bool) -> None:
        if self._input is not None and source != MIC_AUDIO_SOURCE and not enabled:
            await self._input.stop_video(source)

    async def capture_participant_video(
        self,
        participant_id: str | None = None,
        framerate: int | None | NotGiven = NOT_GIVEN,
        video_source: str = CAM_VIDEO_SOURCE,
        *,
        on_request_only: bool = False,
    ) -> None:
        """Pass on the peer's camera (or screen share) at ``framerate`` (30 if not given,
        None for every frame). pipecat's older form, ``capture_participant_video("camera")``,
        means every frame of that source."""
        if participant_id is None or participant_id in (CAM_VIDEO_SOURCE, SCREEN_VIDEO_SOURCE):
            if participant_id is not None:
                video_source = participant_id
            framerate = framerate if is_given(framerate) else None
        elif not is_given(framerate):
            framerate = 30
        assert not isinstance(framerate, NotGiven)
        rate = _capture_framerate(
            framerate, on_request_only, "SmallWebRTCTransport.capture_participant_video"
        )
        if self._input is not None:
            await self._input.capture_participant_media(source=video_source, framerate=rate)

    async def capture_participant_audio(self, audio_source: str = MIC_AUDIO_SOURCE) -> None:
        if self._input is not None:
            await self._input.capture_participant_media(source=audio_source)


__all__ = [
    "CAM_VIDEO_SOURCE",
    "MIC_AUDIO_SOURCE",
    "SCREEN_VIDEO_SOURCE",
    "RawAudioTrack",
    "RawVideoTrack",
    "SmallWebRTCCallbacks",
    "SmallWebRTCClient",
    "SmallWebRTCInputTransport",
    "SmallWebRTCOutputTransport",
    "SmallWebRTCTransport",
]
