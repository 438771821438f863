"""``--app echo``: every received audio track goes back to the same peer, every data-channel
message back on its channel with the same type (str stays str, bytes stay bytes).

Audio is passed through encoded (``decode_audio = False``: the remote track yields the Opus
packets, which the sender sends as they are), so echoing costs no codec work; and on receipt
(``forward_audio = True``: no jitter buffer, no playout timer), each packet is sent back as
soon as it arrives, with its own timestamp. Its RTCP reports have a 5 s minimum interval
(``rtcp_interval``, libwebrtc's for audio) instead of 1 s: the echo reads no loss or round-trip
figures, and in a profile of the echo server at 150 sessions the timer's work, mostly these
reports, was 14% of its samples.
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
echo.rtcp_interval = 5.0  # type: ignore[attr-defined]
