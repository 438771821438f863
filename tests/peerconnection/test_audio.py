"""Audio between two pywebrtc peer connections on loopback: SDP, SRTP, Opus, stats.

Real time: the tone tracks pace at 20 ms, so each test waits for real decoded frames (bounded
by timeouts), never on a fixed delay.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable

import av
import pytest
from av.stream import Stream

from pywebrtc import (
    MediaStreamTrack,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
    SettingEngine,
)
from pywebrtc.media import OPUS, EncodedAudioTrack, RemoteAudioTrack, create_encoder
from pywebrtc.sdp import Direction, SessionDescription
from pywebrtc.stats import RTCInboundRtpStreamStats, RTCOutboundRtpStreamStats
from pywebrtc.transmit import Address

from .audio_helpers import ToneTrack, tone_of
from .helpers import InboundLink, negotiate, reach

TIMEOUT = 20.0


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 40))


def settings() -> SettingEngine:
    s = SettingEngine()
    s.include_loopback = True
    return s


async def next_track(pc: RTCPeerConnection) -> asyncio.Future[MediaStreamTrack]:
    fut: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if not fut.done():
            fut.set_result(track)

    return fut


def test_tone_flows_both_ways_next_to_a_data_channel() -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        a.createDataChannel("chat")
        a.addTrack(ToneTrack(440))
        b.addTrack(ToneTrack(1000))
        a_track, b_track = await next_track(a), await next_track(b)
        channel_b: asyncio.Future[object] = asyncio.get_running_loop().create_future()

        @b.on("datachannel")
        def on_channel(channel: object) -> None:
            if not channel_b.done():
                channel_b.set_result(channel)

        await negotiate(a, b)
        offer = SessionDescription.parse(a.localDescription.sdp)  # type: ignore[union-attr]
        assert [m.media for m in offer.media] == ["application", "audio"]
        group = offer.group("BUNDLE")
        assert group is not None and group.mids == ("0", "1")
        await asyncio.wait_for(channel_b, TIMEOUT)
        heard_by_b = await tone_of(await b_track)
        heard_by_a = await tone_of(await a_track)
        assert abs(heard_by_b - 440) < 10, heard_by_b
        assert abs(heard_by_a - 1000) < 20, heard_by_a
        for pc in (a, b):
            (t,) = pc.getTransceivers()
            assert isinstance(t, RTCRtpTransceiver)
            assert t.mid == "1" and t.currentDirection == "sendrecv"
            assert isinstance(t.receiver.track, RemoteAudioTrack)
        stats = await b.getStats()
        inbound = stats.of_type("inbound-rtp")
        outbound = stats.of_type("outbound-rtp")
        assert isinstance(inbound[0], RTCInboundRtpStreamStats)
        assert inbound[0].packetsReceived > 20 and inbound[0].bytesReceived > 1000
        assert isinstance(outbound[0], RTCOutboundRtpStreamStats)
        assert outbound[0].packetsSent > 20 and outbound[0].bytesSent > 1000
        assert stats.of_type("codec") and stats.of_type("media-source")
        await a.close()
        await b.close()

    run(body)


def test_sendonly_offer_gets_a_recvonly_answer_and_frames() -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        a.addTransceiver(ToneTrack(440), direction="sendonly")
        track_b = await next_track(b)
        await negotiate(a, b)
        (tb,) = b.getTransceivers()
        assert tb.currentDirection == "recvonly"
        answer = SessionDescription.parse(b.localDescription.sdp)  # type: ignore[union-attr]
        assert answer.media[0].direction is Direction.RECVONLY
        (ta,) = a.getTransceivers()
        assert ta.currentDirection == "sendonly"
        track = await track_b
        assert isinstance(track, RemoteAudioTrack)
        frame = await asyncio.wait_for(track.recv(), TIMEOUT)
        assert isinstance(frame, av.AudioFrame)
        await a.close()
        await b.close()

    run(body)


def test_raw_receiver_returns_encoded_packets() -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        t = b.addTransceiver("audio", direction="recvonly", decode=False)
        a_track = ToneTrack(440)
        await negotiate(b, a)  # b offers recvonly; a has no track: inactive
        assert a.getTransceivers()[0].currentDirection == "inactive"
        a.addTrack(a_track)
        await negotiate(a, b)  # renegotiation: a now sends
        assert t.currentDirection == "recvonly"
        assert isinstance(t.receiver.track, EncodedAudioTrack)
        packet = await asyncio.wait_for(t.receiver.track.recv(), TIMEOUT)
        assert isinstance(packet, av.Packet) and 0 < packet.size < 400
        await a.close()
        await b.close()

    run(body)


def test_audio_added_to_a_data_only_session_then_stopped() -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        a.createDataChannel("events")
        await negotiate(a, b)
        await reach(a, "connectionState", "connected")
        track_b = await next_track(b)
        sender = a.addTrack(ToneTrack(600))
        await negotiate(a, b)
        heard = await tone_of(await track_b, 0.4)
        assert abs(heard - 600) < 15, heard
        (ta,) = a.getTransceivers()
        assert sender is ta.sender and ta.mid == "1"
        ta.stop()
        await negotiate(a, b)
        offer = SessionDescription.parse(a.localDescription.sdp)  # type: ignore[union-attr]
        assert offer.media[1].port == 0
        (tb,) = b.getTransceivers()
        assert tb.stopped and tb.direction == "stopped"
        assert a.connectionState == "connected"
        await a.close()
        await b.close()

    run(body)


@pytest.mark.parametrize("direction", ["sendrecv", "sendonly", "recvonly", "inactive"])
def test_offered_direction_is_answered_mirrored(direction: str) -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        a.addTransceiver("audio", direction=direction)
        b.addTrack(ToneTrack(440))
        await a.setLocalDescription(await a.createOffer())
        await b.setRemoteDescription(a.localDescription)  # type: ignore[arg-type]
        answer = SessionDescription.parse((await b.createAnswer()).sdp)
        expected = {
            "sendrecv": Direction.SENDRECV,
            "sendonly": Direction.RECVONLY,
            "recvonly": Direction.SENDONLY,
            "inactive": Direction.INACTIVE,
        }[direction]
        assert answer.media[0].direction is expected
        await a.close()
        await b.close()

    run(body)


def test_bad_srtp_is_dropped_and_counted_and_audio_continues() -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        a.addTrack(ToneTrack(500))
        track_b = await next_track(b)
        await negotiate(a, b)
        track = await track_b
        await asyncio.wait_for(track.recv(), TIMEOUT)
        rtp_like = bytes([0x80, 111]) + bytes(range(40))  # fails SRTP authentication
        rtcp_like = bytes([0x81, 200, 0, 6]) + bytes(range(40))
        session, driver = b._session, b._driver
        assert session is not None and driver is not None
        pair = session.agent.selected_pair()
        assert pair is not None
        now = asyncio.get_running_loop().time()
        for datagram in (rtp_like, rtcp_like, b"\x80", bytes([0x80, 111, 0, 1])):
            session.receive(datagram, pair.remote.address, pair.local_base, now)
        driver.flush()
        assert session.counters.dropped_srtp == 4
        heard = await tone_of(track, 0.3)
        assert abs(heard - 500) < 15, heard
        await a.close()
        await b.close()

    run(body)


def test_sending_track_may_return_encoded_opus_packets() -> None:
    """Raw mode on the send side: av.Packets from recv() go out as they are."""

    class EncodedTone(MediaStreamTrack):
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.source = ToneTrack(700)
            self.encoder = create_encoder(OPUS)

        async def recv(self) -> av.Packet[Stream]:
            while True:
                frame = await self.source.recv()
                for encoded in self.encoder.encode(frame):
                    packet = av.Packet(encoded.payload)
                    packet.pts = encoded.media_time
                    return packet

    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        a.addTrack(EncodedTone())
        track_b = await next_track(b)
        await negotiate(a, b)
        heard = await tone_of(await track_b, 0.4)
        assert abs(heard - 700) < 15, heard
        await a.close()
        await b.close()

    run(body)


def test_ten_percent_loss_audio_continues_and_nack_recovers() -> None:
    """A lossy network in front of the receiver (seeded: 10% of SRTP datagrams dropped)."""

    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        a.addTrack(ToneTrack(440))
        track_b = await next_track(b)
        b._ensure_ice(controlling=False)  # b answers: the controlled side
        link = InboundLink(b)
        deliver = link.deliver
        rng = random.Random(7)
        lost = 0

        def lossy(data: bytes, remote: Address, local: Address, now: float) -> bool:
            nonlocal lost
            if data and 128 <= data[0] <= 191 and rng.random() < 0.10:
                lost += 1
                return False
            return deliver(data, remote, local, now)

        link.receive = lossy
        await negotiate(a, b)
        heard = await tone_of(await track_b, 1.5)
        assert abs(heard - 440) < 15, heard
        assert lost > 5
        stats = await b.getStats()
        (inbound,) = stats.of_type("inbound-rtp")
        assert isinstance(inbound, RTCInboundRtpStreamStats)
        assert inbound.nackCount > 0, inbound  # NACK is negotiated between two pywebrtc
        # Retransmissions fill (almost) every gap before playout.
        assert inbound.packetsLost <= lost // 2, (inbound, lost)
        await a.close()
        await b.close()
        link.close()

    run(body)


def test_setting_engine_audio_decode_false_makes_every_remote_track_raw() -> None:
    async def body() -> None:
        raw = settings()
        raw.set_audio_decode(False)
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=raw)
        a.addTrack(ToneTrack(440))
        track_b = await next_track(b)
        await negotiate(a, b)
        track = await track_b
        assert isinstance(track, EncodedAudioTrack)
        packet = await asyncio.wait_for(track.recv(), TIMEOUT)
        assert isinstance(packet, av.Packet) and packet.size > 0
        await a.close()
        await b.close()

    run(body)


async def echoing_pair() -> tuple[
    RTCPeerConnection, RTCPeerConnection, asyncio.Future[MediaStreamTrack]
]:
    """a sends a 700 Hz tone; b sends a's packets back on the same transceiver (its raw
    receiver track, forward mode); negotiated. Returns a, b and a's future remote track."""
    echo = settings()
    echo.set_audio_decode(False, forward=True)
    a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=echo)
    a.addTrack(ToneTrack(700))
    track_a = await next_track(a)

    async def on_track(track: MediaStreamTrack) -> None:
        (t,) = b.getTransceivers()
        t.direction = "sendrecv"
        await t.sender.replaceTrack(track)

    b.on("track", on_track)
    await negotiate(a, b)
    return a, b, track_a


def test_raw_forwarded_track_sent_back_goes_packet_by_packet_without_a_sender_task() -> None:
    """An echo: b sends a's audio back on the same transceiver (its own raw receiver track,
    forward mode). Each packet goes from the receiving session to the sender as it arrives,
    not through the track's queue and a sender task; a hears its own tone."""

    async def body() -> None:
        a, b, track_a = await echoing_pair()
        heard = await tone_of(await track_a, 0.4)
        assert abs(heard - 700) < 15, heard
        (t,) = b.getTransceivers()
        assert t.send_task is None and t.forwarded_by == (t,)
        assert isinstance(t.receiver.track, EncodedAudioTrack) and not t.receiver.track._items
        await t.sender.replaceTrack(None)
        assert not t.forwarded_by
        await a.close()
        await b.close()

    run(body)


def test_an_echoed_packet_leaves_within_the_datagram_that_brought_it() -> None:
    """The driver's media fast path: SRTP on the selected pair that only the media plane
    answers (b echoes a's packets) is protected and sent inside the datagram call, with no
    flush scheduled; the session's timer still comes no later than the media plane's
    deadline. A datagram that is not media (DTLS) still gets the usual flush."""

    async def body() -> None:
        a, b, track_a = await echoing_pair()
        await asyncio.wait_for((await track_a).recv(), TIMEOUT)
        (ta,) = a.getTransceivers()
        await ta.sender.replaceTrack(None)  # only the packets made here from now on
        await asyncio.sleep(0.05)
        session_a, session_b, driver = a._session, b._session, b._driver
        assert session_a is not None and session_a.srtp is not None
        assert session_b is not None and driver is not None
        negotiated = ta.negotiated
        assert negotiated is not None and negotiated.send_codec is not None
        pair = session_b.agent.selected_pair()
        assert pair is not None
        sent: list[tuple[bytes, Address]] = []
        port = driver._ports[pair.local_base]

        def record(data: bytes, destination: Address) -> None:
            sent.append((data, destination))
            port(data, destination)

        driver._ports[pair.local_base] = record
        pt, ssrc = negotiated.send_codec.payload_type, ta.sender.ssrc
        assert ta.session is not None and ta.session.sender is not None
        first = ta.session.sender.sequence_number  # a's next one: after what b has seen
        for n in range(3):
            seq = (first + n) & 0xFFFF
            rtp = bytes([0x80, pt]) + seq.to_bytes(2, "big") + (960 * seq).to_bytes(4, "big")
            rtp += ssrc.to_bytes(4, "big") + bytes([0xFC, 1, 2, 3])
            driver.datagram(
                session_a.srtp.outbound.protect_rtp(rtp), pair.remote.address, pair.local_base
            )
            assert len(sent) == n + 1 and sent[-1][1] == pair.remote.address
            assert not driver._flush_scheduled
            deadline = session_b.media.deadline()
            assert deadline is not None and driver.when is not None
            assert driver.when <= deadline
        # SRTP that fails authentication: dropped, counted, nothing to send, still no flush.
        driver.datagram(bytes([0x80, pt]) + bytes(40), pair.remote.address, pair.local_base)
        assert session_b.counters.dropped_srtp == 1 and len(sent) == 3
        assert not driver._flush_scheduled
        # A DTLS record (a bogus one) is not media: the usual flush follows.
        driver.datagram(bytes([23, 0xFE, 0xFD]) + bytes(20), pair.remote.address, pair.local_base)
        assert driver._flush_scheduled
        await a.close()
        await b.close()

    run(body)


def test_the_first_echoed_packet_files_the_first_report_it_schedules() -> None:
    """The driver's media fast path reads the media plane's deadline only when it may have
    moved earlier (MediaPlane.deadline_moved). An echo whose session had no report scheduled
    schedules the first one (RFC 3550 §6.2: within about a second): the driver's timer must
    come by then, although no flush follows the datagram. Later echoes leave the deadline
    where it was and are not read for it."""

    async def body() -> None:
        echo = settings()
        echo.set_audio_decode(False, forward=True)
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=echo)
        a.addTransceiver("audio", "sendrecv")  # no track: a sends nothing on its own

        async def on_track(track: MediaStreamTrack) -> None:
            (t,) = b.getTransceivers()
            t.direction = "sendrecv"
            await t.sender.replaceTrack(track)

        b.on("track", on_track)
        # Offered with no header extension or RTCP feedback (no NACK, no transport-wide
        # sequence numbers), as bench/siggen offers: b's echo takes MediaPlane's fast path.
        await a.setLocalDescription(await a.createOffer())
        assert a.localDescription is not None
        offer = "".join(
            line
            for line in a.localDescription.sdp.splitlines(keepends=True)
            if not line.startswith(("a=extmap:", "a=rtcp-fb:"))
        )
        await b.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await b.setLocalDescription(await b.createAnswer())
        assert b.localDescription is not None
        await a.setRemoteDescription(b.localDescription)
        await reach(b, "connectionState", "connected")
        (ta,), (tb,) = a.getTransceivers(), b.getTransceivers()
        for _ in range(100):
            if a._session is not None and a._session.media.keys is not None and tb.forwarded_by:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # ICE's checks done: the session's next timer is far off
        session_a, session_b, driver = a._session, b._session, b._driver
        assert session_a is not None and session_a._ensure_srtp() is not None
        assert session_a.srtp is not None
        assert session_b is not None and driver is not None and tb.forwarded_by == (tb,)
        assert tb.session is not None and tb.session.reporter.deadline() is None
        negotiated = ta.negotiated
        assert negotiated is not None and negotiated.send_codec is not None
        pair = session_b.agent.selected_pair()
        assert pair is not None
        sent: list[bytes] = []
        port = driver._ports[pair.local_base]

        def record(data: bytes, destination: Address) -> None:
            sent.append(data)
            port(data, destination)

        driver._ports[pair.local_base] = record
        pt, ssrc = negotiated.send_codec.payload_type, ta.sender.ssrc
        loop = asyncio.get_running_loop()
        for seq in range(1, 4):
            rtp = bytes([0x80, pt]) + seq.to_bytes(2, "big") + (960 * seq).to_bytes(4, "big")
            rtp += ssrc.to_bytes(4, "big") + bytes([0xFC, 1, 2, 3])
            driver.datagram(
                session_a.srtp.outbound.protect_rtp(rtp), pair.remote.address, pair.local_base
            )
            assert len(sent) == seq and not driver._flush_scheduled  # the fast path
            report = tb.session.reporter.deadline()
            assert report is not None and report < loop.time() + 2.0
            assert driver.when is not None and driver.when <= report
            assert not session_b.media.deadline_moved  # read and filed (or left where it was)
        await a.close()
        await b.close()

    run(body)


def test_rtcp_report_interval_setting_reaches_the_audio_sessions() -> None:
    """SettingEngine.set_rtcp_report_interval: b's audio session draws its reports around a
    5 s minimum (RFC 3550 §6.3.1, tests/rtp/test_reports.py), a's around the 1 s default;
    out-of-range values are refused."""
    from pywebrtc.settings import SettingError

    for bad in (0.0, 0.05, 61.0):
        with pytest.raises(SettingError):
            settings().set_rtcp_report_interval(bad)

    async def body() -> None:
        slow = settings()
        slow.set_rtcp_report_interval(5.0)
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=slow)
        a.addTrack(ToneTrack(440))
        b.addTrack(ToneTrack(880))
        track_b = await next_track(b)
        await negotiate(a, b)
        await asyncio.wait_for((await track_b).recv(), TIMEOUT)
        now = asyncio.get_running_loop().time()
        for pc, minimum in ((a, 1.0), (b, 5.0)):
            (t,) = pc.getTransceivers()
            assert t.session is not None
            reporter = t.session.reporter
            assert reporter.min_interval == minimum
            assert reporter._next_report is not None
            # Never later than the longest interval its minimum allows from now.
            assert reporter._next_report - now <= 1.5 * minimum / (math.e - 1.5)
        await a.close()
        await b.close()

    run(body)


def test_setting_engine_opus_encoder_reaches_the_wire() -> None:
    from pywebrtc.media.libopus import LibopusEncoder, opus_mode
    from pywebrtc.settings import SettingError

    with pytest.raises(SettingError):
        settings().set_opus_encoder(application="music")
    with pytest.raises(ValueError):
        settings().set_opus_encoder(complexity=11)
    with pytest.raises(ValueError):
        settings().set_opus_encoder(bitrate=1000)

    async def body() -> None:
        modes = {}
        for application in ("audio", "voip"):
            sender_settings = settings()
            sender_settings.set_opus_encoder(application=application, complexity=3)
            raw = settings()
            raw.set_audio_decode(False)
            a, b = RTCPeerConnection(settings=sender_settings), RTCPeerConnection(settings=raw)
            a.addTrack(ToneTrack(440))
            track_b = await next_track(b)
            await negotiate(a, b)
            track = await track_b
            packets = [await asyncio.wait_for(track.recv(), TIMEOUT) for _ in range(10)]
            assert all(isinstance(p, av.Packet) for p in packets)
            modes[application] = {opus_mode(bytes(p)) for p in packets[3:]}  # type: ignore[arg-type]
            (t,) = a.getTransceivers()
            assert t.session is not None
            encoder = t.session.encoder
            assert isinstance(encoder, LibopusEncoder) and encoder.complexity == 3
            await a.close()
            await b.close()
        assert modes["audio"] == {"CELT"}  # no loss reported on loopback
        assert modes["voip"] <= {"SILK", "hybrid"}

    run(body)


def test_two_audio_sections_are_routed_apart_and_remove_track_goes_recvonly() -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        first = a.addTrack(ToneTrack(440))
        a.addTrack(ToneTrack(900))
        tracks: list[MediaStreamTrack] = []
        b.on("track", tracks.append)
        await negotiate(a, b)
        offer = SessionDescription.parse(a.localDescription.sdp)  # type: ignore[union-attr]
        assert [m.mid for m in offer.media] == ["0", "1"]
        assert len(tracks) == 2
        heard = [await tone_of(track, 0.3) for track in tracks]
        assert abs(heard[0] - 440) < 15 and abs(heard[1] - 900) < 20, heard
        a.removeTrack(first)
        await negotiate(a, b)
        ta, _ = a.getTransceivers()
        tb, _ = b.getTransceivers()
        assert ta.direction == "recvonly" and ta.currentDirection == "inactive"
        assert tb.currentDirection == "inactive"
        assert [s.track for s in a.getSenders()][0] is None
        await a.close()
        await b.close()

    run(body)


def test_track_fires_in_set_remote_description_so_an_echo_can_answer_sendrecv() -> None:
    """aiortc's echo pattern: addTrack inside the track handler, before the answer."""

    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        a.addTrack(ToneTrack(800))
        echoed = await next_track(a)

        @b.on("track")
        def echo(track: MediaStreamTrack) -> None:
            b.addTrack(track)

        await negotiate(a, b)
        (tb,) = b.getTransceivers()
        assert tb.currentDirection == "sendrecv"
        heard = await tone_of(await echoed, 0.4)
        assert abs(heard - 800) < 15, heard
        await a.close()
        await b.close()

    run(body)


def test_audio_on_uvloop_without_timer_spin() -> None:
    """uvloop: call_at may return a plain Handle and timers fire up to 1 ms early. Audio must
    flow, and the one peer-connection timer must fire about as often as work is due (50
    playouts/s plus RTCP), not spin until the deadline passes."""
    import uvloop

    async def body() -> None:
        a, b = RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())
        a.addTrack(ToneTrack(440))
        b.addTrack(ToneTrack(1000))
        b_track = await next_track(b)
        await negotiate(a, b)
        heard = await tone_of(await b_track)
        assert abs(heard - 440) < 10, heard
        driver = b._driver
        assert driver is not None
        fired = driver.wakeups
        loop = asyncio.get_running_loop()
        start = loop.time()
        await tone_of(await b_track, seconds=1.0)
        rate = (driver.wakeups - fired) / (loop.time() - start)
        assert rate < 100, f"{rate:.0f} timer wake-ups per second"
        await a.close()
        await b.close()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(asyncio.wait_for(body(), 40))
