"""Association scenarios on a fake clock over the simulated network (tests/sctp/peers.py)."""

from __future__ import annotations

import os
import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pywebrtc.sctp import association
from pywebrtc.sctp import chunk as c
from pywebrtc.sctp.association import (
    _NO_ITEMS,
    _NO_TSNS,
    ASSOCIATION_MAX_RETRANS,
    WEBRTC_MAX_RETRANS,
    AssociationAborted,
    AssociationClosed,
    AssociationEstablished,
    MessageReceived,
    SctpAssociation,
    SctpConfig,
    State,
    StreamError,
    StreamsReset,
    Transmit,
)
from pywebrtc.sctp.errors import MessageTooLarge
from pywebrtc.sctp.packet import Packet, encode_packet
from tests.sctp.peers import A, B, Link
from tests.simnet import Datagram


def pair(config: SctpConfig | None = None, **net: float) -> Link:
    a = SctpAssociation(config, is_client=True)
    b = SctpAssociation(config, is_client=False)
    sim = Link(a, b, **net)  # type: ignore[arg-type]
    a.connect(sim.now)
    sim.run_until(lambda: a.is_established and b.is_established)
    return sim


def assoc(sim: Link, side: str) -> SctpAssociation:
    ep = sim.a if side == "a" else sim.b
    assert isinstance(ep, SctpAssociation)
    return ep


def messages(events: list[object], stream_id: int | None = None) -> list[MessageReceived]:
    return [
        e
        for e in events
        if isinstance(e, MessageReceived) and (stream_id is None or e.stream_id == stream_id)
    ]


def test_handshake_establishes_both_sides() -> None:
    sim = pair()
    assert AssociationEstablished() in sim.events_a
    assert AssociationEstablished() in sim.events_b
    assert assoc(sim, "a").supports_stream_reset and assoc(sim, "b").supports_stream_reset


def test_listener_keeps_no_state_before_cookie_echo() -> None:
    b = SctpAssociation(is_client=False)
    init = c.InitChunk(0x11223344, 65536, 10, 10, 99, ())
    b.receive(encode_packet(5000, 5000, 0, bytes(init)), 0.0)
    reply = b.poll()
    assert isinstance(reply, Transmit)
    assert b.state is State.CLOSED
    ack = Packet.parse(reply.data).chunks[0]
    assert isinstance(ack, c.InitAckChunk) and ack.param(c.PARAM_STATE_COOKIE) is not None
    # A forged cookie is dropped and counted.
    b.receive(encode_packet(5000, 5000, ack.initiate_tag, bytes(c.CookieEchoChunk(b"x" * 77))), 0)
    assert b.state is State.CLOSED and b.stats.bad_tag == 1


def test_simultaneous_init_collision_establishes() -> None:
    a = SctpAssociation(is_client=True)
    b = SctpAssociation(is_client=False)
    sim = Link(a, b)
    a.connect(0.0)
    b.connect(0.0)
    sim.run_until(lambda: a.is_established and b.is_established)
    a.send(1, 51, b"ping", sim.now)
    b.send(2, 51, b"pong", sim.now)
    sim.run_until(lambda: bool(messages(sim.events_a)) and bool(messages(sim.events_b)))


def test_setup_survives_lost_init_and_cookie() -> None:
    dropped: list[str] = []

    def drop(d: Datagram) -> bool:
        kind = d.data[12]
        if kind in (c.INIT, c.COOKIE_ECHO) and kind not in [int(x) for x in dropped]:
            dropped.append(str(kind))
            return True
        return False

    a = SctpAssociation(is_client=True)
    b = SctpAssociation(is_client=False)
    sim = Link(a, b, drop=drop)
    a.connect(0.0)
    sim.run_until(lambda: a.is_established and b.is_established)
    assert len(dropped) == 2 and sim.now >= 2.0  # T1 fired twice (1 s, then backed off)


def test_a_stale_cookie_echo_of_an_established_association_is_answered() -> None:
    # The listener's COOKIE ACKs are lost until the echoed cookie is older than its lifetime:
    # the repeat still opens the association it made (RFC 9260 §5.2.4), so the client
    # comes up instead of timing out.
    a = SctpAssociation(SctpConfig(rto_max=40.0, max_timer_backoff=40.0), is_client=True)
    b = SctpAssociation(is_client=False)
    sim = Link(a, b, drop=lambda d: d.data[12] == c.COOKIE_ACK and sim.now < 70.0)
    a.connect(0.0)
    sim.run_until(lambda: a.is_established, limit=200.0)
    assert sim.now > association.COOKIE_LIFETIME


def test_setup_retransmissions_back_off_to_three_seconds_for_about_a_minute() -> None:
    # libwebrtc's cap on timer backoff (association.MAX_TIMER_BACKOFF): over a lossy path the
    # COOKIE ECHO is retried every 3 s at most, so a run of lost COOKIE ACKs costs seconds
    # (with RTO.Max's 10 s steps, 8 retransmissions were spent after ~55 s), and set-up keeps
    # trying for about a minute.
    a = SctpAssociation(is_client=True)
    b = SctpAssociation(is_client=False)
    echoes: list[float] = []

    def drop(d: Datagram) -> bool:
        if d.data[12] == c.COOKIE_ECHO:
            echoes.append(sim.now)
        return d.data[12] == c.COOKIE_ACK and sim.now < 55.0

    sim = Link(a, b, drop=drop)
    a.connect(0.0)
    sim.run_until(lambda: a.is_established, limit=120.0)
    gaps = [y - x for x, y in zip(echoes, echoes[1:], strict=False)]
    assert gaps[:2] == pytest.approx([1.0, 2.0])
    assert max(gaps) == pytest.approx(3.0)
    assert sim.now < 55.0 + 3.1


def test_setup_times_out_without_peer() -> None:
    a = SctpAssociation(SctpConfig(max_init_retransmits=2), is_client=True)
    sim = Link(a, SctpAssociation(is_client=False), drop=lambda d: True)
    a.connect(0.0)
    sim.run_until(lambda: any(isinstance(e, AssociationAborted) for e in sim.events_a))
    assert a.deadline() is None


@pytest.mark.parametrize("ordered", [True, False])
def test_messages_both_ways(ordered: bool) -> None:
    sim = pair()
    a, b = assoc(sim, "a"), assoc(sim, "b")
    for i in range(20):
        a.send(3, 53, bytes([i]) * (i + 1), sim.now, ordered=ordered)
        b.send(4, 51, f"m{i}".encode(), sim.now, ordered=ordered)
    sim.run_until(lambda: len(messages(sim.events_a)) == 20 and len(messages(sim.events_b)) == 20)
    got = [m.data for m in messages(sim.events_b)]
    if ordered:
        assert got == [bytes([i]) * (i + 1) for i in range(20)]
    assert all(m.unordered is not ordered for m in messages(sim.events_b))


def test_an_idle_association_gives_its_queues_back_and_makes_them_again() -> None:
    # An empty deque keeps a 760-byte block: a drained association shares one empty queue
    # (memory per idle session), and the next message and event make their own again.
    sim = pair()
    a, b = assoc(sim, "a"), assoc(sim, "b")
    for sent in (1, 2):
        a.send(3, 53, b"x" * 3000, sim.now)
        sim.run_until(lambda: len(messages(sim.events_b)) == sent and not a._inflight)  # noqa: B023
        for ep in (a, b):
            queues: list[object] = [ep._events, ep._pending, ep._inflight]
            assert all(q is _NO_ITEMS for q in queues)
    assert [m.data for m in messages(sim.events_b)] == [b"x" * 3000] * 2


def test_one_mebibyte_in_order_through_ten_percent_loss() -> None:
    sim = pair(loss=0.1, reorder=0.1, duplicate=0.02, seed=7)
    a = assoc(sim, "a")
    rng = random.Random(3)
    sent = [rng.randbytes(rng.randint(1, 16384)) for _ in range(128)]
    while sum(map(len, sent)) < 1 << 20:
        sent.append(rng.randbytes(8192))
    for m in sent:
        a.send(1, 53, m, sim.now)
    sim.run_until(lambda: len(messages(sim.events_b)) == len(sent), limit=3600)
    assert [m.data for m in messages(sim.events_b)] == sent
    assert a.stats.retransmitted_chunks > 0 and assoc(sim, "b").stats.duplicate_tsns > 0
    # Every gap filled: the set of TSNs held out of order is given back (memory when idle).
    received: object = assoc(sim, "b")._received
    assert received is _NO_TSNS


def test_single_256_kib_message_with_loss() -> None:
    sim = pair(loss=0.05, seed=11)
    payload = os.urandom(256 * 1024)
    assoc(sim, "a").send(0, 53, payload, sim.now)
    sim.run_until(lambda: bool(messages(sim.events_b)), limit=600)
    assert messages(sim.events_b)[0].data == payload


def test_oversized_send_is_refused_and_association_unaffected() -> None:
    sim = pair(SctpConfig(remote_max_message_size=1000))
    a = assoc(sim, "a")
    with pytest.raises(MessageTooLarge):
        a.send(0, 53, bytes(1001), sim.now)
    a.send(0, 53, bytes(1000), sim.now)
    sim.run_until(lambda: bool(messages(sim.events_b)))


def test_oversized_incoming_message_is_discarded_on_its_stream_only() -> None:
    a = SctpAssociation(SctpConfig(remote_max_message_size=100_000), is_client=True)
    b = SctpAssociation(SctpConfig(max_message_size=10_000), is_client=False)
    sim = Link(a, b)
    a.connect(0.0)
    sim.run_until(lambda: a.is_established and b.is_established)
    a.send(1, 53, bytes(50_000), sim.now)
    a.send(2, 53, b"fine", sim.now)
    a.send(1, 53, b"after", sim.now)
    sim.run_until(lambda: len(messages(sim.events_b)) == 2)
    assert [m.data for m in messages(sim.events_b)] == [b"fine", b"after"]
    assert any(isinstance(e, StreamError) and e.stream_id == 1 for e in sim.events_b)
    assert b.is_established


def test_fast_retransmit_recovers_a_single_loss() -> None:
    lost: list[int] = []

    def drop(d: Datagram) -> bool:
        if d.sender == "a" and d.data[12] == c.DATA and not lost:
            tsn = struct.unpack_from("!I", d.data, 16)[0]
            if tsn % 7 == 3:
                lost.append(tsn)
                return True
        return False

    sim = pair()
    sim.drop = drop
    a = assoc(sim, "a")
    for _ in range(40):
        a.send(1, 53, bytes(1000), sim.now)
    sim.run_until(lambda: len(messages(sim.events_b)) == 40)
    assert lost and a.stats.fast_retransmits == 1 and a.stats.t3_expirations == 0


def test_rto_retransmits_when_everything_is_lost_for_a_while() -> None:
    sim = pair()
    a = assoc(sim, "a")
    sim.drop = lambda d: d.sender == "a" and sim.now < 3.0
    a.send(1, 53, b"x" * 3000, sim.now)
    sim.run_until(lambda: bool(messages(sim.events_b)))
    assert a.stats.t3_expirations >= 2
    assert a._rto > a.config.rto_min  # backed off


def test_rto_follows_measured_rtt_and_respects_rto_min() -> None:
    sim = pair(SctpConfig(rto_min=0.05, delayed_ack=0.02), delay=0.005)
    a = assoc(sim, "a")
    for _ in range(50):
        a.send(1, 53, bytes(500), sim.now)
        sim.run_until(lambda: not a._inflight and not a._pending)
    assert 0.05 <= a._rto < 0.1


def test_max_retransmits_zero_abandons_with_forward_tsn() -> None:
    sim = pair(loss=0.2, seed=5)
    a, b = assoc(sim, "a"), assoc(sim, "b")
    for i in range(200):
        a.send(1, 53, struct.pack("!I", i) * 100, sim.now, max_retransmits=0)
    a.send(2, 53, b"reliable", sim.now)
    sim.run_until(lambda: b"reliable" in [m.data for m in messages(sim.events_b)], limit=600)
    sim.run_until(lambda: not a._inflight and not a._pending)
    got = [struct.unpack_from("!I", m.data)[0] for m in messages(sim.events_b, 1)]
    assert got == sorted(got) and 0 < len(got) < 200
    assert a.stats.abandoned_messages > 0 and b._peer_cum == a._cum_acked


def test_lifetime_abandons_unordered_messages() -> None:
    sim = pair(delay=0.05)
    a, b = assoc(sim, "a"), assoc(sim, "b")
    sim.drop = lambda d: d.sender == "a" and d.data[12] == c.DATA and sim.now < 1.0
    for i in range(10):
        a.send(1, 53, bytes([i]) * 2000, sim.now, ordered=False, lifetime=0.3)
    sim.run_until(lambda: a.stats.abandoned_messages == 10 and not a._inflight)
    a.send(1, 53, b"later", sim.now, ordered=False, lifetime=0.3)
    sim.run_until(lambda: bool(messages(sim.events_b)))
    assert [m.data for m in messages(sim.events_b)] == [b"later"]
    assert not b._streams[1].unordered  # nothing left behind


def test_stream_reset_both_directions() -> None:
    sim = pair()
    a, b = assoc(sim, "a"), assoc(sim, "b")
    a.send(5, 53, b"one", sim.now)
    a.send(5, 53, b"two", sim.now)
    a.reset_streams([5], sim.now)
    sim.run_until(lambda: StreamsReset((5,), outgoing=True) in sim.events_a)
    assert StreamsReset((5,), outgoing=False) in sim.events_b
    # Reset came after the data: the receiver saw both messages first.
    idx = sim.events_b.index(StreamsReset((5,), outgoing=False))
    assert [m.data for m in messages(sim.events_b[:idx])] == [b"one", b"two"]
    # SSNs restart at 0 on both sides: new messages flow.
    a.send(5, 53, b"three", sim.now)
    sim.run_until(lambda: len(messages(sim.events_b)) == 3)
    b.reset_streams([5], sim.now)
    sim.run_until(lambda: StreamsReset((5,), outgoing=True) in sim.events_b)


def test_stream_reset_waits_for_missing_data() -> None:
    sim = pair()
    a = assoc(sim, "a")
    sim.drop = lambda d: d.sender == "a" and d.data[12] == c.DATA and sim.now < 0.5
    a.send(5, 53, b"late", sim.now)
    a.reset_streams([5], sim.now)
    sim.run_until(lambda: StreamsReset((5,), outgoing=True) in sim.events_a)
    idx = sim.events_b.index(StreamsReset((5,), outgoing=False))
    assert [m.data for m in messages(sim.events_b[:idx])] == [b"late"]


def test_graceful_shutdown_delivers_queued_data_first() -> None:
    sim = pair(loss=0.1, seed=2)
    a = assoc(sim, "a")
    for i in range(30):
        a.send(1, 53, bytes([i]) * 3000, sim.now)
    a.shutdown(sim.now)
    sim.run_until(
        lambda: AssociationClosed() in sim.events_a and AssociationClosed() in sim.events_b
    )
    assert len(messages(sim.events_b)) == 30
    assert a.deadline() is None and assoc(sim, "b").deadline() is None


def test_abort_reaches_the_peer_with_reason() -> None:
    sim = pair()
    assoc(sim, "a").abort("bye now")
    sim.run_until(lambda: any(isinstance(e, AssociationAborted) for e in sim.events_b))
    aborted = [e for e in sim.events_b if isinstance(e, AssociationAborted)][0]
    assert aborted.by_peer and "bye now" in aborted.reason


def test_heartbeats_keep_an_idle_association_and_detect_a_dead_peer() -> None:
    sim = pair(SctpConfig(heartbeat_interval=1.0))
    a, b = assoc(sim, "a"), assoc(sim, "b")
    start = sim.now
    sim.run_until(lambda: sim.now > start + 30)
    # The side heartbeating (the other answers, which restarts its interval) measures RTT.
    assert a.is_established and (a._srtt is not None or b._srtt is not None)
    sim.drop = lambda d: True
    sim.run_until(lambda: any(isinstance(e, AssociationAborted) for e in sim.events_a))


def _heartbeats_sent(sim: Link, source: tuple[str, int], since: float) -> int:
    return sum(
        type(chunk) is c.HeartbeatChunk  # not its subclass, the ACK
        for d in sim.net.sent
        if d.source == source and d.at >= since
        for chunk in Packet.parse(d.data).chunks
    )


@pytest.mark.parametrize("jitter_seed", [7, 26, 70, 1234])
def test_an_idle_association_is_heartbeat_by_one_side_only(
    jitter_seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Sending the HEARTBEAT ACK restarts the answering side's interval one interval further
    # out, so the side whose timer fires first keeps heartbeating and the other only stands
    # by, however the jitters fall and though deadlines are rounded to a quarter second (which
    # alone let both fire in the same step). Both heartbeat only in the first round, when
    # they may fire within a one-way delay of each other.
    monkeypatch.setattr(association, "HEARTBEAT_JITTER", random.Random(jitter_seed))
    sim = pair(SctpConfig(heartbeat_interval=30.0))
    a, b = assoc(sim, "a"), assoc(sim, "b")
    start = sim.now
    sim.run_until(lambda: sim.now > start + 600, limit=start + 700)
    assert a.is_established and b.is_established
    by_a, by_b = _heartbeats_sent(sim, A, start), _heartbeats_sent(sim, B, start)
    assert 19 <= by_a + by_b <= 21  # about one per interval plus RTO (both: 40)
    assert min(by_a, by_b) <= 1
    assert a._error_count == b._error_count == 0


@pytest.mark.parametrize("jitter_seed", [7, 26])
def test_the_side_that_only_answers_heartbeats_still_finds_its_peer_gone(
    jitter_seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The answering side's timer is the backstop: when the heartbeating peer falls silent it
    # fires (two intervals after the last answer), goes unanswered, and aborts after
    # max_retransmits more intervals, one interval later than the heartbeating side would.
    monkeypatch.setattr(association, "HEARTBEAT_JITTER", random.Random(jitter_seed))
    sim = pair(SctpConfig(heartbeat_interval=5.0))
    start = sim.now
    sim.run_until(lambda: sim.now > start + 60)
    by_a = _heartbeats_sent(sim, A, start + 20)
    by_b = _heartbeats_sent(sim, B, start + 20)
    assert min(by_a, by_b) == 0 and max(by_a, by_b) >= 7
    answering, events, gone = ("b", sim.events_b, A) if by_a else ("a", sim.events_a, B)
    sim.drop = lambda d: d.source == gone
    silent = sim.now
    sim.run_until(lambda: any(isinstance(e, AssociationAborted) for e in events))
    assert not assoc(sim, answering).is_established
    cfg = assoc(sim, answering).config
    # the backstop's two intervals, then max_retransmits + 1 unanswered heartbeats, each
    # after an interval plus up to 1.5 RTO of jitter
    assert cfg.max_retransmits is not None
    rounds = cfg.max_retransmits + 3
    assert sim.now - silent < rounds * (cfg.heartbeat_interval + 1.5 * cfg.rto_initial)


@pytest.mark.parametrize("deaf", ["a", "b"])
def test_a_path_dead_one_way_aborts_both_sides(deaf: str) -> None:
    # Whichever side heartbeats, a path lost in one direction is found: the side that stops
    # hearing its peer heartbeats again, unanswered, and aborts; the ABORT gets through.
    sim = pair(SctpConfig(heartbeat_interval=5.0))
    start = sim.now
    sim.run_until(lambda: sim.now > start + 30)
    lost = B if deaf == "a" else A  # what the deaf side no longer receives
    sim.drop = lambda d: d.source == lost
    sim.run_until(
        lambda: any(isinstance(e, AssociationAborted) for e in sim.events_a)
        and any(isinstance(e, AssociationAborted) for e in sim.events_b)
    )
    assert not assoc(sim, "a").is_established and not assoc(sim, "b").is_established



def test_without_a_retransmission_limit_a_silent_path_never_aborts_and_recovers() -> None:
    # RTCPeerConnection's setting (WEBRTC_MAX_RETRANS): DATA and heartbeats unanswered for
    # minutes abort nothing; ICE consent decides. When the path returns, the message arrives.
    sim = pair(SctpConfig(heartbeat_interval=5.0, max_retransmits=WEBRTC_MAX_RETRANS))
    a = assoc(sim, "a")
    sim.drop = lambda d: True
    a.send(1, 53, b"late", sim.now)
    start = sim.now
    sim.run_until(lambda: sim.now > start + 300)
    assert a.stats.t3_expirations > ASSOCIATION_MAX_RETRANS + 1
    assert a.is_established and assoc(sim, "b").is_established
    assert not any(isinstance(e, AssociationAborted) for e in sim.events_a + sim.events_b)
    sim.drop = lambda d: False
    sim.run_until(lambda: messages(sim.events_b) != [], limit=60)
    assert [m.data for m in messages(sim.events_b)] == [b"late"]


# Heartbeat jitters under which a window left a few bytes open (under one chunk) once aborted
# the sender: its unacknowledged probes counted as errors though SACKs answered every one.
@pytest.mark.parametrize("jitter_seed", [7, 26, 70])
def test_receiver_that_does_not_read_stays_bounded_and_blocks_the_sender(
    jitter_seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(association, "HEARTBEAT_JITTER", random.Random(jitter_seed))
    cfg = SctpConfig(receive_window=64 * 1024, max_message_size=16 * 1024)
    sim = pair(cfg)
    a, b = assoc(sim, "a"), assoc(sim, "b")
    b.reading = False
    for _ in range(200):
        a.send(1, 53, bytes(8192), sim.now)
    start = sim.now
    sim.run_until(lambda: sim.now > start + 60)
    assert b._rx_cost <= cfg.receive_window + cfg.max_message_size
    assert len(b._events) < 20 and a.buffered_amount(1) > 1_000_000
    assert a.is_established  # zero-window probing is not a dead peer
    b.reading = True
    sim.run_until(lambda: len(messages(sim.events_b)) == 200, limit=600)


def test_peer_ignoring_our_window_is_dropped_not_stored() -> None:
    sim = pair(SctpConfig(receive_window=16 * 1024, max_message_size=4096))
    b = assoc(sim, "b")
    b.reading = False
    a = assoc(sim, "a")
    tag = b._my_tag
    base = a._next_tsn
    for i in range(2000):
        data = c.DataChunk(3, (base + i) & 0xFFFFFFFF, 1, i & 0xFFFF, 53, bytes(1000))
        b.receive(encode_packet(5000, 5000, tag, bytes(data)), sim.now)
    assert b._rx_cost <= 16 * 1024 + 4096 and b.stats.data_dropped > 1900


def test_data_without_payload_aborts_with_protocol_violation() -> None:
    sim = pair()
    b = assoc(sim, "b")
    bad = c.DataChunk(3, assoc(sim, "a")._next_tsn & 0xFFFFFFFF, 1, 0, 53, b"")
    b.receive(encode_packet(5000, 5000, b._my_tag, bytes(bad)), sim.now)
    sim.net.drain()
    assert any(isinstance(e, AssociationAborted) and "violation" in e.reason for e in sim.events_b)
    sim.run_until(lambda: any(isinstance(e, AssociationAborted) for e in sim.events_a))


def test_bad_checksum_tag_and_port_are_counted_drops() -> None:
    sim = pair()
    b = assoc(sim, "b")
    good = encode_packet(5000, 5000, b._my_tag, bytes(c.HeartbeatChunk(b"hi")))
    b.receive(good[:14] + bytes([good[14] ^ 1]) + good[15:], sim.now)
    b.receive(encode_packet(5000, 5000, 1234, bytes(c.HeartbeatChunk(b"hi"))), sim.now)
    b.receive(encode_packet(5001, 5000, b._my_tag, bytes(c.HeartbeatChunk(b"hi"))), sim.now)
    assert (b.stats.bad_checksum, b.stats.bad_tag, b.stats.malformed) == (1, 1, 1)
    assert b.is_established


def test_unknown_chunk_types_follow_the_upper_bits_rule() -> None:
    sim = pair()
    b = assoc(sim, "b")
    skip_report = c.UnknownChunk(0xC1, 0, b"zz")
    hb = c.HeartbeatChunk(b"after")
    b.receive(encode_packet(5000, 5000, b._my_tag, bytes(skip_report) + bytes(hb)), sim.now)
    sent: list[c.Chunk] = []
    while (item := b.poll()) is not None:
        if isinstance(item, Transmit):
            sent.extend(Packet.parse(item.data).chunks)
    assert any(isinstance(x, c.ErrorChunk) for x in sent)
    assert c.HeartbeatAckChunk(b"after") in sent
    stop = c.UnknownChunk(0x41, 0, b"")
    b.receive(encode_packet(5000, 5000, b._my_tag, bytes(stop) + bytes(hb)), sim.now)
    sent = []
    while (item := b.poll()) is not None:
        if isinstance(item, Transmit):
            sent.extend(Packet.parse(item.data).chunks)
    assert c.HeartbeatAckChunk(b"after") not in sent


_established = pair()


@settings(max_examples=200)
@given(st.lists(st.binary(max_size=200), max_size=5), st.booleans())
def test_random_input_never_raises(payloads: list[bytes], with_valid_header: bool) -> None:
    b = SctpAssociation(is_client=False)
    est = assoc(_established, "b")
    for target in (b, est):
        for body in payloads:
            data = encode_packet(5000, 5000, target._my_tag, body) if with_valid_header else body
            target.receive(data, 1.0)
            target.tick(2.0)
            while target.poll() is not None:
                pass


@settings(max_examples=200)
@given(st.lists(st.integers(0, 2), min_size=1, max_size=6), st.data())
def test_mutated_chunks_never_raise(kinds: list[int], data: st.DataObject) -> None:
    sim = pair()
    b = assoc(sim, "b")
    tsn = assoc(sim, "a")._next_tsn
    for kind in kinds:
        chunk: c.Chunk
        if kind == 0:
            chunk = c.DataChunk(3, tsn & 0xFFFFFFFF, 1, 0, 53, b"abc")
        elif kind == 1:
            chunk = c.SackChunk(tsn - 1 & 0xFFFFFFFF, 1000, ((1, 3),), (5,))
        else:
            chunk = c.ForwardTsnChunk(tsn + 3 & 0xFFFFFFFF, ((1, 2),))
        wire = bytearray(bytes(chunk))
        for _ in range(data.draw(st.integers(0, 3))):
            wire[data.draw(st.integers(0, len(wire) - 1))] = data.draw(st.integers(0, 255))
        b.receive(encode_packet(5000, 5000, b._my_tag, bytes(wire)), sim.now)
        while b.poll() is not None:
            pass


def test_partially_sent_abandoned_message_does_not_stall_its_ordered_stream() -> None:
    sim = pair()
    a, b = assoc(sim, "a"), assoc(sim, "b")
    # A large maxRetransmits=0 message loses its second fragment while most of it is still
    # queued behind a small cwnd: it is abandoned, its unsent tail gets one abandoned TSN,
    # and FORWARD TSN tells the receiver to drop the partial message and move on.
    first = a._next_tsn
    sim.drop = lambda d: (
        d.sender == "a"
        and d.data[12] == c.DATA
        and struct.unpack_from("!I", d.data, 16)[0] == first + 1
    )
    a._cwnd = 3 * 1200
    a.send(3, 53, bytes(50_000), sim.now, max_retransmits=0)
    a.send(3, 53, b"next", sim.now)
    sim.run_until(lambda: bool(messages(sim.events_b)))
    assert [m.data for m in messages(sim.events_b)] == [b"next"]
    sim.run_until(lambda: not a._inflight and not a._pending)
    assert b._rx_cost == 0 and not b._streams[3].buffered


def data_tsn(d: Datagram) -> int | None:
    """The TSN of the DATA chunk a datagram starts with, if it does."""
    return struct.unpack_from("!I", d.data, 16)[0] if d.data[12] == c.DATA else None


def carries(d: Datagram, chunk_type: type[c.Chunk]) -> bool:
    return any(isinstance(ch, chunk_type) for ch in Packet.parse(d.data).chunks)


def test_forward_tsn_delivers_messages_that_arrived_but_whose_sacks_were_lost() -> None:
    # Three maxRetransmits=0 messages on one ordered stream: the first is lost, the other two
    # arrive, and every SACK is lost until T3 expires. The sender then abandons all three and
    # its FORWARD TSN skips to the third's SSN; the receiver must deliver the two it holds
    # (RFC 3758 §3.6), not drop them with the skipped one.
    sim = pair()
    a, b = assoc(sim, "a"), assoc(sim, "b")
    first = a._next_tsn
    sim.drop = lambda d: (
        (d.sender == "a" and data_tsn(d) == first)
        or (d.sender == "b" and a.stats.t3_expirations == 0)
    )
    for i in range(3):
        a.send(1, 53, bytes([i]) * 1000, sim.now, max_retransmits=0)
    sim.run_until(lambda: not a._inflight and not a._pending)
    assert a.stats.abandoned_messages == 3
    assert [m.data for m in messages(sim.events_b)] == [bytes([1]) * 1000, bytes([2]) * 1000]
    assert b._rx_cost == 0


def test_data_retransmissions_back_off_to_three_seconds() -> None:
    # T3-rtx backs off like the set-up timers, to libwebrtc's 3 s (MAX_TIMER_BACKOFF), not to
    # RTO.Max: a run of lost SACKs costs seconds of retransmission gaps, not 10 s steps.
    sim = pair()
    a = assoc(sim, "a")
    sent: list[float] = []

    def drop(d: Datagram) -> bool:
        if d.sender == "a" and d.data[12] == c.DATA:
            sent.append(sim.now)
        return d.sender == "b" and sim.now < 30.0

    sim.drop = drop
    a.send(1, 53, b"x", sim.now)
    sim.run_until(lambda: not a._inflight and not a._pending)
    gaps = [y - x for x, y in zip(sent, sent[1:], strict=False)]
    assert gaps[:2] == pytest.approx([1.0, 2.0])
    assert max(gaps) == pytest.approx(3.0)
    assert sim.now < 30.0 + 3.1
    assert a._rto == pytest.approx(3.0)  # until an RTT is measured again


def test_a_forward_tsn_held_back_by_lost_sacks_goes_out_soon_after_they_get_through() -> None:
    # Seed 29 of the whole-stack scenario at 30 % loss, in miniature. A reliable message
    # arrives but the SACKs reporting it are lost for 20 s; the maxRetransmits=0 message after
    # it is lost and abandoned, and the next message on its stream waits for it. FORWARD TSN
    # cannot skip past the reliable message until a SACK acknowledges it, which only its
    # retransmission draws out: at 10 s backoff steps the receiver waited up to 10 s more
    # after the path healed (the scenario's 30 s of grace ran out first), at 3 s it waits 3.
    sim = pair()
    a = assoc(sim, "a")
    lost = a._next_tsn + 1
    sim.drop = lambda d: (
        (d.sender == "a" and data_tsn(d) == lost) or (d.sender == "b" and sim.now < 20.0)
    )
    a.send(1, 53, bytes(1000), sim.now)
    a.send(3, 53, b"lost" * 250, sim.now, max_retransmits=0)
    a.send(3, 53, b"held" * 250, sim.now)
    sim.run_until(lambda: bool(messages(sim.events_b, 3)))
    assert [m.data for m in messages(sim.events_b, 3)] == [b"held" * 250]
    assert sim.now < 20.0 + 3.1


def test_a_lost_forward_tsn_rides_on_the_next_packet_after_a_round_trip() -> None:
    # The first FORWARD TSN is lost. A SACK the sender owes for the peer's data a round trip
    # later carries it again (RFC 3758 F2, as libwebrtc's dcsctp does), so the receiver need
    # not wait for the next T3 expiry to deliver what it holds behind the abandoned message.
    sim = pair()
    a, b = assoc(sim, "a"), assoc(sim, "b")
    a.send(1, 53, b"rtt", sim.now)  # an RTT measured: the round trip to wait
    sim.run_until(lambda: not a._inflight and not a._pending)
    lost = a._next_tsn
    forwards: list[float] = []

    def drop(d: Datagram) -> bool:
        if d.sender == "a" and carries(d, c.ForwardTsnChunk):
            forwards.append(sim.now)
            return len(forwards) == 1
        return d.sender == "a" and data_tsn(d) == lost

    sim.drop = drop
    a.send(3, 53, b"lost" * 250, sim.now, max_retransmits=0)
    a.send(3, 53, b"held" * 250, sim.now, max_retransmits=0)
    sim.run_until(lambda: bool(forwards))
    assert a.stats.t3_expirations == 1
    srtt = a._srtt
    assert srtt is not None
    sim.net.run(until=forwards[0] + srtt)
    b.send(5, 53, b"ping", sim.now)
    sim.run_until(lambda: bool(messages(sim.events_b, 3)))
    assert [m.data for m in messages(sim.events_b, 3)] == [b"held" * 250]
    assert a.stats.t3_expirations == 1 and len(forwards) == 2


@pytest.mark.parametrize("seed", range(4))
def test_random_mixed_traffic_both_ways(seed: int) -> None:
    rng = random.Random(seed)
    sim = pair(loss=0.1, reorder=0.2, duplicate=0.05, seed=seed, delay=0.02)
    a, b = assoc(sim, "a"), assoc(sim, "b")
    sent: dict[str, list[tuple[int, bytes]]] = {"a": [], "b": []}
    for _ in range(40):
        for side, ep in (("a", a), ("b", b)):
            kind = rng.randrange(4)
            data = rng.randbytes(rng.choice([1, 100, 1172, 1173, 5000, 70000]))
            if kind == 0:
                ep.send(1, 53, data, sim.now)
                sent[side].append((1, data))
            elif kind == 1:
                ep.send(2, 53, data, sim.now, ordered=False)
                sent[side].append((2, data))
            elif kind == 2:
                ep.send(3, 53, data, sim.now, max_retransmits=rng.randrange(3))
            else:
                ep.send(4, 53, data, sim.now, ordered=rng.random() < 0.5, lifetime=rng.random())
        for _ in range(rng.randrange(10)):
            sim.step()

    def delivered() -> bool:
        for side, events in (("a", sim.events_b), ("b", sim.events_a)):
            if [d for s, d in sent[side] if s == 1] != [m.data for m in messages(events, 1)]:
                return False
            want = sorted(d for s, d in sent[side] if s == 2)
            if want != sorted(m.data for m in messages(events, 2)):
                return False
        return True

    sim.run_until(delivered, limit=3000)
    sim.run_until(lambda: not (a._inflight or a._pending or b._inflight or b._pending), limit=3000)
    assert a._rx_cost == 0 and b._rx_cost == 0


def test_reset_request_numbers_start_at_initial_tsn_and_bad_ones_are_refused() -> None:
    sim = pair()
    a, b = assoc(sim, "a"), assoc(sim, "b")
    seen: list[c.OutgoingResetRequest] = []

    def spy(d: Datagram) -> bool:
        for chunk in Packet.parse(d.data).chunks:
            if isinstance(chunk, c.ReconfigChunk):
                seen.extend(p for p in chunk.params if isinstance(p, c.OutgoingResetRequest))
        return False

    sim.drop = spy
    a.reset_streams([1], sim.now)
    sim.run_until(lambda: StreamsReset((1,), outgoing=True) in sim.events_a)
    assert seen[0].request_seq == a._init_tsn & 0xFFFFFFFF
    assert seen[0].response_seq == (b._init_tsn - 1) & 0xFFFFFFFF
    bogus = c.OutgoingResetRequest(12345, 0, b._peer_cum & 0xFFFFFFFF, (2,))
    b.receive(encode_packet(5000, 5000, b._my_tag, bytes(c.ReconfigChunk((bogus,)))), sim.now)
    replies = [
        p
        for item in iter(b.poll, None)
        if isinstance(item, Transmit)
        for chunk in Packet.parse(item.data).chunks
        if isinstance(chunk, c.ReconfigChunk)
        for p in chunk.params
    ]
    assert replies == [c.ReconfigResponse(12345, c.RESULT_ERROR_BAD_SEQ)]


def test_config_must_let_a_whole_message_fit_in_the_window() -> None:
    with pytest.raises(ValueError, match="receive_window"):
        SctpAssociation(SctpConfig(max_message_size=1 << 20, receive_window=1 << 20))
    SctpAssociation(SctpConfig(max_message_size=1 << 20, receive_window=2 << 20))


def test_no_timer_is_left_expired_after_tick() -> None:
    # Whatever the state, after tick(now) the next deadline is in the future (no busy loop).
    sim = pair(loss=0.2, seed=4)
    a = assoc(sim, "a")
    for _ in range(20):
        a.send(1, 53, bytes(3000), sim.now)
    a.shutdown(sim.now)
    while sim.step():
        for ep in (sim.a, sim.b):
            d = ep.deadline()
            assert d is None or d > sim.now
        if sim.now > 600:
            break
    assert AssociationClosed() in sim.events_a


def test_stream_spray_keeps_incoming_state_small_and_ordering_intact() -> None:
    sim = pair()
    a, b = assoc(sim, "a"), assoc(sim, "b")
    for sid in range(3000):
        a.send(sid, 53, b"x", sim.now)
    sim.run_until(lambda: len(messages(sim.events_b)) == 3000)
    assert len(b._streams) <= 257
    # A compacted stream remembers its next SSN: the second message on it is delivered.
    a.send(7, 53, b"second on 7", sim.now)
    sim.run_until(lambda: len(messages(sim.events_b)) == 3001)
    assert messages(sim.events_b)[-1].data == b"second on 7"


def test_out_of_order_tsns_held_are_capped() -> None:
    sim = pair()
    b = assoc(sim, "b")
    base = assoc(sim, "a")._next_tsn
    chunks = [
        bytes(c.DataChunk(7, (base + 2 + i) & 0xFFFFFFFF, 1, 0, 53, b"z")) for i in range(6000)
    ]
    for i in range(0, len(chunks), 50):
        b.receive(encode_packet(5000, 5000, b._my_tag, b"".join(chunks[i : i + 50])), sim.now)
        while b.poll() is not None:
            pass
    assert len(b._received) <= 4096 and b.stats.data_dropped >= 6000 - 4096


def test_a_reset_request_goes_out_on_the_next_poll_without_other_input() -> None:
    sim = pair()
    a = assoc(sim, "a")
    while a.poll() is not None:
        pass
    a.reset_streams([7], sim.now)
    out = a.poll()
    assert isinstance(out, Transmit)
    packet = Packet.parse(out.data)
    assert any(isinstance(chunk, c.ReconfigChunk) for chunk in packet.chunks)
