"""H.264 access unit assembly (the frame assembler with the H.264 part) on a fake clock:
reordering, duplication, loss, keyframe waits, parameter sets that come late or not at all."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pywebrtc.rtp import RtpPacket
from pywebrtc.rtp.video import H264, AssembledFrame, FrameAssembler, H264Part, KeyframeNeeded
from pywebrtc.rtp.video.h264 import join_annexb

from .h264_streams import access_unit, packetize_stream

GOP = [True, False, False, False, False, True, False, False]


def stream(
    keyframes: list[bool] = GOP, *, mtu: int = 500, first_seq: int = 0, seed: int = 0
) -> tuple[list[list[bytes]], list[RtpPacket]]:
    rng = random.Random(seed)
    units = [
        access_unit(
            [rng.randrange(2, 3000) for _ in range(rng.randrange(1, 4))], keyframe=k, seed=i
        )
        for i, k in enumerate(keyframes)
    ]
    return units, packetize_stream(units, mtu=mtu, first_seq=first_seq)


def make(
    max_wait: float = 0.25, keyframe_interval: float = 1.0, capacity: int = 2048
) -> FrameAssembler[H264Part]:
    return FrameAssembler(
        H264, max_wait=max_wait, keyframe_interval=keyframe_interval, capacity=capacity
    )


def receive(assembler: FrameAssembler[H264Part], packet: RtpPacket, now: float) -> None:
    assembler.receive(packet.sequence_number, packet.timestamp, packet.marker, packet.payload, now)


def drain(assembler: FrameAssembler[H264Part]) -> list[AssembledFrame | KeyframeNeeded]:
    out: list[AssembledFrame | KeyframeNeeded] = []
    while (event := assembler.poll()) is not None:
        out.append(event)
    return out


def feed(
    assembler: FrameAssembler[H264Part],
    packets: list[RtpPacket],
    now: float = 0.0,
    step: float = 0.001,
) -> list[AssembledFrame | KeyframeNeeded]:
    out: list[AssembledFrame | KeyframeNeeded] = []
    for i, packet in enumerate(packets):
        receive(assembler, packet, now + i * step)
        out += drain(assembler)
    return out


def frames(events: list[AssembledFrame | KeyframeNeeded]) -> list[AssembledFrame]:
    return [e for e in events if isinstance(e, AssembledFrame)]


def requests(events: list[AssembledFrame | KeyframeNeeded]) -> list[KeyframeNeeded]:
    return [e for e in events if isinstance(e, KeyframeNeeded)]


def test_in_order_packets_give_every_access_unit_in_annexb() -> None:
    units, packets = stream()
    assembler = make()
    out = frames(feed(assembler, packets))
    assert [f.data for f in out] == [join_annexb(u) for u in units]
    assert [f.keyframe for f in out] == GOP
    assert [f.timestamp for f in out] == [i * 3000 for i in range(len(GOP))]
    assert assembler.deadline() is None
    assert assembler.stats.frames_assembled == len(GOP) and assembler.stats.frames_dropped == 0


@pytest.mark.parametrize("first_seq", [0, 65530, 65535])
@pytest.mark.parametrize("seed", range(5))
def test_reordered_packets_within_the_loss_timeout_lose_nothing(first_seq: int, seed: int) -> None:
    """Reordering by a few packets (less than a frame): every unit goes out. (Deeper reordering
    can complete a keyframe before an earlier delta frame, which is then skipped.)"""
    units, packets = stream(first_seq=first_seq, seed=seed)
    rng = random.Random(seed)
    packets = [p for _, p in sorted(enumerate(packets), key=lambda a: a[0] + rng.uniform(0, 4))]
    assembler = make(max_wait=1.0)
    out = feed(assembler, packets)
    assert not requests(out)
    assert [f.data for f in frames(out)] == [join_annexb(u) for u in units]


def test_duplicates_are_counted_and_dropped() -> None:
    units, packets = stream()
    assembler = make()
    doubled = [p for packet in packets for p in (packet, packet)]
    out = feed(assembler, doubled)
    assert [f.data for f in frames(out)] == [join_annexb(u) for u in units]
    # the second copy of a unit's last packet arrives after the unit went out: late
    assert assembler.stats.duplicates + assembler.stats.late == len(packets)


def test_a_lost_fragment_drops_the_unit_asks_for_a_keyframe_and_holds_until_one() -> None:
    units, packets = stream(mtu=300)
    lost = next(i for i, p in enumerate(packets) if p.timestamp == 2 * 3000 and not p.marker)
    assert packets[lost].payload[0] & 0x1F == 28  # an FU-A fragment
    next_key = next(i for i, p in enumerate(packets) if p.timestamp == 5 * 3000)
    assembler = make(max_wait=0.1)
    out = feed(assembler, packets[:lost] + packets[lost + 1 : next_key], step=0.0)
    assert [f.timestamp for f in frames(out)] == [0, 3000]  # waiting for the hole
    assert not requests(out)
    assert assembler.deadline() == pytest.approx(0.1)
    assembler.tick(0.099)
    assert drain(assembler) == []
    assembler.tick(0.1)
    # the loss: a request; units 2 (broken), 3 and 4 (deltas, complete) are held back
    assert drain(assembler) == [KeyframeNeeded("loss")]
    assert assembler.stats.keyframe_requests == 1
    out = feed(assembler, packets[next_key:], now=0.2)
    assert [f.timestamp // 3000 for f in frames(out)] == [5, 6, 7]
    assert frames(out)[0].keyframe
    assert assembler.stats.frames_dropped == 3
    assert assembler.deadline() is None


def test_a_complete_keyframe_behind_a_hole_is_taken_at_once() -> None:
    units, packets = stream(mtu=300)
    lost = next(i for i, p in enumerate(packets) if p.timestamp == 3 * 3000)
    assembler = make(max_wait=10.0)
    out = feed(assembler, packets[:lost] + packets[lost + 1 :])
    assert [f.timestamp // 3000 for f in frames(out)] == [0, 1, 2, 5, 6, 7]
    assert not requests(out)


def test_no_keyframe_after_loss_repeats_the_request() -> None:
    units, packets = stream([True] + [False] * 7)
    assembler = make(max_wait=0.1, keyframe_interval=0.5)
    out = feed(assembler, [p for p in packets if p.timestamp != 3000], step=0.0)
    assert [f.timestamp for f in frames(out)] == [0]
    assembler.tick(0.1)
    assert drain(assembler) == [KeyframeNeeded("loss")]
    assert assembler.deadline() == pytest.approx(0.6)
    assembler.tick(0.6)
    assert drain(assembler) == [KeyframeNeeded("loss")]
    # the next keyframe resumes delivery
    _, more = stream([True, False], first_seq=packets[-1].sequence_number + 1, seed=9)
    more = [dataclasses.replace(p, timestamp=p.timestamp + 100_000) for p in more]
    out = feed(assembler, more, now=0.7)
    assert [f.keyframe for f in frames(out)] == [True, False]
    assert assembler.deadline() is None


def test_joining_mid_stream_waits_for_a_keyframe_and_asks_for_one() -> None:
    units, packets = stream([False, False, True, False])
    start = next(i for i, p in enumerate(packets) if p.timestamp == 3000)
    assembler = make(max_wait=0.2)
    delta_only = [p for p in packets[start:] if p.timestamp == 3000]
    assert frames(feed(assembler, delta_only, step=0.0)) == []
    assembler.tick(0.2)
    assert drain(assembler) == [KeyframeNeeded("no keyframe")]
    out = feed(assembler, [p for p in packets[start:] if p.timestamp != 3000], now=0.3)
    assert [(f.timestamp, f.keyframe) for f in frames(out)] == [(6000, True), (9000, False)]


def test_a_malformed_payload_drops_its_unit_at_once() -> None:
    units, packets = stream([True, False, True])
    bad = next(i for i, p in enumerate(packets) if p.timestamp == 3000)
    packets[bad] = dataclasses.replace(packets[bad], payload=b"\x19\x00")  # STAP-B
    assembler = make(max_wait=10.0)
    out = feed(assembler, packets[: bad + 1], step=0.0)
    if bad + 1 < len(packets) and packets[bad + 1].timestamp == 3000:
        out += feed(assembler, [p for p in packets[bad + 1 :] if p.timestamp == 3000])
    assert KeyframeNeeded("malformed") in out
    assert assembler.stats.malformed == 1
    out = feed(assembler, [p for p in packets if p.timestamp == 6000])
    assert [f.timestamp for f in frames(out)] == [6000]


def test_a_unit_without_marker_ends_where_the_timestamp_changes() -> None:
    units, packets = stream([True, False, False])
    packets = [dataclasses.replace(p, marker=False) if p.timestamp == 0 else p for p in packets]
    out = feed(make(), packets)
    assert [f.data for f in frames(out)] == [join_annexb(u) for u in units]


def test_overflow_clears_the_buffer_and_asks_for_a_keyframe() -> None:
    units, packets = stream([True] + [False] * 12 + [True], mtu=100)
    first_lost = next(i for i, p in enumerate(packets) if p.timestamp == 3000)
    next_key = next(i for i, p in enumerate(packets) if p.timestamp == 13 * 3000)
    # room for either keyframe, not for the deltas held behind the hole
    capacity = 2 * max(first_lost, len(packets) - next_key)
    assert next_key - first_lost > capacity
    assembler = make(capacity=capacity, max_wait=10.0)
    out = feed(assembler, packets[:first_lost] + packets[first_lost + 1 : next_key], step=0.0)
    assert [f.timestamp for f in frames(out)] == [0]
    assert KeyframeNeeded("overflow") in out
    assert assembler.stats.frames_dropped >= 1
    out = feed(assembler, packets[next_key:])
    assert [(f.timestamp, f.keyframe) for f in frames(out)] == [(13 * 3000, True)]


def test_a_keyframe_whose_parameter_sets_come_late_waits_for_them() -> None:
    """The IDR slice's packets complete a keyframe on their own, but its first slice only
    likely opens the unit: the SPS/PPS STAP-A arriving 50 ms later is still taken in."""
    units, packets = stream([True, False], mtu=500)
    head = packets[0]
    assert head.payload[0] & 0x1F == 24  # STAP-A: SPS, PPS (and the IDR start if small)
    assert packets[1].timestamp == 0, "the keyframe spans more than one packet"
    assembler = make(max_wait=0.1)
    out = feed(assembler, [p for p in packets[1:] if p.timestamp == 0], step=0.0)
    assert out == [] and assembler.deadline() == pytest.approx(0.1)
    out = feed(assembler, [head, *[p for p in packets if p.timestamp == 3000]], now=0.05)
    assert [f.data for f in frames(out)] == [join_annexb(u) for u in units]


def test_a_keyframe_whose_parameter_sets_are_lost_goes_out_after_the_loss_timeout() -> None:
    units, packets = stream([True], mtu=500)
    assembler = make(max_wait=0.1)
    assert feed(assembler, packets[1:], step=0.0) == []
    assembler.tick(0.1)
    [unit] = frames(drain(assembler))
    assert unit.keyframe and join_annexb(units[0]).endswith(unit.data)
    assert unit.data.startswith(b"\x00\x00\x00\x01\x65")


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**16 - 1), st.integers(0, 1000), st.data())
def test_loss_reorder_duplication_never_yields_a_corrupt_unit(
    first_seq: int, seed: int, data: st.DataObject
) -> None:
    """Whatever the network does, every delivered unit is one that was sent (at worst without
    the parameter sets of a keyframe), in order, and the first one after a request is a
    keyframe."""
    units, packets = stream(
        [True, False, False, True, False, False, True, False],
        mtu=400,
        first_seq=first_seq,
        seed=seed,
    )
    rng = random.Random(seed)
    arrivals: list[tuple[float, RtpPacket]] = []
    loss = data.draw(st.sampled_from([0.0, 0.05, 0.2]))
    for i, packet in enumerate(packets):
        for _ in range(2 if rng.random() < 0.1 else 1):
            if rng.random() >= loss:
                arrivals.append((i * 0.002 + rng.random() * 0.05, packet))
    arrivals.sort(key=lambda a: a[0])
    assembler = make(max_wait=0.03)
    out: list[AssembledFrame | KeyframeNeeded] = []
    for now, packet in arrivals:
        deadline = assembler.deadline()
        if deadline is not None and deadline <= now:
            assembler.tick(deadline)
        receive(assembler, packet, now)
        out += drain(assembler)
    assembler.tick(10.0)
    out += drain(assembler)
    sent = {i * 3000: join_annexb(u) for i, u in enumerate(units)}
    delivered = frames(out)
    assert [f.timestamp for f in delivered] == sorted(f.timestamp for f in delivered)
    assert len({f.timestamp for f in delivered}) == len(delivered)
    for f in delivered:
        # whole, or (its SPS/PPS packet lost, taken after loss_timeout) from its first slice on
        assert sent[f.timestamp].endswith(f.data)
        assert f.data == sent[f.timestamp] or f.data.startswith(b"\x00\x00\x00\x01\x65\x88")
    need_keyframe = True
    for event in out:
        if isinstance(event, KeyframeNeeded):
            need_keyframe = True
        elif need_keyframe:
            assert event.keyframe
            need_keyframe = False
    if loss == 0.0:
        assert delivered
