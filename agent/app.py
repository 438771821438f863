"""The voice agent as a transceiver-service application (:mod:`signaling.app`): the asyncio shell
around :class:`agent.pipeline.VoicePipeline`, one per session.

* the microphone: each incoming audio track's decoded frames (mono s16 at 48 kHz after
  :class:`~pywebrtc.media.frames.FrameConverter`) go to ``receive_audio``;
* the ``oai-events`` data channel: messages go to ``receive_event``, server events come back
  on it (queued until it opens);
* the reply: :class:`ReplyTrack`, sent on every audio transceiver, plays the pipeline's paced
  frames and silence between them;
* the engines: the recogniser and the synthesiser run in a thread pool shared by all sessions
  (they block); the brain's async stream runs on the loop; cancelled jobs are dropped;
* time: ``loop.time()``; one timer at the pipeline's deadline.

``AgentApp(engines)`` is the application; ``engines`` is an :class:`Engines` or a callable
making one per session (a speech detector has per-session state, so it is made by
``Engines.detector``, a factory).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

import av

from pywebrtc.exceptions import InvalidStateError, MediaStreamError
from pywebrtc.media import AudioStreamTrack, MediaStreamTrack
from pywebrtc.media.frames import FrameConverter, pcm_frame
from pywebrtc.rtcdatachannel import RTCDataChannel
from signaling.app import Session

from .interfaces import Brain, Message, Recognizer, SpeechDetector, Synthesizer
from .pipeline import (
    FRAME_BYTES,
    RATE,
    CancelJob,
    SendAudio,
    SendEvent,
    Synthesize,
    Think,
    Transcribe,
    VoicePipeline,
)

logger = logging.getLogger(__name__)

EVENTS_LABEL = "oai-events"  # the channel OpenAI's WebRTC clients open
# Reply frames the track holds. The pipeline paces them, but a tick up to 100 ms late
# (pipeline._LATE_TICK) releases every frame due by then at once: hold those, plus jitter.
_QUEUED_FRAMES = 8


@dataclass(frozen=True, slots=True)
class Engines:
    """What the agent thinks with. ``detector`` makes one speech detector per session."""

    detector: Callable[[], SpeechDetector]
    recognizer: Recognizer
    brain: Brain
    synthesizer: Synthesizer


class ReplyTrack(AudioStreamTrack):
    """The agent's voice: queued 20 ms frames in real time, silence when there are none."""

    def __init__(self) -> None:
        super().__init__()
        self._frames: deque[bytes] = deque()

    def play(self, pcm: bytes) -> None:
        if len(self._frames) >= _QUEUED_FRAMES:
            self._frames.popleft()  # the pipeline ran ahead of the sender: stay in real time
        self._frames.append(pcm)

    def clear(self) -> None:
        self._frames.clear()

    async def recv(self) -> av.AudioFrame:
        pts, _ = await self.next_timestamp()
        pcm = self._frames.popleft() if self._frames else bytes(FRAME_BYTES)
        return pcm_frame(pcm, RATE, 1, pts)


class AgentSession:
    """The shell of one session's pipeline."""

    def __init__(self, session: Session, engines: Engines, executor: Executor) -> None:
        self.session = session
        self.engines = engines
        self.executor = executor
        self.loop = asyncio.get_running_loop()
        self.pipeline = VoicePipeline(
            engines.detector(),
            engines.recognizer.sample_rate,
            engines.synthesizer.sample_rate,
            self.loop.time(),
            config=session.config,
            tag=secrets.token_hex(4),
        )
        self.track = ReplyTrack()
        self.channel: RTCDataChannel | None = None
        self._unsent: list[str] = []  # server events before the channel opens
        self._timer: asyncio.TimerHandle | None = None
        self._jobs: dict[int, asyncio.Future[object]] = {}
        self._stopped: dict[int, _Flag] = {}

    # -- inputs ---------------------------------------------------------------------------------

    async def start(self) -> None:
        for transceiver in self.session.pc.getTransceivers():
            if transceiver.kind == "audio":
                await transceiver.sender.replaceTrack(self.track)
            else:  # a camera or screen: the agent neither looks at it nor sends one
                transceiver.direction = "inactive"
        for track in self.session.tracks:
            if track.kind == "audio":
                self.session.spawn(self._listen(track))
        for channel in self.session.channels:
            self._on_channel(channel)
        self.session.pc.on("datachannel", self._on_channel)
        self._drain()

    def close(self) -> None:
        """Stops the timer, the jobs and the reply track (the session has ended)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for flag in self._stopped.values():
            flag.set()
        for job in self._jobs.values():
            job.cancel()
        self._jobs.clear()
        self.track.stop()

    def _on_channel(self, channel: RTCDataChannel) -> None:
        if channel.label != EVENTS_LABEL or self.channel is not None:
            return
        self.channel = channel

        def on_message(message: str | bytes) -> None:
            self.pipeline.receive_event(message, self.loop.time())
            self._drain()

        channel.on("message", on_message)
        channel.on("open", self._flush_unsent)
        self._flush_unsent()

    def _flush_unsent(self) -> None:
        if self.channel is None or self.channel.readyState != "open":
            return
        unsent, self._unsent = self._unsent, []
        for text in unsent:
            self._send_event(text)

    async def _listen(self, track: MediaStreamTrack) -> None:
        converter = FrameConverter(RATE, 1, RATE // 50)
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.AudioFrame):
                continue
            now = self.loop.time()
            for pcm in converter.convert(frame):
                self.pipeline.receive_audio(pcm, now)
            self._drain()

    def _on_timer(self) -> None:
        self._timer = None
        self.pipeline.tick(self.loop.time())
        self._drain()

    # -- outputs --------------------------------------------------------------------------------

    def _drain(self) -> None:
        """Acts on everything the pipeline has to say, then sets the timer for its deadline."""
        pipeline = self.pipeline
        while (output := pipeline.poll()) is not None:
            if isinstance(output, SendAudio):
                self.track.play(output.pcm)
            elif isinstance(output, SendEvent):
                if '"output_audio_buffer.cleared"' in output.text:
                    self.track.clear()  # barge-in: not even the queued frames play
                self._send_event(output.text)
            elif isinstance(output, Transcribe):
                self._run(output.job_id, self._transcribe(output.job_id, output.pcm))
            elif isinstance(output, Think):
                self._run(output.job_id, self._think(output.job_id, output.history))
            elif isinstance(output, Synthesize):
                self._run(output.job_id, self._synthesize(output.job_id, output.text))
            elif isinstance(output, CancelJob):
                flag = self._stopped.pop(output.job_id, None)
                if flag is not None:
                    flag.set()
                job = self._jobs.pop(output.job_id, None)
                if job is not None:
                    job.cancel()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = pipeline.deadline()
        if deadline is not None:
            self._timer = self.loop.call_at(deadline, self._on_timer)

    def _send_event(self, text: str) -> None:
        channel = self.channel
        if channel is None or channel.readyState != "open":
            self._unsent.append(text)
            return
        with contextlib.suppress(InvalidStateError):
            channel.send(text)

    def _run(self, job_id: int, work: asyncio.Future[object]) -> None:
        self._jobs[job_id] = work

        def finished(future: asyncio.Future[object]) -> None:
            if self._jobs.get(job_id) is future:
                del self._jobs[job_id]
            self._stopped.pop(job_id, None)
            if future.cancelled():
                return
            error = future.exception()
            if error is not None:
                logger.warning("session %s: job %d failed", self.session.id, job_id, exc_info=error)
                self.pipeline.job_failed(
                    job_id, str(error) or type(error).__name__, self.loop.time()
                )
                self._drain()

        work.add_done_callback(finished)

    def _transcribe(self, job_id: int, pcm: bytes) -> asyncio.Task[object]:
        async def transcribe() -> object:
            text = await self.loop.run_in_executor(
                self.executor, self.engines.recognizer.transcribe, pcm
            )
            self.pipeline.job_done(job_id, text, self.loop.time())
            self._drain()
            return None

        return self.loop.create_task(transcribe())

    def _think(self, job_id: int, history: tuple[Message, ...]) -> asyncio.Task[object]:
        async def think() -> object:
            async for piece in self.engines.brain.reply(history):
                self.pipeline.job_piece(job_id, piece, self.loop.time())
                self._drain()
            self.pipeline.job_done(job_id, None, self.loop.time())
            self._drain()
            return None

        return self.loop.create_task(think())

    def _synthesize(self, job_id: int, text: str) -> asyncio.Future[object]:
        """Runs the synthesiser in the pool; each chunk is handed to the loop as it comes."""
        stopped = self._stopped[job_id] = _Flag()
        loop = self.loop

        def deliver(chunk: bytes | None) -> None:
            if stopped.is_set():
                return
            now = loop.time()
            if chunk is None:
                self.pipeline.job_done(job_id, None, now)
            else:
                self.pipeline.job_piece(job_id, chunk, now)
            self._drain()

        def synthesize() -> object:
            chunks: Iterator[bytes] = self.engines.synthesizer.synthesize(text)
            for chunk in chunks:
                if stopped.is_set():
                    return None
                loop.call_soon_threadsafe(deliver, bytes(chunk))
            loop.call_soon_threadsafe(deliver, None)
            return None

        return loop.run_in_executor(self.executor, synthesize)


class _Flag:
    """A cancellation flag read by a worker thread (a plain attribute: one writer)."""

    __slots__ = ("_set",)

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set


class AgentApp:
    """The application: ``await app(session)`` starts the agent for one session."""

    decode_audio = True  # the pipeline wants PCM
    hurry_audio = True  # every frame of the user's speech, even after a stall

    def __init__(
        self,
        engines: Engines | Callable[[], Engines],
        executor: Executor | None = None,
        workers: int = 2,
    ) -> None:
        self._engines = engines
        self.executor = executor or ThreadPoolExecutor(workers, thread_name_prefix="agent")
        self.sessions: dict[str, AgentSession] = {}

    async def __call__(self, session: Session) -> None:
        engines = self._engines if isinstance(self._engines, Engines) else self._engines()
        agent = AgentSession(session, engines, self.executor)
        self.sessions[session.id] = agent
        await agent.start()

        async def end() -> None:
            try:
                await session.ended.wait()
            finally:  # cancelled as the session ends, or woken by its end
                agent.close()
                self.sessions.pop(session.id, None)

        session.spawn(end())
