"""An audio echo server in the style of aiortc's ``examples/server``, on pywebrtc.

It is an aiortc app whose imports say ``pywebrtc`` instead of ``aiortc``: nothing else
differs (``conformance/aiortc/test_app_port.py`` runs it both ways against an aiortc client).
POST an offer as JSON ``{"sdp": ..., "type": "offer"}`` to ``/offer`` and get the answer:

* each audio track the client sends comes back to it (through a ``MediaRelay``), or, with
  ``--play-from FILE``, the file plays instead;
* with ``--record-to FILE`` what the client sends is also recorded (WAV, Ogg, MP3 …);
* on a data channel, ``ping <n>`` is answered ``pong <n>``.

    python examples/aiortc_style_server.py --port 8080 --record-to /tmp/heard.wav

Unlike aiortc's example there is no web page and no video transform (audio and data only);
any WebRTC client that POSTs its offer works, a browser included. No STUN server is
configured: the server is for clients that can reach its host candidates.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from aiohttp import web

from pywebrtc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from pywebrtc.contrib.media import MediaBlackhole, MediaPlayer, MediaRecorder, MediaRelay

logger = logging.getLogger("pc")

PCS = web.AppKey("pcs", set[RTCPeerConnection])
RELAY = web.AppKey("relay", MediaRelay)
PLAY_FROM = web.AppKey("play_from", str)
RECORD_TO = web.AppKey("record_to", str)


async def offer(request: web.Request) -> web.Response:
    params = await request.json()
    offer = RTCSessionDescription(sdp=params["sdp"], type=params["type"])

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    request.app[PCS].add(pc)
    relay = request.app[RELAY]
    player = MediaPlayer(request.app[PLAY_FROM]) if request.app[PLAY_FROM] else None
    recorder: MediaRecorder | MediaBlackhole = (
        MediaRecorder(request.app[RECORD_TO]) if request.app[RECORD_TO] else MediaBlackhole()
    )

    @pc.on("datachannel")
    def on_datachannel(channel: RTCDataChannel) -> None:
        @channel.on("message")
        def on_message(message: str | bytes) -> None:
            if isinstance(message, str) and message.startswith("ping"):
                channel.send("pong" + message[4:])

    @pc.on("connectionstatechange")
    async def on_connectionstatechange() -> None:
        logger.info("connection state is %s", pc.connectionState)
        if pc.connectionState == "failed":
            await pc.close()
            request.app[PCS].discard(pc)

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        logger.info("track %s received", track.kind)
        if track.kind == "audio":
            if player is not None and player.audio is not None:
                pc.addTrack(player.audio)
            else:
                pc.addTrack(relay.subscribe(track))
            recorder.addTrack(relay.subscribe(track))

        @track.on("ended")
        async def on_ended() -> None:
            logger.info("track %s ended", track.kind)
            await recorder.stop()

    await pc.setRemoteDescription(offer)
    await recorder.start()

    answer = await pc.createAnswer()
    await pc.setLocalDescription(answer)
    local = pc.localDescription
    assert local is not None
    return web.json_response({"sdp": local.sdp, "type": local.type})


async def on_shutdown(app: web.Application) -> None:
    await asyncio.gather(*[pc.close() for pc in app[PCS]])
    app[PCS].clear()


def make_app(play_from: str = "", record_to: str = "") -> web.Application:
    app = web.Application()
    app[PCS] = set()
    app[RELAY] = MediaRelay()
    app[PLAY_FROM] = play_from
    app[RECORD_TO] = record_to
    app.on_shutdown.append(on_shutdown)
    app.router.add_post("/offer", offer)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="WebRTC audio echo server")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on")
    parser.add_argument("--play-from", default="", help="play this file instead of the echo")
    parser.add_argument("--record-to", default="", help="record what clients send to this file")
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    web.run_app(make_app(args.play_from, args.record_to), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
