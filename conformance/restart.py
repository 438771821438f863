"""ICE restart against a peer driven by ``conformance/peer_commands.js`` (a browser page or the
libwebrtc node peer): the peer restarts towards us (``restartIce()``, a new offer with new
credentials and candidates), or we restart towards it. Each returns once our ICE agent has
nominated a pair under the new credentials; the callers then check that data and audio flow."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from pywebrtc import RTCPeerConnection, RTCSessionDescription

TIMEOUT = 20.0
Call = Callable[..., Awaitable[Any]]  # the peer's command, its peer connection id bound


def ice_ufrag(sdp: str) -> str:
    found = re.search(r"^a=ice-ufrag:(\S+)", sdp, re.MULTILINE)
    assert found is not None, sdp
    return found.group(1)


def _ufrags(pc: RTCPeerConnection) -> tuple[str, str]:
    local, remote = pc.localDescription, pc.remoteDescription
    assert local is not None and remote is not None
    return ice_ufrag(local.sdp), ice_ufrag(remote.sdp)


async def peer_restarts(pc: RTCPeerConnection, call: Call) -> str:
    """The peer calls restartIce() and offers; we answer. Returns how it restarted."""
    ours, theirs = _ufrags(pc)
    offer, how = await call("restartOffer")
    assert ice_ufrag(offer) != theirs, offer
    await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    answer = pc.localDescription
    assert answer is not None and ice_ufrag(answer.sdp) != ours  # JSEP §5.3.1
    await call("setAnswer", answer.sdp)
    await nominated(pc)
    return str(how)


async def we_restart(pc: RTCPeerConnection, call: Call) -> None:
    """We call restartIce() (negotiationneeded fires) and offer; the peer answers."""
    ours, theirs = _ufrags(pc)
    needed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_needed() -> None:
        if not needed.done():
            needed.set_result(None)

    pc.on("negotiationneeded", on_needed)
    pc.restartIce()
    await asyncio.wait_for(needed, TIMEOUT)
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription
    assert offer is not None and ice_ufrag(offer.sdp) != ours
    answer = await call("answerRestart", offer.sdp)
    assert ice_ufrag(answer) != theirs, answer
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    await nominated(pc)


async def nominated(pc: RTCPeerConnection) -> None:
    """Until our ICE agent has selected a pair under the new credentials (no restart
    pending) and ICE is connected again."""
    session = pc._session
    assert session is not None
    agent = session.agent
    loop = asyncio.get_running_loop()
    end = loop.time() + TIMEOUT
    while not (agent.nominated and pc.iceConnectionState in ("connected", "completed")):
        assert loop.time() < end, f"no new pair: ICE {pc.iceConnectionState}; {describe(agent)}"
        await asyncio.sleep(0.02)
    assert pc.connectionState == "connected"


def describe(agent: Any) -> str:
    """The agent's checklist and counters, for a failure message: what a restart that never
    selected a new pair was doing."""
    pairs = [
        f"{p.local.host}:{p.local.port}->{p.remote.host}:{p.remote.port} {p.state.name}"
        f" valid={p.valid} nominated={p.nominated} on_success={p.nominate_on_success}"
        f" peer_checked={p.peer_checked}"
        for p in agent.checklist
    ]
    remote = agent.remote_credentials[0] if agent.remote_credentials else None
    return (
        f"state={agent.state.name} local_ufrag={agent.local_credentials.ufrag} remote_ufrag="
        f"{remote} remote_candidates={len(agent.remote_candidates)} pairs={pairs}"
        f" counters={agent.counters}"
    )
