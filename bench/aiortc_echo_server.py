"""The baseline for ``bench/signaling.py``: the echo server people build on aiortc today.

aiohttp answers ``POST /offer`` (``{"type": "offer", "sdp": …}`` → ``{"type": "answer",
"sdp": …}``) with one ``aiortc.RTCPeerConnection`` per offer, the shape of aiortc's
``examples/server`` (also pipecat's SmallWebRTC and fastrtc): every data-channel message is
sent back on its channel, every received audio track is sent back to the same peer through a
``MediaRelay`` subscription. aiortc has no encoded pass-through on the receiving side (a
remote track yields decoded frames), so its echo decodes and re-encodes the Opus; that is
what such a server costs. A session ends (and is closed and forgotten) when its connection
state becomes ``failed`` or ``closed``. ``GET /sessions`` gives the live count, for the bench.

    python -m bench.aiortc_echo_server HOST PORT

``iceServers=[]``: aiortc's default is a public STUN server (and no traffic may leave the
machine). Runs on uvloop when it is installed, as ``pywebrtc-signaling`` does.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

logger = logging.getLogger(__name__)


def build_app() -> Any:
    import aiortc
    from aiohttp import web
    from aiortc.contrib.media import MediaRelay

    relay = MediaRelay()
    pcs: set[Any] = set()

    async def offer(request: web.Request) -> web.Response:
        body = await request.json()
        pc = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))
        pcs.add(pc)

        def on_datachannel(channel: Any) -> None:
            channel.on("message", channel.send)

        def on_track(track: Any) -> None:
            if track.kind == "audio":
                pc.addTrack(relay.subscribe(track))

        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed") and pc in pcs:
                pcs.discard(pc)
                await pc.close()

        pc.on("datachannel", on_datachannel)
        pc.on("track", on_track)
        pc.on("connectionstatechange", on_state)

        await pc.setRemoteDescription(aiortc.RTCSessionDescription(body["sdp"], body["type"]))
        await pc.setLocalDescription(await pc.createAnswer())
        return web.json_response({"type": pc.localDescription.type, "sdp": pc.localDescription.sdp})

    async def sessions(request: web.Request) -> web.Response:
        return web.json_response({"sessions": len(pcs)})

    async def close_all(app: web.Application) -> None:
        await asyncio.gather(*(pc.close() for pc in list(pcs)))
        pcs.clear()

    app = web.Application()
    app.router.add_post("/offer", offer)
    app.router.add_get("/sessions", sessions)
    app.on_shutdown.append(close_all)
    return app


def main() -> None:
    from aiohttp import web

    logging.basicConfig(level=logging.WARNING)
    host, port = sys.argv[1], int(sys.argv[2])
    try:
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover
        loop = asyncio.new_event_loop()
    web.run_app(build_app(), host=host, port=port, access_log=None, print=None, loop=loop)


if __name__ == "__main__":
    main()
