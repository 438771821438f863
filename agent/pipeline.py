"""One session's voice agent as a sans-IO machine: 48 kHz audio and Realtime client events in;
server events, paced 20 ms reply frames and requests for the blocking engines out.

The shell (``agent.app``, or a test on a fake clock) feeds :meth:`VoicePipeline.receive_audio`
with the decoded microphone track, :meth:`~VoicePipeline.receive_event` with ``oai-events``
messages, calls :meth:`~VoicePipeline.tick` at :meth:`~VoicePipeline.deadline`, and drains
:meth:`~VoicePipeline.poll`, which returns:

* :class:`SendEvent` — a server event (JSON text) for the data channel;
* :class:`SendAudio` — 20 ms of 48 kHz mono s16 for the outgoing track, due now;
* :class:`Transcribe`, :class:`Think`, :class:`Synthesize` — jobs for the engines. The shell
  runs them (the recogniser and synthesiser off the event loop, the brain's async stream on it)
  and reports back: pieces of a streaming job (reply text, PCM chunks) with
  :meth:`~VoicePipeline.job_piece`, the end with :meth:`~VoicePipeline.job_done` (the transcript
  for :class:`Transcribe`, None for the others), a failure with
  :meth:`~VoicePipeline.job_failed`;
* :class:`CancelJob` — a job whose result is no longer wanted (results of it are ignored anyway).

Audio is resampled once on the way in (48 kHz → the detector's and the recogniser's rates) and
once on the way out (the synthesiser's rate → 48 kHz). Turns end by server VAD (threshold,
prefix padding, silence duration) or, with ``turn_detection: null``, by the client's
``input_audio_buffer.commit``. The brain's reply is cut into sentences (the first at its first
clause); each is synthesised while the one before plays. Speech onset during a response
(``interrupt_response``) cuts the reply audio at once: no frame leaves after the chunk in which
the detector heard the onset.

Latency: under server VAD the turn's work starts before its end. 200 ms into the closing
silence the recogniser gets the turn so far; with its transcript the brain and the first
piece's synthesis run unannounced while the turn waits for the rest of
``silence_duration_ms``. At the turn's end the same transcript is reported, and if the
response would begin from the same conversation it is that reply (its audio often ready);
speech resuming first cancels the early jobs and nothing of them is seen.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from .events import (
    AudioClear,
    AudioCommit,
    EventError,
    OutputAudioClear,
    ResponseCancel,
    ResponseCreate,
    SessionUpdate,
)
from .interfaces import Message, SpeechDetector
from .realtime import RealtimeSession
from .resample import Resampler

logger = logging.getLogger(__name__)

RATE = 48000  # Opus in WebRTC (RFC 7587 §4.1)
FRAME_SECONDS = 0.020
FRAME_BYTES = 2 * int(RATE * FRAME_SECONDS)  # 960 samples, s16 mono
# Speech ends below threshold - 0.15 (and starts at threshold): the hysteresis silero's own
# iterator uses, so one soft chunk inside a word does not count as silence.
_HYSTERESIS = 0.15
# The prefix kept between turns is longer than prefix_padding_ms by what the detector has not
# judged yet (up to a chunk) and the chunk that hears the onset; the onset trims it exactly.
_PREFIX_SLACK_MS = 200
_MAX_INPUT_SECONDS = 60.0  # OpenAI caps the input buffer at 15 MiB; one turn stops here
_MIN_COMMIT_SECONDS = 0.1  # input_audio_buffer_commit_empty below this (as OpenAI does)
_LATE_TICK = 0.1  # a tick this late re-anchors the frame clock instead of bursting
# Playout (re)starts once this much reply audio is buffered, or the sentence is all made: a
# synthesiser that streams barely faster than real time does not starve the first frames.
_PREBUFFER_BYTES = 3 * FRAME_BYTES
# Under server VAD the recogniser starts this far into the closing silence, while the turn
# waits for the rest of silence_duration_ms: by the turn's end the transcript is (nearly) made.
# Speech resuming cancels the early job; a pause shorter than this starts none.
_EARLY_ASR_MS = 200
_QUIET = 100  # s16 amplitude of a reply's lead-in silence (-50 dBFS)


# -- what poll() returns ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendEvent:
    text: str


@dataclass(frozen=True, slots=True)
class SendAudio:
    pcm: bytes  # 20 ms, 48 kHz, mono s16le


@dataclass(frozen=True, slots=True)
class Transcribe:
    job_id: int
    pcm: bytes  # at the recogniser's rate


@dataclass(frozen=True, slots=True)
class Think:
    job_id: int
    history: tuple[Message, ...]


@dataclass(frozen=True, slots=True)
class Synthesize:
    job_id: int
    text: str


@dataclass(frozen=True, slots=True)
class CancelJob:
    job_id: int


Job = Transcribe | Think | Synthesize
Output = SendEvent | SendAudio | Transcribe | Think | Synthesize | CancelJob


@dataclass(slots=True)
class TurnTiming:
    """When each stage of one turn happened, in the shell's clock (None: did not happen).
    ``speech_end`` is when the detector first heard the closing silence (manual turns: the
    commit; typed input: the ``response.create``)."""

    item_id: str | None = None
    response_id: str | None = None
    speech_end: float | None = None
    turn_end: float | None = None
    transcript: float | None = None
    first_text: float | None = None
    first_audio: float | None = None
    first_frame: float | None = None
    status: str | None = None


class SentenceSplitter:
    """Cuts streamed text into sentences (and over-long sentences at a clause or a space).
    With ``first_clause``, the first piece ends at the first clause (", ", "; ", ": ") if one
    comes before the first sentence's end: the synthesiser makes a sentence whole, so a short
    first piece is heard sooner."""

    _END = re.compile(r"[.!?…]+[\"')\]]*\s+")
    _CLAUSE = re.compile(r"[,;:]\s+")
    LONGEST = 160

    def __init__(self, first_clause: bool = False) -> None:
        self._text = ""
        self._first_clause = first_clause

    def push(self, piece: str) -> list[str]:
        self._text += piece
        sentences = []
        while True:
            match = self._END.search(self._text)
            clause = self._CLAUSE.search(self._text) if self._first_clause else None
            if clause is not None and (match is None or clause.end() < match.end()):
                cut = clause.end()
            elif match is not None:
                cut = match.end()
            elif len(self._text) > self.LONGEST:
                head = self._text[: self.LONGEST]
                cut = max(head.rfind(", "), head.rfind("; "), head.rfind(": ")) + 1
                if cut <= 0:
                    cut = head.rfind(" ") + 1
                if cut <= 0:
                    cut = self.LONGEST
            else:
                break
            sentence, self._text = self._text[:cut].strip(), self._text[cut:]
            if sentence:
                sentences.append(sentence)
                self._first_clause = False
        return sentences

    def flush(self) -> list[str]:
        sentence, self._text = self._text.strip(), ""
        return [sentence] if sentence else []


@dataclass(slots=True)
class _Reply:
    """The pipeline's side of the active response."""

    think_job: int | None
    timing: TurnTiming
    splitter: SentenceSplitter
    sentences: deque[str]
    synth_job: int | None = None
    resampler: Resampler | None = None
    audio: bytearray | None = None
    next_frame_at: float | None = None  # None: playout not started
    playing: bool = False  # False before the first frame and while the synthesiser is behind
    # A speculative reply (made from the early transcript while the turn waits for the rest
    # of its silence) is not announced: its text waits in ``unsent`` and it does not play
    # until the turn ends and it becomes the response, or is dropped if speech resumes.
    history: tuple[Message, ...] | None = None  # set while speculative
    unsent: list[str] | None = None
    text_done: bool = False

    @property
    def generating(self) -> bool:
        return self.think_job is not None or self.synth_job is not None or bool(self.sentences)


def _trim_leading_quiet(pcm: bytes) -> bytes:
    """``pcm`` (s16) from its first sample above -50 dBFS: a reply's first chunk starts with
    the synthesiser's lead-in silence (piper's: 15-60 ms), which would only delay it. A chunk
    that is all quiet is kept whole."""
    samples = memoryview(pcm[: len(pcm) - len(pcm) % 2]).cast("h")
    for index, sample in enumerate(samples):
        if not -_QUIET <= sample <= _QUIET:
            return pcm[2 * index :]
    return pcm


class VoicePipeline:
    """The agent of one session; see the module docstring."""

    def __init__(
        self,
        detector: SpeechDetector,
        recognizer_rate: int,
        synthesizer_rate: int,
        now: float,
        config: Mapping[str, object] | None = None,
        tag: str = "",
    ) -> None:
        self.detector = detector
        self.recognizer_rate = recognizer_rate
        self.synthesizer_rate = synthesizer_rate
        self.realtime = RealtimeSession(tag, config)
        self.timings: list[TurnTiming] = []
        self._outbox: deque[Output] = deque()
        self._next_job = 0
        self._asr_in = Resampler(RATE, recognizer_rate)
        self._vad_in = (
            None
            if detector.sample_rate == recognizer_rate
            else Resampler(RATE, detector.sample_rate)
        )
        self._chunk_bytes = 2 * detector.frame_samples
        self._vad_pcm = bytearray()
        self._vad_samples = 0  # detector samples judged so far: the input clock
        self._asr_samples = 0  # recogniser-rate samples received
        self._input = bytearray()  # the input audio buffer, at the recogniser's rate
        self._prefix = bytearray()  # recent audio before an onset (VAD, between turns)
        self._speech_item: str | None = None  # set while VAD hears a turn
        self._silence_ms = 0.0
        self._silence_start: int | None = None  # audio ms
        # the early transcription of the turn so far: job id, and its result once it is in
        self._early: tuple[int, str | None] | None = None
        # job id -> (item id, timing, whether a response follows, seconds of audio)
        self._transcribing: dict[int, tuple[str, TurnTiming, bool, float]] = {}
        self._requested: ResponseCreate | None = None  # waits for transcripts
        self._reply: _Reply | None = None
        self._speculative: _Reply | None = None  # see _Reply.history
        self._flush_events()

    # -- the shell's side -----------------------------------------------------------------------

    def poll(self) -> Output | None:
        self._flush_events()
        return self._outbox.popleft() if self._outbox else None

    def deadline(self) -> float | None:
        """When :meth:`tick` must next be called (the next reply frame is due)."""
        reply = self._reply
        if reply is None or not reply.playing:
            return None  # nothing to play yet, or waiting for the synthesiser
        return reply.next_frame_at

    def tick(self, now: float) -> None:
        self._pump(now)

    def receive_event(self, message: str | bytes, now: float) -> None:
        """One ``oai-events`` message. Bad ones are answered with an ``error`` event."""
        event = self.realtime.receive(message)
        if isinstance(event, SessionUpdate) and event.sets_turn_detection:
            self._reset_turn()
        elif isinstance(event, AudioCommit):
            if len(self._input) < 2 * int(_MIN_COMMIT_SECONDS * self.recognizer_rate):
                self.realtime.error(
                    EventError(
                        "input_audio_buffer_commit_empty",
                        f"the input audio buffer holds less than "
                        f"{_MIN_COMMIT_SECONDS * 1000:.0f} ms of audio",
                        event_id=event.event_id,
                    )
                )
            else:
                self._commit(now, respond=False)
        elif isinstance(event, AudioClear):
            self._reset_turn()
            self.realtime.input_cleared()
        elif isinstance(event, OutputAudioClear):
            if self._reply is not None:
                self._cancel("client_cancelled", clear=True)
            else:
                self.realtime.audio_cleared()
        elif isinstance(event, ResponseCreate):
            if self._transcribing:
                self._requested = event
            else:
                self._start_response(event.instructions, TurnTiming(speech_end=now), now)
        elif isinstance(event, ResponseCancel):
            self._cancel("client_cancelled", clear=False)
        self._pump(now)

    def receive_audio(self, pcm: bytes, now: float) -> None:
        """Decoded microphone audio: mono s16 at 48 kHz, any whole number of samples."""
        asr_pcm = self._asr_in.push(pcm)
        self._asr_samples += len(asr_pcm) // 2
        turn_detection = self.realtime.turn_detection
        if turn_detection is None:
            self._append_input(asr_pcm)
        else:
            if self._speech_item is not None:
                self._append_input(asr_pcm)
            else:
                self._prefix += asr_pcm
                keep_ms = turn_detection.prefix_padding_ms + _PREFIX_SLACK_MS
                keep = 2 * (keep_ms * self.recognizer_rate // 1000)
                del self._prefix[: max(0, len(self._prefix) - keep)]
            self._vad_pcm += asr_pcm if self._vad_in is None else self._vad_in.push(pcm)
            while len(self._vad_pcm) >= self._chunk_bytes:
                chunk = bytes(self._vad_pcm[: self._chunk_bytes])
                del self._vad_pcm[: self._chunk_bytes]
                self._judge(self.detector.speech_probability(chunk), now)
        self._pump(now)

    def job_piece(self, job_id: int, piece: str | bytes, now: float) -> None:
        """A piece of a streaming job's output: reply text (:class:`Think`) or PCM at the
        synthesiser's rate (:class:`Synthesize`)."""
        reply = self._owner(job_id)
        if reply is None:
            return
        if job_id == reply.think_job and isinstance(piece, str) and piece:
            if reply.unsent is not None:
                reply.unsent.append(piece)
            else:
                if reply.timing.first_text is None:
                    reply.timing.first_text = now
                self.realtime.reply_text(piece)
            reply.sentences.extend(reply.splitter.push(piece))
            self._synthesize_next(reply)
        elif job_id == reply.synth_job and isinstance(piece, bytes) and reply.resampler:
            self._queue_audio(reply, reply.resampler.push(piece), now)
            self._start_playout(reply, now)
        self._pump(now)

    def job_done(self, job_id: int, result: str | None, now: float) -> None:
        """A job finished; ``result`` is the transcript of a :class:`Transcribe`."""
        if self._early is not None and job_id == self._early[0]:
            self._early = (job_id, result or "")  # kept until the turn ends
            self._speculate(result or "")
        elif job_id in self._transcribing:
            item_id, timing, respond, seconds = self._transcribing.pop(job_id)
            transcript = (result or "").strip()
            timing.transcript = now
            self.realtime.transcribed(item_id, transcript, seconds)
            self._after_transcript(timing, respond and bool(transcript), now)
        elif (reply := self._owner(job_id)) is not None and job_id == reply.think_job:
            self._think_done(reply)
        elif reply is not None and job_id == reply.synth_job:
            if reply.resampler is not None:
                self._queue_audio(reply, reply.resampler.flush(), now)
            reply.synth_job = reply.resampler = None
            self._start_playout(reply, now)
            self._synthesize_next(reply)
        self._pump(now)

    def job_failed(self, job_id: int, message: str, now: float) -> None:
        """A job raised; the turn goes on without its result."""
        logger.warning("session %s: job %d failed: %s", self.realtime.id, job_id, message)
        if self._early is not None and job_id == self._early[0]:
            self._early = None  # the turn's end asks again
        elif job_id in self._transcribing:
            item_id, timing, _respond, _seconds = self._transcribing.pop(job_id)
            self.realtime.transcription_failed(item_id, message)
            self._after_transcript(timing, False, now)
        elif (reply := self._owner(job_id)) is not None and job_id == reply.think_job:
            self._think_done(reply)
        elif reply is not None and job_id == reply.synth_job:
            reply.synth_job = reply.resampler = None
            self._start_playout(reply, now)
            self._synthesize_next(reply)
        self._pump(now)

    # -- turns ----------------------------------------------------------------------------------

    def _judge(self, probability: float, now: float) -> None:
        """One detector chunk's verdict, under server VAD."""
        turn_detection = self.realtime.turn_detection
        assert turn_detection is not None
        start_ms = self._vad_samples * 1000 // self.detector.sample_rate
        self._vad_samples += self.detector.frame_samples
        chunk_ms = self.detector.frame_samples * 1000 / self.detector.sample_rate
        if self._speech_item is None:
            if not probability >= turn_detection.threshold:  # NaN is not speech
                return
            audio_start_ms = max(0, start_ms - turn_detection.prefix_padding_ms)
            self._speech_item = self.realtime.speech_started(audio_start_ms)
            # the input buffer starts prefix_padding_ms before the onset chunk
            held_ms = self._asr_samples * 1000 / self.recognizer_rate - audio_start_ms
            keep = 2 * int(held_ms * self.recognizer_rate / 1000)
            del self._prefix[: max(0, len(self._prefix) - keep)]
            self._input = self._prefix
            self._prefix = bytearray()
            self._silence_ms = 0.0
            self._silence_start = None
            if self._reply is not None and turn_detection.interrupt_response:
                self._cancel("turn_detected", clear=False)
            return
        if probability >= max(turn_detection.threshold - _HYSTERESIS, 0.0):
            self._silence_ms = 0.0
            self._silence_start = None
            self._drop_early()
            return
        if self._silence_start is None:
            self._silence_start = start_ms
        self._silence_ms += chunk_ms
        if self._silence_ms < turn_detection.silence_duration_ms:
            if self._early is None and self._silence_ms >= _EARLY_ASR_MS:
                job = Transcribe(self._new_job(), bytes(self._input))
                self._early = (job.job_id, None)
                self._emit(job)
        else:
            self.realtime.speech_stopped(self._silence_start, self._speech_item)
            speech_end = now - self._silence_ms / 1000  # the clock when the silence began
            self._commit(now, respond=turn_detection.create_response, speech_end=speech_end)

    def _append_input(self, pcm: bytes) -> None:
        self._input += pcm
        limit = 2 * int(_MAX_INPUT_SECONDS * self.recognizer_rate)
        if len(self._input) > limit:
            del self._input[: len(self._input) - limit]

    def _drop_early(self) -> None:
        if self._early is not None:
            self._emit(CancelJob(self._early[0]))
            self._early = None
        self._drop_speculative()

    def _drop_speculative(self) -> None:
        reply, self._speculative = self._speculative, None
        if reply is not None:
            for job_id in (reply.think_job, reply.synth_job):
                if job_id is not None:
                    self._emit(CancelJob(job_id))

    def _speculate(self, transcript: str) -> None:
        """The early transcript is in while the turn waits: think and synthesise the reply's
        first sentence now, unannounced, if the turn's end would start a response."""
        turn_detection = self.realtime.turn_detection
        if (
            not transcript.strip()
            or turn_detection is None
            or not turn_detection.create_response
            or self._reply is not None
            or self._transcribing
            or self._requested is not None
        ):
            return
        history = (*self.realtime.history(), Message("user", transcript.strip()))
        job = Think(self._new_job(), history)
        self._speculative = _Reply(
            job.job_id, TurnTiming(), SentenceSplitter(first_clause=True), deque(),
            history=history, unsent=[],
        )
        self._emit(job)
    def _reset_turn(self) -> None:
        self._drop_early()
        self._input = bytearray()
        self._prefix = bytearray()
        self._speech_item = None
        self._silence_ms = 0.0
        self._silence_start = None
        self.detector.reset()

    def _commit(self, now: float, respond: bool, speech_end: float | None = None) -> None:
        """The input buffer becomes a user item, and its transcription is asked for."""
        pcm = bytes(self._input) + self._asr_in.flush()
        item_id = self.realtime.committed(self._speech_item)
        early, self._early = self._early, None  # the same speech: its transcript will do
        speculative, self._speculative = self._speculative, None
        self._reset_turn()
        self._speculative = speculative
        timing = TurnTiming(
            item_id, speech_end=now if speech_end is None else speech_end, turn_end=now
        )
        self.timings.append(timing)
        seconds = len(pcm) / 2 / self.recognizer_rate
        if early is None:
            job = Transcribe(self._new_job(), pcm)
            self._transcribing[job.job_id] = (item_id, timing, respond, seconds)
            self._emit(job)
            return
        self._transcribing[early[0]] = (item_id, timing, respond, seconds)
        if early[1] is not None:
            self.job_done(early[0], early[1], now)

    def _after_transcript(self, timing: TurnTiming, respond: bool, now: float) -> None:
        if self._transcribing:
            return  # an earlier or later turn is still being transcribed
        requested, self._requested = self._requested, None
        if requested is not None:
            self._start_response(requested.instructions, timing, now)
        elif respond and self._reply is None and self._speech_item is None:
            self._start_response(None, timing, now)
        self._drop_speculative()  # not taken up by _start_response

    # -- the response ---------------------------------------------------------------------------

    def _new_job(self) -> int:
        self._next_job += 1
        return self._next_job

    def _start_response(self, instructions: str | None, timing: TurnTiming, now: float) -> None:
        if self._reply is not None:
            return
        response = self.realtime.begin_response(instructions)
        if timing not in self.timings:
            self.timings.append(timing)
        timing.response_id = response.id
        history = self.realtime.history(instructions)
        speculative, self._speculative = self._speculative, None
        if speculative is not None and speculative.history == history:
            self._adopt(speculative, timing, now)
            return
        if speculative is not None:
            self._speculative = speculative  # dropped by the caller
        job = Think(self._new_job(), history)
        self._reply = _Reply(job.job_id, timing, SentenceSplitter(first_clause=True), deque())
        self._emit(job)

    def _adopt(self, reply: _Reply, timing: TurnTiming, now: float) -> None:
        """The speculative reply becomes the response: its text is announced, it may play."""
        unsent = reply.unsent or []
        reply.timing, reply.history, reply.unsent = timing, None, None
        self._reply = reply
        for piece in unsent:
            self.realtime.reply_text(piece)
        if unsent:
            timing.first_text = now
        if reply.text_done:
            self.realtime.reply_text_done()
        if reply.audio is not None:
            timing.first_audio = now
            self._start_playout(reply, now)

    def _owner(self, job_id: int) -> _Reply | None:
        """The reply (the response's or the speculative one) that ``job_id`` works for."""
        for reply in (self._reply, self._speculative):
            if reply is not None and job_id in (reply.think_job, reply.synth_job):
                return reply
        return None

    def _think_done(self, reply: _Reply) -> None:
        reply.think_job = None
        reply.sentences.extend(reply.splitter.flush())
        if reply.unsent is not None:
            reply.text_done = True
        else:
            self.realtime.reply_text_done()
        self._synthesize_next(reply)

    def _synthesize_next(self, reply: _Reply) -> None:
        if reply.synth_job is not None or not reply.sentences:
            return
        job = Synthesize(self._new_job(), reply.sentences.popleft())
        reply.synth_job = job.job_id
        reply.resampler = Resampler(self.synthesizer_rate, RATE)
        self._emit(job)

    def _queue_audio(self, reply: _Reply, pcm: bytes, now: float) -> None:
        if reply.audio is None:
            pcm = _trim_leading_quiet(pcm)
        if not pcm:
            return
        if reply.timing.first_audio is None and reply.unsent is None:
            reply.timing.first_audio = now
        if reply.audio is None:
            reply.audio = bytearray()
        reply.audio += pcm

    def _start_playout(self, reply: _Reply, now: float) -> None:
        """Starts the frame clock (or restarts it after the synthesiser fell behind)."""
        if reply.playing or reply.audio is None or reply.unsent is not None:
            return
        if len(reply.audio) >= _PREBUFFER_BYTES or reply.synth_job is None:
            reply.playing = True
            reply.next_frame_at = (
                now if reply.next_frame_at is None else max(now, reply.next_frame_at)
            )

    def _pump(self, now: float) -> None:
        """Sends the reply frames due by ``now``, and ends the response when all is played."""
        reply = self._reply
        if reply is None:
            return
        if reply.audio is None:
            if not reply.generating:  # nothing was said (or nothing could be synthesised)
                self._finish("completed")
            return
        if not reply.playing or reply.next_frame_at is None:
            return
        if now - reply.next_frame_at > _LATE_TICK:
            reply.next_frame_at = now
        audio = reply.audio
        while reply.next_frame_at <= now:
            if len(audio) < FRAME_BYTES and reply.generating:
                reply.playing = False  # the synthesiser is behind: wait for it
                return
            if not audio:
                self.realtime.audio_stopped()
                self._finish("completed")
                return
            frame = bytes(audio[:FRAME_BYTES]).ljust(FRAME_BYTES, b"\0")
            del audio[:FRAME_BYTES]
            if reply.timing.first_frame is None:
                reply.timing.first_frame = now
                self.realtime.audio_started()
            self._emit(SendAudio(frame))
            reply.next_frame_at += FRAME_SECONDS

    def _cancel(self, reason: str, clear: bool) -> None:
        """Ends the active response ``cancelled``: no more of its audio leaves."""
        reply = self._reply
        assert reply is not None and self.realtime.response is not None
        for job_id in (reply.think_job, reply.synth_job):
            if job_id is not None:
                self._emit(CancelJob(job_id))
        if clear or self.realtime.response.audio_started:
            self.realtime.audio_cleared()
        self._finish("cancelled", reason)

    def _finish(self, status: str, reason: str | None = None) -> None:
        reply = self._reply
        assert reply is not None
        reply.timing.status = status
        self.realtime.end_response("completed" if status == "completed" else "cancelled", reason)
        self._reply = None

    def _emit(self, output: Output) -> None:
        self._flush_events()
        self._outbox.append(output)

    def _flush_events(self) -> None:
        """Moves the protocol's queued events into the outbox, keeping their order with the
        audio and the jobs queued around them."""
        outbox = self.realtime.outbox
        while outbox:
            self._outbox.append(SendEvent(outbox.popleft()))
