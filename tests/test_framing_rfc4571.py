"""RFC 4571 framing (pywebrtc.framing): frames survive any split of the stream; oversized,
empty and truncated frames are dropped and counted, and the frames after them still arrive."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.framing import MAX_STREAM_FRAME, Deframer, FrameError
from pywebrtc.framing import stream_frame as frame

payloads = st.lists(st.binary(min_size=1, max_size=300), max_size=12)


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)]


@given(payloads, st.lists(st.integers(min_value=0), max_size=20))
def test_frames_survive_any_split(items: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(frame(p) for p in items)
    deframer = Deframer()
    out = [f for chunk in _chunks(stream, cuts) for f in deframer.feed(chunk)]
    assert out == items
    assert deframer.pending == 0 and deframer.counters.frames == len(items)


@given(
    st.lists(st.tuples(st.booleans(), st.binary(min_size=1, max_size=200)), max_size=10),
    st.lists(st.integers(min_value=0), max_size=20),
)
def test_oversized_frames_are_skipped_and_counted(
    items: list[tuple[bool, bytes]], cuts: list[int]
) -> None:
    limit = 64
    stream = b"".join(frame(p + bytes(limit) if big else p[:limit]) for big, p in items)
    deframer = Deframer(max_length=limit)
    out = [f for chunk in _chunks(stream, cuts) for f in deframer.feed(chunk)]
    assert out == [p[:limit] for big, p in items if not big]
    assert deframer.counters.dropped_oversized == sum(big for big, _ in items)
    assert deframer.pending == 0


@given(payloads, st.binary(min_size=1, max_size=300), st.integers(min_value=1))
def test_a_truncated_last_frame_is_counted(items: list[bytes], last: bytes, keep: int) -> None:
    tail = frame(last)
    cut = tail[: 1 + keep % (len(tail) - 1)]  # 1 .. len-1 bytes of the last frame
    deframer = Deframer()
    assert deframer.feed(b"".join(frame(p) for p in items) + cut) == items
    assert deframer.pending == len(cut)
    deframer.close()
    assert deframer.counters.dropped_truncated == 1 and deframer.pending == 0


def test_empty_frames_are_skipped() -> None:
    deframer = Deframer()
    assert deframer.feed(frame(b"") + frame(b"x") + frame(b"")) == [b"x"]
    assert deframer.counters.dropped_empty == 2


def test_limits() -> None:
    with pytest.raises(FrameError):
        frame(bytes(MAX_STREAM_FRAME + 1))
    with pytest.raises(FrameError):
        Deframer(max_length=0)
    assert frame(b"ab") == b"\x00\x02ab"
