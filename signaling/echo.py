"""``--app echo``: every received audio and video track goes back to the same peer, every
data-channel message back on its channel with the same type (str stays str, bytes stay bytes).

Audio is passed through encoded (``decode_audio = False``: the remote track yields the Opus
packets, which the sender sends as they are), so echoing costs no codec work; and on receipt
(``forward_audio = True``: no jitter buffer, no playout timer), each packet is sent back as
soon as it arrives, with its own timestamp.

Video is passed through too (``decode_video = False``: the remote track yields each assembled
frame encoded, which the same section's sender packetizes again as it is, in the codec it came
in; a ``sendrecv`` video section is answered ``sendrecv`` because its sender has that track).
Nothing is decoded or encoded, so a frame can only go back in the codec it came in: the answer
to each video section offers the client one codec, the first of its offer that we can send
(VP8, VP9 or H.264: a client preferring AV1 is answered its next choice), so that what it sends
is what our sender sends. Nor can the echo make a keyframe: when the client asks for one
(PLI or FIR on the stream we send), the sender drops frames until the next keyframe and asks the
client's own sender for one (a PLI on the stream it receives), see
:mod:`pywebrtc.videoplane`. NACKs are answered from our own retransmission buffer on each leg.

Its RTCP reports have a 5 s minimum interval (``rtcp_interval``, libwebrtc's for audio) instead
of 1 s: the echo reads no loss or round-trip figures, and in a profile of the echo server at 150
sessions the timer's work, mostly these reports, was 14% of its samples.
"""

from __future__ import annotations

import contextlib

from pywebrtc.exceptions import InvalidStateError
from pywebrtc.jsep.video import negotiate_video, read_video
from pywebrtc.rtcdatachannel import RTCDataChannel
from pywebrtc.rtcrtptransceiver import RTCRtpSender, RTCRtpTransceiver
from pywebrtc.sdp import Direction, SessionDescription
from signaling.app import Session


async def echo(session: Session) -> None:
    transceivers = session.pc.getTransceivers()
    video = [t for t in transceivers if t.kind == "video"]
    if video:
        _one_codec_each(session, video)
    for transceiver in transceivers:
        await transceiver.sender.replaceTrack(transceiver.receiver.track)

    def on_channel(channel: RTCDataChannel) -> None:
        def on_message(message: str | bytes) -> None:
            with contextlib.suppress(InvalidStateError):
                channel.send(message)

        channel.on("message", on_message)

    for channel in session.channels:
        on_channel(channel)
    session.pc.on("datachannel", on_channel)


def _one_codec_each(session: Session, transceivers: list[RTCRtpTransceiver]) -> None:
    """Answer each video section with one codec: the one our sender would pick (the first of
    the offer we can send), so the client sends in it too."""
    remote = session.pc.remoteDescription
    capabilities = RTCRtpSender.getCapabilities("video")
    if remote is None or capabilities is None:
        return
    offer = SessionDescription.parse(remote.sdp)  # only for offers with video
    for transceiver in transceivers:
        mid = transceiver.mid or ""
        media = offer.media_by_mid(mid)
        if media is None and mid.isdigit() and int(mid) < len(offer.media):
            media = offer.media[int(mid)]  # a legacy section without a=mid: its index
        offered = read_video(media) if media is not None else None
        negotiated = (
            negotiate_video(Direction.SENDRECV, offered, we_offered=False) if offered else None
        )
        codec = negotiated.send_codec if negotiated is not None else None
        if codec is None:
            continue  # nothing we can send back: the section's answer is left as it is
        mime = f"video/{codec.key}"
        transceiver.setCodecPreferences(
            [c for c in capabilities.codecs if c.mimeType.lower() == mime]
        )


echo.decode_audio = False  # type: ignore[attr-defined]
echo.forward_audio = True  # type: ignore[attr-defined]
echo.decode_video = False  # type: ignore[attr-defined]
echo.rtcp_interval = 5.0  # type: ignore[attr-defined]
