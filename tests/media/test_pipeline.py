from __future__ import annotations

import random
import struct
from collections.abc import Iterable
from dataclasses import dataclass, replace

import pytest

from pywebrtc.media import (
    OPUS,
    PCMU,
    AudioSession,
    EncodedReceived,
    FrameReceived,
    RemoteEnded,
    Transmit,
)
from pywebrtc.rtp import RtpPacket, parse_rtcp, serialize_rtcp
from pywebrtc.rtp.interceptor import Interceptor
from pywebrtc.rtp.rtcp import Nack, ReceiverReport
from pywebrtc.rtp.sender import ExtensionIds, TransportSequence
from tests.simnet import Datagram, Duplicate, Impairment, Jitter, Loss

from .peers import Call, config, srtp_pair
from .tone import mono_samples, sine_frame, zero_crossing_frequency


def pair(
    ab: tuple[Impairment, ...] = (),
    ba: tuple[Impairment, ...] = (),
    delay: float = 0.03,
    seed: int = 1,
    **kwargs: object,
) -> tuple[Call, AudioSession, AudioSession]:
    sa, sb = srtp_pair()
    a = AudioSession(config(0xA1, **kwargs), srtp=sa, rng=random.Random(1))
    b = AudioSession(config(0xB2, **kwargs), srtp=sb, rng=random.Random(2))
    return Call(a, b, ab, ba, delay, seed), a, b


def test_tone_keeps_its_frequency_through_send_and_receive_pipelines() -> None:
    net, a, b = pair()
    net.run(3.0, a_sends=True, b_sends=True)
    for peer, freq in ((net.b, 440.0), (net.a, 880.0)):
        frames = peer.frames
        assert len(frames) >= 130  # ~50 frames/s after the jitter buffer's start-up delay
        assert not any(isinstance(e, FrameReceived) and e.concealed for e in peer.events)
        measured = zero_crossing_frequency(mono_samples(frames[20:]), 48000)
        assert abs(measured - freq) < 5, measured
    assert b.drops == type(b.drops)()  # nothing dropped on a clean path
    kinds = {s["type"] for s in b.stats()}
    assert {"inbound-rtp", "outbound-rtp", "remote-inbound-rtp", "remote-outbound-rtp"} <= kinds
    inbound = next(s for s in b.stats() if s["type"] == "inbound-rtp")
    assert inbound["packetsLost"] == 0 and isinstance(inbound["packetsReceived"], int)
    assert inbound["packetsReceived"] >= 145
    rtt = next(s for s in a.stats() if s["type"] == "remote-inbound-rtp")["roundTripTime"]
    # 2 x 30 ms.
    assert isinstance(rtt, float) and 0.059 < rtt < 0.071


def test_ten_percent_loss_audio_continues_and_nack_recovers_packets() -> None:
    net, a, b = pair((Loss(0.1),), (Loss(0.1),), seed=3, nack=True)
    net.run(6.0)
    frames = net.b.frames
    assert len(frames) >= 280  # playout never stops
    assert b.nack is not None and b.nack.packets_requested > 10
    assert a.retransmit is not None and a.retransmit.retransmitted > 10
    assert b.nack.recovered > 0
    # Most losses are repaired before their playout time; the rest are concealed.
    assert b.frames_concealed < 0.06 * len(frames)
    measured = zero_crossing_frequency(mono_samples(frames[20:]), 48000)
    assert abs(measured - 440) < 15


def test_ten_percent_loss_without_nack_is_repaired_by_fec_or_concealed() -> None:
    from pywebrtc.media.libopus import LibopusDecoder, LibopusEncoder

    net, a, b = pair((Loss(0.1),), seed=4)
    net.run(4.0)
    assert len(net.b.frames) >= 180
    if isinstance(a.encoder, LibopusEncoder):
        # b's receiver reports carried the loss to a's encoder, which turned FEC on.
        assert a.encoder.packet_loss >= 8
    assert 8 <= b.frames_concealed <= 40
    decoder = b._decoders[111]
    if isinstance(decoder, LibopusDecoder):
        # useinbandfec=1: most single losses come back from the next packet's FEC copy.
        assert decoder.fec_recovered >= 0.5 * b.frames_concealed
    assert abs(zero_crossing_frequency(mono_samples(net.b.frames[20:]), 48000) - 440) < 10


def test_reordering_and_duplication() -> None:
    net, _, b = pair((Jitter(0.05), Duplicate(0.1)), seed=5)
    net.run(4.0)
    assert len(net.b.frames) >= 170
    # Duplicates are SRTP replays (libsrtp drops them first) and never reach the decoder.
    assert b.drops.srtp_replays > 5
    assert b.frames_concealed <= 5
    assert b.jitter.target_delay > 0.04


def test_bad_input_is_dropped_and_counted_and_the_session_continues() -> None:
    net, a, b = pair()
    net.run(0.5)
    before = len(net.b.frames)
    assert b.srtp is not None and a.srtp is not None
    b.receive(b"\x80\x6f", net.now)  # truncated
    b.receive(b"\x80\x6f" + bytes(40), net.now)  # forged: authentication fails
    b.receive(b"\x80\xc9\x00\x01" + bytes(30), net.now)
    # A replay of a packet b already accepted.
    a.send_frame(sine_frame(0), net.now)
    t = a.poll()
    assert isinstance(t, Transmit)
    b.receive(t.data, net.now)
    b.receive(t.data, net.now)
    # Authentic but unexpected: unknown SSRC, unknown payload type, garbage RTP inside SRTP,
    # garbage RTCP inside SRTCP.
    assert a.sender is not None
    ahead = (a.sender.sequence_number + 500) & 0xFFFF
    b.receive(a.srtp.outbound.protect_rtp(bytes(RtpPacket(111, 5, 0, 0xDEAD, b"x"))), net.now)
    b.receive(a.srtp.outbound.protect_rtp(bytes(RtpPacket(99, ahead, 0, 0xA1, b"x"))), net.now)
    b.receive(a.srtp.outbound.protect_rtp(b"\x40" + bytes(20)), net.now)
    b.receive(a.srtp.outbound.protect_rtcp(b"\x80\xc9\x00\x09" + bytes(8)), net.now)
    d = b.drops
    assert d.malformed_rtp + d.srtp_other == 2 and d.malformed_rtcp == 1
    assert d.srtp_auth_failures == 2 and d.srtp_replays == 1
    assert d.unknown_ssrc == 1 and d.unknown_payload_type == 1
    net.run(1.0)
    assert len(net.b.frames) > before + 40


@dataclass(frozen=True, slots=True)
class Stall:
    """The sender stalls from ``start`` to ``end``: what it sent meanwhile arrives at once."""

    start: float
    end: float

    def __call__(self, d: Datagram, rng: random.Random) -> Iterable[Datagram]:
        return (replace(d, at=self.end),) if self.start <= d.at < self.end else (d,)


@pytest.mark.parametrize("hurry", [False, True])
def test_after_a_stall_hurry_delivers_every_frame_where_playout_drops_some(hurry: bool) -> None:
    net, a, b = pair((Stall(1.0, 1.4),), hurry=hurry)
    net.run(3.0)
    frames = [e for e in net.b.events if isinstance(e, FrameReceived)]
    assert not any(e.concealed for e in frames)
    stats = b.jitter.stats
    if hurry:  # every frame came out, and the delay the stall added is gone
        assert stats.discarded == 0 and stats.frames_played >= stats.packets_received - 3
        assert b.jitter.level <= 0.06 + 1e-9
    else:  # playout drops frames and keeps a delay the size of the stall
        assert stats.discarded > 0 and b.jitter.level > 0.2


def test_bye_ends_the_remote_stream() -> None:
    net, a, _ = pair()
    net.run(0.5)
    a.close(net.now, "done")
    net.run(0.2, a_sends=False)
    ended = [e for e in net.b.events if isinstance(e, RemoteEnded)]
    assert [(e.ssrc, e.reason) for e in ended] == [(0xA1, "done")]


def test_raw_mode_hands_encoded_packets_through_in_order() -> None:
    net, a, b = pair((Loss(0.05),), seed=9, decode=False)
    net.run(2.0)
    raw = [e for e in net.b.events if isinstance(e, EncodedReceived)]
    assert len(raw) >= 85
    got = [e for e in raw if e.payload is not None]
    lost = [e for e in raw if e.payload is None]
    assert lost and all(e.payload_type == 111 for e in raw)
    stamps = [e.timestamp for e in raw]
    steps = [(y - x) & 0xFFFFFFFF for x, y in zip(stamps, stamps[1:], strict=False)]
    assert all(step % 960 == 0 and 0 < step <= 960 * 3 for step in steps)
    assert steps.count(960) > 0.9 * len(steps)
    # Raw send: a bridge forwards the Opus payloads without re-encoding.
    for i, e in enumerate(got[:10]):
        assert e.payload is not None
        b.send_encoded(e.payload, 960 * i, net.now)
    assert b.sender is not None and b.sender.packet_count == 10
    assert not any(isinstance(e, FrameReceived) for e in net.b.events)
    assert a.frames_decoded == 0


def test_pcmu_session() -> None:
    # Opus is listed first but the peer sends PCMU: the jitter buffer follows the 8 kHz clock.
    net, _, b = pair(send_codec=PCMU, receive_codecs=(OPUS, PCMU))
    net.run(2.0, freq=1000.0)
    frames = net.b.frames
    assert len(frames) >= 85 and frames[0].sample_rate == 8000
    assert abs(zero_crossing_frequency(mono_samples(frames[10:]), 8000) - 1000) < 20
    assert b.jitter.clock_rate == 8000 and b.frames_concealed == 0
    assert b.jitter.target_delay < 0.05


def test_extensions_and_twcc_feedback() -> None:
    ids = ExtensionIds(mid=1, audio_level=2, abs_send_time=3, transport_cc=4)
    net, a, b = pair(extension_ids=ids, twcc_feedback=True)
    net.run(1.0)
    assert b.twcc is not None and b.twcc.feedback_sent >= 5
    assert a.srtp is not None
    # What a sends carries the negotiated extensions (look at a fresh packet).
    a.send_frame(sine_frame(0), net.now)
    t = a.poll()
    assert isinstance(t, Transmit)
    peer_srtp = net.b.session.srtp
    assert peer_srtp is not None
    packet = RtpPacket.parse(peer_srtp.inbound.unprotect_rtp(t.data))
    assert set(packet.extensions) == {1, 2, 3, 4}


def test_rtcp_reports_flow_both_ways_at_about_one_per_second() -> None:
    net, a, b = pair()
    net.run(10.0)
    assert 6 <= a.reporter.reports_sent <= 16
    assert 6 <= b.reporter.reports_sent <= 16
    report = ReceiverReport(0xB2, ())
    assert parse_rtcp(serialize_rtcp([report])) == [report]


def test_sendonly_and_recvonly_sessions() -> None:
    sa, sb = srtp_pair()
    a = AudioSession(config(1, receive_codecs=()), srtp=sa)
    b = AudioSession(config(2, send_codec=None), srtp=sb)
    net = Call(a, b)
    net.run(1.0, b_sends=True)
    assert len(net.b.frames) >= 40 and b.sender is None and not net.a.frames


def test_plain_rtp_without_srtp_contexts() -> None:
    a = AudioSession(config(1))
    b = AudioSession(config(2))
    net = Call(a, b)
    net.run(1.0)
    assert len(net.b.frames) >= 40
    assert struct.unpack_from("!B", b"\x80")[0] == 0x80
    assert OPUS.payload_type == 111


def test_telephone_events_are_reported_once_and_audio_keeps_playing() -> None:
    from pywebrtc.media import AudioCodec, TelephoneEvent

    dtmf = AudioCodec("telephone-event", 126, 48000)
    sa, sb = srtp_pair()
    b = AudioSession(config(2, send_codec=None, receive_codecs=(OPUS, dtmf)), srtp=sb)
    a = AudioSession(config(1, receive_codecs=()), srtp=sa)
    net = Call(a, b)
    net.run(0.6)
    assert a.sender is not None
    # Replace three 20 ms audio packets by a "5" event (RFC 4733: end sent three times).
    start = a.sender.rtp_timestamp(30 * 960)
    for k, (end, duration) in enumerate(((False, 960), (True, 2880), (True, 2880))):
        packet = RtpPacket(126, a.sender.sequence_number, start, 1,
                           struct.pack("!BBH", 5, 0x80 if end else 0, duration))  # fmt: skip
        a.sender.sequence_number = (a.sender.sequence_number + 1) & 0xFFFF
        assert a.srtp is not None
        b.receive(a.srtp.outbound.protect_rtp(bytes(packet)), net.now + 0.001 * k)
    net.run(0.6)
    events = [e for e in net.b.events if isinstance(e, TelephoneEvent)]
    assert [(e.event, e.duration) for e in events] == [("5", 0.06)]
    assert len(net.b.frames) >= 45 and b.drops.unknown_payload_type == 0


def test_a_codec_without_decoder_is_concealed_not_fatal() -> None:
    from pywebrtc.media import AudioCodec

    g722 = AudioCodec("G722", 9, 8000)
    sa, sb = srtp_pair()
    a = AudioSession(config(1, send_codec=PCMU, receive_codecs=()), srtp=sa)
    b = AudioSession(config(2, send_codec=None, receive_codecs=(g722, PCMU)), srtp=sb)
    net = Call(a, b)
    net.run(1.0)
    assert len(net.b.frames) >= 40  # PCMU decodes; G722 would be concealed


def test_learned_source_is_replaced_after_bye_but_a_signaled_one_is_not() -> None:
    sa, sb = srtp_pair()
    b = AudioSession(config(2, send_codec=None), srtp=sb)
    a = AudioSession(config(1, receive_codecs=()), srtp=sa)
    net = Call(a, b)
    net.run(0.5)
    a.close(net.now)
    net.run(0.1, a_sends=False)
    # The peer restarts its sender with a new SSRC (new keys are not needed: same transport).
    a2 = AudioSession(config(7, receive_codecs=()), srtp=sa, rng=random.Random(7))
    net2 = Call(a2, b)
    net2.net.now = net.now
    before = len(net.b.frames)
    net2.run(1.0)
    assert b.remote_ssrc == 7 and len(net2.b.frames) >= 40 and before >= 15
    pinned = AudioSession(config(3, send_codec=None, remote_ssrc=1), srtp=srtp_pair()[1])
    pinned.receive_packet(RtpPacket(111, 1, 0, 99, b"x"), 0.0)
    pinned.receive_packet(RtpPacket(111, 2, 0, 99, b"x"), 10.0)
    assert pinned.drops.unknown_ssrc == 2


def test_renegotiation_keeps_the_stream_going() -> None:
    net, a, b = pair()
    net.run(1.0)
    assert a.sender is not None
    seq_before = a.sender.sequence_number
    # sendrecv -> recvonly: a stops sending but keeps its stream state.
    a.reconfigure(config(0xA1, send_codec=None))
    net.run(0.5, a_sends=False)
    # recvonly -> sendrecv with PCMU instead of Opus, NACK turned on.
    a.reconfigure(config(0xA1, send_codec=PCMU, nack=True))
    b.reconfigure(config(0xB2, receive_codecs=(OPUS, PCMU), nack=True))
    assert a.retransmit is not None and b.nack is not None
    net.run(1.0, freq=1000.0)
    assert a.sender.sequence_number - seq_before >= 49  # continued, not restarted
    assert a.drops.srtp_other == 0
    pcmu = [f for f in net.b.frames if f.sample_rate == 8000]
    assert len(pcmu) >= 35
    with pytest.raises(ValueError):
        a.reconfigure(config(0xDEAD))
    a.reconfigure(config(0xA1, nack=False))
    assert a.retransmit is None and a.nack is None


def test_a_pause_in_the_track_advances_the_timestamp_and_sets_the_marker() -> None:
    a = AudioSession(config(1, receive_codecs=()), rng=random.Random(1))
    stamps = []
    markers = []
    for i, now in enumerate([0.0, 0.02, 0.04, 1.04, 1.06]):
        a.send_frame(sine_frame(i), now)
        t = a.poll()
        assert isinstance(t, Transmit)
        packet = RtpPacket.parse(t.data)
        stamps.append(packet.timestamp)
        markers.append(packet.marker)
    steps = [(y - x) & 0xFFFFFFFF for x, y in zip(stamps, stamps[1:], strict=False)]
    assert steps == [960, 960, 48000, 960]
    assert markers == [True, False, False, True, False]


@pytest.mark.parametrize("with_audioop", [True, False])
def test_audio_level_follows_rfc6464(with_audioop: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from pywebrtc.media import pipeline
    from pywebrtc.media.frames import pcm_frame
    from pywebrtc.media.pipeline import audio_level

    from .tone import sine_frame

    if not with_audioop:  # the estimate Python 3.13+ falls back to
        monkeypatch.setattr(pipeline, "_rms", None)
    loud = audio_level(sine_frame(0, 1000.0, amplitude=32767))
    quiet = audio_level(sine_frame(0, 1000.0, amplitude=3277, channels=2))
    silent = audio_level(pcm_frame(bytes(1920), 48000, 1, 0))
    assert loud is not None and quiet is not None and silent is not None
    assert loud.level == 3 and loud.voice  # a full-scale sine is -3 dBov RMS
    assert quiet.level == 23
    assert silent.level == 127 and not silent.voice


def test_nack_waits_for_retransmissions_only_on_short_paths() -> None:
    short, _, b = pair(delay=0.03, nack=True)
    short.run(3.0, b_sends=True)
    assert 0.09 < b.jitter.min_delay < 0.13  # RTT 60 ms + 2 frames
    long, _, d = pair(delay=0.15, nack=True)
    long.run(3.0, b_sends=True)
    assert d.nack is not None and d.nack.rtt > 0.25
    assert d.jitter.min_delay == 0.02  # 300 ms RTT: do not hold playout for NACK


def test_forward_fast_path_returns_bare_audio_and_hands_the_rest_to_receive_packet() -> None:
    """``receive_forwarded``: a bare Opus packet of the source comes back as (payload,
    timestamp), counted as received, no event, with a header extension block or without; a
    duplicate is dropped; a packet with CSRCs takes the general path (an EncodedReceived event),
    as does any packet when the session is not in forward mode."""
    b = AudioSession(config(0xB2, decode=False, forward=True, remote_ssrc=0xA1))
    pt = OPUS.payload_type

    def rtp(seq: int, **kwargs: object) -> bytes:
        return bytes(RtpPacket(pt, seq, 960 * seq, 0xA1, b"opus%d" % seq, **kwargs))  # type: ignore[arg-type]

    assert b.receive_forwarded(rtp(1), 1.0) == (b"opus1", 960)
    assert b.receive_forwarded(rtp(2), 1.02) == (b"opus2", 1920)
    assert b.receive_forwarded(rtp(2), 1.03) is None and b.drops.jitter_buffer == 1
    assert b.poll() is None
    extended = RtpPacket(pt, 3, 2880, 0xA1, b"opus3").with_extensions({1: b"\x00"})
    assert b.receive_forwarded(bytes(extended), 1.04) == (b"opus3", 2880)
    assert b.poll() is None
    assert b.receive_forwarded(rtp(4, csrcs=(7,)), 1.05) is None
    event = b.poll()
    assert isinstance(event, EncodedReceived) and event.payload == b"opus4"
    assert b.receive_forwarded(b"\x80garbage", 1.06) is None and b.drops.malformed_rtp == 1
    assert b.reporter.sources[0xA1].packets_received == 5
    buffered = AudioSession(config(0xB3, decode=False, remote_ssrc=0xA1))
    assert buffered.receive_forwarded(rtp(1), 1.0) is None and len(buffered.jitter) == 1


def test_echo_bare_sends_what_receive_forwarded_and_send_encoded_send() -> None:
    """``echo_bare`` (the echo's one-call path) gives the packet, counters and report state
    that ``receive_forwarded`` then ``send_encoded`` give; a duplicate is dropped and counted
    (b""); anything either would take its slow path for is left untouched (None)."""
    pt = OPUS.payload_type

    def rtp(seq: int, **kwargs: object) -> bytes:
        return bytes(RtpPacket(pt, seq, 960 * seq, 0xA1, b"opus%d" % seq, **kwargs))  # type: ignore[arg-type]

    def session() -> AudioSession:
        c = config(0xB2, decode=False, forward=True, remote_ssrc=0xA1)
        return AudioSession(c, rng=random.Random(5))

    two_calls, one_call = session(), session()
    for seq, now in ((1, 1.0), (2, 1.02), (2, 1.03), (4, 1.06), (3, 1.07)):
        forwarded = two_calls.receive_forwarded(rtp(seq), now)
        if forwarded is not None:
            two_calls.send_encoded(forwarded[0], forwarded[1], now)
        expected = two_calls.poll()
        echoed = one_call.echo_bare(rtp(seq), now)
        assert echoed is not None and one_call.poll() is None
        if expected is None:
            assert echoed == b""
        else:
            assert isinstance(expected, Transmit) and echoed == expected.data
    assert one_call.drops.jitter_buffer == two_calls.drops.jitter_buffer == 1
    assert one_call.stats() == two_calls.stats()
    assert one_call.deadline() == two_calls.deadline()
    assert echoed
    sent = RtpPacket.parse(echoed)
    assert sent.payload == b"opus3" and sent.ssrc == 0xB2 and not sent.marker
    # A header extension block is skipped (the payload follows it).
    extended = RtpPacket(pt, 5, 4800, 0xA1, b"opus5").with_extensions({1: b"\x00"})
    assert RtpPacket.parse(one_call.echo_bare(bytes(extended), 1.1) or b"").payload == b"opus5"
    # Left alone: CSRCs, another source, DTMF playing, no sender.
    assert one_call.echo_bare(rtp(6, csrcs=(7,)), 1.1) is None
    other = bytes(RtpPacket(pt, 6, 5760, 0xA9, b"opus6"))
    assert one_call.echo_bare(other, 1.1) is None
    assert one_call.reporter.sources[0xA1].packets_received == 6
    receive_only = AudioSession(config(0xB3, decode=False, forward=True, send_codec=None))
    assert receive_only.echo_bare(rtp(1), 1.0) is None


_BROWSER_IDS = ExtensionIds(mid=4, audio_level=1, abs_send_time=2, transport_cc=3)


def test_echo_of_a_browser_session_in_one_call_matches_the_general_path() -> None:
    """With NACK, transport-cc feedback and the header extensions a browser negotiates,
    ``echo_bare`` sends the bytes, and produces the feedback, NACKs, retransmissions,
    statistics and deadlines, that the general path (forced by an interceptor beside the
    session's own) produces; ``echo_moved`` is set whenever the deadline came earlier."""
    pt = OPUS.payload_type

    def session(general: bool) -> AudioSession:
        c = config(0xB2, decode=False, forward=True, remote_ssrc=0xA1, nack=True,
                   twcc_feedback=True, extension_ids=_BROWSER_IDS)  # fmt: skip
        s = AudioSession(c, rng=random.Random(5), transport_sequence=TransportSequence(40))
        if general:
            s.chain.add(Interceptor())
        return s

    def chromium(seq: int) -> bytes:  # the transport-wide number, then the audio level
        packet = RtpPacket(pt, seq, 960 * seq, 0xA1, b"opus%d" % seq)
        return bytes(packet.with_extensions([(3, (300 + seq).to_bytes(2)), (1, b"\x9e")]))

    def drain(s: AudioSession, now: float) -> list[bytes]:
        out = []
        while (event := s.poll()) is not None:
            if isinstance(event, EncodedReceived):
                assert event.payload is not None
                s.send_encoded(event.payload, event.timestamp, now)
            else:
                assert isinstance(event, Transmit)
                out.append(event.data)
        return out

    general, fast = session(True), session(False)
    # 4 is lost then arrives late, 2 is duplicated.
    for seq, now in ((1, 1.0), (2, 1.02), (2, 1.03), (3, 1.04), (5, 1.08), (6, 1.1), (4, 1.11)):
        assert general.receive_forwarded(chromium(seq), now) is None
        expected = drain(general, now)
        before = fast.deadline()
        echoed = fast.echo_bare(chromium(seq), now)
        after = fast.deadline()
        assert echoed is not None and fast.poll() is None
        assert [echoed] == expected if echoed else expected == []
        if after is not None and (before is None or after < before):
            assert fast.echo_moved
        assert after == general.deadline()
    sent = RtpPacket.parse(echoed or b"")
    assert sent.payload == b"opus4" and set(sent.extensions) == {2, 3, 4}
    assert general.nack is not None and general.nack.packets_requested == 0
    # The NACK for 4 and the transport-cc feedback: due by 1.2, the same from both.
    general.tick(1.2)
    fast.tick(1.2)
    rtcp = drain(fast, 1.2)
    assert rtcp == drain(general, 1.2) and rtcp
    assert fast.twcc is not None and fast.twcc.feedback_sent == 1
    # The peer asks for our third and fourth packets again: resent with fresh numbers.
    assert fast.sender is not None
    first = (fast.sender.sequence_number - 6) & 0xFFFF  # 1, 2, 3, 5, 6, 4 sent
    nack = Nack.from_lost(0xA1, 0xB2, [(first + 2) & 0xFFFF, (first + 3) & 0xFFFF])
    general.receive_rtcp_packets([nack], 1.3)
    fast.receive_rtcp_packets([nack], 1.3)
    resent = drain(fast, 1.3)
    assert resent == drain(general, 1.3) and len(resent) == 2
    assert [RtpPacket.parse(r).payload for r in resent] == [b"opus3", b"opus5"]
    assert fast.stats() == general.stats()
    assert fast.drops == general.drops and fast.drops.jitter_buffer == 1


class _Watched(AudioSession):
    """An AudioSession whose methods a test may wrap (a subclass without slots: a __dict__)."""


def test_forward_mode_hands_each_packet_over_once_on_receipt_without_playout_ticks() -> None:
    # Plain RTP (no SRTP replay check): the duplicates the network makes reach the session.
    a = AudioSession(config(0xA1), rng=random.Random(1))
    b = _Watched(config(0xB2, decode=False, forward=True), rng=random.Random(2))
    call = Call(a, b, (Jitter(0.05), Duplicate(0.2)), (), 0.03, 7)
    ticks: list[float] = []
    tick = b.tick

    def counted(now: float) -> None:
        ticks.append(now)
        tick(now)

    b.tick = counted  # type: ignore[method-assign]
    arrivals: list[tuple[float, int]] = []
    receive = b.receive

    def received(data: bytes, now: float) -> None:
        before = len(b._events)
        receive(data, now)
        if not 192 <= data[1] <= 223:
            arrivals.append((now, len(b._events) - before))

    b.receive = received  # type: ignore[method-assign]
    call.run(4.0)
    call.run(0.2, a_sends=False)  # the last packets arrive
    sent = [RtpPacket.parse(d) for d in call.a.host.sent if not 192 <= d[1] <= 223]
    raw = [e for e in call.b.events if isinstance(e, EncodedReceived)]
    assert len(sent) == 200
    # Every packet exactly once, with its own timestamp and payload; duplicates counted.
    assert sorted((e.timestamp, e.payload) for e in raw) == sorted(
        (p.timestamp, p.payload) for p in sent
    )
    assert b.drops.jitter_buffer == len(arrivals) - len(sent) > 10
    # Out of order as the jitter made them: passed on as they came, not reordered.
    stamps = [e.timestamp for e in raw]
    assert stamps != sorted(stamps)
    # On receipt: a fresh packet's payload is out by the end of its receive call; the
    # session's only timer is RTCP's (about one report a second), not a 20 ms playout clock.
    assert sum(n for _, n in arrivals) == len(sent)
    assert b._next_playout is None and len(b.jitter) == 0
    assert len(ticks) <= 8
    deadline = b.deadline()
    assert deadline is not None and deadline > call.now + 0.1
