"""pywebrtc's RTCPeerConnection against aiortc's, end to end (ICE, DTLS, SCTP, DCEP) on this
machine: both offer directions; ordered, unordered, maxRetransmits=0, maxPacketLifeTime and
negotiated channels with messages both ways; 1 MiB as messages, intact and in order; close
seen on both sides.

aiortc runs unmodified in the same event loop; signaling is non-trickle (each
``localDescription`` carries its candidates).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

import aiortc
import pytest

from pywebrtc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription

TIMEOUT = 20.0
CHANNEL_CASES: dict[str, dict[str, Any]] = {
    "ordered": {},
    "unordered": {"ordered": False},
    "rexmit0": {"maxRetransmits": 0},
    "lifetime": {"maxPacketLifeTime": 500},
}


def aiortc_peer() -> aiortc.RTCPeerConnection:
    """aiortc without its default public STUN server: no traffic leaves this machine."""
    return aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 60))


async def negotiate(
    ours: RTCPeerConnection, theirs: aiortc.RTCPeerConnection, we_offer: bool
) -> None:
    if we_offer:
        await ours.setLocalDescription(await ours.createOffer())
        offer = ours.localDescription
        assert offer is not None
        await theirs.setRemoteDescription(aiortc.RTCSessionDescription(offer.sdp, offer.type))
        await theirs.setLocalDescription(await theirs.createAnswer())
        answer = theirs.localDescription
        await ours.setRemoteDescription(RTCSessionDescription(answer.sdp, answer.type))
    else:
        await theirs.setLocalDescription(await theirs.createOffer())
        their_offer = theirs.localDescription
        await ours.setRemoteDescription(RTCSessionDescription(their_offer.sdp, their_offer.type))
        await ours.setLocalDescription(await ours.createAnswer())
        our_answer = ours.localDescription
        assert our_answer is not None
        await theirs.setRemoteDescription(
            aiortc.RTCSessionDescription(our_answer.sdp, our_answer.type)
        )


class Inbox:
    def __init__(self, channel: Any) -> None:
        self.items: list[str | bytes] = []
        self.changed = asyncio.Event()

        def on_message(message: str | bytes) -> None:
            self.items.append(message)
            self.changed.set()

        channel.on("message", on_message)

    async def wait(self, count: int) -> list[str | bytes]:
        async def loop() -> None:
            while len(self.items) < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), TIMEOUT)
        return self.items


async def event(emitter: Any, name: str, ready: Callable[[], bool] = lambda: False) -> Any:
    """Wait for ``name`` on ``emitter`` (pywebrtc's or aiortc's emitter) unless ``ready()``."""
    if ready():
        return None
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def fire(*args: Any) -> None:
        if not future.done():
            future.set_result(args[0] if args else None)

    emitter.on(name, fire)
    return await asyncio.wait_for(future, TIMEOUT)


async def open_pair(
    we_offer: bool, opener: str, options: dict[str, Any]
) -> tuple[RTCPeerConnection, aiortc.RTCPeerConnection, Any, Any]:
    """Connect; ``opener`` ("ours"/"theirs") creates the channel in-band before negotiation.
    Returns both peer connections and (our channel, aiortc's channel), both open."""
    ours, theirs = RTCPeerConnection(), aiortc_peer()
    if opener == "ours":
        arrived = asyncio.ensure_future(event(theirs, "datachannel"))
        mine = ours.createDataChannel("from-pywebrtc", **options)
        if not we_offer:
            theirs.createDataChannel("placeholder")  # aiortc offers data only with a channel
    else:
        arrived = asyncio.ensure_future(event(ours, "datachannel"))
        their_channel = theirs.createDataChannel("from-aiortc", **options)
        if we_offer:
            ours.createDataChannel("placeholder")
    await negotiate(ours, theirs, we_offer)
    if opener == "ours":
        their_channel = await arrived
        await event(mine, "open", lambda: mine.readyState == "open")
    else:
        mine = await arrived
        await event(their_channel, "open", lambda: their_channel.readyState == "open")
    return ours, theirs, mine, their_channel


async def exchange(mine: RTCDataChannel, their_channel: Any) -> None:
    inbox_theirs, inbox_mine = Inbox(their_channel), Inbox(mine)
    for i in range(10):
        mine.send(f"to-aiortc-{i}")
    mine.send(b"\x00\xffbinary")
    got = await inbox_theirs.wait(11)
    assert sorted(m for m in got if isinstance(m, str)) == sorted(
        f"to-aiortc-{i}" for i in range(10)
    )
    assert b"\x00\xffbinary" in got
    for i in range(10):
        their_channel.send(f"to-pywebrtc-{i}")
    their_channel.send(b"\x01bytes")
    back = await inbox_mine.wait(11)
    assert sorted(m for m in back if isinstance(m, str)) == sorted(
        f"to-pywebrtc-{i}" for i in range(10)
    )
    assert b"\x01bytes" in back


@pytest.mark.parametrize("we_offer", [True, False], ids=["we-offer", "aiortc-offers"])
@pytest.mark.parametrize("opener", ["ours", "theirs"])
@pytest.mark.parametrize("case", sorted(CHANNEL_CASES))
def test_channels_carry_messages_both_ways(we_offer: bool, opener: str, case: str) -> None:
    async def body() -> None:
        options = CHANNEL_CASES[case]
        ours, theirs, mine, their_channel = await open_pair(we_offer, opener, options)
        assert mine.ordered == their_channel.ordered == options.get("ordered", True)
        assert mine.maxRetransmits == their_channel.maxRetransmits == options.get("maxRetransmits")
        assert mine.maxPacketLifeTime == their_channel.maxPacketLifeTime
        assert mine.maxPacketLifeTime == options.get("maxPacketLifeTime")
        await exchange(mine, their_channel)
        await ours.close()
        await theirs.close()

    run(body)


@pytest.mark.parametrize("we_offer", [True, False], ids=["we-offer", "aiortc-offers"])
def test_negotiated_channel(we_offer: bool) -> None:
    async def body() -> None:
        ours, theirs = RTCPeerConnection(), aiortc_peer()
        mine = ours.createDataChannel("neg", negotiated=True, id=3)
        their_channel = theirs.createDataChannel("neg", negotiated=True, id=3)
        await negotiate(ours, theirs, we_offer)
        await event(mine, "open", lambda: mine.readyState == "open")
        await event(their_channel, "open", lambda: their_channel.readyState == "open")
        await exchange(mine, their_channel)
        await ours.close()
        await theirs.close()

    run(body)


@pytest.mark.parametrize("we_offer", [True, False], ids=["we-offer", "aiortc-offers"])
def test_one_mebibyte_both_ways_intact_and_in_order(we_offer: bool) -> None:
    async def body() -> None:
        ours, theirs, mine, their_channel = await open_pair(we_offer, "ours", {})
        blob = os.urandom(1 << 20)
        chunk = 16 * 1024
        count = len(blob) // chunk
        inbox_theirs, inbox_mine = Inbox(their_channel), Inbox(mine)
        for offset in range(0, len(blob), chunk):
            mine.send(blob[offset : offset + chunk])
        got = await inbox_theirs.wait(count)
        assert b"".join(m for m in got if isinstance(m, bytes)) == blob
        for offset in range(0, len(blob), chunk):
            their_channel.send(blob[offset : offset + chunk])
        back = await inbox_mine.wait(count)
        assert b"".join(m for m in back if isinstance(m, bytes)) == blob
        await ours.close()
        await theirs.close()

    run(body)


@pytest.mark.parametrize("we_offer", [True, False], ids=["we-offer", "aiortc-offers"])
@pytest.mark.parametrize("closer", ["ours", "theirs"])
def test_channel_close_is_seen_on_both_sides(we_offer: bool, closer: str) -> None:
    async def body() -> None:
        ours, theirs, mine, their_channel = await open_pair(we_offer, "ours", {})
        closed = asyncio.gather(
            event(mine, "close", lambda: mine.readyState == "closed"),
            event(their_channel, "close", lambda: their_channel.readyState == "closed"),
        )
        (mine if closer == "ours" else their_channel).close()
        await closed
        assert mine.readyState == their_channel.readyState == "closed"
        await ours.close()
        await theirs.close()

    run(body)


@pytest.mark.parametrize("we_offer", [True, False], ids=["we-offer", "aiortc-offers"])
def test_closing_our_peer_connection_closes_aiortc_channel(we_offer: bool) -> None:
    async def body() -> None:
        ours, theirs, mine, their_channel = await open_pair(we_offer, "ours", {})
        remote_closed = asyncio.ensure_future(
            event(their_channel, "close", lambda: their_channel.readyState == "closed")
        )
        await ours.close()
        assert mine.readyState == "closed" and ours.connectionState == "closed"
        await remote_closed
        await theirs.close()

    run(body)


def test_aiortc_candidate_objects_trickled_into_our_connection() -> None:
    """aiortc's RTCIceCandidate objects (from aiortc.sdp.candidate_from_sdp) go straight into
    our addIceCandidate, as aiortc code does with its own connections."""
    from aiortc.sdp import candidate_from_sdp

    async def body() -> None:
        ours, theirs = RTCPeerConnection(), aiortc_peer()
        arrived = asyncio.ensure_future(event(theirs, "datachannel"))
        mine = ours.createDataChannel("trickled")
        await ours.setLocalDescription(await ours.createOffer())
        offer = ours.localDescription
        assert offer is not None
        await theirs.setRemoteDescription(aiortc.RTCSessionDescription(offer.sdp, offer.type))
        await theirs.setLocalDescription(await theirs.createAnswer())
        lines = theirs.localDescription.sdp.splitlines()
        candidates = [x[len("a=candidate:") :] for x in lines if x.startswith("a=candidate:")]
        kept = [x for x in lines if not x.startswith(("a=candidate:", "a=end-of-candidates"))]
        await ours.setRemoteDescription(RTCSessionDescription("\r\n".join(kept) + "\r\n", "answer"))
        assert candidates
        for text in candidates:
            candidate = candidate_from_sdp(text)
            candidate.sdpMid = "0"
            await ours.addIceCandidate(candidate)
        await ours.addIceCandidate(None)
        their_channel = await arrived
        await event(mine, "open", lambda: mine.readyState == "open")
        await exchange(mine, their_channel)
        await ours.close()
        await theirs.close()

    run(body)
