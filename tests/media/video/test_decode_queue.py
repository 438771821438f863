"""The frames waiting for the video decoder (DecodeQueue) on a simulated clock: a receiver
that gets a burst of frames (NACK repairs after an outage, a process starved of CPU for a
while) decodes them instead of dropping them and waiting for a keyframe; a decoder that cannot
keep up drops and asks for one, again while none comes; and never is a delta frame decoded
after one was dropped, before a keyframe."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pywebrtc.media.video import EncodedVideoFrame
from pywebrtc.media.video.decode_queue import DECODE_BUDGET, DecodeQueue

FPS = 30
TICKS = 90000 // FPS


def frame(index: int, keyframe: bool = False) -> EncodedVideoFrame:
    return EncodedVideoFrame(bytes([index & 0xFF]), index * TICKS, keyframe, "vp8")


@dataclass
class Receiver:
    """A decoder fed from a DecodeQueue, one frame at a time, on a simulated clock: frames
    arrive at given times; a decode of frame i takes ``decode_time(i)`` seconds."""

    decode_time: Callable[[int], float]
    queue: DecodeQueue = field(default_factory=DecodeQueue)
    busy_until: float = 0.0
    decoded: list[tuple[float, int]] = field(default_factory=list)  # (when, frame index)
    keyframe_requests: list[float] = field(default_factory=list)
    most_waiting: float = 0.0  # the longest backlog left waiting, in decode seconds

    def arrive(self, now: float, f: EncodedVideoFrame) -> None:
        self.run_until(now)
        if self.queue.push(f):
            self.keyframe_requests.append(now)
        self.most_waiting = max(self.most_waiting, self.queue.backlog())
        self.run_until(now)

    def run_until(self, now: float) -> None:
        while self.busy_until <= now and (f := self.queue.pop()) is not None:
            took = self.decode_time(f.timestamp // TICKS)
            self.busy_until += took
            self.queue.decoded(took)
            self.decoded.append((self.busy_until, f.timestamp // TICKS))
        if not self.queue and self.busy_until < now:
            self.busy_until = now  # idle: the next frame starts at once

    def indices(self) -> list[int]:
        return [i for _, i in self.decoded]


def assert_no_wrong_pictures(decoded: list[int], keyframes: set[int]) -> None:
    """Each delta frame decoded follows the frame before it: nothing it may reference was
    skipped (VP8 does not say which frame it references)."""
    for before, index in zip(decoded, decoded[1:], strict=False):
        assert index in keyframes or index == before + 1, (before, index)


def test_a_repaired_burst_after_an_outage_is_decoded_not_dropped() -> None:
    rx = Receiver(lambda i: 0.0015)
    for i in range(30):  # live before the outage, the first a keyframe
        rx.arrive(i / FPS, frame(i, keyframe=i == 0))
    # 1 s outage; its 30 frames come back at once with their NACK retransmissions, then live
    end = 60 / FPS
    for i in range(30, 61):
        rx.arrive(end + 0.01, frame(i))
    for i in range(61, 90):
        rx.arrive(i / FPS, frame(i))
    rx.run_until(10.0)
    assert rx.keyframe_requests == []
    assert rx.indices() == list(range(90))
    first_after = next(t for t, i in rx.decoded if i == 30)
    assert first_after - (end + 0.01) < 0.002
    last_repaired = next(t for t, i in rx.decoded if i == 60)
    assert last_repaired - (end + 0.01) < 0.05  # 31 frames caught up in ~50 ms


def test_a_process_starved_for_300_ms_catches_up_without_asking_for_a_keyframe() -> None:
    # The old rule (8 frames waiting: drop them, ask for a keyframe) turned every scheduling
    # stall of a loaded host into a freeze until the keyframe came, and after each keyframe
    # the next stall did it again: no steady frame rate within 6 s of an outage.
    stalled = {40, 41}  # decodes that took 250 ms of wall time (the thread not scheduled)
    rx = Receiver(lambda i: 0.25 if i in stalled else 0.002)
    t = 0.0
    for i in range(150):
        t = i / FPS
        if 70 <= i < 80:
            t = 80 / FPS  # the event loop did not run: ten frames read in one go
        rx.arrive(t, frame(i, keyframe=i == 0))
    rx.run_until(10.0)
    assert rx.keyframe_requests == []
    assert rx.indices() == list(range(150))
    assert rx.queue.dropped == 0


def test_a_decoder_slower_than_the_frame_rate_drops_and_restarts_at_a_keyframe() -> None:
    # Starved to ~23 decodes a second while 30 frames a second arrive: the queue only grows.
    # Past the budget the waiting frames go and a keyframe is asked for; every delta frame
    # dropped meanwhile asks again (the first request is lost here), and the keyframe the
    # second brings starts the pictures again, none of them wrong.
    rx = Receiver(lambda i: 0.043)
    keyframes = {0}
    sent_keyframe_for: float | None = None
    requests_seen = 0
    for i in range(300):
        now = i / FPS
        is_key = i == 0 or (sent_keyframe_for is not None and now >= sent_keyframe_for + 0.05)
        if is_key and i:
            keyframes.add(i)
            sent_keyframe_for = None
        rx.arrive(now, frame(i, keyframe=is_key))
        if len(rx.keyframe_requests) > requests_seen:
            requests_seen = len(rx.keyframe_requests)
            if requests_seen > 1 and sent_keyframe_for is None:  # the first PLI was lost
                sent_keyframe_for = rx.keyframe_requests[-1]
    rx.run_until(20.0)
    decoded = rx.indices()
    assert rx.queue.backlog_drops >= 1
    assert len(keyframes) >= 2
    assert_no_wrong_pictures(decoded, keyframes)
    assert len(rx.keyframe_requests) >= 2  # asked again while the keyframe did not come
    for key in sorted(keyframes)[1:]:
        assert key in decoded  # each keyframe restarted the pictures
    # what was left waiting never needed more than the budget to decode
    assert 0.1 < rx.most_waiting <= DECODE_BUDGET
    assert len(decoded) > 300 * 0.5


def test_a_frame_the_decoder_rejects_holds_delta_frames_until_a_keyframe() -> None:
    queue = DecodeQueue()
    for i in range(4):
        assert not queue.push(frame(i, keyframe=i == 0))
    assert queue.pop() == frame(0, keyframe=True)
    queue.decoded(0.002)
    assert queue.pop() == frame(1)
    assert queue.rejected()  # frame 1 did not decode: 2 and 3 may reference it
    assert len(queue) == 0 and queue.dropped == 2
    assert queue.push(frame(4))  # dropped, and the keyframe asked for again
    assert queue.pop() is None
    assert not queue.push(frame(5, keyframe=True))
    assert not queue.push(frame(6))
    assert [queue.pop(), queue.pop()] == [frame(5, keyframe=True), frame(6)]
    assert queue.dropped == 3


def test_a_keyframe_replaces_the_frames_waiting_before_it() -> None:
    queue = DecodeQueue()
    for i in range(5):
        queue.push(frame(i, keyframe=i == 0))
    assert not queue.push(frame(5, keyframe=True))
    assert queue.pop() == frame(5, keyframe=True) and queue.pop() is None
    assert queue.dropped == 5


def test_no_more_than_max_waiting_frames_are_held_even_for_a_fast_decoder() -> None:
    queue = DecodeQueue(max_waiting=10)
    queue.decoded(0.0001)
    requests = [queue.push(frame(i, keyframe=i == 0)) for i in range(12)]
    assert requests == [False] * 10 + [True, True]
    assert len(queue) == 0 and queue.waiting_for_keyframe
