"""An app that watches the caller's camera (shown in docs/signaling.md): video tracks reach an
app in ``session.tracks`` as audio ones do, here decoded (``av.VideoFrame`` from ``recv()``);
on every data channel, ``"look"`` is answered with what the camera showed last, as JSON
(frames seen, picture size, mean luma). The microphone, if any, is not listened to.

Run it with ``pywebrtc-signaling --app signaling.examples.camera:app``.
"""

from __future__ import annotations

import json

import av

from pywebrtc import MediaStreamError, MediaStreamTrack, RTCDataChannel
from signaling.app import Session


async def app(session: Session) -> None:
    seen: dict[str, float] = {"frames": 0, "width": 0, "height": 0, "luma": 0.0}
    last: list[av.VideoFrame] = []

    async def watch(track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:  # the session ended
                return
            if isinstance(frame, av.VideoFrame):
                seen["frames"] += 1
                last[:] = [frame]

    for transceiver in session.pc.getTransceivers():
        if transceiver.kind == "audio":
            transceiver.direction = "inactive"  # nothing said, nothing heard
    for track in session.tracks:
        if track.kind == "video":
            session.spawn(watch(track))

    def on_channel(channel: RTCDataChannel) -> None:
        def on_message(message: str | bytes) -> None:
            if message == "look" and last:
                frame = last[0]
                seen.update(width=frame.width, height=frame.height, luma=_mean_luma(frame))
            channel.send(json.dumps(seen))

        channel.on("message", on_message)

    for channel in session.channels:
        on_channel(channel)
    session.pc.on("datachannel", on_channel)


def _mean_luma(frame: av.VideoFrame) -> float:
    plane = frame.reformat(format="gray").planes[0]
    data, stride = bytes(plane), plane.line_size
    rows = (data[r * stride : r * stride + plane.width] for r in range(plane.height))
    return sum(sum(row) for row in rows) / (plane.width * plane.height)
