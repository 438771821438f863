"""The Realtime event protocol: client events parsed (GA and beta shapes), server events shaped
as OpenAI's, and any input at all answered without a crash (Hypothesis)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agent.events import (
    AudioCommit,
    ItemCreate,
    ResponseCancel,
    ResponseCreate,
    SessionUpdate,
    TurnDetection,
    parse_client_event,
    parse_session,
)
from agent.pipeline import SendAudio, SendEvent, VoicePipeline
from agent.realtime import RealtimeSession

from .fakes import Driver, FakeDetector, tone


def events(session: RealtimeSession) -> list[dict[str, Any]]:
    out = [json.loads(text) for text in session.outbox]
    session.outbox.clear()
    return out


def test_parse_ga_and_beta_session_updates() -> None:
    ga = parse_client_event(
        json.dumps(
            {
                "type": "session.update",
                "event_id": "ev1",
                "session": {
                    "type": "realtime",
                    "instructions": "Be brief.",
                    "audio": {
                        "input": {"turn_detection": {"type": "server_vad", "threshold": 0.6}},
                        "output": {"voice": "marin"},
                    },
                },
            }
        )
    )
    assert ga == SessionUpdate("ev1", "Be brief.", "marin", TurnDetection(threshold=0.6), True)
    beta = parse_client_event(
        '{"type": "session.update", "session": {"voice": "alloy", "turn_detection": null}}'
    )
    assert beta == SessionUpdate(None, None, "alloy", None, True)
    untouched = parse_session({"instructions": "x"})
    assert not untouched.sets_turn_detection


def test_parse_the_other_client_events() -> None:
    assert parse_client_event('{"type": "input_audio_buffer.commit"}') == AudioCommit(None)
    item = parse_client_event(
        json.dumps(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "a"}, {"type": "text", "text": "b"}],
                },
            }
        )
    )
    assert item == ItemCreate(None, "user", "a b")
    assert parse_client_event(
        '{"type": "response.create", "response": {"instructions": "Shout."}}'
    ) == ResponseCreate(None, "Shout.")
    assert parse_client_event(
        '{"type": "response.cancel", "response_id": "resp_1"}'
    ) == ResponseCancel(None, "resp_1")


def test_server_event_shapes() -> None:
    session = RealtimeSession("s")
    (created,) = events(session)
    assert created["type"] == "session.created"
    assert created["session"]["object"] == "realtime.session"
    assert created["session"]["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    item_id = session.speech_started(120)
    session.speech_stopped(900, item_id)
    session.committed(item_id)
    session.transcribed(item_id, "hello", 0.78)
    session.begin_response()
    session.reply_text("Hi.")
    session.reply_text_done()
    session.audio_started()
    session.audio_stopped()
    session.end_response("completed")
    out = events(session)
    assert all(isinstance(e["event_id"], str) and e["event_id"] for e in out)
    by_type = {e["type"]: e for e in out}
    assert by_type["input_audio_buffer.speech_started"] == {
        "event_id": by_type["input_audio_buffer.speech_started"]["event_id"],
        "type": "input_audio_buffer.speech_started",
        "audio_start_ms": 120,
        "item_id": item_id,
    }
    assert by_type["input_audio_buffer.speech_stopped"]["audio_end_ms"] == 900
    transcription = by_type["conversation.item.input_audio_transcription.completed"]
    assert transcription["content_index"] == 0 and transcription["transcript"] == "hello"
    assert transcription["usage"] == {"type": "duration", "seconds": 0.78}
    user_item = next(e for e in out if e["type"] == "conversation.item.added")["item"]
    assert user_item["object"] == "realtime.item" and user_item["role"] == "user"
    assert user_item["content"] == [{"type": "input_audio", "transcript": None}]
    created_response = by_type["response.created"]["response"]
    assert created_response["object"] == "realtime.response"
    assert created_response["status"] == "in_progress" and created_response["output"] == []
    delta = by_type["response.output_audio_transcript.delta"]
    response_id = created_response["id"]
    assert {k: delta[k] for k in ("response_id", "output_index", "content_index", "delta")} == {
        "response_id": response_id,
        "output_index": 0,
        "content_index": 0,
        "delta": "Hi.",
    }
    assert by_type["output_audio_buffer.started"]["response_id"] == response_id
    done = by_type["response.done"]["response"]
    assert done["status"] == "completed" and done["status_details"] is None
    assert done["output"][0]["content"] == [{"type": "output_audio", "transcript": "Hi."}]
    assert done["output"][0]["status"] == "completed"
    assert [m.role for m in session.history()] == ["user", "assistant"]
    # ids are unique across the whole session
    ids = [e["event_id"] for e in out] + [item_id, response_id]
    assert len(ids) == len(set(ids))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
TYPES = st.sampled_from(
    [
        "session.update",
        "input_audio_buffer.commit",
        "input_audio_buffer.clear",
        "output_audio_buffer.clear",
        "conversation.item.create",
        "response.create",
        "response.cancel",
        "input_audio_buffer.append",
        "nonsense",
    ]
)
FIELDS = st.sampled_from(
    ["session", "item", "response", "response_id", "event_id", "turn_detection", "audio"]
)
EVENTS = st.builds(
    lambda kind, fields: {"type": kind, **fields},
    TYPES,
    st.dictionaries(FIELDS, JSON, max_size=3),
)
MESSAGES = (
    st.text(max_size=40) | st.binary(max_size=40) | JSON.map(json.dumps) | EVENTS.map(json.dumps)
)


@given(st.lists(MESSAGES, min_size=1, max_size=8))
def test_any_client_message_is_answered_and_the_session_goes_on(
    messages: list[str | bytes],
) -> None:
    pipeline = VoicePipeline(FakeDetector(), 16000, 22050, 0.0)
    now = 0.0
    for message in messages:
        pipeline.receive_event(message, now)
        pipeline.receive_audio(tone(0.02), now)
        now += 0.02
        pipeline.tick(now)
        while (output := pipeline.poll()) is not None:
            if isinstance(output, SendEvent):
                event = json.loads(output.text)
                assert isinstance(event["event_id"], str) and isinstance(event["type"], str)
            elif isinstance(output, SendAudio):
                assert len(output.pcm) == 1920


@given(st.lists(EVENTS.map(json.dumps), max_size=6))
def test_random_events_then_a_typed_question_still_gets_its_answer(messages: list[str]) -> None:
    driver = Driver()
    for message in messages:
        driver.send(message)
        driver.run(0.1)
    driver.send({"type": "response.cancel"})  # whatever is going on, stop it
    driver.send({"type": "session.update", "session": {"turn_detection": None}})
    driver.send(
        {
            "type": "conversation.item.create",
            "item": {"role": "user", "content": [{"type": "input_text", "text": "7 plus 5"}]},
        }
    )
    driver.send({"type": "response.create"})
    driver.run(3.0)
    last = driver.of_type("response.done")[-1]["response"]
    assert last["status"] == "completed"
    assert last["output"][0]["content"][0]["transcript"].strip() == "Seven plus five is twelve."
