"""Offers made by pywebrtc (nobody answers them) and variants the service must refuse."""

from __future__ import annotations

import asyncio

from pywebrtc import RTCPeerConnection


def make_offer(audio: bool = True, channel: bool = True, video: bool = False) -> str:
    async def body() -> str:
        pc = RTCPeerConnection()
        if audio:
            pc.addTransceiver("audio", "sendrecv")
        if video:
            pc.addTransceiver("video", "sendrecv")
        if channel:
            pc.createDataChannel("x")
        offer = await pc.createOffer()
        await pc.close()
        return offer.sdp

    return asyncio.run(body())


OFFER = make_offer()
NO_CODEC = make_offer(channel=False)
for _line in [line for line in NO_CODEC.splitlines() if line.startswith("m=audio")]:
    NO_CODEC = NO_CODEC.replace(_line, "m=audio 9 UDP/TLS/RTP/SAVPF 120")
# A video section in audio codecs only, alone: nothing we can answer.
VIDEO_NO_CODEC = make_offer(channel=False).replace("m=audio", "m=video")
# An offer of a kind of section we have nothing for, alone.
TEXT_ONLY = make_offer(channel=False).replace("m=audio", "m=text")
