"""VideoLink's sender answers a keyframe request at once (the last picture encoded again as a
keyframe), not at the track's next frame; a real libvpx encoder, the packets read back by a
receiving VideoSession."""

from __future__ import annotations

import asyncio
import fractions
import gc
import logging
import weakref

import av
import pytest

from pywebrtc.media.track import MediaStreamTrack, RemoteVideoTrack
from pywebrtc.media.video import EncodedVideoFrame, VideoCodec
from pywebrtc.media.video.codecs import create_encoder
from pywebrtc.media.video.session import VideoFrameReceived, VideoSession, VideoSessionConfig
from pywebrtc.rtp import RtpPacket, parse_rtcp, serialize_rtcp
from pywebrtc.rtp.extensions import abs_send_time_from_seconds
from pywebrtc.rtp.rtcp import Pli
from pywebrtc.rtp.sender import ExtensionIds, TransportSequence
from pywebrtc.videoplane import VideoLink

VP8 = VideoCodec("VP8", 96)
TICKS = 3000  # 30 frames/s on the 90 kHz clock


class HeldTrack(MediaStreamTrack):
    """Gives ``ready`` frames at once, then waits until the test allows another."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.index = 0
        self.ready = asyncio.Semaphore(0)

    async def recv(self) -> av.VideoFrame:
        await self.ready.acquire()
        frame = av.VideoFrame(160, 120, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([(self.index * 40) & 0xFF]) * plane.buffer_size)
        frame.pts = self.index * TICKS
        frame.time_base = fractions.Fraction(1, 90000)
        self.index += 1
        return frame


def test_a_pli_is_answered_with_a_keyframe_before_the_tracks_next_frame() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        out: list[bytes] = []
        sent = asyncio.Event()
        link = VideoLink(
            VideoSessionConfig(ssrc=0xA1, cname="a", send_codec=VP8),
            loop.time, sent.set, out, RemoteVideoTrack(),
        )  # fmt: skip
        receiver = VideoSession(VideoSessionConfig(ssrc=0xB2, cname="b", receive_codecs={96: VP8}))
        frames: list[tuple[int, bool]] = []

        async def until_frames(count: int) -> None:
            while len(frames) < count:
                await sent.wait()
                sent.clear()
                now = loop.time()
                for data in out:
                    if not 192 <= data[1] <= 223:  # RTP, not the sender's RTCP
                        receiver.receive_packet(RtpPacket.parse(data), now)
                out.clear()
                while (event := receiver.poll()) is not None:
                    if isinstance(event, VideoFrameReceived):
                        frames.append((event.frame.timestamp, event.frame.keyframe))

        track = HeldTrack()
        link.start_sender(track)
        for _ in range(3):
            track.ready.release()
        await asyncio.wait_for(until_frames(3), 10)
        assert [key for _, key in frames] == [True, False, False]
        # The receiver lost something and asks; the track has no new frame for a while.
        pli = serialize_rtcp([Pli(0xB2, 0xA1)])
        link.receive_rtcp(parse_rtcp(pli), loop.time())
        await asyncio.wait_for(until_frames(4), 10)
        (t2, _), (t3, key) = frames[2], frames[3]
        assert key, frames
        assert 0 < t3 - t2 <= TICKS // 2  # the last picture again, before the next frame's time
        outbound = next(e for e in link.stats() if e["type"] == "outbound-rtp")
        assert outbound["keyFramesEncoded"] == 2
        track.ready.release()  # the track's next frame goes on as a delta frame after it
        await asyncio.wait_for(until_frames(5), 10)
        assert frames[4][1] is False and frames[4][0] - t2 == TICKS
        link.close()

    asyncio.run(scenario())


class Vp9Frames(MediaStreamTrack):
    """Encoded VP9 keyframes, as a pass-through source whose codec the answer did not pick."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.index = 0

    async def recv(self) -> EncodedVideoFrame:  # type: ignore[override]
        await asyncio.sleep(0)  # a source that never suspends would hold the loop
        self.index += 1
        return EncodedVideoFrame(b"\x82\x49\x83\x42\x00", self.index * TICKS, True, "vp9")


def test_pass_through_frames_in_another_codec_are_counted_and_not_sent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        out: list[bytes] = []
        link = VideoLink(
            VideoSessionConfig(ssrc=0xA1, cname="a", send_codec=VP8),
            loop.time, lambda: None, out, RemoteVideoTrack(),
        )  # fmt: skip
        link.start_sender(Vp9Frames())
        for _ in range(1000):
            if link.frames_in_wrong_codec >= 5:
                break
            await asyncio.sleep(0)
        link.close()
        assert link.frames_in_wrong_codec >= 5
        assert not [d for d in out if not 192 <= d[1] <= 223]  # no RTP went out

    with caplog.at_level(logging.WARNING, logger="pywebrtc.videoplane"):
        asyncio.run(scenario())
    assert len([r for r in caplog.records if "not sent" in r.getMessage()]) == 1  # not per frame


class OneKeyframe(MediaStreamTrack):
    """A pass-through track: one 18 KB VP8 keyframe, then nothing."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.given = False

    async def recv(self) -> EncodedVideoFrame:  # type: ignore[override]
        if self.given:
            await asyncio.Event().wait()
        self.given = True
        return EncodedVideoFrame(b"\x10\x02\x00\x9d\x01\x2a" + bytes(18_000), 0, True, "vp8")


def test_video_is_paced_and_numbered_as_it_leaves_the_pacer() -> None:
    """With a target, a keyframe's packets leave at 2.5 times it (after the pacer's 40 ms of
    credit), driven by the link's deadline; each takes the transport-wide number and
    abs-send-time of the moment it leaves, so numbers another stream (audio) takes meanwhile
    keep the wire in order."""

    async def scenario() -> None:
        clock = [100.0]
        out: list[bytes] = []
        shared = TransportSequence(0xFFF0)
        ids = ExtensionIds(abs_send_time=2, transport_cc=3)
        link = VideoLink(
            VideoSessionConfig(ssrc=0xA1, cname="a", send_codec=VP8, extension_ids=ids),
            lambda: clock[0], lambda: None, out, RemoteVideoTrack(), transport_sequence=shared,
        )  # fmt: skip
        link.target_bitrate = 200_000  # 500 kbit/s pacing: a 1154-byte packet every ~18 ms
        link.start_sender(OneKeyframe())
        for _ in range(100):
            if out:
                break
            await asyncio.sleep(0)
        wire: list[tuple[float, int, int]] = []  # (time, transport-wide number, abs-send-time)
        audio: list[int] = []

        def take(now: float) -> None:
            for data in out:
                if 192 <= data[1] <= 223:
                    continue  # (RTCP: not paced)
                packet = RtpPacket.parse(data)
                wire.append((now, int.from_bytes(packet.extension(3) or b""),
                             int.from_bytes(packet.extension(2) or b"")))  # fmt: skip
            out.clear()

        take(clock[0])
        burst = len(wire)
        assert burst == 3  # the pacer's 40 ms of credit at once, the rest wait
        while (due := link.deadline()) is not None and due < clock[0] + 1.0:
            clock[0] = max(clock[0], due)
            audio.append(shared.take())  # an audio packet between two video ones
            link.tick(clock[0])
            take(clock[0])
        link.close()
        assert len(wire) == 16  # 18 KB in payloads of at most 1200 bytes
        numbers = [n for _, n, _ in wire]
        merged = sorted(numbers + audio, key=lambda n: (n - 0xFFF0) & 0xFFFF)
        assert merged == [(0xFFF0 + i) & 0xFFFF for i in range(len(merged))]  # no gap
        paced = wire[burst - 1 :]
        # An audio number between each two (more where a tick was the RTCP report's, whose
        # time is randomised, and no video left): numbered as they leave, not as packetised.
        assert all((b[1] - a[1]) & 0xFFFF >= 2 for a, b in zip(paced, paced[1:], strict=False))
        gaps = [b[0] - a[0] for a, b in zip(paced, paced[1:], strict=False)]
        assert all(0.015 < g < 0.025 for g in gaps), gaps
        for when, _, abs_time in wire:
            assert abs_time == abs_send_time_from_seconds(when)

    asyncio.run(scenario())


def _frames_to(link: VideoLink, frames: list[EncodedVideoFrame], now: float) -> None:
    """``frames`` sent by a VP8 VideoSession, their packets read by ``link``."""
    sender = VideoSession(VideoSessionConfig(ssrc=0xB2, cname="b", send_codec=VP8))
    for frame in frames:
        sender.send_encoded(frame, now)
    while (event := sender.poll()) is not None:
        data = getattr(event, "data", b"")
        if data and not 192 <= data[1] <= 223:
            link.receive_packet(RtpPacket.parse(data), now)


@pytest.mark.parametrize("case", ["decoding", "rejected"])
def test_a_closed_link_is_freed_without_the_cyclic_collector(case: str) -> None:
    """Closed while its decoder's thread works on a frame (its decode task cancelled), or
    after the decoder rejected one (the worker's failed call keeps the exception, whose
    traceback holds the frame that awaited it): nothing of the link is left in a cycle."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        track = RemoteVideoTrack()
        link = VideoLink(
            VideoSessionConfig(ssrc=0xA1, cname="a", receive_codecs={96: VP8}),
            loop.time, lambda: None, [], track,
        )  # fmt: skip
        if case == "decoding":
            encoder = create_encoder(VP8)
            picture = av.VideoFrame(640, 480, "yuv420p")
            picture.pts, picture.time_base = 0, fractions.Fraction(1, 90000)
            _frames_to(link, encoder.encode(picture, True), loop.time())
            encoder.close()
            pending = link._decode_worker.pending
            assert pending is not None and not pending.done()  # in the decoder's thread
        else:
            junk = EncodedVideoFrame(b"\x10\x02\x00\x9d\x01\x2a" + bytes(300), 0, True, "vp8")
            _frames_to(link, [junk], loop.time())
            assert link._decode_task is not None
            await asyncio.wait([link._decode_task])  # (it ends once nothing waits)
            assert link.decode_errors == 1
            pending = link._decode_worker.pending
            assert pending is not None and pending.exception() is not None
        task = link._decode_task
        assert task is not None
        link.close()
        await asyncio.wait([pending])
        await asyncio.wait([task])
        for _ in range(3):  # the worker's callbacks (a decoder's close) run
            await asyncio.sleep(0)
        ref = weakref.ref(link)
        del link, task, pending
        assert ref() is None

    gc.collect()
    gc.disable()
    try:
        asyncio.run(scenario())
    finally:
        gc.enable()
