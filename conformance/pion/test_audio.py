"""Audio between pywebrtc and Pion WebRTC v3, both offer directions, both ways at once on one
connection (127.0.0.1). Pion has no Opus encoder: it sends a 1000 Hz tone that this test
encodes with libopus beforehand (one packet per 20 ms, Pion's TrackLocalStaticSample), and we
find that frequency in the frames our receiver decodes. We send a 440 Hz ToneTrack: Pion
counts the RTP packets (about 50 a second, the negotiated Opus payload type) and writes their
payloads to a file that this test decodes with libopus to find 440 Hz again."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path
from typing import Any

import pytest

from conformance.pion.driver import PionPeer
from conformance.pion.test_datachannels import loopback_settings, run
from pywebrtc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from pywebrtc.media.codec import OPUS
from pywebrtc.media.libopus import LibopusDecoder, LibopusEncoder
from pywebrtc.sdp import SessionDescription
from tests.media.tone import sine_frame
from tests.peerconnection.audio_helpers import (
    ToneTrack,
    dominant_frequency,
    loud,
    mono_samples,
    tone_of,
)

TIMEOUT = 20.0
OURS_HZ, PIONS_HZ = 440, 1000


def write_opus_tone(path: Path, frequency: float, seconds: float) -> None:
    """(2-byte big-endian length, Opus payload) records, 20 ms each, for the Go peer."""
    encoder = LibopusEncoder(OPUS)
    with path.open("wb") as out:
        for index in range(int(seconds * 50)):
            for packet in encoder.encode(sine_frame(index, frequency)):
                out.write(struct.pack("!H", len(packet.payload)) + packet.payload)


def read_opus_payloads(path: Path) -> list[bytes]:
    """The records Pion wrote; a record cut short by a write in progress is dropped."""
    data, payloads, offset = path.read_bytes(), [], 0
    while offset + 2 <= len(data):
        (size,) = struct.unpack_from("!H", data, offset)
        if offset + 2 + size > len(data):
            break
        payloads.append(data[offset + 2 : offset + 2 + size])
        offset += 2 + size
    return payloads


def decoded_frequency(payloads: list[bytes]) -> float:
    decoder = LibopusDecoder(OPUS)
    samples: list[int] = []
    for index, payload in enumerate(payloads):
        frame = decoder.decode(payload, index * 960)
        assert frame is not None, f"packet {index} does not decode"
        chunk = mono_samples(frame)
        if samples or loud(chunk):
            samples.extend(chunk)
    return dominant_frequency(samples[4800:], 48000)


@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "pion-offers"])
def test_tone_both_ways(pion: None, we_offer: bool, tmp_path: Path) -> None:
    tone, record = tmp_path / "pion-sends.opus", tmp_path / "pion-received.opus"
    write_opus_tone(tone, PIONS_HZ, 10.0)

    async def body() -> None:
        ours = RTCPeerConnection(settings=loopback_settings())
        track: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()

        def on_track(value: Any) -> None:
            if not track.done():
                track.set_result(value)

        ours.on("track", on_track)
        async with await PionPeer.start() as pion:
            await pion.call("audio", send=str(tone), record=str(record))
            if we_offer:
                ours.addTrack(ToneTrack(OURS_HZ))
                await ours.setLocalDescription(await ours.createOffer())
                assert ours.localDescription is not None
                answer = (await pion.call("answer", sdp=ours.localDescription.sdp))["sdp"]
                await ours.setRemoteDescription(RTCSessionDescription(answer, "answer"))
            else:
                offer = (await pion.call("offer"))["sdp"]
                await ours.setRemoteDescription(RTCSessionDescription(offer, "offer"))
                ours.addTrack(ToneTrack(OURS_HZ))  # reuses the offered transceiver
                await ours.setLocalDescription(await ours.createAnswer())
                assert ours.localDescription is not None
                await pion.call("accept", sdp=ours.localDescription.sdp)
            we_heard = await tone_of(await asyncio.wait_for(track, TIMEOUT))
            assert abs(we_heard - PIONS_HZ) < 20, we_heard

            await asyncio.sleep(2.0)
            stats = await pion.call("audio_stats")
            media = SessionDescription.parse(ours.localDescription.sdp).media[0]
            opus = [r.payload_type for r in media.rtpmaps if r.encoding_name.lower() == "opus"]
            assert stats["mimeType"] == "audio/opus"
            assert stats["payloadType"] == opus[0]
            assert stats["packets"] > 100, stats
            rate = (stats["packets"] - 1) / stats["seconds"]
            assert 45 < rate < 55, stats
            assert ours.connectionState == "connected"
        await ours.close()
        they_heard = decoded_frequency(read_opus_payloads(record))
        assert abs(they_heard - OURS_HZ) < 10, they_heard

    run(body)
