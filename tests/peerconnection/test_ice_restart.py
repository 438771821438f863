"""ICE restart between two pywebrtc peer connections over real loopback sockets (W3C
``restartIce()`` §4.4.1.6, ``createOffer({iceRestart})``, JSEP §5.2.1 / §5.3.1 / §5.10).

Each side restarts in turn: new ufrag/pwd on both sides, new candidates on new sockets (or the
same UDP mux under a new ufrag), a new selected pair, and the same DTLS association, SCTP
association, data channels and SRTP sessions carrying on over it. A client whose address
changes (its socket gone, a new one on another loopback address) recovers through a restart.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable

import pytest

from pywebrtc import RTCDataChannel, RTCPeerConnection, SettingEngine
from pywebrtc.ice import Candidate, open_udp_mux
from pywebrtc.ice.agent import Agent
from pywebrtc.sdp import SessionDescription
from pywebrtc.stats import RTCInboundRtpStreamStats
from tests.peerconnection.audio_helpers import ToneTrack, tone_of
from tests.peerconnection.helpers import Inbox, Recorder, channel_event, incoming, negotiate, reach

TIMEOUT = 20.0


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 60))


def loopback() -> SettingEngine:
    s = SettingEngine()
    s.set_include_loopback(True)
    return s


def ufrag_of(pc: RTCPeerConnection) -> str:
    description = pc.localDescription
    assert description is not None
    parsed = SessionDescription.parse(description.sdp)
    ufrag = parsed.media[0].ice_ufrag or parsed.ice_ufrag
    assert ufrag is not None
    return ufrag


def selected(pc: RTCPeerConnection) -> tuple[Candidate, Candidate]:
    assert pc._session is not None
    pair = pc._session.agent.selected_pair(1)
    assert pair is not None
    return pair.local, pair.remote


async def nominated(pc: RTCPeerConnection, old: tuple[Candidate, Candidate]) -> None:
    """Wait until ICE has selected a pair other than ``old`` and no restart is pending."""
    session = pc._session
    assert session is not None
    for _ in range(int(TIMEOUT / 0.01)):
        pair = session.agent.selected_pair(1)
        if session.agent.nominated and pair is not None and (pair.local, pair.remote) != old:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no new pair selected")


def _agent(pc: RTCPeerConnection) -> Agent:
    assert pc._session is not None
    return pc._session.agent


def _dtls(pc: RTCPeerConnection) -> object:
    assert pc._session is not None
    return pc._session.dtls


async def restart(restarter: RTCPeerConnection, other: RTCPeerConnection) -> None:
    """``restarter`` calls restartIce(), which fires negotiationneeded; it then offers."""
    needed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_needed() -> None:
        if not needed.done():
            needed.set_result(None)

    restarter.on("negotiationneeded", on_needed)
    restarter.restartIce()
    await asyncio.wait_for(needed, TIMEOUT)
    await negotiate(restarter, other)


async def chat_pair(
    a_settings: SettingEngine | None = None, b_settings: SettingEngine | None = None
) -> tuple[RTCPeerConnection, RTCPeerConnection, RTCDataChannel, RTCDataChannel]:
    a = RTCPeerConnection(settings=a_settings or loopback())
    b = RTCPeerConnection(settings=b_settings or loopback())
    theirs = asyncio.ensure_future(incoming(b))
    ours = a.createDataChannel("chat")
    await negotiate(a, b)
    remote = await theirs
    await channel_event(ours, "open", "open")
    await reach(a, "connectionState", "connected")
    await reach(b, "connectionState", "connected")
    return a, b, ours, remote


async def exchange(ours: RTCDataChannel, theirs: RTCDataChannel, tag: str, n: int = 5) -> None:
    inbox_theirs, inbox_ours = Inbox(theirs), Inbox(ours)
    for i in range(n):
        ours.send(f"{tag}-out-{i}")
        theirs.send(f"{tag}-back-{i}")
    assert await inbox_theirs.wait(n) == [f"{tag}-out-{i}" for i in range(n)]
    assert await inbox_ours.wait(n) == [f"{tag}-back-{i}" for i in range(n)]


@pytest.mark.parametrize("restarter", ["offerer", "answerer"])
def test_restart_ice_gives_new_credentials_and_pair_and_keeps_dtls_sctp(restarter: str) -> None:
    async def body() -> None:
        a, b, ours, theirs = await chat_pair()
        await exchange(ours, theirs, "before")
        ufrags = ufrag_of(a), ufrag_of(b)
        pairs = selected(a), selected(b)
        dtls, association = (_dtls(a), _dtls(b)), (a.sctp, b.sctp)
        recorders = Recorder(a), Recorder(b)
        first, second = (a, b) if restarter == "offerer" else (b, a)
        await restart(first, second)
        # Messages sent while the restart is under way arrive too.
        inbox = Inbox(theirs)
        for i in range(3):
            ours.send(f"during-{i}")
        await nominated(a, pairs[0])
        await nominated(b, pairs[1])
        assert await inbox.wait(3) == [f"during-{i}" for i in range(3)]
        await exchange(ours, theirs, "after")
        # JSEP §5.2.1 / §5.3.1: both sides have new credentials, signalled.
        assert ufrag_of(a) != ufrags[0] and ufrag_of(b) != ufrags[1]
        assert _agent(a).local_ufrag == ufrag_of(a)
        # New sockets: the selected pairs run on other local ports; the old sockets are closed
        # once the peer sends on the new pair.
        assert selected(a)[0].port != pairs[0][0].port
        assert selected(b)[0].port != pairs[1][0].port
        for pc, (old_local, _) in zip((a, b), pairs, strict=True):
            driver = pc._driver
            assert driver is not None and old_local.base not in driver._ports
        # Same DTLS association (no second handshake), same SCTP association and channels.
        assert (_dtls(a), _dtls(b)) == dtls and (a.sctp, b.sctp) == association
        assert ours.readyState == theirs.readyState == "open"
        for pc, recorder in zip((a, b), recorders, strict=True):
            assert pc.connectionState == "connected"
            assert "failed" not in recorder.states("iceconnectionstatechange")
            assert "checking" not in recorder.states("iceconnectionstatechange")  # pair kept
            assert recorder.states("connectionstatechange") == []
            # W3C: gathering runs again for the new credentials.
            assert recorder.states("icegatheringstatechange") == ["gathering", "complete"]
            (stats,) = (await pc.getStats()).of_type("transport")
            assert stats.iceLocalUsernameFragment == ufrag_of(pc)  # type: ignore[attr-defined]
        await a.close()
        await b.close()

    run(body)


def test_create_offer_ice_restart_option_and_repeated_restarts() -> None:
    async def body() -> None:
        a, b, ours, theirs = await chat_pair()
        seen = {ufrag_of(a)}
        for round_ in range(3):
            offerer, answerer = (a, b) if round_ % 2 == 0 else (b, a)
            old = selected(offerer)
            offer = await offerer.createOffer({"iceRestart": True})
            assert offer.sdp != ""
            await offerer.setLocalDescription(offer)
            assert ufrag_of(offerer) in offer.sdp  # the offer's credentials are applied
            description = offerer.localDescription
            assert description is not None
            await answerer.setRemoteDescription(description)
            await answerer.setLocalDescription(await answerer.createAnswer())
            answer = answerer.localDescription
            assert answer is not None
            await offerer.setRemoteDescription(answer)
            await nominated(offerer, old)
            await exchange(ours, theirs, f"round-{round_}", n=2)
            assert ufrag_of(a) not in seen
            seen.add(ufrag_of(a))
        # A plain offer after the restarts keeps the credentials: no restart.
        ufrag = ufrag_of(a)
        await negotiate(a, b)
        assert ufrag_of(a) == ufrag
        await exchange(ours, theirs, "plain", n=2)
        await a.close()
        await b.close()

    run(body)


def test_restart_ice_before_any_negotiation_is_no_restart() -> None:
    async def body() -> None:
        a = RTCPeerConnection(settings=loopback())
        a.restartIce()  # W3C: nothing to replace yet
        a.createDataChannel("x")
        offer = await a.createOffer()
        await a.setLocalDescription(offer)
        assert _agent(a).local_ufrag in offer.sdp
        await a.close()

    run(body)


@pytest.mark.parametrize("restarter", ["offerer", "answerer"])
def test_audio_and_data_flow_across_a_restart(restarter: str) -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(settings=loopback()), RTCPeerConnection(settings=loopback())
        ours = a.createDataChannel("chat")
        a.addTrack(ToneTrack(440))
        b.addTrack(ToneTrack(1000))
        tracks: list[asyncio.Future[object]] = []
        for pc in (a, b):
            future = asyncio.get_running_loop().create_future()
            tracks.append(future)
            pc.on("track", lambda t, f=future: f.done() or f.set_result(t))
        theirs_future = asyncio.ensure_future(incoming(b))
        await negotiate(a, b)
        theirs = await theirs_future
        await channel_event(ours, "open", "open")
        a_track, b_track = await tracks[0], await tracks[1]
        assert abs(await tone_of(b_track) - 440) < 10
        assert abs(await tone_of(a_track) - 1000) < 20
        srtp = (a._media, b._media)
        old = selected(a), selected(b)
        first, second = (a, b) if restarter == "offerer" else (b, a)
        await restart(first, second)
        await nominated(a, old[0])
        await nominated(b, old[1])
        before = await inbound_packets(b)
        # The tone is still heard on both sides over the new pair, and RTP keeps counting on
        # the same inbound stream (same SSRC, same SRTP context: no new session).
        assert abs(await tone_of(b_track) - 440) < 10
        assert abs(await tone_of(a_track) - 1000) < 20
        assert await inbound_packets(b) > before
        assert (a._media, b._media) == srtp
        await exchange(ours, theirs, "after")
        await a.close()
        await b.close()

    run(body)


async def inbound_packets(pc: RTCPeerConnection) -> int:
    stats = (await pc.getStats()).of_type("inbound-rtp")
    assert len(stats) == 1 and isinstance(stats[0], RTCInboundRtpStreamStats)
    return stats[0].packetsReceived


def test_restart_on_udp_muxes_rekeys_the_sessions_with_generated_ufrags() -> None:
    async def body() -> None:
        mux_a, sock_a = await open_udp_mux("127.0.0.1")
        mux_b, sock_b = await open_udp_mux("127.0.0.1")
        counter = itertools.count()
        a_settings, b_settings = SettingEngine(), SettingEngine()
        a_settings.set_udp_mux(mux_a)
        a_settings.set_ufrag_generator(lambda: f"muxA{next(counter):04d}")
        b_settings.set_udp_mux(mux_b)
        b_settings.set_ufrag_generator(lambda: f"muxB{next(counter):04d}")
        try:
            a, b, ours, theirs = await chat_pair(a_settings, b_settings)
            await exchange(ours, theirs, "before")
            for round_, (restarter, other) in enumerate(((a, b), (b, a))):
                ufrags = ufrag_of(a), ufrag_of(b)
                await restart(restarter, other)
                # Same mux address on both sides: the pair is the same addresses, re-checked
                # under the new credentials.
                for pc, ufrag, mux in ((a, ufrags[0], mux_a), (b, ufrags[1], mux_b)):
                    new = ufrag_of(pc)
                    assert new != ufrag and new.startswith("mux")  # from the generator
                    assert len(mux) == 1  # the one session, re-keyed; its last ufrag still
                    assert mux._by_ufrag.keys() == {new, ufrag}  # served for the old pair
                await until_nominated(a)
                await until_nominated(b)
                await exchange(ours, theirs, f"after-{round_}")
            assert mux_a.counters.dropped_unknown_ufrag == 0
            await a.close()
            await b.close()
        finally:
            sock_a.close()
            sock_b.close()

    run(body)


async def until_nominated(pc: RTCPeerConnection) -> None:
    agent = _agent(pc)
    for _ in range(int(TIMEOUT / 0.01)):
        if agent.nominated:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no pair nominated")


def test_a_client_that_changes_address_recovers_through_a_restart() -> None:
    """Wi-Fi to mobile: the offerer's socket (its 127.0.0.1 address) goes away; ICE goes
    disconnected; it restarts from a new socket on 127.0.0.2. The DTLS and SCTP associations
    survive, and the messages sent during the outage arrive after the switch."""

    async def body() -> None:
        wifi, wifi_socket = await open_udp_mux("127.0.0.1")
        client = SettingEngine()
        client.set_udp_mux(wifi)
        client.set_ice_timeouts(disconnected=0.5)
        server = loopback()
        server.set_ice_timeouts(disconnected=0.5)
        a, b, ours, theirs = await chat_pair(client, server)
        mobile_socket = None
        try:
            await exchange(ours, theirs, "wifi")
            recorder = Recorder(a)
            dtls = _dtls(a), _dtls(b)
            wifi_socket.close()  # the interface is gone
            await reach(a, "iceConnectionState", "disconnected")
            inbox = Inbox(theirs)
            for i in range(5):
                ours.send(f"outage-{i}")  # sent into the void: SCTP will retransmit
            mobile, mobile_socket = await open_udp_mux("127.0.0.2")
            client.set_udp_mux(mobile)
            await restart(a, b)
            await reach(a, "iceConnectionState", "connected")
            states = recorder.states("iceconnectionstatechange")
            assert states[states.index("disconnected") :][:3] == [
                "disconnected",
                "checking",
                "connected",
            ]
            assert selected(a)[0].host == "127.0.0.2"
            assert selected(b)[1].host == "127.0.0.2"
            assert await inbox.wait(5) == [f"outage-{i}" for i in range(5)]
            await exchange(ours, theirs, "mobile")
            assert (_dtls(a), _dtls(b)) == dtls
            assert a.connectionState == b.connectionState == "connected"
            assert len(wifi) == 0  # the old mux session is released once the new pair runs
            await a.close()
            await b.close()
        finally:
            if mobile_socket is not None:
                mobile_socket.close()

    run(body)
