"""ICE restart between two pywebrtc peers over loopback (RFC 8445 §9, W3C restartIce()).

Each side restarts in turn; the descriptions carry new credentials, ICE checks again, and the
data channel (and audio) opened before the restart carries on over the same DTLS and SCTP.
"""

from __future__ import annotations

import asyncio

from pywebrtc import RTCPeerConnection

from .audio_helpers import ToneTrack, tone_of
from .helpers import Inbox, channel_event, incoming, negotiate
from .test_audio import next_track


def _local_ufrag(pc: RTCPeerConnection) -> str:
    description = pc.localDescription
    assert description is not None
    lines = description.sdp.splitlines()
    return next(line.split(":", 1)[1] for line in lines if line.startswith("a=ice-ufrag:"))


def _once(pc: RTCPeerConnection, event: str) -> asyncio.Future[None]:
    fired: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def fire() -> None:
        if not fired.done():
            fired.set_result(None)

    pc.on(event, fire)
    return fired


def test_each_side_restarts_and_the_channel_carries_on() -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(), RTCPeerConnection()
        theirs_f = asyncio.ensure_future(incoming(b))
        ours = a.createDataChannel("chat")
        await negotiate(a, b)
        theirs = await theirs_f
        await channel_event(ours, "open", "open")
        for restarter, other in ((a, b), (b, a)):
            before = (_local_ufrag(restarter), _local_ufrag(other))
            needed = _once(restarter, "negotiationneeded")
            restarter.restartIce()
            await asyncio.wait_for(needed, 5)
            await negotiate(restarter, other)
            after = (_local_ufrag(restarter), _local_ufrag(other))
            assert after[0] != before[0] and after[1] != before[1]
            for pc, peer in ((restarter, other), (other, restarter)):
                session = pc._session
                assert session is not None
                # The new generation's checks run over real sockets: give them 2 s.
                for _ in range(200):
                    if session.agent.nominated:
                        break
                    await asyncio.sleep(0.01)
                assert session.agent.nominated
                assert session.agent.remote_credentials is not None
                assert session.agent.remote_credentials[0] == _local_ufrag(peer)
            inbox_b, inbox_a = Inbox(theirs), Inbox(ours)
            ours.send("after restart")
            theirs.send("and back")
            assert await inbox_b.wait(1) == ["after restart"]
            assert await inbox_a.wait(1) == ["and back"]
            assert a.connectionState == b.connectionState == "connected"
            assert a.iceConnectionState in ("connected", "completed")
        await a.close()
        await b.close()

    asyncio.run(asyncio.wait_for(body(), 30))


def test_audio_flows_across_a_restart() -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(), RTCPeerConnection()
        a.addTrack(ToneTrack(600))
        track_b = await next_track(b)
        await negotiate(a, b)
        track = await track_b
        assert abs(await tone_of(track, 0.3) - 600) < 15
        a.restartIce()
        await negotiate(a, b)
        assert abs(await tone_of(track, 0.5) - 600) < 15
        stats = await b.getStats()
        assert any(s.type == "inbound-rtp" and s.packetsReceived > 40 for s in stats.values())  # type: ignore[attr-defined]
        await a.close()
        await b.close()

    asyncio.run(asyncio.wait_for(body(), 30))
