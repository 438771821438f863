"""The OpenAI Realtime client events this agent understands, parsed and checked.

:func:`parse_client_event` turns one data-channel message into one of the frozen dataclasses
below or raises :class:`EventError`, which carries what the ``error`` server event needs
(``code``, ``message``, ``param`` and the client's ``event_id``).

Both shapes of ``session.update`` are read: the GA one (``session.type = "realtime"``,
``session.audio.input.turn_detection``, ``session.audio.output.voice``) and the beta one
(``session.voice``, ``session.turn_detection``). The client event names themselves are the same
in both versions. Left out: ``input_audio_buffer.append`` (audio comes on the RTP track),
function calls and tools, ``conversation.item.truncate`` / ``.delete`` / ``.retrieve``,
``semantic_vad``, transcription-only sessions. Unknown fields of known events are ignored, as
long as the fields read here are well-formed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

# Defaults of OpenAI's server_vad (Realtime API reference, session.audio.input.turn_detection).
DEFAULT_THRESHOLD = 0.5
DEFAULT_PREFIX_PADDING_MS = 300
DEFAULT_SILENCE_DURATION_MS = 500
MAX_PADDING_MS = 10_000


class EventError(ValueError):
    """A client event this session cannot act on; becomes an ``error`` server event."""

    def __init__(
        self, code: str, message: str, param: str | None = None, event_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.event_id = event_id


@dataclass(frozen=True, slots=True)
class TurnDetection:
    """``server_vad`` settings: speech above ``threshold`` opens a turn, ``silence_duration_ms``
    below it closes the turn, ``prefix_padding_ms`` of audio before the onset is kept."""

    threshold: float = DEFAULT_THRESHOLD
    prefix_padding_ms: int = DEFAULT_PREFIX_PADDING_MS
    silence_duration_ms: int = DEFAULT_SILENCE_DURATION_MS
    create_response: bool = True
    interrupt_response: bool = True

    def to_json(self) -> dict[str, object]:
        return {
            "type": "server_vad",
            "threshold": self.threshold,
            "prefix_padding_ms": self.prefix_padding_ms,
            "silence_duration_ms": self.silence_duration_ms,
            "create_response": self.create_response,
            "interrupt_response": self.interrupt_response,
            "idle_timeout_ms": None,
        }


@dataclass(frozen=True, slots=True)
class SessionUpdate:
    """``session.update``: ``None`` fields are left as they were; ``turn_detection`` is applied
    only when ``sets_turn_detection`` (it may be set to ``None``: manual turns)."""

    event_id: str | None
    instructions: str | None = None
    voice: str | None = None
    turn_detection: TurnDetection | None = None
    sets_turn_detection: bool = False


@dataclass(frozen=True, slots=True)
class AudioCommit:
    """``input_audio_buffer.commit``."""

    event_id: str | None


@dataclass(frozen=True, slots=True)
class AudioClear:
    """``input_audio_buffer.clear``."""

    event_id: str | None


@dataclass(frozen=True, slots=True)
class OutputAudioClear:
    """``output_audio_buffer.clear`` (WebRTC only): stop the reply audio now."""

    event_id: str | None


@dataclass(frozen=True, slots=True)
class ItemCreate:
    """``conversation.item.create`` with a text message."""

    event_id: str | None
    role: Literal["user", "assistant", "system"]
    text: str


@dataclass(frozen=True, slots=True)
class ResponseCreate:
    """``response.create``; ``instructions`` override the session's for this response."""

    event_id: str | None
    instructions: str | None = None


@dataclass(frozen=True, slots=True)
class ResponseCancel:
    """``response.cancel``; ``response_id`` names the response, or None for the active one."""

    event_id: str | None
    response_id: str | None = None


ClientEvent = (
    SessionUpdate
    | AudioCommit
    | AudioClear
    | OutputAudioClear
    | ItemCreate
    | ResponseCreate
    | ResponseCancel
)


def parse_client_event(message: str | bytes) -> ClientEvent:
    """One client event from the ``oai-events`` data channel; :class:`EventError` if it is not
    JSON, not an event, of an unknown type, or has a bad field."""
    try:
        obj: object = json.loads(message)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise EventError("invalid_json", f"the event is not valid JSON: {error}") from None
    if not isinstance(obj, dict):
        raise EventError("invalid_event", "an event must be a JSON object")
    event_id = obj.get("event_id")
    if event_id is not None and not isinstance(event_id, str):
        raise EventError("invalid_type", "event_id must be a string", "event_id")
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise EventError(
            "missing_required_parameter", "the event has no string 'type'", "type", event_id
        )
    parse = _PARSERS.get(kind)
    if parse is None:
        hint = " (audio travels on the RTP track)" if kind == "input_audio_buffer.append" else ""
        raise EventError(
            "invalid_event_type", f"unsupported event type {kind!r}{hint}", "type", event_id
        )
    try:
        return parse(obj, event_id)
    except EventError as error:
        error.event_id = event_id
        raise


def parse_session(session: Mapping[str, object], event_id: str | None = None) -> SessionUpdate:
    """The settings in a ``session`` object (of ``session.update``, or of the call's
    ``/v1/realtime/calls`` request)."""
    kind = session.get("type", "realtime")
    if kind != "realtime":
        raise EventError(
            "invalid_value", f"only realtime sessions are supported, not {kind!r}", "session.type"
        )
    instructions = _optional_str(session, "instructions", "session.instructions")
    voice = _optional_str(session, "voice", "session.voice")
    sets_turn_detection = "turn_detection" in session
    raw_turn_detection = session.get("turn_detection")
    turn_param = "session.turn_detection"
    audio = session.get("audio")
    if audio is not None:
        audio = _object(audio, "session.audio")
        audio_in = _object(audio.get("input", {}), "session.audio.input")
        audio_out = _object(audio.get("output", {}), "session.audio.output")
        voice = _optional_str(audio_out, "voice", "session.audio.output.voice") or voice
        if "turn_detection" in audio_in:
            sets_turn_detection = True
            raw_turn_detection = audio_in["turn_detection"]
            turn_param = "session.audio.input.turn_detection"
    turn_detection = (
        _turn_detection(raw_turn_detection, turn_param) if sets_turn_detection else None
    )
    return SessionUpdate(event_id, instructions, voice, turn_detection, sets_turn_detection)


def _session_update(obj: Mapping[str, object], event_id: str | None) -> SessionUpdate:
    return parse_session(_object(obj.get("session"), "session"), event_id)


def _turn_detection(value: object, param: str) -> TurnDetection | None:
    if value is None:
        return None
    td = _object(value, param)
    kind = td.get("type", "server_vad")
    if kind != "server_vad":
        raise EventError(
            "invalid_value",
            f"only server_vad turn detection is supported, not {kind!r}",
            f"{param}.type",
        )
    threshold = _number(td.get("threshold", DEFAULT_THRESHOLD), 0.0, 1.0)
    if threshold is None:
        raise EventError(
            "invalid_value", "threshold must be a number in 0..1", f"{param}.threshold"
        )
    return TurnDetection(
        threshold=threshold,
        prefix_padding_ms=_milliseconds(td, "prefix_padding_ms", DEFAULT_PREFIX_PADDING_MS, param),
        silence_duration_ms=_milliseconds(
            td, "silence_duration_ms", DEFAULT_SILENCE_DURATION_MS, param
        ),
        create_response=_bool(td, "create_response", param),
        interrupt_response=_bool(td, "interrupt_response", param),
    )


def _item_create(obj: Mapping[str, object], event_id: str | None) -> ItemCreate:
    item = _object(obj.get("item"), "item")
    if item.get("type", "message") != "message":
        raise EventError("invalid_value", "only message items are supported", "item.type")
    role = item.get("role")
    if role != "user" and role != "assistant" and role != "system":
        raise EventError("invalid_value", "role must be user, assistant or system", "item.role")
    content = item.get("content")
    if not isinstance(content, list) or not content:
        raise EventError("invalid_value", "content must be a non-empty list", "item.content")
    texts = []
    for index, part in enumerate(content):
        param = f"item.content[{index}]"
        part = _object(part, param)
        if part.get("type") not in ("input_text", "text", "output_text"):
            raise EventError("invalid_value", "only text content is supported", f"{param}.type")
        text = part.get("text")
        if not isinstance(text, str):
            raise EventError("invalid_type", "text must be a string", f"{param}.text")
        texts.append(text)
    return ItemCreate(event_id, role, " ".join(texts))


def _response_create(obj: Mapping[str, object], event_id: str | None) -> ResponseCreate:
    response = obj.get("response")
    if response is None:
        return ResponseCreate(event_id)
    response = _object(response, "response")
    return ResponseCreate(
        event_id, _optional_str(response, "instructions", "response.instructions")
    )


def _response_cancel(obj: Mapping[str, object], event_id: str | None) -> ResponseCancel:
    return ResponseCancel(event_id, _optional_str(obj, "response_id", "response_id"))


_PARSERS: dict[str, Callable[[Mapping[str, object], str | None], ClientEvent]] = {
    "session.update": _session_update,
    "input_audio_buffer.commit": lambda obj, event_id: AudioCommit(event_id),
    "input_audio_buffer.clear": lambda obj, event_id: AudioClear(event_id),
    "output_audio_buffer.clear": lambda obj, event_id: OutputAudioClear(event_id),
    "conversation.item.create": _item_create,
    "response.create": _response_create,
    "response.cancel": _response_cancel,
}


def _object(value: object, param: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise EventError("invalid_type", f"{param} must be an object", param)
    return value


def _optional_str(obj: Mapping[str, object], key: str, param: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise EventError("invalid_type", f"{param} must be a string", param)
    return value


def _number(value: object, low: float, high: float) -> float | None:
    """``value`` if it is a JSON number in ``low..high`` (booleans are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if low <= value <= high else None  # NaN fails both comparisons


def _milliseconds(td: Mapping[str, object], key: str, default: int, param: str) -> int:
    value = _number(td.get(key, default), 0, MAX_PADDING_MS)
    if value is None:
        raise EventError(
            "invalid_value",
            f"{key} must be a number of ms in 0..{MAX_PADDING_MS}",
            f"{param}.{key}",
        )
    return int(value)


def _bool(td: Mapping[str, object], key: str, param: str) -> bool:
    value = td.get(key, True)
    if not isinstance(value, bool):
        raise EventError("invalid_type", f"{key} must be true or false", f"{param}.{key}")
    return value
