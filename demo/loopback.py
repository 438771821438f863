"""``pywebrtc-demo`` (:mod:`demo.loopback`): the main job of the repository, growing with the
stack.

Today it runs two pywebrtc peers in one process over real loopback UDP: offer/answer, ICE,
DTLS 1.2, SCTP and a data channel, then an echo round trip and a bulk transfer, printing what
was negotiated and how long each step took. When the voice agent lands it takes this place.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from pywebrtc import RTCDataChannel, RTCPeerConnection
from pywebrtc.stats import RTCTransportStats


async def run(megabytes: int) -> None:
    offerer, answerer = RTCPeerConnection(), RTCPeerConnection()
    opened: asyncio.Future[RTCDataChannel] = asyncio.get_running_loop().create_future()
    echoed: asyncio.Queue[str | bytes] = asyncio.Queue()
    received = 0
    total = megabytes << 20
    done = asyncio.Event()

    @answerer.on("datachannel")
    def on_datachannel(channel: RTCDataChannel) -> None:
        @channel.on("message")
        def on_message(message: str | bytes) -> None:
            nonlocal received
            if isinstance(message, str):
                channel.send(message)  # echo text
            else:
                received += len(message)
                if received >= total:
                    done.set()

    start = time.perf_counter()
    channel = offerer.createDataChannel("demo")
    channel.on("open", lambda: opened.set_result(channel))
    channel.on("message", echoed.put_nowait)
    await offerer.setLocalDescription(await offerer.createOffer())
    assert offerer.localDescription is not None
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    assert answerer.localDescription is not None
    await offerer.setRemoteDescription(answerer.localDescription)
    await asyncio.wait_for(opened, 10)
    channel.send("ping")
    reply = await asyncio.wait_for(echoed.get(), 10)
    setup_ms = (time.perf_counter() - start) * 1000

    stats = await offerer.getStats()
    transport = next(s for s in stats.values() if isinstance(s, RTCTransportStats))
    print(
        f"connected: ICE {offerer.iceConnectionState}, DTLS {transport.dtlsState} "
        f"({transport.dtlsCipher}, DTLS role {transport.dtlsRole})"
    )
    print(f"offer -> first echoed message ({reply!r}): {setup_ms:.1f} ms")

    chunk = bytes(64 * 1024)
    drained = asyncio.Event()
    channel.bufferedAmountLowThreshold = 1 << 20
    channel.on("bufferedamountlow", drained.set)
    start = time.perf_counter()
    for _ in range(total // len(chunk)):
        channel.send(chunk)
        if channel.bufferedAmount > 4 << 20:  # back-pressure: wait for the low-water event
            drained.clear()
            await drained.wait()
    await asyncio.wait_for(done.wait(), 60)
    seconds = time.perf_counter() - start
    print(
        f"sent {megabytes} MiB over the data channel in {seconds * 1000:.0f} ms "
        f"({total * 8 / seconds / 1e6:.0f} Mbit/s)"
    )
    await offerer.close()
    await answerer.close()
    print(f"closed: {offerer.connectionState}, {answerer.connectionState}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="pywebrtc-demo", description=__doc__)
    parser.add_argument("--megabytes", type=int, default=16, help="bulk transfer size (MiB)")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(run(args.megabytes))


if __name__ == "__main__":
    main()
