from __future__ import annotations

import asyncio
import contextvars
import fractions
from collections.abc import Callable

import pytest

from pywebrtc.media import (
    AudioStreamTrack,
    EncodedAudioTrack,
    MediaStreamError,
    MediaStreamTrack,
    RemoteAudioTrack,
    VideoStreamTrack,
)
from pywebrtc.media.pipeline import EncodedReceived
from pywebrtc.mediastreams import VIDEO_CLOCK_RATE, VIDEO_TIME_BASE

from .tone import sine_frame


def test_stop_emits_ended_once_and_changes_ready_state() -> None:
    track = AudioStreamTrack()
    ended: list[str] = []
    track.on("ended", lambda: ended.append(track.id))
    assert track.kind == "audio" and track.readyState == "live" and len(track.id) == 36
    track.stop()
    track.stop()
    assert ended == [track.id] and track.readyState == "ended"
    assert isinstance(track, MediaStreamTrack)


class FakeClockLoop(asyncio.SelectorEventLoop):
    """A loop whose clock jumps to the next timer instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def call_at(
        self,
        when: float,
        callback: Callable[..., object],
        *args: object,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        self.slept.append(when - self.now)
        self.now = max(self.now, when)
        return super().call_at(self.now, callback, *args, context=context)


def test_audio_track_is_paced_at_20ms_without_drift() -> None:
    loop = FakeClockLoop()
    track = AudioStreamTrack()

    async def run() -> list[int | None]:
        pts = []
        for i in range(5):
            frame = await track.recv()
            assert frame.samples == 960 and frame.sample_rate == 48000
            pts.append(frame.pts)
            if i == 2:
                loop.now += 0.015  # a slow consumer: the next frame is due sooner
        return pts

    try:
        assert loop.run_until_complete(run()) == [0, 960, 1920, 2880, 3840]
    finally:
        loop.close()
    assert [round(s, 3) for s in loop.slept] == [0.02, 0.02, 0.005, 0.02]
    track.stop()
    with pytest.raises(MediaStreamError):
        asyncio.run(track.recv())


def test_remote_track_delivers_pushed_frames_then_raises_when_finished() -> None:
    async def run() -> None:
        track = RemoteAudioTrack()
        track.push_frame(sine_frame(0))
        assert (await track.recv()).pts == 0
        waiter = asyncio.ensure_future(track.recv())
        await asyncio.sleep(0)
        track.push_frame(sine_frame(1))
        assert (await waiter).pts == 960
        track.finish()
        with pytest.raises(MediaStreamError):
            await track.recv()
        assert track.readyState == "ended"

    asyncio.run(run())


def test_remote_track_bounds_its_queue() -> None:
    track = RemoteAudioTrack(max_frames=3)
    for i in range(5):
        track.push_frame(sine_frame(i))
    assert track.dropped == 2

    async def first() -> int | None:
        return (await track.recv()).pts

    assert asyncio.run(first()) == 2 * 960


def test_encoded_track_returns_packets() -> None:
    track = EncodedAudioTrack()
    packet = EncodedReceived(b"\x01\x02", 960, 111).to_packet(48000)
    assert packet is not None and EncodedReceived(None, 0, 111).to_packet(48000) is None
    track.push_packet(packet)

    async def run() -> bytes:
        got = await track.recv()
        assert got.pts == 960
        return bytes(got)

    assert asyncio.run(run()) == b"\x01\x02"


def test_video_track_is_paced_at_30fps_in_the_90khz_clock() -> None:
    loop = FakeClockLoop()
    track = VideoStreamTrack()
    assert not hasattr(track, "_timestamp")  # as aiortc: subclasses with own pacers test it

    async def run() -> list[tuple[int | None, int, int, str]]:
        frames = [await track.recv() for _ in range(4)]
        return [(f.pts, f.width, f.height, f.format.name) for f in frames]

    try:
        got = loop.run_until_complete(run())
    finally:
        loop.close()
    assert got == [(pts, 640, 480, "yuv420p") for pts in (0, 3000, 6000, 9000)]
    assert [round(s, 4) for s in loop.slept] == [0.0333] * 3
    assert (
        VIDEO_TIME_BASE == fractions.Fraction(1, VIDEO_CLOCK_RATE) == fractions.Fraction(1, 90000)
    )
    track.stop()
    with pytest.raises(MediaStreamError):
        asyncio.run(track.next_timestamp())


def test_async_ended_handlers_run_as_tasks() -> None:
    async def run() -> list[str]:
        track = AudioStreamTrack()
        ran: list[str] = []

        @track.on("ended")
        async def on_ended() -> None:
            await asyncio.sleep(0)
            ran.append(track.readyState)

        track.stop()
        for _ in range(3):
            await asyncio.sleep(0)
        return ran

    assert asyncio.run(run()) == ["ended"]
