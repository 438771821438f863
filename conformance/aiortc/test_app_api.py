"""The aiortc API that pipecat's SmallWebRTC transport and fastrtc call, on our peer connection
with aiortc (unmodified, same event loop, ``iceServers=[]``) as the remote peer.

Each test does what those apps do, in their order: the answerer side of a server that gets an
offer with audio and a data channel (``datachannel``, ``track`` and the state events, with
``async def`` handlers); ``addTrack`` inside the ``track`` handler; a transceiver's direction
set before the answer and a track put on it later with an un-awaited ``replaceTrack``; trickled
candidates parsed by ``pywebrtc.sdp.candidate_from_sdp`` or built field by field, then
``addIceCandidate(None)``; ``RTCBundlePolicy``; and remote tracks that end.
"""

from __future__ import annotations

import array
import asyncio
import math
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiortc
import av
import pytest

from pywebrtc import (
    AudioStreamTrack,
    MediaStreamError,
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCSessionDescription,
)
from pywebrtc.contrib.media import MediaPlayer, MediaRelay
from pywebrtc.media.frames import pcm_frame
from pywebrtc.sdp import candidate_from_sdp
from tests.peerconnection.audio_helpers import tone_of
from tests.test_aiortc_names import write_tone_wav

from .test_audio import AiortcTone

TIMEOUT = 20.0


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 60))


class TenMillisecondTone(AudioStreamTrack):
    """pipecat's output track: 10 ms mono s16 frames at 24 kHz, its own pacer (``_start`` and
    ``_timestamp`` set in ``__init__``, in samples of its rate)."""

    def __init__(self, frequency: float, rate: int = 24000) -> None:
        super().__init__()
        self.frequency, self.rate = frequency, rate
        self._timestamp = 0
        self._start = asyncio.get_running_loop().time()

    async def recv(self) -> av.AudioFrame:
        loop = asyncio.get_running_loop()
        if self._timestamp > 0:
            assert self._start is not None
            wait = self._start + self._timestamp / self.rate - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
        count = self.rate // 100
        step = 2 * math.pi * self.frequency / self.rate
        pcm = array.array(
            "h", (int(9000 * math.sin(step * (self._timestamp + i))) for i in range(count))
        )
        frame = pcm_frame(pcm.tobytes(), self.rate, 1, self._timestamp)
        self._timestamp += count
        return frame


def aiortc_client(tone: float | None = 1000.0, channel: bool = True) -> aiortc.RTCPeerConnection:
    """What a browser client of those apps offers: a microphone and a data channel."""
    theirs = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))
    if tone is not None:
        theirs.addTrack(AiortcTone(tone))
    if channel:
        theirs.createDataChannel("chat")
    return theirs


async def their_offer(theirs: aiortc.RTCPeerConnection) -> RTCSessionDescription:
    await theirs.setLocalDescription(await theirs.createOffer())
    offer = theirs.localDescription
    return RTCSessionDescription(sdp=offer.sdp, type=offer.type)


async def answer_them(ours: RTCPeerConnection, theirs: aiortc.RTCPeerConnection) -> str:
    await ours.setLocalDescription(await ours.createAnswer())
    answer = ours.localDescription
    assert answer is not None
    await theirs.setRemoteDescription(aiortc.RTCSessionDescription(answer.sdp, answer.type))
    return answer.sdp


def first(loop: asyncio.AbstractEventLoop) -> tuple[asyncio.Future[Any], Callable[..., None]]:
    fut: asyncio.Future[Any] = loop.create_future()

    def handler(value: Any = None) -> None:
        if not fut.done():
            fut.set_result(value)

    return fut, handler


def test_events_reach_async_handlers_and_a_remote_channel_is_open_in_datachannel() -> None:
    async def body() -> None:
        loop = asyncio.get_running_loop()
        ours = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        theirs = aiortc_client()
        seen: dict[str, list[str]] = {"connection": [], "ice": [], "gathering": []}
        connected, on_connected = first(loop)
        channel_state, on_channel_state = first(loop)
        track_kind, on_track_kind = first(loop)

        @ours.on("connectionstatechange")
        async def on_connectionstatechange() -> None:
            seen["connection"].append(ours.connectionState)
            if ours.connectionState == "connected":
                on_connected()

        @ours.on("iceconnectionstatechange")
        async def on_iceconnectionstatechange() -> None:
            seen["ice"].append(ours.iceConnectionState)

        @ours.on("icegatheringstatechange")
        async def on_icegatheringstatechange() -> None:
            seen["gathering"].append(ours.iceGatheringState)

        @ours.on("datachannel")
        def on_datachannel(channel: RTCDataChannel) -> None:
            # pipecat flushes its queue here when the channel is already open (aiortc's way)
            on_channel_state((channel.label, channel.readyState))

        @ours.on("track")
        async def on_track(track: MediaStreamTrack) -> None:
            await asyncio.sleep(0)
            on_track_kind(track.kind)

        await ours.setRemoteDescription(await their_offer(theirs))
        await answer_them(ours, theirs)
        await asyncio.wait_for(connected, TIMEOUT)
        assert await asyncio.wait_for(channel_state, TIMEOUT) == ("chat", "open")
        assert await asyncio.wait_for(track_kind, TIMEOUT) == "audio"
        assert seen["gathering"] == ["gathering", "complete"]
        # (an async handler reads the state when it runs: a quick change may show twice)
        assert seen["ice"][0] == "checking" and {"connected", "completed"} & set(seen["ice"])
        assert seen["connection"][:2] == ["connecting", "connected"]
        await ours.close()
        await asyncio.sleep(0)  # the handlers' tasks run
        assert seen["connection"][-1] == "closed" and seen["ice"][-1] == "closed"
        await theirs.close()

    run(body)


def test_add_track_in_the_track_handler_echoes_on_the_offered_transceiver() -> None:
    """fastrtc's and aiortc's examples' echo: ``pc.addTrack(relay.subscribe(track))`` inside
    the ``track`` handler, which runs inside setRemoteDescription; the answer is sendrecv on
    the one transceiver the offer made, and aiortc hears its own tone back."""

    async def body() -> None:
        ours = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        theirs = aiortc_client(tone=660.0, channel=False)
        loop = asyncio.get_running_loop()
        their_track, on_their_track = first(loop)
        theirs.on("track", on_their_track)
        relay = MediaRelay()
        added: list[bool] = []

        @ours.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            ours.addTrack(relay.subscribe(track))
            added.append(True)

        await ours.setRemoteDescription(await their_offer(theirs))
        assert added == [True]  # fired inside setRemoteDescription, as aiortc does
        (transceiver,) = ours.getTransceivers()
        assert transceiver.direction == "sendrecv" and transceiver.sender.track is not None
        answer = await answer_them(ours, theirs)
        assert "a=sendrecv" in answer
        heard = await tone_of(await asyncio.wait_for(their_track, TIMEOUT))
        assert abs(heard - 660) < 10, heard
        await ours.close()
        await theirs.close()

    run(body)


def test_direction_set_before_the_answer_then_replace_track_without_await() -> None:
    """pipecat: after setRemoteDescription it sets every transceiver's direction to sendrecv,
    answers with no track, and once connected calls ``sender.replaceTrack(track)`` without
    awaiting it (aiortc's replaceTrack is synchronous); its track gives 10 ms at 24 kHz."""

    async def body() -> None:
        ours = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        theirs = aiortc_client(tone=1000.0)
        loop = asyncio.get_running_loop()
        their_track, on_their_track = first(loop)
        theirs.on("track", on_their_track)
        connected, on_connected = first(loop)
        ours.on(
            "connectionstatechange",
            lambda: on_connected() if ours.connectionState == "connected" else None,
        )
        await ours.setRemoteDescription(await their_offer(theirs))
        transceivers = ours.getTransceivers()
        assert [t.direction for t in transceivers] == ["recvonly"]
        for transceiver in transceivers:
            transceiver.direction = "sendrecv"
        answer = await answer_them(ours, theirs)
        assert "a=sendrecv" in answer
        await asyncio.wait_for(connected, TIMEOUT)
        tone = TenMillisecondTone(520)
        transceivers[0].sender.replaceTrack(tone)  # not awaited, as pipecat does
        assert transceivers[0].sender.track is tone
        heard = await tone_of(await asyncio.wait_for(their_track, TIMEOUT))
        assert abs(heard - 520) < 10, heard
        await ours.close()
        await theirs.close()

    run(body)


@pytest.mark.parametrize("form", ["candidate_from_sdp", "fields"])
def test_trickled_candidates_then_none_for_the_end(form: str) -> None:
    """The offer arrives without candidates; they come one by one as a browser's JSON gives
    them: pipecat parses ``candidate:...`` with ``pywebrtc.sdp.candidate_from_sdp``, fastrtc
    builds an RTCIceCandidate from the split fields; then ``addIceCandidate(None)``."""

    async def body() -> None:
        loop = asyncio.get_running_loop()
        config = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        ours = RTCPeerConnection(config)
        theirs = aiortc_client()
        opened, on_open = first(loop)
        ours.on("datachannel", on_open)
        offer = await their_offer(theirs)
        lines = offer.sdp.splitlines()
        texts = [x[2:] for x in lines if x.startswith("a=candidate:")]
        kept = [x for x in lines if not x.startswith(("a=candidate:", "a=end-of-candidates"))]
        assert texts
        await ours.setRemoteDescription(RTCSessionDescription("\r\n".join(kept) + "\r\n", "offer"))
        await answer_them(ours, theirs)
        for text in texts:  # "candidate:<foundation> 1 udp <priority> <ip> <port> typ host"
            if form == "candidate_from_sdp":
                candidate = candidate_from_sdp(text)
            else:
                parts = text.split()
                candidate = RTCIceCandidate(
                    component=int(parts[1]),
                    foundation=parts[0].split(":", 1)[1],
                    ip=parts[4],
                    port=int(parts[5]),
                    priority=int(parts[3]),
                    protocol=parts[2],
                    type=parts[parts.index("typ") + 1],
                )
            candidate.sdpMid, candidate.sdpMLineIndex = "0", 0
            await ours.addIceCandidate(candidate)
        await ours.addIceCandidate(None)
        channel = await asyncio.wait_for(opened, TIMEOUT)
        assert channel.readyState == "open"
        assert ours.connectionState == "connected"
        await ours.close()
        await theirs.close()

    run(body)


@pytest.mark.parametrize("closer", ["ours", "theirs"])
def test_remote_tracks_end_with_an_async_ended_handler(closer: str) -> None:
    """A received track ends (``recv`` raises MediaStreamError, ``ended`` fires and its
    ``async def`` handler runs) when we close, and when the remote peer closes."""

    async def body() -> None:
        loop = asyncio.get_running_loop()
        ours = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        theirs = aiortc_client(channel=False)
        remote, on_remote = first(loop)
        ended, on_ended_done = first(loop)

        @ours.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            on_remote(track)

            @track.on("ended")
            async def on_ended() -> None:
                await asyncio.sleep(0)
                on_ended_done(track.readyState)

        await ours.setRemoteDescription(await their_offer(theirs))
        await answer_them(ours, theirs)
        track = await asyncio.wait_for(remote, TIMEOUT)
        await asyncio.wait_for(track.recv(), TIMEOUT)

        async def read_until_ended() -> None:
            with pytest.raises(MediaStreamError):
                while True:
                    await track.recv()

        reader = asyncio.create_task(read_until_ended())
        await (ours if closer == "ours" else theirs).close()
        await asyncio.wait_for(reader, TIMEOUT)
        assert await asyncio.wait_for(ended, TIMEOUT) == "ended"
        await ours.close()
        await theirs.close()

    run(body)


@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "aiortc-offers"])
def test_always_negotiate_data_channels_then_a_channel_without_renegotiation(
    we_offer: bool,
) -> None:
    """``RTCConfiguration(alwaysNegotiateDataChannels=True)``: the offer carries a data
    section with no channel yet; a channel made once connected opens with no new offer."""

    async def body() -> None:
        loop = asyncio.get_running_loop()
        ours = RTCPeerConnection(RTCConfiguration(iceServers=[], alwaysNegotiateDataChannels=True))
        theirs = aiortc.RTCPeerConnection(
            aiortc.RTCConfiguration(iceServers=[], alwaysNegotiateDataChannels=True)
        )
        renegotiate: list[bool] = []
        ours.on("negotiationneeded", lambda: renegotiate.append(True))
        connected, on_connected = first(loop)
        ours.on(
            "connectionstatechange",
            lambda: on_connected() if ours.connectionState == "connected" else None,
        )
        if we_offer:
            await ours.setLocalDescription(await ours.createOffer())
            offer = ours.localDescription
            assert offer is not None and "m=application" in offer.sdp
            await theirs.setRemoteDescription(aiortc.RTCSessionDescription(offer.sdp, "offer"))
            await theirs.setLocalDescription(await theirs.createAnswer())
            answer = theirs.localDescription
            await ours.setRemoteDescription(RTCSessionDescription(answer.sdp, "answer"))
        else:
            await ours.setRemoteDescription(await their_offer(theirs))
            await answer_them(ours, theirs)
        await asyncio.wait_for(connected, TIMEOUT)
        arrived, on_arrived = first(loop)
        theirs.on("datachannel", on_arrived)
        mine = ours.createDataChannel("late")
        opened, on_opened = first(loop)
        mine.on("open", on_opened)
        await asyncio.wait_for(opened, TIMEOUT)
        their_channel = await asyncio.wait_for(arrived, TIMEOUT)
        assert their_channel.label == "late"
        await asyncio.sleep(0)
        assert renegotiate == []
        await ours.close()
        await theirs.close()

    run(body)


def test_a_player_without_decoding_sends_its_opus_packets(tmp_path: Path) -> None:
    """``MediaPlayer(file, decode=False)`` hands out Ogg's Opus packets; sent as they are
    (no re-encoding), aiortc decodes the file's tone."""
    wav, ogg = tmp_path / "tone.wav", tmp_path / "tone.ogg"
    write_tone_wav(wav, 600.0, seconds=3.0)
    with av.open(str(wav)) as source, av.open(str(ogg), "w") as out:
        stream = out.add_stream("libopus", rate=48000)
        for frame in source.decode(audio=0):
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)

    async def body() -> None:
        ours = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        theirs = aiortc_client(tone=300.0, channel=False)
        their_track, on_their_track = first(asyncio.get_running_loop())
        theirs.on("track", on_their_track)
        player = MediaPlayer(str(ogg), decode=False)

        @ours.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            assert player.audio is not None
            ours.addTrack(player.audio)

        await ours.setRemoteDescription(await their_offer(theirs))
        await answer_them(ours, theirs)
        heard = await tone_of(await asyncio.wait_for(their_track, TIMEOUT))
        assert abs(heard - 600) < 10, heard
        await ours.close()
        await theirs.close()

    run(body)
