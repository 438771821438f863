"""An aiortc client that connects through ``POST /offer``, prints ``connected`` once its data
channel echoes, then waits to be killed (``python -m tests.signaling.vanishing_client URL``)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import aiohttp
import aioice.ice
import aiortc


async def main(url: str) -> None:
    aioice.ice.get_host_addresses = lambda **_: ["127.0.0.1"]
    pc = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))
    channel = pc.createDataChannel("echo")
    echoed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def on_message(message: object) -> None:
        if not echoed.done():
            echoed.set_result(message)

    channel.on("message", on_message)
    channel.on("open", lambda: channel.send("ping"))
    await pc.setLocalDescription(await pc.createOffer())
    async with aiohttp.ClientSession() as http:
        offer = {"type": "offer", "sdp": pc.localDescription.sdp}
        async with http.post(url + "/offer", json=offer) as response:
            answer = await response.json()
    await pc.setRemoteDescription(aiortc.RTCSessionDescription(answer["sdp"], "answer"))
    await asyncio.wait_for(echoed, 20)
    print("connected", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
