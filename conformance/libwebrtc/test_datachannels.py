"""pywebrtc's RTCPeerConnection against libwebrtc's (Google's WebRTC library, as node's
``@roamhq/wrtc`` builds it), over ICE, DTLS, SCTP and DCEP on this machine, both offer
directions: ordered, unordered, maxRetransmits=0, maxPacketLifeTime and negotiated (id 9)
channels carry text, binary and empty messages both ways and libwebrtc echoes ours back; 1 MiB
as 16 KiB messages each way, intact (sha256); a channel closed from each side and a peer
connection closed from each side, the close seen on both; trickle ICE both ways; libwebrtc
offering to our ICE-lite answerers on a UDP mux (the transceiver's deployment shape), two
sessions on one socket. ICE restart from either side in either offer direction (libwebrtc's
restartIce(), or ours towards it), every channel carrying messages after it.

libwebrtc runs in a node child process (``driver.py``); a test fails when it is missing.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

import pytest

from conformance import channels
from conformance.channels import TIMEOUT, closed
from conformance.ice_lite import assert_lite_answer_on, lite_settings
from conformance.libwebrtc.driver import NodePeer
from conformance.libwebrtc.link import (
    ALL_KINDS,
    Link,
    add_channels,
    connect,
    negotiate_trickle,
    new_link,
    wait_open,
)
from conformance.restart import peer_restarts, we_restart
from pywebrtc.ice import open_udp_mux

DIRECTIONS = pytest.mark.parametrize(
    "we_offer", [True, False], ids=["pywebrtc-offers", "libwebrtc-offers"]
)


def run(test: Callable[[NodePeer], Awaitable[None]]) -> None:
    async def main() -> None:
        async with NodePeer() as node:
            await test(node)

    asyncio.run(asyncio.wait_for(main(), 90))


async def messages_both_ways(link: Link, label: str, count: int = 10) -> None:
    out: list[str | bytes] = [f"to-libwebrtc-{label}-{i}" for i in range(count)]
    out += [os.urandom(100), b"", "", "\u00e9t\u00e9 \U0001f3b5", bytes(range(256))]
    back: list[str | bytes] = [f"to-pywebrtc-{label}-{i}" for i in range(count)]
    back += [os.urandom(50), b"", ""]
    await channels.messages_both_ways(link, label, out, back)

    # libwebrtc sends back what it receives: the round trip keeps text and binary apart.
    echoing = asyncio.ensure_future(link.call("echo", label, len(out)))
    for message in out:
        link.channels[label].send(message)
    await echoing
    echoed = await link.inboxes[label].take(len(out))
    assert channels.same(echoed, out, link.channels[label].ordered), (label, echoed)


@DIRECTIONS
def test_every_channel_kind_carries_text_binary_and_empty_messages_both_ways(
    we_offer: bool,
) -> None:
    async def body(node: NodePeer) -> None:
        link = await connect(node, we_offer, ALL_KINDS)
        try:
            for label in ALL_KINDS:
                await messages_both_ways(link, label)
        finally:
            await link.close()

    run(body)


@DIRECTIONS
def test_one_mebibyte_each_way_arrives_intact(we_offer: bool) -> None:
    async def body(node: NodePeer) -> None:
        link = await connect(node, we_offer, {"ordered": {}})
        try:
            await channels.mebibyte_both_ways(link)
        finally:
            await link.close()

    run(body)


@DIRECTIONS
def test_a_channel_closed_from_either_side_is_closed_on_both(we_offer: bool) -> None:
    async def body(node: NodePeer) -> None:
        link = await connect(node, we_offer, ALL_KINDS)
        try:
            await channels.close_each_way(link, ours_closes="unordered", far_closes="rexmit0")
            # The others still carry messages both ways.
            await messages_both_ways(link, "ordered", count=3)
            await messages_both_ways(link, "negotiated", count=3)
        finally:
            await link.close()

    run(body)


@DIRECTIONS
@pytest.mark.parametrize("closer", ["pywebrtc", "libwebrtc"])
def test_closing_a_peer_connection_closes_the_channels_on_the_other_side(
    we_offer: bool, closer: str
) -> None:
    async def body(node: NodePeer) -> None:
        link = await connect(node, we_offer, ALL_KINDS)
        if closer == "pywebrtc":
            await link.pc.close()
            assert all(c.readyState == "closed" for c in link.channels.values())
            for label in ALL_KINDS:
                assert await link.call("waitClosed", label) == "closed"
            await link.call("closePc")
        else:
            waiting = [asyncio.ensure_future(closed(c)) for c in link.channels.values()]
            await link.call("closePc")
            await asyncio.wait_for(asyncio.gather(*waiting), TIMEOUT)
            await link.pc.close()

    run(body)


@DIRECTIONS
def test_trickle_ice_both_ways(we_offer: bool) -> None:
    """Descriptions without candidates, every candidate sent as it is gathered (libwebrtc's
    onicecandidate JSON into our addIceCandidate, our RTCIceCandidate.to_json() into its
    addIceCandidate) and the end-of-candidates marker both ways."""

    async def body(node: NodePeer) -> None:
        link = await new_link(node)
        await add_channels(link, we_offer, ALL_KINDS)
        ours, theirs = await negotiate_trickle(link, we_offer)
        assert ours > 0 and theirs > 0
        try:
            await wait_open(link, ALL_KINDS)
            await link.call("waitState", "connected")
            await messages_both_ways(link, "ordered", count=3)
        finally:
            await link.close()

    run(body)


def test_libwebrtc_offers_to_ice_lite_answerers_sharing_one_udp_mux() -> None:
    """The transceiver's setup: ICE-lite, every session on one shared socket (the mux tells
    the sessions apart by ufrag, then by address)."""

    async def body(node: NodePeer) -> None:
        mux, socket = await open_udp_mux("127.0.0.1")
        links: list[Link] = []
        try:
            for _ in range(2):
                links.append(await connect(node, False, ALL_KINDS, settings=lite_settings(mux)))
            for link in links:
                assert_lite_answer_on(link.pc, mux)
            for link in links:
                for label in ALL_KINDS:
                    await messages_both_ways(link, label, count=3)
        finally:
            for link in links:
                await link.close()
            socket.close()

    run(body)


@DIRECTIONS
@pytest.mark.parametrize("restarter", ["libwebrtc", "pywebrtc"])
def test_ice_restart_keeps_the_channels(we_offer: bool, restarter: str) -> None:
    """libwebrtc's restartIce() and its new offer, or ours towards it: new credentials both
    sides, the same SCTP association, and every channel carries messages both ways after."""

    async def body(node: NodePeer) -> None:
        link = await connect(node, we_offer, ALL_KINDS)
        try:
            await messages_both_ways(link, "ordered", count=3)
            association = link.pc.sctp
            if restarter == "libwebrtc":
                assert await peer_restarts(link.pc, link.call) == "restartIce"
            else:
                await we_restart(link.pc, link.call)
            assert link.pc.sctp is association
            assert tuple(await link.call("iceState")) in (
                ("connected", "connected"),
                ("completed", "connected"),
            )
            for label in ALL_KINDS:
                await messages_both_ways(link, label, count=3)
        finally:
            await link.close()

    run(body)
