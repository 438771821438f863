"""The browser interop scenario, shared by the Chromium and Firefox modules: one peer
connection pair per offer direction carrying every channel kind at once. The checks on the
channels are conformance.channels'."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

from conformance.browser.driver import RemotePage
from conformance.channels import TIMEOUT, CommandChannels, messages_both_ways
from pywebrtc import RTCPeerConnection, RTCSessionDescription, SettingEngine


@dataclass
class Link(CommandChannels):
    pc: RTCPeerConnection
    page: RemotePage
    browser_pc: int

    async def call(self, op: str, *args: Any) -> Any:
        return await self.page.call(op, self.browser_pc, *args)

    async def close(self) -> None:
        await self.pc.close()
        await self.call("closePc")


async def connect(
    page: RemotePage,
    we_offer: bool,
    kinds: dict[str, dict[str, Any]],
    settings: SettingEngine | None = None,
) -> Link:
    """Negotiate (non-trickle) with channels of ``kinds``, all open on both sides."""
    link = Link(RTCPeerConnection(settings=settings), page, await page.call("newPc"))
    link.pc.on("datachannel", link.adopt)
    for label, options in kinds.items():
        if options.get("negotiated") or we_offer:
            link.adopt(link.pc.createDataChannel(label, **options))
        if options.get("negotiated") or not we_offer:
            await page.call("createChannel", link.browser_pc, label, options)
    if we_offer:
        await link.pc.setLocalDescription(await link.pc.createOffer())
        offer = link.pc.localDescription
        assert offer is not None
        answer = await page.call("answer", link.browser_pc, offer.sdp)
        await link.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    else:
        offer_sdp = await page.call("offer", link.browser_pc)
        await link.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        await link.pc.setLocalDescription(await link.pc.createAnswer())
        answer_desc = link.pc.localDescription
        assert answer_desc is not None
        await page.call("setAnswer", link.browser_pc, answer_desc.sdp)
    for label, options in kinds.items():
        seen = await page.call("waitOpen", link.browser_pc, label)
        assert seen["ordered"] == options.get("ordered", True), (label, seen)
        if "maxRetransmits" in options:
            assert seen["maxRetransmits"] == options["maxRetransmits"]

        await asyncio.wait_for(link.open_event(label).wait(), TIMEOUT)
        ours = link.channels[label]
        assert ours.ordered == options.get("ordered", True)
        assert ours.id == seen["id"]
    assert link.pc.connectionState == "connected"
    return link


async def echo_both_ways(link: Link, label: str, count: int = 10) -> None:
    out: list[str | bytes] = [f"to-browser-{label}-{i}" for i in range(count)]
    back: list[str | bytes] = [f"to-pywebrtc-{label}-{i}" for i in range(count)]
    await messages_both_ways(link, label, [*out, os.urandom(100), b"", ""], [*back, os.urandom(50)])
