"""pywebrtc's RTCPeerConnection against Pion WebRTC v3 (a Go child process, see driver.py) on
127.0.0.1: both offer directions, the in-band channels opened by either side; ordered,
unordered, maxRetransmits=0 and negotiated (id 9) channels with string, binary and empty
messages both ways; 1 MiB as 16 KiB messages both ways (sha256); a channel closed from each
side, the close seen on both; either side closing its peer connection closes the other's
channels; and Pion offering to an ICE-lite answerer on a UDP mux (the transceiver's
deployment shape); an ICE restart from either side (Pion's iceRestart offer, or our
restartIce() towards it), every channel carrying messages after it. Signaling is
non-trickle."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from conformance import channels
from conformance.channels import (
    IN_BAND,
    NEGOTIATED,
    TIMEOUT,
    Channels,
    close_each_way,
    closed,
    mebibyte_both_ways,
)
from conformance.ice_lite import assert_lite_answer_on, lite_settings
from conformance.pion.driver import PionPeer, decode, encode
from conformance.restart import peer_restarts, we_restart
from pywebrtc import RTCPeerConnection, RTCSessionDescription, SettingEngine
from pywebrtc.ice import open_udp_mux

# label -> createDataChannel options (pywebrtc's names; the Go peer takes the same ones).
KINDS = {**IN_BAND, **NEGOTIATED}


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 90))


def loopback_settings() -> SettingEngine:
    settings = SettingEngine()
    settings.set_include_loopback(True)
    return settings


@dataclass
class Link(Channels):
    pc: RTCPeerConnection
    pion: PionPeer

    async def far_received(self, label: str, count: int) -> list[str | bytes]:
        return decode((await self.pion.call("take", label=label, count=count))["messages"])

    async def far_send(self, label: str, messages: list[str | bytes]) -> None:
        await self.pion.call("send", label=label, messages=encode(messages))

    async def far_digest(self, label: str, count: int) -> tuple[int, int, str]:
        got = await self.pion.call("take", label=label, count=count, digest=True)
        assert got.keys() == {"count", "bytes", "sha256"}, got
        return got["count"], got["bytes"], got["sha256"]

    async def far_send_random(self, label: str, size: int, chunk: int) -> str:
        sent = await self.pion.call("send_random", label=label, size=size, chunk=chunk)
        return str(sent["sha256"])

    async def far_close(self, label: str) -> None:
        await self.pion.call("close", label=label)

    async def far_wait_closed(self, label: str) -> str:
        return str((await self.pion.call("wait_closed", label=label))["state"])

    async def close(self) -> None:
        await self.pc.close()
        await self.pion.close()


async def connect(
    we_offer: bool,
    opener: str,
    kinds: dict[str, dict[str, Any]] = KINDS,
    settings: SettingEngine | None = None,
) -> Link:
    """Negotiate with channels of ``kinds``, the in-band ones created by ``opener`` ("ours" or
    "pion") before the offer; returns once every channel is open on both sides."""
    link = Link(RTCPeerConnection(settings=settings or loopback_settings()), await PionPeer.start())
    link.pc.on("datachannel", link.adopt)
    for label, options in kinds.items():
        negotiated = bool(options.get("negotiated"))
        if negotiated or opener == "ours":
            link.adopt(link.pc.createDataChannel(label, **options))
        if negotiated or opener == "pion":
            pion_options = {k: v for k, v in options.items() if k != "id"}
            if negotiated:
                pion_options["channel_id"] = options["id"]
            await link.pion.call("channel", label=label, **pion_options)
    if we_offer:
        await link.pc.setLocalDescription(await link.pc.createOffer())
        offer = link.pc.localDescription
        assert offer is not None
        answer = await link.pion.call("answer", sdp=offer.sdp)
        await link.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
    else:
        offer_sdp = (await link.pion.call("offer"))["sdp"]
        await link.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        await link.pc.setLocalDescription(await link.pc.createAnswer())
        answer_desc = link.pc.localDescription
        assert answer_desc is not None
        await link.pion.call("accept", sdp=answer_desc.sdp)
    for label, options in kinds.items():
        seen = await link.pion.call("wait_open", label=label)
        assert seen["ordered"] == options.get("ordered", True), (label, seen)
        assert seen["maxRetransmits"] == options.get("maxRetransmits"), (label, seen)
        assert seen["negotiated"] == bool(options.get("negotiated")), (label, seen)
        await asyncio.wait_for(link.open_event(label).wait(), TIMEOUT)
        ours = link.channels[label]
        assert ours.ordered == options.get("ordered", True)
        assert ours.maxRetransmits == options.get("maxRetransmits")
        assert ours.id == seen["id"], (label, ours.id, seen)
    assert link.pc.connectionState == "connected"
    return link


async def messages_both_ways(link: Link, label: str, count: int = 10) -> None:
    """Strings, binary and the two empty messages each way (in order where ordered)."""
    out: list[str | bytes] = [f"to-pion-{label}-{i}" for i in range(count)]
    back: list[str | bytes] = [f"to-pywebrtc-{label}-{i}" for i in range(count)]
    await channels.messages_both_ways(
        link,
        label,
        [*out, os.urandom(100), b"", "", "\u00e9t\u00e9 \U0001f600"],
        [*back, os.urandom(50), b"", "", "\u00fcber"],
    )


@pytest.mark.parametrize("opener", ["ours", "pion"], ids=["pywebrtc-opens", "pion-opens"])
@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "pion-offers"])
def test_pion_data_channels(pion: None, we_offer: bool, opener: str) -> None:
    async def body() -> None:
        link = await connect(we_offer, opener)
        try:
            for label in KINDS:
                await messages_both_ways(link, label)
            await mebibyte_both_ways(link)
            await close_each_way(link, ours_closes="unordered", far_closes="rexmit0")
            # The remaining channels still work after the closes.
            await messages_both_ways(link, "ordered", count=3)
            await messages_both_ways(link, "negotiated", count=3)
        finally:
            await link.close()

    run(body)


@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "pion-offers"])
def test_closing_our_peer_connection_closes_pion_channels(pion: None, we_offer: bool) -> None:
    async def body() -> None:
        link = await connect(we_offer, "ours")
        try:
            await link.pc.close()
            for label in KINDS:
                assert link.channels[label].readyState == "closed"
                seen = await link.pion.call("wait_closed", label=label)
                assert seen["state"] == "closed"
        finally:
            await link.close()

    run(body)


@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "pion-offers"])
def test_pion_closing_its_peer_connection_closes_our_channels(pion: None, we_offer: bool) -> None:
    async def body() -> None:
        link = await connect(we_offer, "pion")
        try:
            await link.pion.call("close_pc")
            await asyncio.gather(*(closed(link.channels[label]) for label in KINDS))
            assert link.pc.connectionState in ("disconnected", "failed", "closed")
        finally:
            await link.close()

    run(body)


def test_pion_offers_to_an_ice_lite_answerer_on_a_udp_mux(pion: None) -> None:
    """The transceiver's deployment shape: ICE-lite, every session on one shared socket; Pion
    (full ICE, controlling) echoes what we send on each channel kind."""

    async def body() -> None:
        mux, socket = await open_udp_mux("127.0.0.1")
        try:
            link = await connect(False, "pion", KINDS, lite_settings(mux))
            try:
                assert_lite_answer_on(link.pc, mux)
                await link.pion.call("echo", on=True)
                for label in KINDS:
                    out: list[str | bytes] = [f"echo-{label}-{i}" for i in range(5)]
                    out += [os.urandom(64), b"", ""]
                    for message in out:
                        link.channels[label].send(message)
                    back = await link.inboxes[label].take(len(out))
                    assert sorted(map(repr, back)) == sorted(map(repr, out)), label
                state = await link.pion.call("state")
                assert state == {"connection": "connected", "ice": "connected"}
            finally:
                await link.close()
        finally:
            socket.close()

    run(body)


class _PionCommands:
    """Pion's side of conformance.restart's commands (its own command names)."""

    def __init__(self, pion: PionPeer) -> None:
        self.pion = pion

    async def __call__(self, op: str, *args: Any) -> Any:
        if op == "restartOffer":
            return (await self.pion.call("restart_offer"))["sdp"], "iceRestart option"
        if op == "setAnswer":
            return await self.pion.call("accept", sdp=args[0])
        if op == "answerRestart":
            return (await self.pion.call("answer", sdp=args[0]))["sdp"]
        raise AssertionError(op)


@pytest.mark.parametrize("restarter", ["pion", "pywebrtc"])
@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "pion-offers"])
def test_ice_restart_keeps_the_channels(pion: None, we_offer: bool, restarter: str) -> None:
    async def body() -> None:
        link = await connect(we_offer, "ours")
        try:
            await messages_both_ways(link, "ordered", count=3)
            association = link.pc.sctp
            call = _PionCommands(link.pion)
            if restarter == "pion":
                await peer_restarts(link.pc, call)
            else:
                await we_restart(link.pc, call)
            assert link.pc.sctp is association
            # Pion's agent drops its pair on restart and reports "new" until it has selected
            # the new one, which may come a moment after ours.
            loop = asyncio.get_running_loop()
            end = loop.time() + TIMEOUT
            while (state := await link.pion.call("state"))["connection"] != "connected":
                assert loop.time() < end, state
                await asyncio.sleep(0.05)
            for label in KINDS:
                await messages_both_ways(link, label, count=3)
        finally:
            await link.close()

    run(body)
