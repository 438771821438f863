"""``--app echo``: every received audio and video track goes back to the same peer, every
data-channel message back on its channel with the same type (str stays str, bytes stay bytes).

Audio is passed through encoded (``decode_audio = False``: the remote track yields the Opus
packets, which the sender sends as they are), so echoing costs no codec work; and on receipt
(``forward_audio = True``: no jitter buffer, no playout timer), each packet is sent back as
soon as it arrives, with its own timestamp.

Video is passed through too (``decode_video = False``: the remote track yields each assembled
frame encoded, which the same section's sender packetizes again as it is, in the codec it came
in; a ``sendrecv`` video section is answered ``sendrecv`` because its sender has that track).
Nothing is decoded or encoded, so the echo cannot make a keyframe: when the client asks for one
(PLI or FIR on the stream we send), the sender drops frames until the next keyframe and asks the
client's own sender for one (a PLI on the stream it receives), see
:mod:`pywebrtc.videoplane`. NACKs are answered from our own retransmission buffer on each leg.
"""

from __future__ import annotations

import contextlib

from pywebrtc.exceptions import InvalidStateError
from pywebrtc.rtcdatachannel import RTCDataChannel
from signaling.app import Session


async def echo(session: Session) -> None:
    for transceiver in session.pc.getTransceivers():
        await transceiver.sender.replaceTrack(transceiver.receiver.track)

    def on_channel(channel: RTCDataChannel) -> None:
        def on_message(message: str | bytes) -> None:
            with contextlib.suppress(InvalidStateError):
                channel.send(message)

        channel.on("message", on_message)

    for channel in session.channels:
        on_channel(channel)
    session.pc.on("datachannel", on_channel)


echo.decode_audio = False  # type: ignore[attr-defined]
echo.forward_audio = True  # type: ignore[attr-defined]
echo.decode_video = False  # type: ignore[attr-defined]
