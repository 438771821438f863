"""FrameAssembler on a fake clock: reordering, duplication, loss, retransmission, wrap-around,
keyframe requests, and a Hypothesis run over random network damage checking that whatever
comes out is decodable (exact frames, in order, a keyframe after every gap)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from pywebrtc.rtp.video import (
    VP8,
    VP9,
    AssembledFrame,
    FrameAssembler,
    KeyframeNeeded,
    packetize_vp8,
    packetize_vp9,
)

MTU = 100
FPS = 30
TICKS = 90000 // FPS


@dataclass(frozen=True)
class Pkt:
    seq: int  # unwrapped, for the test's bookkeeping
    ts: int
    marker: bool
    payload: bytes
    frame: int


def frame_bytes(index: int, key: bool) -> bytes:
    # byte 0 is the VP8 payload header's first byte: P bit 0 on keyframes (RFC 7741 §4.3)
    size = 30 + (index * 37) % 400
    return bytes([0x10 if key else 0x11]) + bytes((index + i) & 0xFF for i in range(size))


def stream(n: int, keyframes: set[int], first_seq: int = 1000, codec: str = "vp8") -> list[Pkt]:
    out: list[Pkt] = []
    seq = first_seq
    for i in range(n):
        data = frame_bytes(i, i in keyframes)
        if codec == "vp8":
            payloads = packetize_vp8(data, MTU, picture_id=i)
        else:
            payloads = packetize_vp9(data, MTU, keyframe=i in keyframes, picture_id=i)
        for k, p in enumerate(payloads):
            out.append(Pkt(seq, (i * TICKS) & 0xFFFFFFFF, k == len(payloads) - 1, p, i))
            seq += 1
    return out


class Run:
    def __init__(self, codec: str = "vp8", *, max_wait: float = 0.2,
                 keyframe_interval: float = 1.0) -> None:  # fmt: skip
        self.a = FrameAssembler(
            VP8 if codec == "vp8" else VP9,
            max_wait=max_wait,
            keyframe_interval=keyframe_interval,
        )
        self.frames: list[AssembledFrame] = []
        self.requests: list[tuple[float, str]] = []
        self.now = 0.0

    def drain(self) -> None:
        while (event := self.a.poll()) is not None:
            if isinstance(event, KeyframeNeeded):
                self.requests.append((self.now, event.reason))
            else:
                self.frames.append(event)

    def advance(self, until: float) -> None:
        """Run the clock to ``until``, ticking at every deadline on the way."""
        while (d := self.a.deadline()) is not None and d <= until:
            self.now = max(self.now, d)
            self.a.tick(self.now)
            self.drain()
        self.now = max(self.now, until)

    def feed(self, packets: list[Pkt], spacing: float = 0.002) -> None:
        for p in packets:
            self.advance(self.now + spacing)
            self.a.receive(p.seq & 0xFFFF, p.ts, p.marker, p.payload, self.now)
            self.drain()

    def indices(self) -> list[int]:
        return [f.picture_id for f in self.frames if f.picture_id is not None]


def test_in_order_frames_come_out_whole() -> None:
    r = Run()
    r.feed(stream(20, {0}))
    assert r.indices() == list(range(20))
    assert [f.data for f in r.frames] == [frame_bytes(i, i == 0) for i in range(20)]
    assert r.frames[0].keyframe and not any(f.keyframe for f in r.frames[1:])
    assert r.requests == [] and r.a.deadline() is None


def test_reordering_within_a_window_loses_nothing() -> None:
    packets = stream(30, {0})
    rng = random.Random(7)
    shuffled: list[Pkt] = []
    for k in range(0, len(packets), 6):
        window = packets[k : k + 6]
        rng.shuffle(window)
        shuffled += window
    r = Run()
    r.feed(shuffled)
    assert r.indices() == list(range(30))
    assert r.requests == [] and r.a.stats.packets_lost == 0


def test_duplicates_are_dropped_and_counted() -> None:
    packets = stream(10, {0})
    r = Run()
    r.feed([p for p in packets for _ in (0, 1)])
    assert r.indices() == list(range(10))
    assert r.a.stats.duplicates + r.a.stats.late == len(packets)


def test_loss_asks_for_a_keyframe_and_holds_frames_until_it() -> None:
    packets = stream(40, {0, 20})
    lost = next(p for p in packets if p.frame == 5 and not p.marker)
    r = Run(max_wait=0.1)
    r.feed([p for p in packets if p is not lost], spacing=0.01)
    assert r.indices() == [0, 1, 2, 3, 4, *range(20, 40)]
    assert len(r.requests) == 1 and r.requests[0][1] == "loss"
    # frame 5 (incomplete) and the 14 deltas after it
    assert r.a.stats.packets_lost == 1 and r.a.stats.frames_dropped == 15
    # the loss was given up max_wait after the first packet beyond the hole arrived
    hole_filled_at = 0.01 * (packets.index(lost) + 1)
    assert abs(r.requests[0][0] - (hole_filled_at + 0.1)) < 1e-9


def test_a_retransmission_within_max_wait_fills_the_gap() -> None:
    packets = stream(10, {0})
    lost = packets[8]
    rest = [p for p in packets if p is not lost]
    r = Run(max_wait=0.2)
    r.feed(rest[:12])
    assert r.indices() == [p.frame for p in packets[:8] if p.marker]
    r.feed([lost])  # a NACK brought it back
    r.feed(rest[12:])
    assert r.indices() == list(range(10)) and r.requests == []


def test_a_hole_the_caller_gives_up_asks_for_a_keyframe_at_once() -> None:
    packets = stream(40, {0, 20})
    gap = [p for p in packets if 5 <= p.frame < 12]
    rest = [p for p in packets if p not in gap]
    r = Run(max_wait=0.5)
    after = next(i for i, p in enumerate(rest) if p.frame == 12)
    r.feed(rest[: after + 1])
    assert r.indices() == [0, 1, 2, 3, 4] and r.requests == []  # waiting for a retransmission
    r.a.give_up(r.now)  # e.g. the hole spans more time than the sender keeps packets
    r.drain()
    assert r.requests == [(r.now, "loss")]
    r.a.give_up(r.now)  # nothing more to give up: no second request
    r.feed(rest[after + 1 :])
    assert r.indices() == [0, 1, 2, 3, 4, *range(20, 40)]
    assert len(r.requests) == 1
    r.a.give_up(r.now)  # no hole
    r.drain()
    assert len(r.requests) == 1


def test_unanswered_request_is_repeated_every_interval() -> None:
    packets = stream(300, {0, 200})
    r = Run(max_wait=0.1, keyframe_interval=0.25)
    r.feed([p for p in packets if p.frame != 3], spacing=0.01)
    times = [t for t, _ in r.requests]
    assert len(times) >= 3
    assert all(abs((b - a) - 0.25) < 1e-9 for a, b in zip(times, times[1:], strict=False))
    assert r.indices()[:3] == [0, 1, 2] and r.indices()[3] == 200
    assert r.a.deadline() is None  # the keyframe answered it


def test_stream_joined_without_keyframe_asks_for_one() -> None:
    packets = stream(20, {15})
    r = Run(max_wait=0.05)
    r.feed(packets[10:])  # joins mid-stream
    assert r.requests and r.requests[0][1] == "no keyframe"
    assert r.indices() == list(range(15, 20))


def test_lost_first_packet_of_a_keyframe() -> None:
    packets = stream(30, {0, 10, 20})
    first_of_10 = next(p for p in packets if p.frame == 10)
    r = Run(max_wait=0.05)
    r.feed([p for p in packets if p is not first_of_10])
    assert r.indices() == [*range(10), *range(20, 30)]
    assert r.requests


def test_sequence_numbers_wrap() -> None:
    r = Run()
    r.feed(stream(30, {0}, first_seq=65_500))
    assert r.indices() == list(range(30))
    assert r.frames[-1].last_sequence > 65_535


def test_malformed_payload_is_counted_and_breaks_its_frame_at_once() -> None:
    """A retransmission would carry the same bytes: no waiting, a keyframe is asked for."""
    packets = stream(10, {0, 6})
    bad = packets[5]
    r = Run(max_wait=10.0)
    r.feed([Pkt(p.seq, p.ts, p.marker, b"" if p is bad else p.payload, p.frame) for p in packets])
    assert r.a.stats.malformed == 1
    assert bad.frame < 6
    assert r.indices() == [*range(bad.frame), 6, 7, 8, 9]
    assert [reason for _, reason in r.requests] == ["malformed"]


def test_a_complete_later_keyframe_ends_the_wait() -> None:
    packets = stream(10, {0, 5})
    r = Run(max_wait=10.0)
    r.feed([p for p in packets if p.frame != 3])
    assert r.indices() == [0, 1, 2, 5, 6, 7, 8, 9] and r.requests == []


def test_vp9_stream_with_loss() -> None:
    packets = stream(30, {0, 15}, codec="vp9")
    r = Run("vp9", max_wait=0.05)
    r.feed([p for p in packets if p.frame != 4 or p.marker])
    first_lost = [p for p in packets if p.frame == 4][0]
    assert first_lost.frame == 4
    assert r.indices() == [0, 1, 2, 3, *range(15, 30)]
    assert r.frames[4].keyframe


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    loss=st.sampled_from([0.0, 0.01, 0.05, 0.2]),
    dup=st.sampled_from([0.0, 0.05]),
    jitter=st.sampled_from([0.0, 0.01, 0.05]),
    first_seq=st.integers(0, 65_535),
)
def test_random_damage_only_decodable_frames_come_out(
    seed: int, loss: float, dup: float, jitter: float, first_seq: int
) -> None:
    rng = random.Random(seed)
    packets = stream(60, {0, 20, 40}, first_seq=first_seq)
    arrivals: list[tuple[float, Pkt]] = []
    for k, p in enumerate(packets):
        if rng.random() < loss:
            continue
        for _ in range(2 if rng.random() < dup else 1):
            arrivals.append((k * 0.003 + rng.random() * jitter, p))
    arrivals.sort(key=lambda a: a[0])
    r = Run(max_wait=0.1)
    for t, p in arrivals:
        r.advance(t)
        r.a.receive(p.seq & 0xFFFF, p.ts, p.marker, p.payload, r.now)
        r.drain()
    r.advance(r.now + 10)
    got = r.indices()
    assert got == sorted(set(got))  # in order, once each
    for f in r.frames:
        assert f.data == frame_bytes(f.picture_id or 0, f.keyframe)
    if got:
        assert r.frames[0].keyframe
    for prev, f in zip(r.frames, r.frames[1:], strict=False):
        if (f.picture_id or 0) != (prev.picture_id or 0) + 1:
            assert f.keyframe  # nothing decoded across a gap without a keyframe
    if loss == 0.0:
        # reordering alone never asks for a keyframe; it may skip the frames just before one
        # that completed first
        assert r.requests == []
        if jitter == 0.0:
            assert got == list(range(60))
    assert r.a.deadline() is None or r.a.stats.keyframe_requests
