"""CPU per connected audio session, end to end: two peer connections in this process on
loopback (ICE host candidates, DTLS-SRTP, BUNDLE), each sending a 440 Hz tone as Opus at 20 ms
pacing and decoding what the other sends, for ``SECONDS`` of wall time once audio flows.
Measured: ``time.process_time`` over the window, divided by the window and by the two peer
connections, as % of a core per connected session (send + receive, encode + decode, SRTP, RTCP,
timers, the asyncio loop). Ours: pywebrtc ↔ pywebrtc with default settings (Opus mono
32 kbit/s, complexity 5, "audio" application: CELT while no loss is reported, SILK with
in-band FEC once it is). Peer: aiortc ↔ aiortc with its defaults
(Opus stereo 96 kbit/s). Both sides' tracks produce the same precomputed 20 ms frame, and the
application reads every received frame (``track.recv()``) and drops it.

Two loads: one pair alone (each 20 ms event wakes an otherwise idle process: the worst case
per session), and ``PAIRS`` pairs at once in one process — the issue's "concurrent sessions on
one core". Every received frame is counted: a stack that cannot keep up in real time receives
fewer than 50 frames/s per session, which is reported as a note (its CPU per session would then
be understated).
"""

from __future__ import annotations

import array
import asyncio
import fractions
import math
import time
from typing import Any

import aiortc
import av
import uvloop
from aiortc.mediastreams import MediaStreamTrack as AiortcTrack

from bench.harness import Case, Scenario
from pywebrtc import AudioStreamTrack, RTCPeerConnection, RTCSessionDescription, SettingEngine

SECONDS = 20.0
PAIRS = 5
_RATE = 48000
_SAMPLES = 960  # 20 ms
# 400 Hz: 8 whole periods in 20 ms, so one frame repeated is a continuous tone.
_PCM = array.array(
    "h", (int(9000 * math.sin(2 * math.pi * 400 * i / _RATE)) for i in range(_SAMPLES))
).tobytes()


def _frame(pts: int) -> av.AudioFrame:
    frame = av.AudioFrame(format="s16", layout="mono", samples=_SAMPLES)
    frame.planes[0].update(_PCM)
    frame.sample_rate = _RATE
    frame.pts = pts
    frame.time_base = fractions.Fraction(1, _RATE)
    return frame


class _OurTone(AudioStreamTrack):
    async def recv(self) -> av.AudioFrame:
        pts, _ = await self.next_timestamp()
        return _frame(pts)


class _TheirTone(AiortcTrack):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._start: float | None = None
        self._pts = 0

    async def recv(self) -> av.AudioFrame:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            self._pts += _SAMPLES
            wait = self._start + self._pts / _RATE - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
        return _frame(self._pts)


_received = [0]  # frames read by the application, all sessions
_frame_rates: dict[str, float] = {}  # label -> lowest received frames/s per session
_NOTES = [
    "both peer connections of a pair run in one process; the figure is per peer "
    "connection (one session: send + receive)",
    "event loop: uvloop for both stacks (the deployment setting); the measurement counts "
    "process CPU time (all threads: aiortc decodes on a thread of its own)",
]
_RATE_NOTE = (
    "frames received by the application per session per second (50 = real time), lowest run: "
)


async def _drain(track: Any, first: asyncio.Future[None]) -> None:
    while True:
        try:
            await track.recv()
        except Exception:
            return
        _received[0] += 1
        if not first.done():
            first.set_result(None)


async def _measure(label: str, pcs: list[Any], firsts: list[asyncio.Future[None]]) -> float:
    await asyncio.wait_for(asyncio.gather(*firsts), 60)
    loop = asyncio.get_running_loop()
    cpu0, wall0, frames0 = time.process_time(), loop.time(), _received[0]
    await asyncio.sleep(SECONDS)
    cpu, wall = time.process_time() - cpu0, loop.time() - wall0
    rate = (_received[0] - frames0) / wall / len(pcs)
    _frame_rates[label] = min(rate, _frame_rates.get(label, rate))
    rates = ", ".join(f"{k} pair(s) {v:.1f}" for k, v in sorted(_frame_rates.items()))
    if _NOTES[-1].startswith(_RATE_NOTE):
        _NOTES.pop()
    _NOTES.append(_RATE_NOTE + rates)
    return 100.0 * cpu / wall / len(pcs)


async def _ours(pairs: int = 1) -> float:
    pcs: list[RTCPeerConnection] = []
    firsts: list[asyncio.Future[None]] = []
    drains: list[asyncio.Task[None]] = []
    loop = asyncio.get_running_loop()
    for _ in range(2 * pairs):
        settings = SettingEngine()
        settings.include_loopback = True
        pc = RTCPeerConnection(settings=settings)
        first: asyncio.Future[None] = loop.create_future()
        pc.on("track", lambda t, f=first: drains.append(asyncio.ensure_future(_drain(t, f))))
        pc.addTrack(_OurTone())
        pcs.append(pc)
        firsts.append(first)
    for a, b in zip(pcs[::2], pcs[1::2], strict=True):
        await a.setLocalDescription(await a.createOffer())
        assert a.localDescription is not None
        await b.setRemoteDescription(RTCSessionDescription(a.localDescription.sdp, "offer"))
        await b.setLocalDescription(await b.createAnswer())
        assert b.localDescription is not None
        await a.setRemoteDescription(RTCSessionDescription(b.localDescription.sdp, "answer"))
    try:
        return await _measure(f"ours {pairs}", pcs, firsts)
    finally:
        for task in drains:
            task.cancel()
        for pc in pcs:
            await pc.close()


async def _theirs(pairs: int = 1) -> float:
    pcs: list[aiortc.RTCPeerConnection] = []
    firsts: list[asyncio.Future[None]] = []
    drains: list[asyncio.Task[None]] = []
    loop = asyncio.get_running_loop()
    for _ in range(2 * pairs):
        pc = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))  # no public STUN
        first: asyncio.Future[None] = loop.create_future()
        pc.on("track", lambda t, f=first: drains.append(asyncio.ensure_future(_drain(t, f))))
        pc.addTrack(_TheirTone())
        pcs.append(pc)
        firsts.append(first)
    for a, b in zip(pcs[::2], pcs[1::2], strict=True):
        await a.setLocalDescription(await a.createOffer())
        await b.setRemoteDescription(a.localDescription)
        await b.setLocalDescription(await b.createAnswer())
        await a.setRemoteDescription(b.localDescription)
    try:
        return await _measure(f"theirs {pairs}", pcs, firsts)
    finally:
        for task in drains:
            task.cancel()
        for pc in pcs:
            await pc.close()


def _run(coro: Any) -> float:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        result: float = runner.run(coro)
        return result


def scenario() -> Scenario:
    return Scenario(
        name="audio_session",
        description=__doc__ or "",
        cases=[
            Case(
                f"CPU per connected audio session, Opus both ways, {SECONDS:.0f} s on "
                "loopback, one pair alone",
                lambda: _run(_ours(1)),
                lambda: _run(_theirs(1)),
                peer_name="aiortc ↔ aiortc (defaults)",
                unit="% of a core",
                higher_is_better=False,
            ),
            Case(
                f"CPU per connected audio session, {PAIRS} pairs ({2 * PAIRS} sessions) at "
                "once in one process",
                lambda: _run(_ours(PAIRS)),
                lambda: _run(_theirs(PAIRS)),
                peer_name="aiortc ↔ aiortc (defaults)",
                unit="% of a core",
                higher_is_better=False,
            ),
        ],
        repeats=3,
        notes=_NOTES,
    )
