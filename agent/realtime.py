"""The OpenAI Realtime event protocol of one session: the conversation, the session settings,
the active response, and the server events (GA names and shapes) that report them.

:class:`RealtimeSession` is sans-IO and knows nothing of audio: the pipeline
(:mod:`agent.pipeline`) tells it what happened (speech started, a transcript is ready, reply text
arrived, reply audio started or stopped) and it queues the server events, in order, as JSON text
in :attr:`RealtimeSession.outbox`. Client events go through :meth:`RealtimeSession.receive`,
which answers the ones it can settle alone (``session.update``, ``conversation.item.create``, bad
events) and returns the rest for the pipeline.

Every server event carries ``event_id`` and ``type``; items, responses and the session have ids.
Ids are ``<kind>_<session tag><counter>``: unique within a session, unique across sessions when
the tags differ.

One difference from OpenAI's service, on purpose: a response ends (``response.done``) when its
audio has been played out (after ``output_audio_buffer.stopped``), not when generation ends, so
that a barge-in always ends the response ``cancelled``.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .events import (
    AudioClear,
    AudioCommit,
    ClientEvent,
    EventError,
    ItemCreate,
    OutputAudioClear,
    ResponseCancel,
    ResponseCreate,
    SessionUpdate,
    TurnDetection,
    parse_client_event,
    parse_session,
)
from .interfaces import Message

logger = logging.getLogger(__name__)

# What the session reports as its audio format: OpenAI reports PCM at 24 kHz for WebRTC calls
# too, though the audio itself travels as Opus on the RTP track.
_AUDIO_FORMAT = {"type": "audio/pcm", "rate": 24000}
DEFAULT_MODEL = "pywebrtc-agent"
DEFAULT_VOICE = "default"

Role = Literal["user", "assistant", "system"]
PipelineRequest = AudioCommit | AudioClear | OutputAudioClear | ResponseCreate | ResponseCancel


@dataclass(slots=True)
class Item:
    """One conversation item: a message."""

    id: str
    role: Role
    text: str | None  # None: a user audio item not yet transcribed
    audio: bool  # user audio / assistant audio (else a text message)
    status: str = "completed"

    def to_json(self) -> dict[str, object]:
        content: dict[str, object]
        if self.role == "assistant":
            content = {"type": "output_audio", "transcript": self.text or ""}
        elif self.audio:
            content = {"type": "input_audio", "transcript": self.text}
        else:
            content = {"type": "input_text", "text": self.text}
        return {
            "id": self.id,
            "object": "realtime.item",
            "type": "message",
            "status": self.status,
            "role": self.role,
            "content": [content],
        }


@dataclass(slots=True)
class Response:
    """The response in progress."""

    id: str
    item: Item
    instructions: str | None
    status: str = "in_progress"
    status_details: dict[str, object] | None = None
    audio_started: bool = False
    pieces: list[str] = field(default_factory=list)


class RealtimeSession:
    """The Realtime protocol state of one session; see the module docstring."""

    def __init__(
        self,
        tag: str = "",
        config: Mapping[str, object] | None = None,
        model: str = DEFAULT_MODEL,
    ) -> None:
        self._tag = tag
        self._counter = 0
        self.outbox: deque[str] = deque()
        self.id = self.new_id("sess")
        self.conversation_id = self.new_id("conv")
        self.model = model
        self.instructions = ""
        self.voice = DEFAULT_VOICE
        self.turn_detection: TurnDetection | None = TurnDetection()
        self.items: list[Item] = []
        self.response: Response | None = None
        self.last_response_id: str | None = None
        startup_error: EventError | None = None
        if config is not None:
            if isinstance(config.get("model"), str):  # the client's name for us, echoed
                self.model = str(config["model"])
            try:
                self._apply(parse_session(config))
            except EventError as error:
                startup_error = error
        self._send("session.created", session=self.session_json())
        if startup_error is not None:
            self.error(startup_error)

    # -- ids and sending ------------------------------------------------------------------------

    def new_id(self, kind: str) -> str:
        self._counter += 1
        return f"{kind}_{self._tag}{self._counter:06d}"

    def _send(self, kind: str, **fields: object) -> None:
        event: dict[str, object] = {"event_id": self.new_id("event"), "type": kind}
        event.update(fields)
        self.outbox.append(json.dumps(event, separators=(",", ":")))

    def error(self, error: EventError) -> None:
        """An ``error`` event for a client event that could not be acted on."""
        logger.debug("session %s: client event refused: %s", self.id, error.message)
        self._send(
            "error",
            error={
                "type": "invalid_request_error",
                "code": error.code,
                "message": error.message,
                "param": error.param,
                "event_id": error.event_id,
            },
        )

    # -- client events --------------------------------------------------------------------------

    def receive(self, message: str | bytes) -> ClientEvent | None:
        """Handles one client event. Returns the event if the pipeline must act on it (it is
        then valid in the current state), else None (handled here, or refused with ``error``)."""
        try:
            event = parse_client_event(message)
            if isinstance(event, SessionUpdate):
                self._apply(event)
                self._send("session.updated", session=self.session_json())
                return event
            if isinstance(event, ItemCreate):
                self.add_item(event.role, event.text, audio=False)
                return None
            if isinstance(event, ResponseCreate) and self.response is not None:
                raise EventError(
                    "conversation_already_has_active_response",
                    f"response {self.response.id} is still in progress",
                    event_id=event.event_id,
                )
            if isinstance(event, ResponseCancel):
                if self.response is None:
                    raise EventError(
                        "response_cancel_not_active",
                        "there is no active response to cancel",
                        event_id=event.event_id,
                    )
                if event.response_id not in (None, self.response.id):
                    raise EventError(
                        "invalid_value",
                        f"response {event.response_id!r} is not the active one",
                        "response_id",
                        event.event_id,
                    )
            return event
        except EventError as error:
            self.error(error)
            return None

    def _apply(self, update: SessionUpdate) -> None:
        if update.instructions is not None:
            self.instructions = update.instructions
        if update.voice is not None:
            self.voice = update.voice
        if update.sets_turn_detection:
            self.turn_detection = update.turn_detection

    def session_json(self) -> dict[str, object]:
        return {
            "type": "realtime",
            "object": "realtime.session",
            "id": self.id,
            "model": self.model,
            "output_modalities": ["audio"],
            "instructions": self.instructions,
            "audio": {
                "input": {
                    "format": _AUDIO_FORMAT,
                    "transcription": {"model": self.model},
                    "noise_reduction": None,
                    "turn_detection": (
                        None if self.turn_detection is None else self.turn_detection.to_json()
                    ),
                },
                "output": {"format": _AUDIO_FORMAT, "voice": self.voice, "speed": 1.0},
            },
            "tools": [],
            "tool_choice": "auto",
            "max_output_tokens": "inf",
        }

    # -- the conversation -----------------------------------------------------------------------

    def _previous_item_id(self, item: Item) -> str | None:
        index = self.items.index(item)
        return self.items[index - 1].id if index else None

    def add_item(
        self, role: Role, text: str | None, audio: bool, item_id: str | None = None
    ) -> Item:
        """A finished item joins the conversation: ``conversation.item.added`` and ``.done``."""
        item = Item(item_id or self.new_id("item"), role, text, audio)
        self.items.append(item)
        previous = self._previous_item_id(item)
        self._send("conversation.item.added", previous_item_id=previous, item=item.to_json())
        self._send("conversation.item.done", previous_item_id=previous, item=item.to_json())
        return item

    def history(self, instructions: str | None = None) -> tuple[Message, ...]:
        """The conversation as the brain sees it, the instructions first."""
        messages: list[Message] = []
        system = self.instructions if instructions is None else instructions
        if system:
            messages.append(Message("system", system))
        for item in self.items:
            if item.text:
                messages.append(Message(item.role, item.text))
        return tuple(messages)

    # -- input audio ----------------------------------------------------------------------------

    def speech_started(self, audio_start_ms: int) -> str:
        """VAD heard speech begin; returns the id the user's item will have."""
        item_id = self.new_id("item")
        self._send(
            "input_audio_buffer.speech_started", audio_start_ms=audio_start_ms, item_id=item_id
        )
        return item_id

    def speech_stopped(self, audio_end_ms: int, item_id: str) -> None:
        self._send("input_audio_buffer.speech_stopped", audio_end_ms=audio_end_ms, item_id=item_id)

    def committed(self, item_id: str | None = None) -> str:
        """The input buffer became a user audio item (transcript to follow)."""
        item_id = item_id or self.new_id("item")
        previous = self.items[-1].id if self.items else None
        self._send("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id)
        self.add_item("user", None, audio=True, item_id=item_id)
        return item_id

    def input_cleared(self) -> None:
        self._send("input_audio_buffer.cleared")

    def transcribed(self, item_id: str, transcript: str, seconds: float) -> None:
        """``seconds``: the length of the audio transcribed (reported as its ``usage``)."""
        for item in self.items:
            if item.id == item_id:
                item.text = transcript
        self._send(
            "conversation.item.input_audio_transcription.completed",
            item_id=item_id,
            content_index=0,
            transcript=transcript,
            usage={"type": "duration", "seconds": round(seconds, 3)},
        )

    def transcription_failed(self, item_id: str, message: str) -> None:
        self._send(
            "conversation.item.input_audio_transcription.failed",
            item_id=item_id,
            content_index=0,
            error={"type": "transcription_error", "code": None, "message": message, "param": None},
        )

    # -- the response ---------------------------------------------------------------------------

    def _response_json(self, response: Response) -> dict[str, object]:
        output = [response.item.to_json()] if response.status != "in_progress" else []
        return {
            "object": "realtime.response",
            "id": response.id,
            "status": response.status,
            "status_details": response.status_details,
            "output": output,
            "conversation_id": self.conversation_id,
            "output_modalities": ["audio"],
            "max_output_tokens": "inf",
            "audio": {"output": {"format": _AUDIO_FORMAT, "voice": self.voice}},
            "usage": None,
            "metadata": None,
        }

    def begin_response(self, instructions: str | None = None) -> Response:
        """``response.created`` and the assistant item it fills."""
        if self.response is not None:
            raise RuntimeError("a response is already active")
        item = Item(self.new_id("item"), "assistant", "", audio=True, status="in_progress")
        response = Response(self.new_id("resp"), item, instructions)
        self.response = response
        self.last_response_id = response.id
        self._send("response.created", response=self._response_json(response))
        previous = self.items[-1].id if self.items else None
        self.items.append(item)
        where = {"response_id": response.id, "output_index": 0}
        self._send("response.output_item.added", **where, item=item.to_json())
        self._send("conversation.item.added", previous_item_id=previous, item=item.to_json())
        self._send(
            "response.content_part.added",
            **where,
            item_id=item.id,
            content_index=0,
            part={"type": "audio", "transcript": ""},
        )
        return response

    def _where(self, response: Response) -> dict[str, object]:
        return {
            "response_id": response.id,
            "item_id": response.item.id,
            "output_index": 0,
            "content_index": 0,
        }

    def reply_text(self, delta: str) -> None:
        response = self._active()
        response.pieces.append(delta)
        response.item.text = "".join(response.pieces)
        self._send("response.output_audio_transcript.delta", **self._where(response), delta=delta)

    def reply_text_done(self) -> None:
        response = self._active()
        transcript = response.item.text or ""
        self._send(
            "response.output_audio_transcript.done", **self._where(response), transcript=transcript
        )
        self._send(
            "response.content_part.done",
            **self._where(response),
            part={"type": "audio", "transcript": transcript},
        )

    def audio_started(self) -> None:
        response = self._active()
        response.audio_started = True
        self._send("output_audio_buffer.started", response_id=response.id)

    def audio_stopped(self) -> None:
        self._send("output_audio_buffer.stopped", response_id=self._active().id)

    def audio_cleared(self) -> None:
        """``output_audio_buffer.cleared``: the reply audio was cut off."""
        response_id = self.response.id if self.response is not None else self.last_response_id
        self._send("output_audio_buffer.cleared", response_id=response_id)

    def end_response(
        self,
        status: Literal["completed", "cancelled", "failed"],
        reason: str | None = None,
    ) -> Response:
        """``response.output_item.done``, ``conversation.item.done`` and ``response.done``."""
        response = self._active()
        response.status = status
        response.item.status = "completed" if status == "completed" else "incomplete"
        if status != "completed":
            response.status_details = {"type": status, "reason": reason}
        previous = self._previous_item_id(response.item)
        self._send(
            "response.output_item.done",
            response_id=response.id,
            output_index=0,
            item=response.item.to_json(),
        )
        self._send(
            "conversation.item.done", previous_item_id=previous, item=response.item.to_json()
        )
        self._send("response.done", response=self._response_json(response))
        self.response = None
        return response

    def _active(self) -> Response:
        if self.response is None:
            raise RuntimeError("no active response")
        return self.response
