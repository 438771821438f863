"""A pywebrtc RTCPeerConnection connected to a libwebrtc one in the node peer: negotiation in
either offer direction (whole descriptions, or trickled candidates both ways), and the inboxes
of our data channels."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from conformance import channels
from conformance.channels import TIMEOUT
from conformance.libwebrtc.driver import NodePeer
from pywebrtc import (
    RTCIceCandidate,
    RTCPeerConnection,
    RTCSessionDescription,
    SettingEngine,
)

IN_BAND = {**channels.IN_BAND, "lifetime": {"maxPacketLifeTime": 500}}
NEGOTIATED = channels.NEGOTIATED
ALL_KINDS = {**IN_BAND, **NEGOTIATED}


@dataclass
class Link(channels.CommandChannels):
    pc: RTCPeerConnection
    node: NodePeer
    node_pc: int

    async def call(self, op: str, *args: Any) -> Any:
        """A command on libwebrtc's peer connection of this link."""
        return await self.node.call(op, self.node_pc, *args)

    async def close(self) -> None:
        await self.pc.close()
        await self.call("closePc")


async def new_link(node: NodePeer, pc: RTCPeerConnection | None = None) -> Link:
    link = Link(pc or RTCPeerConnection(), node, await node.call("newPc"))
    link.pc.on("datachannel", link.adopt)
    return link


async def add_channels(link: Link, we_offer: bool, kinds: dict[str, dict[str, Any]]) -> None:
    """The offerer creates the in-band channels, both sides the negotiated ones."""
    for label, options in kinds.items():
        if options.get("negotiated") or we_offer:
            link.adopt(link.pc.createDataChannel(label, **options))
        if options.get("negotiated") or not we_offer:
            await link.call("createChannel", label, options)


async def negotiate(link: Link, we_offer: bool) -> None:
    """Whole descriptions, each carrying its candidates (as the browser tests do)."""
    pc = link.pc
    if we_offer:
        await pc.setLocalDescription(await pc.createOffer())
        offer = pc.localDescription
        assert offer is not None
        answer = await link.call("answer", offer.sdp)
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    else:
        offer_sdp = await link.call("offer")
        await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        answer_desc = pc.localDescription
        assert answer_desc is not None
        await link.call("setAnswer", answer_desc.sdp)


async def negotiate_trickle(link: Link, we_offer: bool) -> tuple[int, int]:
    """Descriptions without candidates; every candidate trickled, both ways, then the end
    marker. Returns how many candidates (ours, libwebrtc's) were trickled."""
    pc = link.pc
    ours: list[RTCIceCandidate | None] = []
    pc.on("icecandidate", ours.append)
    if we_offer:
        offer = await pc.createOffer()
        assert "a=candidate" not in offer.sdp
        await link.call("setOffer", offer.sdp)
        answer = await link.call("answerNow")
        await pc.setLocalDescription(offer)  # gathers: icecandidate events
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    else:
        offer_sdp = await link.call("offerTrickle")
        await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        answer_desc = await pc.createAnswer()
        assert "a=candidate" not in answer_desc.sdp
        await link.call("setAnswer", answer_desc.sdp)
        await pc.setLocalDescription(answer_desc)
    assert ours and ours[-1] is None, ours
    for candidate in ours:
        await link.call("addCandidate", None if candidate is None else candidate.to_json())
    theirs = 0
    while True:
        batch = await link.call("trickleCandidates")
        for item in batch:
            await pc.addIceCandidate(item)
            theirs += item is not None
        if batch[-1] is None:
            return len(ours) - 1, theirs


async def wait_open(link: Link, kinds: dict[str, dict[str, Any]]) -> None:
    """Every channel of ``kinds`` open on both sides, with the same id and options."""
    for label, options in kinds.items():
        seen = await link.call("waitOpen", label)
        await asyncio.wait_for(link.open_event(label).wait(), TIMEOUT)
        ours = link.channels[label]
        assert ours.id == seen["id"], (label, seen)
        assert ours.ordered == seen["ordered"] == options.get("ordered", True), (label, seen)
        assert ours.maxRetransmits == seen["maxRetransmits"] == options.get("maxRetransmits"), (
            label,
            seen,
            ours.maxRetransmits,
        )
        assert ours.maxPacketLifeTime == seen["maxPacketLifeTime"]
        assert ours.maxPacketLifeTime == options.get("maxPacketLifeTime")
        assert ours.negotiated == seen["negotiated"] == options.get("negotiated", False)


async def connect(
    node: NodePeer,
    we_offer: bool,
    kinds: dict[str, dict[str, Any]],
    trickle: bool = False,
    settings: SettingEngine | None = None,
) -> Link:
    link = await new_link(node, RTCPeerConnection(settings=settings))
    await add_channels(link, we_offer, kinds)
    if trickle:
        await negotiate_trickle(link, we_offer)
    else:
        await negotiate(link, we_offer)
    await wait_open(link, kinds)
    await link.call("waitState", "connected")
    assert link.pc.connectionState == "connected"
    return link
