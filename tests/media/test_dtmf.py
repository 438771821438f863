"""DTMF sending (RFC 4733 telephone-events, W3C insertDTMF scheduling) on a fake clock."""

from __future__ import annotations

import random
import struct

import pytest
from aiortc.rtp import RtpPacket as AiortcRtpPacket

from pywebrtc.demux import PacketKind, classify
from pywebrtc.media import (
    OPUS,
    AudioCodec,
    AudioSession,
    DtmfPlayout,
    InvalidCharacterError,
    SessionEvent,
    TelephoneEvent,
    ToneChange,
    Transmit,
)
from pywebrtc.media.dtmf import DtmfPacket
from pywebrtc.rtp import RtpPacket

from .peers import Call, config, srtp_pair
from .tone import sine_frame

TE_8K = AudioCodec("telephone-event", 126, 8000, 1, {"0-15": ""})
TE_48K = AudioCodec("telephone-event", 110, 48000, 1, {"0-15": ""})


def drive(playout: DtmfPlayout, until: float) -> list[tuple[float, ToneChange | DtmfPacket]]:
    """Run ``playout`` at each deadline up to ``until``; (time, packet or change) in order."""
    out: list[tuple[float, ToneChange | DtmfPacket]] = []
    while (due := playout.deadline()) is not None and due <= until:
        playout.handle_timeout(due)
        while (change := playout.poll_change()) is not None:
            out.append((round(due, 3), change))
        while (packet := playout.poll_packet()) is not None:
            out.append((round(due, 3), packet))
    return out


def packets_of(out: list[tuple[float, ToneChange | DtmfPacket]]) -> list[DtmfPacket]:
    return [p for _, p in out if isinstance(p, DtmfPacket)]


def fields(payload: bytes) -> tuple[int, bool, int, int]:
    event, flags, duration = struct.unpack("!BBH", payload)
    return event, bool(flags & 0x80), flags & 0x3F, duration


def test_one_tone_updates_every_20ms_and_sends_its_end_three_times() -> None:
    playout = DtmfPlayout(8000)
    playout.insert("1", 100, 70, now=0.0)
    out = drive(playout, 10.0)
    changes = [(t, c.tone) for t, c in out if isinstance(c, ToneChange)]
    assert changes == [(0.0, "1"), (0.17, "")]  # the final tonechange after duration + gap
    packets = [(t, p) for t, p in out if isinstance(p, DtmfPacket)]
    assert [t for t, _ in packets] == [0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12]
    decoded = [fields(p.payload) for _, p in packets]
    assert [d[3] for d in decoded] == [160, 320, 480, 640, 800, 800, 800]
    assert [d[1] for d in decoded] == [False] * 4 + [True] * 3
    assert {d[0] for d in decoded} == {1} and {d[2] for d in decoded} == {10}
    assert [p.marker for _, p in packets] == [True] + [False] * 6
    assert [p.last for _, p in packets][-1] and not playout.playing
    assert playout.deadline() is None


def test_tone_buffer_drains_one_tone_per_task_and_comma_pauses_two_seconds() -> None:
    playout = DtmfPlayout(8000)
    playout.insert("1,#", 100, 70, now=0.0)
    assert playout.tone_buffer == "1,#"
    playout.handle_timeout(0.0)
    assert playout.tone_buffer == ",#"
    out = drive(playout, 10.0)
    changes = [(t, c.tone) for t, c in out if isinstance(c, ToneChange)]
    assert changes == [(0.02, "1"), (0.17, ","), (2.17, "#"), (2.34, "")]  # "1" polled late
    assert playout.tone_buffer == ""


def test_insert_while_playing_replaces_the_buffer_without_a_second_task() -> None:
    playout = DtmfPlayout(8000)
    playout.insert("12", 100, 70, now=0.0)
    playout.handle_timeout(0.0)
    playout.insert("9", 100, 70, now=0.05)  # "2" is dropped; "1" keeps playing
    assert playout.tone_buffer == "9"
    out = [(t, c.tone) for t, c in drive(playout, 10.0) if isinstance(c, ToneChange)]
    assert out == [(0.02, "1"), (0.17, "9"), (0.34, "")]  # "1" polled late


@pytest.mark.parametrize(
    ("duration", "gap", "expected"),
    [(10, 10, (40, 30)), (7000, 9000, (6000, 6000)), (100, 70, (100, 70))],
)
def test_durations_are_clamped_as_w3c_says(
    duration: int, gap: int, expected: tuple[int, int]
) -> None:
    playout = DtmfPlayout(8000)
    playout.insert("5", duration, gap, now=0.0)
    assert (playout.duration_ms, playout.gap_ms) == expected


def test_bad_tones_raise_invalid_character_error_and_lower_case_is_accepted() -> None:
    playout = DtmfPlayout(8000)
    with pytest.raises(InvalidCharacterError):
        playout.insert("12x", 100, 70, now=0.0)
    assert issubclass(InvalidCharacterError, ValueError)
    assert playout.tone_buffer == "" and playout.deadline() is None
    playout.insert("abcd*#0", 100, 70, now=0.0)
    assert playout.tone_buffer == "ABCD*#0"


def test_an_empty_insert_fires_nothing_and_the_next_tone_flushes_pending_end_packets() -> None:
    playout = DtmfPlayout(8000)
    playout.insert("", 100, 70, now=0.0)
    assert playout.deadline() is None
    playout.insert("12", 45, 30, now=0.0)  # end at 40 ms, next tone at 75 ms: 3rd end pending
    out = drive(playout, 0.075)
    ends = [p for p in packets_of(out) if fields(p.payload)[1]]
    assert len(ends) == 3 and ends[0].offset == 0
    assert fields(packets_of(out)[-1].payload)[0] == 2  # the next tone's first packet


def test_a_six_second_tone_at_48khz_is_cut_into_segments() -> None:
    playout = DtmfPlayout(48000)
    playout.insert("0", 6000, 70, now=0.0)
    packets = packets_of(drive(playout, 10.0))
    offsets = sorted({p.offset for p in packets})
    assert offsets == [0, 65535, 131070, 196605, 262140]
    final = [fields(p.payload) for p in packets if p.offset == 262140]
    assert final[-1][1] and final[-1][3] == 288000 - 262140
    assert all(fields(p.payload)[3] <= 0xFFFF for p in packets)


def sending_session(dtmf: AudioCodec = TE_48K) -> AudioSession:
    return AudioSession(
        config(0x1234, receive_codecs=(), dtmf_codec=dtmf), srtp=None, rng=random.Random(3)
    )


def run_session(
    session: AudioSession, until: float, start: float = 0.0
) -> tuple[list[tuple[float, bytes]], list[SessionEvent]]:
    """Send a frame every 20 ms and serve the timer every 5 ms; the (time, RTP datagram)s sent
    and the session's events."""
    out: list[tuple[float, bytes]] = []
    events: list[SessionEvent] = []
    now = start
    index = int(start / 0.02)
    while now < until - 1e-9:
        if abs(now - index * 0.02) < 1e-9:
            session.send_frame(sine_frame(index), now)
            index += 1
        deadline = session.deadline()
        if deadline is not None and deadline <= now + 1e-9:
            session.tick(now)
        while (t := session.poll()) is not None:
            if not isinstance(t, Transmit):
                events.append(t)
            elif classify(t.data) is PacketKind.RTP:
                out.append((round(now, 3), t.data))
        now = round(now + 0.005, 3)
    return out, events


def test_events_share_the_audio_stream_and_replace_its_packets() -> None:
    session = sending_session()
    before, seen_before = run_session(session, 0.2)
    session.insert_dtmf("7", 100, 70, now=0.2)
    during, seen_during = run_session(session, 0.6, start=0.2)
    packets = [RtpPacket.parse(d) for _, d in before + during]
    assert {p.ssrc for p in packets} == {0x1234}
    seqs = [p.sequence_number for p in packets]
    assert seqs == [(seqs[0] + i) & 0xFFFF for i in range(len(seqs))]  # one sequence space
    events = [p for p in packets if p.payload_type == 110]
    assert len(events) == 7
    assert [p.marker for p in events] == [True] + [False] * 6
    assert len({p.timestamp for p in events}) == 1
    last_audio_before = packets[packets.index(events[0]) - 1]
    assert last_audio_before.payload_type == OPUS.payload_type
    assert events[0].timestamp == (last_audio_before.timestamp + 960) & 0xFFFFFFFF  # the start
    # No audio between the first and the last event packet; audio after it, past the event.
    first = packets.index(events[0])
    last = packets.index(events[-1])
    assert all(p.payload_type == 110 for p in packets[first : last + 1])
    after = [p for p in packets[last + 1 :] if p.payload_type == OPUS.payload_type]
    assert after and after[0].marker
    assert (after[0].timestamp - events[0].timestamp) & 0xFFFFFFFF >= 100 * 48
    # The W3C tonechange events come out of the session: "7", then "" after 170 ms.
    changes = [e.tone for e in seen_before + seen_during if isinstance(e, ToneChange)]
    assert changes == ["7", ""]


def test_what_we_send_parses_with_aiortc() -> None:
    session = sending_session(TE_8K)
    session.insert_dtmf("#", 60, 40, now=0.0)
    sent, _ = run_session(session, 0.2)
    events = [AiortcRtpPacket.parse(d) for _, d in sent if d[1] & 0x7F == 126]
    assert [p.marker for p in events] == [1, 0, 0, 0, 0]
    assert [struct.unpack("!BBH", p.payload) for p in events] == [
        (11, 10, 160), (11, 10, 320), (11, 0x8A, 480), (11, 0x8A, 480), (11, 0x8A, 480)
    ]  # fmt: skip
    assert {p.ssrc for p in events} == {0x1234} and len({p.timestamp for p in events}) == 1


def test_a_session_without_telephone_event_refuses_dtmf() -> None:
    session = AudioSession(config(1, receive_codecs=()), srtp=None)
    with pytest.raises(ValueError):
        session.insert_dtmf("1", 100, 70, now=0.0)


def test_the_receiving_session_reports_each_digit_once() -> None:
    sa, sb = srtp_pair()
    a = AudioSession(config(1, receive_codecs=(), dtmf_codec=TE_48K), srtp=sa)
    b = AudioSession(config(2, send_codec=None, receive_codecs=(OPUS, TE_48K)), srtp=sb)
    net = Call(a, b)
    net.run(0.3)
    a.insert_dtmf("159#", 100, 70, net.now)
    net.run(1.2)
    digits = [(e.event, e.duration) for e in net.b.events if isinstance(e, TelephoneEvent)]
    assert digits == [("1", 0.1), ("5", 0.1), ("9", 0.1), ("#", 0.1)]
    assert len(net.b.frames) > 50 and b.drops.unknown_payload_type == 0
