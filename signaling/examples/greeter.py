"""A small app on the seam (shown in docs/signaling.md): greets on every data channel, answers
``"ping"`` with ``"pong"``, says what the Realtime ``session`` JSON asked for, echoes audio (a
camera, if offered, is answered ``inactive``), and ends the session when the client sends
``"bye"``.

Run it with ``pywebrtc-signaling --app signaling.examples.greeter:app``.
"""

from __future__ import annotations

from pywebrtc import RTCDataChannel
from signaling.app import Session


async def app(session: Session) -> None:
    for transceiver in session.pc.getTransceivers():
        if transceiver.kind == "audio":  # send each caller's audio back
            await transceiver.sender.replaceTrack(transceiver.receiver.track)
        else:
            transceiver.direction = "inactive"  # no camera wanted here
    instructions = (session.config or {}).get("instructions", "none")

    def on_channel(channel: RTCDataChannel) -> None:
        channel.send(f"hello {session.id}, instructions: {instructions}")

        def on_message(message: str | bytes) -> None:
            if message == "bye":
                session.spawn(session.close("bye"))
            elif message == "ping":
                channel.send("pong")

        channel.on("message", on_message)

    session.pc.on("datachannel", on_channel)


app.decode_audio = False  # type: ignore[attr-defined]  # pass Opus through, no decoding
