"""The whole agent pipeline on a fake clock: canned PCM in, fake engines, events and paced
frames out (no sleeps, no network)."""

from __future__ import annotations

import json

from agent.pipeline import (
    FRAME_BYTES,
    RATE,
    CancelJob,
    SentenceSplitter,
    Synthesize,
    Think,
    Transcribe,
)

from .fakes import Driver, ScriptedBrain, level, tone

QUESTION = "What is twelve times thirty four?"
ANSWER = "Twelve times thirty four is four hundred and eight."
MANUAL = {
    "type": "session.update",
    "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
}


def spoken_turn(driver: Driver, seconds: float = 1.0) -> float:
    """Says ``seconds`` of speech from the microphone's next frame; returns when it started."""
    start = driver.mic_time()
    driver.say(tone(seconds))
    return start


def frame_times(driver: Driver) -> list[float]:
    return [at for at, _ in driver.frames]


def assert_paced(times: list[float]) -> None:
    """One frame every 20 ms, never faster than real time."""
    for k, at in enumerate(times):
        assert abs(at - (times[0] + 0.02 * k)) < 1e-6, (k, at, times[0])


def test_a_spoken_turn_is_heard_answered_and_played_in_real_time() -> None:
    driver = Driver([QUESTION])
    assert driver.types() == ["session.created"]
    spoken_turn(driver, 1.0)
    driver.run(6.0)
    types = driver.types()
    expected = [
        "session.created",
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "conversation.item.input_audio_transcription.completed",
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        "response.output_audio_transcript.delta",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "output_audio_buffer.started",
        "output_audio_buffer.stopped",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    assert types == expected
    started = driver.of_type("input_audio_buffer.speech_started")[0]
    stopped = driver.of_type("input_audio_buffer.speech_stopped")[0]
    assert started["audio_start_ms"] == 0
    assert 990 <= stopped["audio_end_ms"] <= 1040
    assert started["item_id"] == stopped["item_id"]
    committed = driver.of_type("input_audio_buffer.committed")[0]
    assert committed["item_id"] == started["item_id"]
    assert committed["previous_item_id"] is None
    transcript = driver.of_type("conversation.item.input_audio_transcription.completed")[0]
    assert transcript["transcript"] == QUESTION and transcript["item_id"] == started["item_id"]
    deltas = driver.of_type("response.output_audio_transcript.delta")
    assert "".join(str(d["delta"]) for d in deltas).strip() == ANSWER
    done = driver.of_type("response.done")[0]["response"]
    assert isinstance(done, dict)
    assert done["status"] == "completed"
    assert done["output"][0]["content"][0]["transcript"].strip() == ANSWER
    assert done["id"] == driver.of_type("response.created")[0]["response"]["id"]
    # every server event has an id and a type; ids are unique
    ids = [event["event_id"] for _, event in driver.events]
    assert len(set(ids)) == len(ids)
    # the recogniser got the speech and the first 200 ms of the closing silence, at its own
    # rate: it starts then, while the turn waits for the rest of silence_duration_ms
    heard = driver.recognizer.heard[0]
    assert 1.15 <= len(heard) / 2 / 16000 <= 1.35
    # the audio: every word synthesised, resampled to 48 kHz, 20 ms frames, 50 a second
    words = len(ANSWER.split())
    synthesized = round(words * driver.synthesizer.word_seconds * 22050) * RATE / 22050
    times = frame_times(driver)
    assert abs(len(times) - synthesized / (FRAME_BYTES // 2)) <= 2
    assert_paced(times)
    assert driver.time_of("output_audio_buffer.started") == times[0]
    assert abs(driver.time_of("output_audio_buffer.stopped") - (times[-1] + 0.02)) < 1e-6
    assert driver.time_of("response.done") == driver.time_of("output_audio_buffer.stopped")
    assert level(b"".join(pcm for _, pcm in driver.frames[1:-1])) > 2000
    # the timing marks are in order
    (timing,) = driver.pipeline.timings
    marks = [
        timing.speech_end,
        timing.turn_end,
        timing.transcript,
        timing.first_text,
        timing.first_audio,
        timing.first_frame,
    ]
    known = [m for m in marks if m is not None]
    assert known == marks and known == sorted(known)
    speech_end, turn_end = known[:2]
    assert abs(speech_end - 1.0) < 0.05
    assert 0.5 <= turn_end - speech_end <= 0.55
    assert timing.status == "completed" and timing.response_id == done["id"]


def test_prefix_padding_is_kept_before_the_onset() -> None:
    driver = Driver(["hello"])
    driver.run(1.0)
    start = spoken_turn(driver, 0.6)
    driver.run(3.0)
    started = driver.of_type("input_audio_buffer.speech_started")[0]
    assert abs(started["audio_start_ms"] - (start * 1000 - 300)) <= 40
    heard = driver.recognizer.heard[0]
    onset = next(i for i in range(0, len(heard), 2) if heard[i : i + 2] != b"\0\0")
    assert 0.28 <= onset / 2 / 16000 <= 0.34  # 300 ms of silence before the speech


def test_session_update_changes_silence_and_threshold() -> None:
    driver = Driver(["hello"])
    driver.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {
                    "input": {
                        "turn_detection": {
                            "type": "server_vad",
                            "silence_duration_ms": 1000,
                            "prefix_padding_ms": 0,
                            "threshold": 0.5,
                        }
                    }
                },
            },
        }
    )
    updated = driver.of_type("session.updated")[0]["session"]
    turn = updated["audio"]["input"]["turn_detection"]
    assert turn["silence_duration_ms"] == 1000 and turn["prefix_padding_ms"] == 0
    spoken_turn(driver, 0.5)
    driver.run(1.3)
    assert "input_audio_buffer.speech_stopped" not in driver.types()  # 800 ms of silence
    driver.run(0.3)
    assert driver.time_of("input_audio_buffer.speech_stopped") - 0.5 < 1.1
    # a threshold above the detector's 0.9 hears nothing
    driver = Driver(["hello"])
    driver.send(
        {
            "type": "session.update",
            "session": {"turn_detection": {"type": "server_vad", "threshold": 0.95}},
        }
    )
    spoken_turn(driver, 0.5)
    driver.run(2.0)
    assert "input_audio_buffer.speech_started" not in driver.types()


def test_the_first_sentence_plays_while_the_next_is_synthesized() -> None:
    brain = ScriptedBrain(["One two three four. ", "Five six", " seven eight. Nine ten eleven."])
    driver = Driver(["tell me"], brain=brain, synth_delay=0.01)
    spoken_turn(driver)
    driver.run(8.0)
    synths = [(at, job) for at, job in driver.jobs if isinstance(job, Synthesize)]
    assert [job.text for _, job in synths] == [
        "One two three four.",
        "Five six seven eight.",
        "Nine ten eleven.",
    ]
    first_frame = frame_times(driver)[0]
    assert first_frame < synths[1][0]  # audio leaves before the second sentence is asked for
    first_sentence_end = first_frame + 4 * 0.08
    assert synths[1][0] < first_sentence_end  # the second is made while the first plays
    assert synths[2][0] < first_sentence_end + 4 * 0.08  # and the third while the second does
    assert_paced(frame_times(driver))  # no gap between sentences
    assert len(driver.frames) >= round(11 * 0.08 / 0.02) - 1
    assert driver.of_type("response.done")[0]["response"]["status"] == "completed"


def test_a_slow_synthesizer_never_makes_frames_faster_than_real_time() -> None:
    driver = Driver(
        ["hi"], brain=ScriptedBrain(["A b c d e f g h. ", "I j k l."]), synth_delay=0.08
    )
    spoken_turn(driver)
    driver.run(8.0)
    times = frame_times(driver)
    assert len(times) >= 12 * 4 - 2
    for earlier, later in zip(times, times[1:], strict=False):
        assert later - earlier >= 0.02 - 1e-9
    assert driver.of_type("response.done")[0]["response"]["status"] == "completed"


def test_manual_turns_commit_and_response_create() -> None:
    driver = Driver([QUESTION])
    driver.send(MANUAL)
    assert (
        driver.of_type("session.updated")[0]["session"]["audio"]["input"]["turn_detection"] is None
    )
    driver.say(tone(1.0))
    driver.run(2.0)
    assert not any(t.startswith("input_audio_buffer.speech") for t in driver.types())
    assert driver.detector.chunks == 0  # no VAD work at all
    driver.send({"type": "input_audio_buffer.commit", "event_id": "c1"})
    driver.send({"type": "response.create"})  # before the transcript: it waits for it
    driver.run(4.0)
    types = driver.types()
    assert (
        types.index("input_audio_buffer.committed")
        < types.index("conversation.item.input_audio_transcription.completed")
        < types.index("response.created")
    )
    deltas = driver.of_type("response.output_audio_transcript.delta")
    assert "".join(str(d["delta"]) for d in deltas).strip() == ANSWER
    assert driver.of_type("response.done")[0]["response"]["status"] == "completed"
    assert 1.9 <= len(driver.recognizer.heard[0]) / 2 / 16000 <= 2.1  # everything since the update
    assert driver.frames


def test_manual_commit_without_response_create_does_not_answer() -> None:
    driver = Driver(["hello"])
    driver.send(MANUAL)
    driver.say(tone(0.5))
    driver.run(0.6)
    driver.send({"type": "input_audio_buffer.commit"})
    driver.run(2.0)
    assert "conversation.item.input_audio_transcription.completed" in driver.types()
    assert "response.created" not in driver.types()


def test_committing_an_empty_buffer_is_an_error_and_clear_empties_it() -> None:
    driver = Driver(["hello"])
    driver.send(MANUAL)
    driver.send({"type": "input_audio_buffer.commit", "event_id": "e1"})
    error = driver.of_type("error")[0]["error"]
    assert error["code"] == "input_audio_buffer_commit_empty" and error["event_id"] == "e1"
    driver.say(tone(0.5))
    driver.run(0.6)
    driver.send({"type": "input_audio_buffer.clear"})
    assert "input_audio_buffer.cleared" in driver.types()
    driver.send({"type": "input_audio_buffer.commit"})
    assert len(driver.of_type("error")) == 2
    assert "input_audio_buffer.committed" not in driver.types()


def test_typed_input_gets_a_spoken_answer() -> None:
    driver = Driver()
    driver.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "what's 7 plus 5"}],
            },
        }
    )
    added = driver.of_type("conversation.item.added")[0]["item"]
    assert added["content"] == [{"type": "input_text", "text": "what's 7 plus 5"}]
    assert "response.created" not in driver.types()
    driver.send({"type": "response.create"})
    driver.run(3.0)
    deltas = driver.of_type("response.output_audio_transcript.delta")
    assert "".join(str(d["delta"]) for d in deltas).strip() == "Seven plus five is twelve."
    assert len(driver.frames) >= 5 * 4 - 1
    assert driver.of_type("response.done")[0]["response"]["status"] == "completed"
    assert driver.pipeline.timings[0].first_frame is not None


def test_instructions_reach_the_brain_first() -> None:
    brain = ScriptedBrain(["Okay."])
    driver = Driver(brain=brain)
    driver.send(
        {"type": "session.update", "session": {"type": "realtime", "instructions": "Be terse."}}
    )
    driver.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "hi"}],
            },
        }
    )
    driver.send({"type": "response.create"})
    driver.send({"type": "response.create", "event_id": "again"})
    error = driver.of_type("error")[0]["error"]
    assert error["code"] == "conversation_already_has_active_response"
    driver.run(2.0)
    history = brain.histories[0]
    assert [(m.role, m.text) for m in history] == [("system", "Be terse."), ("user", "hi")]
    driver.send({"type": "response.create", "response": {"instructions": "Be verbose."}})
    driver.run(2.0)
    assert brain.histories[1][0].text == "Be verbose."
    assert [m.role for m in brain.histories[1]] == ["system", "user", "assistant"]


LONG = "Repeat after me " + " ".join(f"word{i}" for i in range(60)) + "."


def test_barge_in_stops_the_reply_within_200_ms_of_the_onset() -> None:
    driver = Driver([LONG, "hello"])
    spoken_turn(driver)
    driver.run(3.0)
    assert "output_audio_buffer.started" in driver.types()
    assert "response.done" not in driver.types()
    onset = spoken_turn(driver, 0.6)  # the user talks over the reply
    driver.run(4.0)
    started_at = driver.time_of("input_audio_buffer.speech_started", 1)
    assert started_at - onset <= 0.2  # the detector hears it (32 ms chunks, 20 ms frames)
    cut = [at for at, _ in driver.frames if at >= onset and at < started_at + 1.0]
    first_reply_frames = [at for at in cut if at < driver.time_of("response.created", 1)]
    assert max(first_reply_frames) <= started_at  # no reply frame after the detector's onset
    assert max(first_reply_frames) - onset < 0.2
    types = driver.types()
    second_start = types.index(
        "input_audio_buffer.speech_started", types.index("output_audio_buffer.started")
    )
    assert types[second_start : second_start + 5] == [
        "input_audio_buffer.speech_started",
        "output_audio_buffer.cleared",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    assert driver.time_of("output_audio_buffer.cleared") == started_at
    first = driver.of_type("response.done")[0]["response"]
    assert first["status"] == "cancelled"
    assert first["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    assert first["output"][0]["status"] == "incomplete"
    assert any(isinstance(job, CancelJob) for _, job in driver.jobs)
    # the interruption is heard and answered in turn
    second = driver.of_type("response.done")[1]["response"]
    assert second["status"] == "completed"
    assert driver.pipeline.timings[0].status == "cancelled"


def test_barge_in_while_the_brain_is_still_thinking() -> None:
    driver = Driver([QUESTION, "hello"], brain_delay=2.0)
    spoken_turn(driver)
    driver.run(2.1)
    assert "response.created" in driver.types() and not driver.frames
    spoken_turn(driver, 0.5)
    driver.run(0.3)
    done = driver.of_type("response.done")[0]["response"]
    assert done["status"] == "cancelled"
    assert "output_audio_buffer.cleared" not in driver.types()  # no audio had started
    assert any(isinstance(job, CancelJob) for _, job in driver.jobs)


def test_interrupt_response_false_lets_the_reply_finish() -> None:
    driver = Driver([LONG, "hello"])
    driver.send(
        {
            "type": "session.update",
            "session": {"turn_detection": {"type": "server_vad", "interrupt_response": False}},
        }
    )
    spoken_turn(driver)
    driver.run(3.0)
    spoken_turn(driver, 0.5)
    driver.run(10.0)
    assert driver.of_type("response.done")[0]["response"]["status"] == "completed"


def playing(driver: Driver) -> None:
    spoken_turn(driver)
    driver.run(3.0)
    assert "output_audio_buffer.started" in driver.types()
    assert "response.done" not in driver.types()


def test_response_cancel_stops_the_audio() -> None:
    driver = Driver([LONG])
    playing(driver)
    response_id = driver.of_type("response.created")[0]["response"]["id"]
    driver.send({"type": "response.cancel", "response_id": "resp_other", "event_id": "x"})
    assert driver.of_type("error")[0]["error"]["param"] == "response_id"
    count = len(driver.frames)
    driver.send({"type": "response.cancel"})
    driver.run(2.0)
    assert len(driver.frames) == count
    assert driver.of_type("output_audio_buffer.cleared")[0]["response_id"] == response_id
    done = driver.of_type("response.done")[0]["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"]["reason"] == "client_cancelled"
    driver.send({"type": "response.cancel", "event_id": "late"})
    error = driver.of_type("error")[1]["error"]
    assert error["code"] == "response_cancel_not_active" and error["event_id"] == "late"


def test_output_audio_buffer_clear_stops_the_audio() -> None:
    driver = Driver([LONG])
    playing(driver)
    count = len(driver.frames)
    driver.send({"type": "output_audio_buffer.clear"})
    driver.run(2.0)
    assert len(driver.frames) == count
    assert driver.types()[-4:] == [
        "output_audio_buffer.cleared",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    assert driver.of_type("response.done")[0]["response"]["status"] == "cancelled"
    driver.send({"type": "output_audio_buffer.clear"})  # nothing playing: acknowledged anyway
    assert driver.types()[-1] == "output_audio_buffer.cleared"


TD = "session.turn_detection"
ITEM = {"type": "message", "role": "user"}
BAD: list[tuple[str | dict[str, object], str, str | None]] = [
    ("{not json", "invalid_json", None),
    ("\udcff", "invalid_json", None),
    ("[1, 2]", "invalid_event", None),
    ('{"event_id": "e", "no": "type"}', "missing_required_parameter", "type"),
    ({"type": "input_audio_buffer.append", "audio": ""}, "invalid_event_type", "type"),
    ({"type": "no.such.event", "event_id": "e7"}, "invalid_event_type", "type"),
    ({"type": "session.update"}, "invalid_type", "session"),
    (
        {"type": "session.update", "session": {"instructions": 5}},
        "invalid_type",
        "session.instructions",
    ),
    (
        {"type": "session.update", "session": {"turn_detection": {"threshold": 2}}},
        "invalid_value",
        f"{TD}.threshold",
    ),
    (
        {"type": "session.update", "session": {"turn_detection": {"type": "semantic_vad"}}},
        "invalid_value",
        f"{TD}.type",
    ),
    (
        {
            "type": "session.update",
            "session": {"audio": {"input": {"turn_detection": {"silence_duration_ms": True}}}},
        },
        "invalid_value",
        "session.audio.input.turn_detection.silence_duration_ms",
    ),
    (
        {"type": "session.update", "session": {"type": "transcription"}},
        "invalid_value",
        "session.type",
    ),
    (
        {"type": "conversation.item.create", "item": {**ITEM, "role": "robot", "content": []}},
        "invalid_value",
        "item.role",
    ),
    (
        {"type": "conversation.item.create", "item": {"type": "function_call"}},
        "invalid_value",
        "item.type",
    ),
    (
        {
            "type": "conversation.item.create",
            "item": {**ITEM, "content": [{"type": "input_text", "text": 3}]},
        },
        "invalid_type",
        "item.content[0].text",
    ),
    ({"type": "response.create", "response": []}, "invalid_type", "response"),
    ({"type": "response.cancel"}, "response_cancel_not_active", None),
    ({"type": "input_audio_buffer.commit"}, "input_audio_buffer_commit_empty", None),
]


def test_bad_events_get_an_error_and_the_session_goes_on() -> None:
    driver = Driver()
    for message, code, param in BAD:
        before = len(driver.events)
        driver.send(message)
        new = [event for _, event in driver.events[before:]]
        assert [e["type"] for e in new] == ["error"], message
        error = new[0]["error"]
        assert isinstance(error, dict)
        assert error["type"] == "invalid_request_error"
        assert (error["code"], error["param"]) == (code, param), message
        assert isinstance(new[0]["event_id"], str)
    assert driver.of_type("error")[5]["error"]["event_id"] == "e7"
    driver.pipeline.receive_event(b"\xff\xfe", driver.now)  # bytes too
    driver.drain()
    assert driver.types()[-1] == "error"
    # still a working session
    driver.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "hello"}],
            },
        }
    )
    driver.send({"type": "response.create"})
    driver.run(3.0)
    assert driver.of_type("response.done")[0]["response"]["status"] == "completed"


def test_a_session_config_from_the_call_applies_from_the_start() -> None:
    config = {
        "type": "realtime",
        "model": "gpt-realtime",
        "instructions": "Be kind.",
        "audio": {"input": {"turn_detection": None}, "output": {"voice": "marin"}},
    }
    driver = Driver(config=config)
    session = driver.of_type("session.created")[0]["session"]
    assert session["instructions"] == "Be kind." and session["model"] == "gpt-realtime"
    assert session["audio"]["input"]["turn_detection"] is None
    assert session["audio"]["output"]["voice"] == "marin"
    driver = Driver(config={"turn_detection": {"type": "server_vad", "threshold": "high"}})
    assert driver.types() == ["session.created", "error"]


def test_beta_session_update_shape_is_understood() -> None:
    driver = Driver()
    driver.send(
        {
            "type": "session.update",
            "session": {
                "modalities": ["audio", "text"],
                "voice": "alloy",
                "instructions": "x",
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.7,
                    "silence_duration_ms": 200,
                },
            },
        }
    )
    session = driver.of_type("session.updated")[0]["session"]
    assert session["audio"]["output"]["voice"] == "alloy"
    assert session["audio"]["input"]["turn_detection"]["threshold"] == 0.7
    assert session["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 200


def test_an_empty_transcript_gets_no_response() -> None:
    driver = Driver([""])
    spoken_turn(driver, 0.5)
    driver.run(3.0)
    assert (
        driver.of_type("conversation.item.input_audio_transcription.completed")[0]["transcript"]
        == ""
    )
    assert "response.created" not in driver.types()


def test_a_failed_job_does_not_end_the_session() -> None:
    driver = Driver()
    driver.send({"type": "input_audio_buffer.clear"})
    driver.send(MANUAL)
    driver.say(tone(0.5))
    driver.run(0.6)
    driver.send({"type": "input_audio_buffer.commit"})
    job = next(job for _, job in driver.jobs if isinstance(job, Transcribe))
    driver._due.clear()
    driver.pipeline.job_failed(job.job_id, "model crashed", driver.now)
    driver.drain()
    assert driver.types()[-1] == "conversation.item.input_audio_transcription.failed"
    driver.send({"type": "response.create"})
    think = [job for _, job in driver.jobs if isinstance(job, Think)][-1]
    driver._due.clear()
    driver.pipeline.job_failed(think.job_id, "brain crashed", driver.now)
    driver.drain()
    assert driver.of_type("response.done")[0]["response"]["status"] == "completed"
    driver.pipeline.job_done(999, "late", driver.now)  # unknown jobs are ignored
    driver.pipeline.job_piece(999, b"\0\0", driver.now)


def test_sentence_splitter() -> None:
    splitter = SentenceSplitter()
    assert splitter.push("Hello there") == []
    assert splitter.push("! How are") == ["Hello there!"]
    assert splitter.push(" you? It is 3.5 degrees.") == ["How are you?"]
    assert splitter.push(" ") == ["It is 3.5 degrees."]
    assert splitter.flush() == []
    assert splitter.push("No end") == [] and splitter.flush() == ["No end"]
    long = "word, " * 40
    pieces = SentenceSplitter().push(long)
    assert pieces and all(len(p) <= SentenceSplitter.LONGEST for p in pieces)
    assert json.dumps(pieces)


def test_the_transcript_is_made_while_the_turn_waits_for_its_silence() -> None:
    driver = Driver([QUESTION], asr_delay=0.2)
    spoken_turn(driver, 1.0)
    driver.run(3.0)
    (timing,) = driver.pipeline.timings
    assert timing.turn_end is not None and timing.speech_end is not None
    # the recogniser started 200 ms into the silence and took 200 ms: done before the turn
    # ended (500 ms), so the transcript and the response follow the commit at once
    assert timing.transcript == timing.turn_end
    committed = driver.time_of("input_audio_buffer.committed")
    assert driver.time_of("conversation.item.input_audio_transcription.completed") == committed
    assert driver.time_of("response.created") == committed
    assert driver.of_type("conversation.item.input_audio_transcription.completed")[0][
        "transcript"
    ] == QUESTION
    assert len([job for _, job in driver.jobs if isinstance(job, Transcribe)]) == 1


def test_speech_resuming_cancels_the_early_transcript() -> None:
    driver = Driver(["what is", QUESTION])
    driver.say(tone(0.6) + bytes(2 * int(0.35 * RATE)) + tone(0.6))  # a 350 ms pause
    driver.run(4.0)
    transcribes = [job for _, job in driver.jobs if isinstance(job, Transcribe)]
    cancelled = [job.job_id for _, job in driver.jobs if isinstance(job, CancelJob)]
    assert len(transcribes) == 2 and cancelled == [transcribes[0].job_id]
    # one turn, transcribed as a whole (the second job heard both halves)
    completed = driver.of_type("conversation.item.input_audio_transcription.completed")
    assert [event["transcript"] for event in completed] == [QUESTION]
    assert len(driver.recognizer.heard[1]) / 2 / 16000 > 1.5
    assert len(driver.of_type("response.created")) == 1


def test_the_first_piece_of_a_reply_ends_at_its_first_clause() -> None:
    splitter = SentenceSplitter(first_clause=True)
    assert splitter.push("Today is Monday") == []
    assert splitter.push(", the 7th of December, 2026. Then") == [
        "Today is Monday,",
        "the 7th of December, 2026.",
    ]
    # only the first piece: later clauses stay in their sentence; "1,000" is no clause
    assert SentenceSplitter(first_clause=True).push("It is 1,000. Yes, ") == ["It is 1,000."]
    assert SentenceSplitter().push("Yes, it is. ") == ["Yes, it is."]


def test_the_reply_starts_without_the_synthesisers_lead_in_silence() -> None:
    from agent.pipeline import _trim_leading_quiet

    lead = bytes(2 * 500)
    assert _trim_leading_quiet(lead + b"\x00\x10\x00\x00") == b"\x00\x10\x00\x00"
    assert _trim_leading_quiet(lead) == lead  # all quiet: kept


def test_the_reply_is_made_while_the_turn_waits_and_plays_when_it_ends() -> None:
    driver = Driver([QUESTION], asr_delay=0.1, brain_delay=0.02, synth_delay=0.03)
    spoken_turn(driver, 1.0)
    driver.run(3.0)
    (timing,) = driver.pipeline.timings
    # transcript at 1.3 s, the first sentence made by ~1.4 s; nothing announced or played
    # before the turn ends at 1.5 s, then all of it at once
    thinks = [at for at, job in driver.jobs if isinstance(job, Think)]
    assert len(thinks) == 1 and thinks[0] < timing.turn_end  # type: ignore[operator]
    assert timing.first_frame == timing.transcript == timing.turn_end
    committed = driver.time_of("input_audio_buffer.committed")
    assert driver.time_of("response.created") == committed
    assert driver.time_of("output_audio_buffer.started") == committed
    assert all(at >= committed for at, _ in driver.frames)
    types = driver.types()
    assert types.index("response.created") > types.index(
        "conversation.item.input_audio_transcription.completed"
    )
    deltas = driver.of_type("response.output_audio_transcript.delta")
    assert "".join(str(d["delta"]) for d in deltas).strip() == ANSWER
    assert driver.of_type("response.done")[0]["response"]["status"] == "completed"


def test_speech_resuming_drops_the_speculative_reply_unannounced() -> None:
    driver = Driver(["what is", QUESTION], asr_delay=0.05, brain_delay=0.02)
    driver.say(tone(0.6) + bytes(2 * int(0.4 * RATE)) + tone(0.6))  # a 400 ms pause
    driver.run(4.0)
    thinks = [job for _, job in driver.jobs if isinstance(job, Think)]
    cancelled = {job.job_id for _, job in driver.jobs if isinstance(job, CancelJob)}
    synths = [job for _, job in driver.jobs if isinstance(job, Synthesize)]
    # the early transcript's reply was thought and its synthesis begun, then cancelled
    assert len(thinks) == 2 and thinks[0].history[-1].text == "what is"
    assert any(job.job_id in cancelled for job in synths if job.job_id < thinks[1].job_id)
    assert all(at >= driver.time_of("response.created") for at, _ in driver.frames)
    assert "Sorry" not in "".join(job.text for job in synths if job.job_id > thinks[1].job_id)
    assert len(driver.of_type("response.created")) == 1
    deltas = driver.of_type("response.output_audio_transcript.delta")
    assert "".join(str(d["delta"]) for d in deltas).strip() == ANSWER
