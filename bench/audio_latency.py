"""Transport's share of a voice agent's latency: the one-way audio delay a stack adds between
an app's track (capture) and the frames the other app reads, ours vs aiortc in the same run.

Two peer connections of the same stack in one process on loopback UDP (so one clock): the
sender's track yields 20 ms frames in real time, silence except a 20 ms burst of a 1 kHz tone
every 400 ms, and notes the loop time each burst frame was handed to the stack (``recv()``
returned it). The receiving app reads the remote track and notes when a frame whose RMS shows
the burst arrives. The difference is Opus encode, RTP, SRTP, UDP, SRTP, jitter buffer, Opus
decode and each stack's tasks and queues; both use libopus, so codec delay is equal. A sample
is the median over 25 bursts, after three seconds of warm-up; the callee sends silence back,
as in a call, so each side's RTCP has measured the round trip by then.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import struct
from typing import Any

import av

from bench.harness import Case, Scenario
from pywebrtc.media.frames import pcm_frame

RATE = 48000
SAMPLES = RATE // 50
BURST = b"".join(
    struct.pack("<h", int(16000 * math.sin(2 * math.pi * 1000 * i / RATE))) for i in range(SAMPLES)
)
SILENCE = bytes(2 * SAMPLES)
EVERY = 20  # frames between bursts (400 ms)
BURSTS = 25


def _loud(frame: av.AudioFrame) -> bool:
    if frame.format.name != "s16" or frame.layout.name != "mono":
        frame = _to_s16_mono(frame)
    samples = memoryview(bytes(frame.planes[0])[: 2 * frame.samples]).cast("h")
    return bool(samples) and math.sqrt(sum(x * x for x in samples) / len(samples)) > 2000


def _to_s16_mono(frame: av.AudioFrame) -> av.AudioFrame:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=frame.sample_rate)
    return resampler.resample(frame)[0]


async def _measure(pc_class: Any, description_class: Any, track_base: Any) -> float:
    loop = asyncio.get_running_loop()
    sent: list[float] = []
    arrived: list[float] = []
    done = asyncio.Event()

    class Bursts(track_base):  # type: ignore[misc]
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.count = 0
            self.start: float | None = None

        async def recv(self) -> av.AudioFrame:
            if self.start is None:
                self.start = loop.time()
            due = self.start + self.count * SAMPLES / RATE
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            burst = self.count >= 150 and self.count % EVERY == 0 and len(sent) < BURSTS
            self.count += 1
            if burst:
                sent.append(loop.time())
            return pcm_frame(BURST if burst else SILENCE, RATE, 1, (self.count - 1) * SAMPLES)

    caller, callee = pc_class(), pc_class()
    caller.addTrack(Bursts())

    async def listen(track: Any) -> None:
        quiet = True
        while len(arrived) < BURSTS:
            frame = await track.recv()
            loud = _loud(frame)
            if loud and quiet and len(arrived) < len(sent):
                arrived.append(loop.time())
            quiet = not loud
        done.set()

    tasks: list[asyncio.Task[None]] = []
    callee.on("track", lambda track: tasks.append(loop.create_task(listen(track))))
    await caller.setLocalDescription(await caller.createOffer())
    await callee.setRemoteDescription(
        description_class(sdp=caller.localDescription.sdp, type="offer")
    )
    callee.addTrack(track_base())  # a call: the callee talks too (silence), so RTCP has an RTT
    await callee.setLocalDescription(await callee.createAnswer())
    await caller.setRemoteDescription(
        description_class(sdp=callee.localDescription.sdp, type="answer")
    )
    try:
        await asyncio.wait_for(done.wait(), 60)
    finally:
        for task in tasks:
            task.cancel()
        await caller.close()
        await callee.close()
    return 1000 * statistics.median(a - s for s, a in zip(sent, arrived, strict=False))


def _ours() -> float:
    from pywebrtc import RTCPeerConnection, RTCSessionDescription
    from pywebrtc.media import AudioStreamTrack

    return asyncio.run(_measure(RTCPeerConnection, RTCSessionDescription, AudioStreamTrack))


def _aiortc() -> float:
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import AudioStreamTrack

    def make() -> Any:
        return RTCPeerConnection(RTCConfiguration(iceServers=[]))

    return asyncio.run(_measure(make, RTCSessionDescription, AudioStreamTrack))


def scenario() -> Scenario:
    return Scenario(
        name="audio_latency",
        description=__doc__ or "",
        cases=[
            Case(
                "one-way audio, app track -> app frames (loopback, median of 25)",
                _ours,
                _aiortc,
                unit="ms",
                higher_is_better=False,
            )
        ],
        repeats=3,
    )
