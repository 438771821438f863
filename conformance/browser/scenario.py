"""The browser interop scenario, shared by the Chromium and Firefox modules: one peer
connection pair per offer direction carrying every channel kind at once."""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass
from typing import Any

from conformance.browser.driver import RemotePage, decode, encode
from conformance.channels import IN_BAND, NEGOTIATED, TIMEOUT, Channels
from pywebrtc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription, SettingEngine


@dataclass
class Link(Channels):
    pc: RTCPeerConnection
    page: RemotePage
    browser_pc: int

    async def close(self) -> None:
        await self.pc.close()
        await self.page.call("closePc", self.browser_pc)


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
    ordered = IN_BAND.get(label, NEGOTIATED.get(label, {})).get("ordered", True)
    out: list[str | bytes] = [f"to-browser-{label}-{i}" for i in range(count)]
    out += [os.urandom(100), b"", ""]
    for message in out:
        link.channels[label].send(message)
    got = decode(await link.page.call("received", link.browser_pc, label, len(out)))
    back: list[str | bytes] = [f"to-pywebrtc-{label}-{i}" for i in range(count)]
    back += [os.urandom(50)]
    await link.page.call("send", link.browser_pc, label, encode(back))
    mine = await link.inboxes[label].take(len(back))
    if ordered:
        assert got == out and mine == back
    else:
        assert sorted(map(repr, got)) == sorted(map(repr, out))
        assert sorted(map(repr, mine)) == sorted(map(repr, back))


async def mebibyte_both_ways(link: Link, label: str = "ordered") -> None:
    chunk = 16 * 1024
    blob = os.urandom(1 << 20)
    count = len(blob) // chunk
    channel = link.channels[label]
    for offset in range(0, len(blob), chunk):
        channel.send(blob[offset : offset + chunk])
    got_count, size, digest = await link.page.call("digestReceived", link.browser_pc, label, count)
    assert (got_count, size) == (count, len(blob))
    assert digest == hashlib.sha256(blob).hexdigest()
    sent_digest = await link.page.call("sendRandom", link.browser_pc, label, len(blob), chunk)
    mine = await link.inboxes[label].take(count)
    assert all(isinstance(m, bytes) for m in mine)
    assert (
        hashlib.sha256(b"".join(m for m in mine if isinstance(m, bytes))).hexdigest() == sent_digest
    )


async def close_each_way(link: Link, ours_closes: str, browser_closes: str) -> None:
    async def closed(channel: RTCDataChannel) -> None:
        done = asyncio.Event()
        if channel.readyState == "closed":
            return
        channel.on("close", done.set)
        await asyncio.wait_for(done.wait(), TIMEOUT)

    mine = link.channels[ours_closes]
    waiting = asyncio.ensure_future(closed(mine))
    mine.close()
    await waiting
    assert await link.page.call("waitClosed", link.browser_pc, ours_closes) == "closed"
    theirs = link.channels[browser_closes]
    waiting = asyncio.ensure_future(closed(theirs))
    await link.page.call("close", link.browser_pc, browser_closes)
    await waiting
    assert await link.page.call("waitClosed", link.browser_pc, browser_closes) == "closed"
    assert mine.readyState == theirs.readyState == "closed"
