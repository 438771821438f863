"""W3C state machines, trickle ICE, SettingEngine wiring, fingerprint checking, getStats."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from pywebrtc import (
    RTCIceCandidate,
    RTCPeerConnection,
    RTCSessionDescription,
    SettingEngine,
)
from pywebrtc.ice import open_udp_mux
from pywebrtc.sdp import SessionDescription
from tests.peerconnection.helpers import (
    Inbox,
    Recorder,
    channel_event,
    incoming,
    negotiate,
    reach,
)


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 30))


def test_state_sequences_of_offerer_and_answerer() -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(), RTCPeerConnection()
        rec_a, rec_b = Recorder(a), Recorder(b)
        assert (a.signalingState, a.iceGatheringState) == ("stable", "new")
        assert (a.iceConnectionState, a.connectionState) == ("new", "new")
        pending = asyncio.ensure_future(incoming(b))
        ours = a.createDataChannel("s")
        await negotiate(a, b)
        await pending
        await channel_event(ours, "open", "open")
        await reach(a, "connectionState", "connected")
        await reach(b, "connectionState", "connected")
        for rec in (rec_a, rec_b):
            assert rec.states("icegatheringstatechange") == ["gathering", "complete"]
            assert rec.states("connectionstatechange") == ["connecting", "connected"]
            ice = rec.states("iceconnectionstatechange")
            assert ice[0] == "checking" and ice[1] == "connected"
            assert set(ice) <= {"checking", "connected", "completed"}
        assert rec_a.states("signalingstatechange") == ["have-local-offer", "stable"]
        assert rec_b.states("signalingstatechange") == ["have-remote-offer", "stable"]
        await a.close()
        assert rec_a.log[-3:] == [
            ("signalingstatechange", "closed"),
            ("iceconnectionstatechange", "closed"),
            ("connectionstatechange", "closed"),
        ]
        await b.close()

    run(body)


def test_trickle_candidates_through_events_and_add_ice_candidate() -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(), RTCPeerConnection()
        from_a: list[RTCIceCandidate | None] = []
        from_b: list[RTCIceCandidate | None] = []
        a.on("icecandidate", from_a.append)
        b.on("icecandidate", from_b.append)
        pending = asyncio.ensure_future(incoming(b))
        ours = a.createDataChannel("t")

        def strip(sdp: str) -> str:
            lines = sdp.splitlines()
            keep = [x for x in lines if not x.startswith(("a=candidate", "a=end-of-candidates"))]
            return "\r\n".join(keep) + "\r\n"

        await a.setLocalDescription(await a.createOffer())
        assert from_a and from_a[-1] is None and len(from_a) > 1
        assert all(c is None or (c.sdpMid == "0" and c.sdpMLineIndex == 0) for c in from_a)
        offer = a.localDescription
        assert offer is not None
        await b.setRemoteDescription(RTCSessionDescription(strip(offer.sdp), "offer"))
        await b.setLocalDescription(await b.createAnswer())
        answer = b.localDescription
        assert answer is not None
        await a.setRemoteDescription(RTCSessionDescription(strip(answer.sdp), "answer"))
        # The browser's JSON form one way, RTCIceCandidate objects the other.
        for c in from_a:
            await b.addIceCandidate({"candidate": "", "sdpMid": "0"} if c is None else c.to_json())
        for c in from_b:
            await a.addIceCandidate(c)
        theirs = await pending
        await channel_event(ours, "open", "open")
        inbox = Inbox(theirs)
        ours.send("trickled")
        assert await inbox.wait(1) == ["trickled"]
        await a.close()
        await b.close()

    run(body)


def test_fingerprint_mismatch_fails_the_connection() -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(), RTCPeerConnection()
        channel = a.createDataChannel("f")
        await a.setLocalDescription(await a.createOffer())
        offer = a.localDescription
        assert offer is not None
        parsed = SessionDescription.parse(offer.sdp)
        real = str(parsed.media[0].fingerprints[0]).split()[1]
        forged = ("00" if not real.startswith("00") else "11") + real[2:]
        await b.setRemoteDescription(
            RTCSessionDescription(offer.sdp.replace(real, forged), "offer")
        )
        await b.setLocalDescription(await b.createAnswer())
        answer = b.localDescription
        assert answer is not None
        await a.setRemoteDescription(answer)
        # b (the DTLS client) rejects a's certificate.
        await reach(b, "connectionState", "failed")
        assert channel.readyState != "open"
        await a.close()
        await b.close()

    run(body)


def test_setting_engine_lite_mux_and_passive_role() -> None:
    async def body() -> None:
        mux, mux_transport = await open_udp_mux("127.0.0.1")
        server = SettingEngine()
        server.set_lite(True)
        server.set_udp_mux(mux)
        server.set_answering_dtls_role("server")
        client = SettingEngine()
        client.set_include_loopback(True)
        a = RTCPeerConnection(settings=client)
        b = RTCPeerConnection(settings=server)
        pending = asyncio.ensure_future(incoming(b))
        ours = a.createDataChannel("lite")
        await negotiate(a, b)
        answer = b.localDescription
        assert answer is not None
        parsed = SessionDescription.parse(answer.sdp)
        assert parsed.ice_lite
        assert [c.port for c in parsed.media[0].candidates] == [mux.local_address[1]]
        assert parsed.media[0].setup is not None and parsed.media[0].setup.value == "passive"
        theirs = await pending
        await channel_event(ours, "open", "open")
        inbox = Inbox(theirs)
        ours.send("through the mux")
        assert await inbox.wait(1) == ["through the mux"]
        stats_a = await a.getStats()
        (transport,) = stats_a.of_type("transport")
        assert transport.dtlsRole == "client"  # type: ignore[attr-defined]
        assert transport.iceRole == "controlling"  # type: ignore[attr-defined]
        await a.close()
        await b.close()
        mux_transport.close()

    run(body)


def test_get_stats_has_the_w3c_types() -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(), RTCPeerConnection()
        pending = asyncio.ensure_future(incoming(b))
        ours = a.createDataChannel("stats")
        await negotiate(a, b)
        theirs = await pending
        await channel_event(ours, "open", "open")
        inbox = Inbox(theirs)
        ours.send(b"12345")
        await inbox.wait(1)
        report = await a.getStats()
        types = {s.type for s in report.values()}
        assert {
            "peer-connection",
            "transport",
            "candidate-pair",
            "local-candidate",
            "remote-candidate",
            "certificate",
            "data-channel",
        } <= types
        assert all(key == s.id for key, s in report.items())
        (transport,) = report.of_type("transport")
        assert transport.dtlsState == "connected"  # type: ignore[attr-defined]
        assert transport.bytesSent > 5 and transport.packetsReceived > 0  # type: ignore[attr-defined]
        pair = report[transport.selectedCandidatePairId]  # type: ignore[attr-defined]
        assert pair.nominated and pair.state == "succeeded"  # type: ignore[attr-defined]
        assert pair.localCandidateId in report  # type: ignore[attr-defined]
        assert pair.remoteCandidateId in report  # type: ignore[attr-defined]
        (channel,) = report.of_type("data-channel")
        assert channel.label == "stats" and channel.messagesSent == 1  # type: ignore[attr-defined]
        assert channel.bytesSent == 5  # type: ignore[attr-defined]
        await a.close()
        await b.close()

    run(body)


def test_port_range_and_ice_timeouts_reach_the_transport() -> None:
    async def body() -> None:
        settings = SettingEngine()
        settings.set_ephemeral_udp_port_range(41000, 41999)
        settings.set_ice_timeouts(disconnected=3.0, failed=9.0)
        settings.set_dtls_retransmission_interval(0.1)
        a, b = RTCPeerConnection(settings=settings), RTCPeerConnection()
        pending = asyncio.ensure_future(incoming(b))
        ours = a.createDataChannel("ports")
        await negotiate(a, b)
        offer = a.localDescription
        assert offer is not None
        ports = [c.port for c in SessionDescription.parse(offer.sdp).media[0].candidates]
        assert ports and all(41000 <= p <= 41999 for p in ports)
        session = a._session
        assert session is not None and session.agent.config.failed_timeout == 9.0
        assert session.dtls is not None and session.dtls.config.initial_timeout == 0.1
        await pending
        await channel_event(ours, "open", "open")
        await a.close()
        await b.close()

    run(body)


def test_unreachable_peer_fails_ice_and_the_connection() -> None:
    async def body() -> None:
        settings = SettingEngine()
        settings.set_check_timing(rto=0.05, max_attempts=2)
        a, b = RTCPeerConnection(settings=settings), RTCPeerConnection()
        rec = Recorder(a)
        a.createDataChannel("nowhere")
        await a.setLocalDescription(await a.createOffer())
        offer = a.localDescription
        assert offer is not None
        await b.setRemoteDescription(offer)
        answer = await b.createAnswer()
        await b.close()  # the answerer vanishes: its candidates answer nothing
        # Its answer still names an address; with no socket behind it every check times out.
        parsed = SessionDescription.parse(answer.sdp)
        parsed.media[0].add_attribute("candidate", "1 1 udp 2130706431 127.0.0.1 9 typ host")
        parsed.media[0].end_of_candidates = True
        await a.setRemoteDescription(RTCSessionDescription(str(parsed), "answer"))
        await reach(a, "iceConnectionState", "failed")
        await reach(a, "connectionState", "failed")
        assert rec.states("connectionstatechange") == ["connecting", "failed"]
        await a.close()

    run(body)


def test_data_channels_opened_and_closed_are_lifetime_totals() -> None:
    async def counts(pc: RTCPeerConnection) -> tuple[int, int]:
        (stats,) = (await pc.getStats()).of_type("peer-connection")
        return stats.dataChannelsOpened, stats.dataChannelsClosed  # type: ignore[attr-defined]

    async def body() -> None:
        a, b = RTCPeerConnection(), RTCPeerConnection()
        first_in = asyncio.ensure_future(incoming(b))
        closed_by_a = a.createDataChannel("closed by a")
        await negotiate(a, b)
        closed_by_a_at_b = await first_in
        await channel_event(closed_by_a, "open", "open")
        second_in = asyncio.ensure_future(incoming(b))
        kept = a.createDataChannel("kept")
        kept_at_b = await second_in
        await channel_event(kept, "open", "open")
        third_in = asyncio.ensure_future(incoming(a))
        closed_by_b = b.createDataChannel("closed by b")
        closed_by_b_at_a = await third_in
        await channel_event(closed_by_b, "open", "open")
        assert await counts(a) == (3, 0) and await counts(b) == (3, 0)

        closed_by_a.close()
        closed_by_b.close()
        for channel in (closed_by_a, closed_by_a_at_b, closed_by_b, closed_by_b_at_a):
            await channel_event(channel, "close", "closed")
        assert await counts(a) == (3, 2) and await counts(b) == (3, 2)

        # Time passes and traffic flows on the channel left open; the totals stay.
        inbox_a, inbox_b = Inbox(kept), Inbox(kept_at_b)
        for n in range(1, 21):
            kept.send(f"ping {n}")
            await inbox_b.wait(n)
            kept_at_b.send(f"pong {n}")
            await inbox_a.wait(n)
        assert await counts(a) == (3, 2) and await counts(b) == (3, 2)
        (channel_stats,) = (await a.getStats()).of_type("data-channel")
        assert channel_stats.label == "kept"  # type: ignore[attr-defined]

        await a.close()
        await channel_event(kept_at_b, "close", "closed")
        assert await counts(a) == (3, 3) and await counts(b) == (3, 3)
        await b.close()

    run(body)
