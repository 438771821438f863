"""``pywebrtc.contrib.media`` next to ``aiortc.contrib.media`` on the same files: the players
give the same frames (count, pts, format, PCM) and end the same way; each recorder's file
plays back through the other's player."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiortc.contrib.media as theirs
import av
import pytest

import pywebrtc.contrib.media as ours
from tests.test_aiortc_names import write_tone_wav


async def frames_of(track: Any) -> list[av.AudioFrame]:
    frames = []
    while True:
        try:
            frames.append(await asyncio.wait_for(track.recv(), 10))
        except Exception as exc:  # each stack's own MediaStreamError
            assert type(exc).__name__ == "MediaStreamError", exc
            return frames


@pytest.mark.parametrize("rate", [8000, 44100])
def test_players_give_the_same_frames(rate: int, tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    write_tone_wav(path, 440.0, seconds=0.4, rate=rate)

    async def body() -> tuple[list[av.AudioFrame], list[av.AudioFrame]]:
        ours_player, their_player = ours.MediaPlayer(str(path)), theirs.MediaPlayer(str(path))
        return await asyncio.gather(frames_of(ours_player.audio), frames_of(their_player.audio))

    mine, theirs_ = asyncio.run(body())
    assert len(mine) == len(theirs_) > 15
    for a, b in zip(mine, theirs_, strict=True):
        assert (a.pts, a.time_base, a.sample_rate, a.samples, a.format.name, a.layout.name) == (
            b.pts, b.time_base, b.sample_rate, b.samples, b.format.name, b.layout.name,
        )  # fmt: skip
        assert bytes(a.planes[0]) == bytes(b.planes[0])


@pytest.mark.parametrize("writer", ["ours", "theirs"])
def test_a_recording_plays_back_through_the_other_stack(writer: str, tmp_path: Path) -> None:
    source, out = tmp_path / "tone.wav", tmp_path / "out.ogg"
    write_tone_wav(source, 440.0, seconds=0.4)
    make, read = (ours, theirs) if writer == "ours" else (theirs, ours)

    async def body() -> list[Any]:
        player = make.MediaPlayer(str(source))
        recorder = make.MediaRecorder(str(out))
        recorder.addTrack(player.audio)
        await recorder.start()
        while player.audio.readyState == "live":
            await asyncio.sleep(0.02)
        await recorder.stop()
        return await frames_of(read.MediaPlayer(str(out)).audio)

    frames = asyncio.run(body())
    assert 0.3 < sum(f.samples for f in frames) / 48000 < 0.5
