"""``pywebrtc.contrib.media`` on a fake clock: the player's frames, pacing, end and loop; the
recorder's files read back; the relay's fan-out and end; the blackhole draining a track."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import av
import pytest

from pywebrtc.contrib.media import MediaBlackhole, MediaPlayer, MediaRecorder, MediaRelay
from pywebrtc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack
from tests.media.test_track import FakeClockLoop
from tests.peerconnection.audio_helpers import dominant_frequency, mono_samples
from tests.test_aiortc_names import write_tone_wav

T = TypeVar("T")


def on_fake_clock(coroutine: Coroutine[Any, Any, T]) -> tuple[T, FakeClockLoop]:
    loop = FakeClockLoop()
    try:
        return loop.run_until_complete(coroutine), loop
    finally:
        loop.close()


async def read_all(track: MediaStreamTrack, limit: int = 10_000) -> list[Any]:
    items: list[Any] = []
    with pytest.raises(MediaStreamError):
        while len(items) < limit:
            items.append(await track.recv())
    return items


@pytest.fixture
def tone(tmp_path: Path) -> Path:
    path = tmp_path / "tone.wav"
    write_tone_wav(path, 440.0, seconds=0.5, rate=16000)
    return path


def test_player_gives_20ms_stereo_48k_frames_in_real_time_then_ends(tone: Path) -> None:
    player = MediaPlayer(str(tone))
    assert player.video is None and player.audio is not None
    track = player.audio
    ended: list[bool] = []
    track.on("ended", lambda: ended.append(True))

    async def run() -> tuple[list[av.AudioFrame], float]:
        start = asyncio.get_running_loop().time()
        frames = await read_all(track)
        return frames, asyncio.get_running_loop().time() - start

    (frames, took), _ = on_fake_clock(run())
    assert len(frames) == 24  # 0.5 s: 25 frames, the last partial one held by the resampler
    assert [f.pts for f in frames] == [960 * i for i in range(24)]
    assert {(f.samples, f.sample_rate, f.format.name, f.layout.name) for f in frames} == {
        (960, 48000, "s16", "stereo")
    }
    assert 0.45 <= took < 0.5  # paced: the last frame plays 0.46 s after the first
    samples = [s for f in frames for s in mono_samples(f)]
    assert abs(dominant_frequency(samples, 48000) - 440) < 2
    assert ended == [True] and track.readyState == "ended"


def test_player_loop_plays_again_with_pts_going_on(tone: Path) -> None:
    player = MediaPlayer(str(tone), loop=True)
    track = player.audio
    assert track is not None

    async def run() -> list[int | None]:
        pts = [(await track.recv()).pts for _ in range(60)]
        track.stop()
        return pts

    pts, _ = on_fake_clock(run())
    assert pts == [960 * i for i in range(60)]  # more than two passes, no gap, no reset


def test_player_without_decoding_hands_out_opus_packets(tmp_path: Path) -> None:
    wav, ogg = tmp_path / "tone.wav", tmp_path / "tone.ogg"
    write_tone_wav(wav, 440.0, seconds=0.5)
    recorder = MediaRecorder(str(ogg))
    source = MediaPlayer(str(wav)).audio
    assert source is not None
    recorder.addTrack(source)

    async def record() -> None:
        await recorder.start()
        while source.readyState == "live":
            await asyncio.sleep(0.02)
        await recorder.stop()

    on_fake_clock(record())
    track = MediaPlayer(str(ogg), decode=False).audio
    assert track is not None
    packets, _ = on_fake_clock(read_all(track))
    assert len(packets) >= 20 and all(isinstance(p, av.Packet) for p in packets)
    assert {p.stream.codec_context.name for p in packets} == {"opus"}
    assert MediaPlayer(str(wav), decode=False).audio is None  # PCM: not a passthrough codec


@pytest.mark.parametrize("suffix", ["wav", "ogg", "mp3", "m4a"])
def test_recorder_writes_what_the_track_gave(suffix: str, tone: Path, tmp_path: Path) -> None:
    out = tmp_path / f"out.{suffix}"
    recorder = MediaRecorder(str(out))
    source = MediaPlayer(str(tone)).audio
    assert source is not None
    recorder.addTrack(source)

    async def run() -> None:
        await recorder.start()
        while source.readyState == "live":
            await asyncio.sleep(0.02)
        await recorder.stop()
        await recorder.stop()  # a second stop does nothing

    on_fake_clock(run())
    to_s16 = av.AudioResampler(format="s16", layout="mono", rate=48000)
    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.sample_rate == 48000
        frames = [g for f in container.decode(audio=0) for g in to_s16.resample(f)]
    samples = [s for f in frames for s in mono_samples(f)]
    assert 0.4 < len(samples) / 48000 < 0.6
    if suffix != "m4a":  # AAC comes back at another pitch, from aiortc's recorder too
        assert abs(dominant_frequency(samples[4800:], 48000) - 440) < 3


def test_relay_fans_out_every_frame_and_ends_with_its_source(tone: Path) -> None:
    player = MediaPlayer(str(tone))
    assert player.audio is not None
    relay = MediaRelay()
    a, b = relay.subscribe(player.audio), relay.subscribe(player.audio)
    late = relay.subscribe(player.audio, buffered=False)
    ended: list[str] = []
    for name, track in (("a", a), ("b", b), ("late", late)):
        track.on("ended", lambda name=name: ended.append(name))
    assert a.kind == "audio"

    async def run() -> tuple[list[Any], list[Any], list[Any]]:
        got_a, got_b = await asyncio.gather(read_all(a), read_all(b))
        return got_a, got_b, await read_all(late)

    (got_a, got_b, got_late), _ = on_fake_clock(run())
    assert [f.pts for f in got_a] == [f.pts for f in got_b] == [960 * i for i in range(24)]
    assert got_late == []  # subscribed but never read while the source played
    assert sorted(ended) == ["a", "b", "late"]


def test_relay_subscriber_that_stops_leaves_the_others_going() -> None:
    source = AudioStreamTrack()
    relay = MediaRelay()
    a, b = relay.subscribe(source), relay.subscribe(source)

    async def run() -> list[int | None]:
        assert (await a.recv()).pts == 0
        assert (await b.recv()).pts == 960  # b gets frames from its first recv on
        a.stop()
        pts = [(await b.recv()).pts for _ in range(3)]
        with pytest.raises(MediaStreamError):
            await a.recv()
        source.stop()
        with pytest.raises(MediaStreamError):
            while True:
                await b.recv()
        return pts

    pts, _ = on_fake_clock(run())
    assert pts == [1920, 2880, 3840] and b.readyState == "ended"


def test_blackhole_drains_a_track_to_its_end(tone: Path) -> None:
    player = MediaPlayer(str(tone))
    track = player.audio
    assert track is not None
    blackhole = MediaBlackhole()
    blackhole.addTrack(track)
    blackhole.addTrack(track)

    async def run() -> None:
        await blackhole.start()
        while track.readyState == "live":
            await asyncio.sleep(0.02)
        await blackhole.stop()

    on_fake_clock(run())
    assert track.readyState == "ended"
