"""Audio both ways between pywebrtc and a browser page, next to a data channel on the one
BUNDLE transport: used by the Chrome and Firefox audio modules."""

from __future__ import annotations

import asyncio
import math
import struct
import wave
from pathlib import Path
from typing import Any

from conformance.browser.driver import RemotePage
from conformance.restart import peer_restarts, we_restart
from pywebrtc import MediaStreamTrack, RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from pywebrtc.media import TelephoneEvent
from pywebrtc.rtcrtptransceiver import RTCDTMFToneChangeEvent, RTCRtpCodecCapability, RTCRtpSender
from pywebrtc.settings import SettingEngine
from pywebrtc.stats import RTCInboundRtpStreamStats, RTCOutboundRtpStreamStats
from tests.peerconnection.audio_helpers import ToneTrack, tone_of

TIMEOUT = 20.0
OUR_TONE = 440.0


def write_tone_wav(path: Path, frequency: float, seconds: float = 2.0) -> Path:
    """A 48 kHz mono 16-bit tone (a whole number of periods, so the loop is seamless)."""
    rate = 48000
    periods = round(frequency * seconds)
    count = round(periods * rate / frequency)
    step = 2 * math.pi * frequency / rate
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(
            b"".join(struct.pack("<h", int(12000 * math.sin(step * i))) for i in range(count))
        )
    return path


class AudioLink:
    def __init__(self, pc: RTCPeerConnection, page: RemotePage, browser_pc: int) -> None:
        self.pc = pc
        self.page = page
        self.browser_pc = browser_pc
        loop = asyncio.get_running_loop()
        self.remote_track: asyncio.Future[MediaStreamTrack] = loop.create_future()
        self.channel_open = asyncio.Event()
        self.channel: RTCDataChannel | None = None  # "events", ours or the browser's

    async def close(self) -> None:
        await self.pc.close()
        await self.page.call("closePc", self.browser_pc)


async def connect_audio(
    page: RemotePage,
    we_offer: bool,
    codecs: list[RTCRtpCodecCapability] | None = None,
    settings: SettingEngine | None = None,
) -> AudioLink:
    """Both sides add a microphone-like track and a data channel "events"; non-trickle.
    ``codecs``: our transceiver's codec preferences for the offer or answer."""
    link = AudioLink(RTCPeerConnection(settings=settings), page, await page.call("newPc"))
    pc = link.pc

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if not link.remote_track.done():
            link.remote_track.set_result(track)

    @pc.on("datachannel")
    def on_channel(channel: Any) -> None:
        link.channel = channel
        channel.on("open", link.channel_open.set)
        if channel.readyState == "open":
            link.channel_open.set()

    await page.call("watchTracks", link.browser_pc)
    assert await page.call("addMic", link.browser_pc) == 1
    if we_offer:
        channel = link.channel = pc.createDataChannel("events")
        channel.on("open", link.channel_open.set)
        pc.addTrack(ToneTrack(OUR_TONE))
        if codecs is not None:
            pc.getTransceivers()[0].setCodecPreferences(codecs)
        await pc.setLocalDescription(await pc.createOffer())
        offer = pc.localDescription
        assert offer is not None
        answer = await page.call("answer", link.browser_pc, offer.sdp)
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    else:
        await page.call("createChannel", link.browser_pc, "events", {})
        offer_sdp = await page.call("offer", link.browser_pc)
        await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        pc.addTrack(ToneTrack(OUR_TONE))  # takes the transceiver the offer created
        if codecs is not None:
            pc.getTransceivers()[0].setCodecPreferences(codecs)
        await pc.setLocalDescription(await pc.createAnswer())
        answer_desc = pc.localDescription
        assert answer_desc is not None
        await page.call("setAnswer", link.browser_pc, answer_desc.sdp)
    await page.call("waitOpen", link.browser_pc, "events")
    await asyncio.wait_for(link.channel_open.wait(), TIMEOUT)
    (transceiver,) = pc.getTransceivers()
    assert transceiver.currentDirection == "sendrecv"
    return link


async def browser_packet_rate(link: AudioLink, window: float = 2.0) -> tuple[float, dict[str, Any]]:
    """Packets per second the browser receives from us over ``window`` seconds, timed by its
    stats' own timestamps (the page call's round trip is not part of the window), and the last
    stats."""
    await link.page.call("waitRemoteTrack", link.browser_pc)
    first = await link.page.call("audioStats", link.browser_pc)
    await asyncio.sleep(window)
    last = await link.page.call("audioStats", link.browser_pc)
    inbound0, inbound1 = first["inbound"] or {}, last["inbound"] or {}
    elapsed = (inbound1.get("timestamp", 0) - inbound0.get("timestamp", 0)) / 1000
    assert elapsed > 0, (first, last)
    return (inbound1.get("packetsReceived", 0) - inbound0.get("packetsReceived", 0)) / elapsed, last


async def audio_both_ways(link: AudioLink, browser_tone: float | None) -> None:
    """The browser's tone decoded here (frequency checked when known), ours counted there."""
    track = await asyncio.wait_for(link.remote_track, TIMEOUT)
    frequency = await tone_of(track)
    if browser_tone is not None:
        assert abs(frequency - browser_tone) < browser_tone * 0.03, frequency
    rate, stats = await browser_packet_rate(link)
    assert 40 <= rate <= 60, (rate, stats)
    inbound = stats["inbound"]
    assert inbound["bytesReceived"] > 1000
    assert stats["codecs"].get(inbound["codecId"]) == "audio/opus", stats
    assert stats["outbound"]["packetsSent"] > 20
    ours = await link.pc.getStats()
    (received,) = ours.of_type("inbound-rtp")
    (sent,) = ours.of_type("outbound-rtp")
    assert isinstance(received, RTCInboundRtpStreamStats) and received.packetsReceived > 20
    assert isinstance(sent, RTCOutboundRtpStreamStats) and sent.packetsSent > 40


def capability(mime: str, rate: int) -> RTCRtpCodecCapability:
    caps = RTCRtpSender.getCapabilities("audio")
    assert caps is not None
    return next(c for c in caps.codecs if c.mimeType == mime and c.clockRate == rate)


async def pcmu_both_ways(link: AudioLink, browser_tone: float) -> None:
    """Our preferences put PCMU first: the browser's tone arrives as PCMU (we decode it and
    find its frequency), and the browser's getStats shows PCMU in and out."""
    track = await asyncio.wait_for(link.remote_track, TIMEOUT)
    frequency = await tone_of(track)
    assert abs(frequency - browser_tone) < browser_tone * 0.03, frequency
    rate, stats = await browser_packet_rate(link)
    assert 40 <= rate <= 60, (rate, stats)
    codecs = stats["codecs"]
    assert codecs.get(stats["inbound"]["codecId"]) == "audio/PCMU", stats
    assert codecs.get(stats["outbound"]["codecId"]) == "audio/PCMU", stats


async def dtmf_both_ways(link: AudioLink, tones: str = "159#*0D") -> None:
    """The browser's RTCDTMFSender plays ``tones``; our receiver reports each digit once, with
    its duration. Then ours plays long tones: the browser keeps receiving ~50 packets/s on
    our stream, loses none (events replace audio packets, same SSRC and sequence space), and
    they are event-sized (Chrome has no API that reports received DTMF)."""
    received: list[TelephoneEvent] = []
    link.pc.getReceivers()[0].on("dtmf", received.append)
    await link.page.call("insertDTMF", link.browser_pc, tones, 100, 70)
    changes = await link.page.call("waitTonesDone", link.browser_pc)
    assert changes == [*tones, ""], changes
    loop = asyncio.get_running_loop()
    end = loop.time() + 2.0
    while len(received) < len(tones) and loop.time() < end:
        await asyncio.sleep(0.02)
    assert "".join(e.event for e in received) == tones, received
    # libwebrtc ends an event on the first 20 ms frame past its duration: 100 ms plays 120.
    assert all(0.1 <= e.duration <= 0.14 for e in received), received

    dtmf = link.pc.getSenders()[0].dtmf
    assert dtmf is not None and dtmf.canInsertDTMF
    done: asyncio.Future[None] = loop.create_future()

    @dtmf.on("tonechange")
    def on_tone(event: RTCDTMFToneChangeEvent) -> None:
        if event.tone == "" and not done.done():
            done.set_result(None)

    before = await link.page.call("audioStats", link.browser_pc)
    dtmf.insertDTMF("1234", duration=400, interToneGap=50)
    rate, stats = await browser_packet_rate(link)
    await asyncio.wait_for(done, TIMEOUT)
    assert 40 <= rate <= 60, (rate, stats)
    inbound0, inbound1 = before["inbound"], stats["inbound"]
    assert inbound1["packetsLost"] - inbound0["packetsLost"] <= 0, (before, stats)
    # Payload bytes per packet: ~80 for 32 kbit/s Opus, 4 for a telephone-event.
    packets = inbound1["packetsReceived"] - inbound0["packetsReceived"]
    assert (inbound1["bytesReceived"] - inbound0["bytesReceived"]) / packets < 30, (before, stats)


async def renegotiate_audio_into_data_session(page: RemotePage, browser_tone: float) -> None:
    """A data-only session with the browser; we add audio by a new offer (the browser's mic
    takes the new section), audio flows both ways; we stop it by another offer (port 0) and
    the data channel still carries messages."""
    pc = RTCPeerConnection()
    browser_pc = await page.call("newPc")
    link = AudioLink(pc, page, browser_pc)
    try:

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if not link.remote_track.done():
                link.remote_track.set_result(track)

        channel = pc.createDataChannel("events")
        channel.on("open", link.channel_open.set)
        inbox: asyncio.Queue[str | bytes] = asyncio.Queue()
        channel.on("message", inbox.put_nowait)

        async def offer_answer() -> str:
            await pc.setLocalDescription(await pc.createOffer())
            offer = pc.localDescription
            assert offer is not None
            answer = await page.call("answer", browser_pc, offer.sdp)
            await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
            return str(answer)

        await offer_answer()
        await page.call("waitOpen", browser_pc, "events")
        await asyncio.wait_for(link.channel_open.wait(), TIMEOUT)
        assert pc.getTransceivers() == []

        await page.call("watchTracks", browser_pc)
        await page.call("addMic", browser_pc)
        pc.addTrack(ToneTrack(OUR_TONE))
        answer = await offer_answer()
        assert "m=audio 9 " in answer and "a=group:BUNDLE 0 1" in answer, answer
        (transceiver,) = pc.getTransceivers()
        assert transceiver.mid == "1" and transceiver.currentDirection == "sendrecv"
        await audio_both_ways(link, browser_tone)

        transceiver.stop()
        answer = await offer_answer()
        assert "m=audio 0 " in answer, answer
        assert pc.connectionState == "connected"
        await page.call("send", browser_pc, "events", [["s", "still here"]])
        assert await asyncio.wait_for(inbox.get(), TIMEOUT) == "still here"
    finally:
        await link.close()


async def ice_restart_keeps_audio_and_data(
    link: AudioLink, browser_tone: float, browser_restarts: bool
) -> None:
    """Audio both ways, then an ICE restart (the browser's restartIce(), or ours towards it):
    new credentials on both sides, and over the new pair the same DTLS association carries
    the data channel's messages both ways and SRTP on the same streams: the browser's inbound
    packet count keeps rising at ~50/s and we still decode its tone."""
    await audio_both_ways(link, browser_tone)
    pc, page, browser_pc = link.pc, link.page, link.browser_pc
    assert pc._session is not None
    dtls, channel = pc._session.dtls, link.channel
    assert channel is not None and channel.readyState == "open"

    async def call(op: str, *args: Any) -> Any:
        return await page.call(op, browser_pc, *args)

    if browser_restarts:
        assert await peer_restarts(pc, call) == "restartIce"
    else:
        await we_restart(pc, call)
    assert pc._session.dtls is dtls and channel.readyState == "open"
    ice, connection = await call("iceState")
    assert ice in ("connected", "completed") and connection == "connected", (ice, connection)
    inbox: asyncio.Queue[str | bytes] = asyncio.Queue()
    channel.on("message", inbox.put_nowait)
    texts = [f"after-restart-{i}" for i in range(5)]
    await call("send", "events", [["s", t] for t in texts])
    assert [await asyncio.wait_for(inbox.get(), TIMEOUT) for _ in texts] == texts
    for t in texts:
        channel.send(t)
    assert await call("received", "events", len(texts)) == [["s", t] for t in texts]
    rate, stats = await browser_packet_rate(link)
    assert 40 <= rate <= 60, (rate, stats)
    track = await asyncio.wait_for(link.remote_track, TIMEOUT)
    frequency = await tone_of(track)
    assert abs(frequency - browser_tone) < browser_tone * 0.03, frequency
