"""Offers made by pywebrtc (nobody answers them) and variants the service must refuse."""

from __future__ import annotations

import asyncio

from pywebrtc import RTCPeerConnection


def make_offer(audio: bool = True, channel: bool = True) -> str:
    async def body() -> str:
        pc = RTCPeerConnection()
        if audio:
            pc.addTransceiver("audio", "sendrecv")
        if channel:
            pc.createDataChannel("x")
        offer = await pc.createOffer()
        await pc.close()
        return offer.sdp

    return asyncio.run(body())


OFFER = make_offer()
VIDEO = OFFER.replace("m=audio", "m=video")
NO_CODEC = make_offer(channel=False)
for _line in [line for line in NO_CODEC.splitlines() if line.startswith("m=audio")]:
    NO_CODEC = NO_CODEC.replace(_line, "m=audio 9 UDP/TLS/RTP/SAVPF 120")
