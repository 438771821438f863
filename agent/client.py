"""A Python client of the OpenAI Realtime-over-WebRTC protocol, on pywebrtc.

It does what the demo page does, from a script: an audio track (PCM you feed it, silence
otherwise) and the ``oai-events`` data channel, the offer POSTed to
``{base}/v1/realtime/calls``, events in :attr:`RealtimeCall.events`, and the agent's audio
received as 48 kHz PCM with the loop time each 20 ms frame arrived (so a script can measure the
latency from the end of its own speech to the first reply audio). It works against this
repository's server and, by changing the base URL and key, against OpenAI's.

    call = RealtimeCall("http://127.0.0.1:8080")
    await call.connect()
    await call.say_pcm(pcm48k)                 # speak (real time), then silence
    event = await call.wait_for("response.done")
    await call.hangup()
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import av

from pywebrtc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from pywebrtc.media import AudioStreamTrack, MediaStreamError, MediaStreamTrack
from pywebrtc.media.frames import pcm_frame

log = logging.getLogger(__name__)

RATE = 48000
FRAME_BYTES = 2 * RATE // 50  # 20 ms of mono s16


class PcmSource(AudioStreamTrack):
    """A microphone fed with PCM: queued 48 kHz mono s16 is sent in real time, silence
    whenever the queue is empty."""

    def __init__(self) -> None:
        super().__init__()
        self._queue: deque[bytes] = deque()
        self.drained = asyncio.Event()
        self.drained.set()

    def feed(self, pcm: bytes) -> None:
        pcm += bytes(-len(pcm) % FRAME_BYTES)
        for i in range(0, len(pcm), FRAME_BYTES):
            self._queue.append(pcm[i : i + FRAME_BYTES])
        self.drained.clear()

    async def recv(self) -> av.AudioFrame:
        pts, _ = await self.next_timestamp()
        if self._queue:
            chunk = self._queue.popleft()
        else:
            chunk = bytes(FRAME_BYTES)
            self.drained.set()
        return pcm_frame(chunk, RATE, 1, pts)


@dataclass
class Heard:
    """The agent's audio as received: 20 ms frames and the loop time each arrived."""

    frames: list[tuple[float, bytes]] = field(default_factory=list)

    def first_loud_after(self, since: float, threshold: float = 500.0) -> float | None:
        """Arrival time of the first frame after ``since`` whose RMS exceeds ``threshold``."""
        for at, pcm in self.frames:
            if at >= since and rms(pcm) > threshold:
                return at
        return None

    def pcm(self) -> bytes:
        return b"".join(pcm for _, pcm in self.frames)


def rms(pcm: bytes) -> float:
    samples = memoryview(pcm).cast("h")
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


class RealtimeCall:
    """One call: ``connect``, speak or type, read events, ``hangup``."""

    def __init__(
        self, base_url: str, token: str | None = None, session: dict[str, Any] | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.session = session
        self.pc = RTCPeerConnection()
        self.mic = PcmSource()
        self.heard = Heard()
        self.events: list[dict[str, Any]] = []
        self.call_id: str | None = None
        self._channel: RTCDataChannel | None = None
        self._open = asyncio.Event()
        self._new_event = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []

    async def connect(self, timeout: float = 20) -> None:
        loop = asyncio.get_running_loop()
        self.pc.addTransceiver(self.mic, direction="sendrecv")
        channel = self.pc.createDataChannel("oai-events")
        self._channel = channel
        channel.on("open", self._open.set)
        channel.on("message", self._on_message)

        def on_track(track: MediaStreamTrack) -> None:
            self._tasks.append(loop.create_task(self._listen(track)))

        self.pc.on("track", on_track)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        assert self.pc.localDescription is not None
        headers = {"Content-Type": "application/sdp"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        async with aiohttp.ClientSession() as http:
            if self.session is None:
                request = http.post(
                    f"{self.base_url}/v1/realtime/calls",
                    data=self.pc.localDescription.sdp,
                    headers=headers,
                )
            else:
                form = aiohttp.FormData()
                form.add_field("sdp", self.pc.localDescription.sdp)
                form.add_field("session", json.dumps(self.session))
                del headers["Content-Type"]
                request = http.post(
                    f"{self.base_url}/v1/realtime/calls", data=form, headers=headers
                )
            async with request as response:
                answer = await response.text()
                if response.status != 201:
                    raise ConnectionError(f"{response.status}: {answer.strip()}")
                self.call_id = response.headers["Location"].rsplit("/", 1)[-1]
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await asyncio.wait_for(self._open.wait(), timeout)

    def _on_message(self, message: str | bytes) -> None:
        try:
            event = json.loads(message)
        except ValueError:
            log.warning("not JSON on oai-events: %r", message[:80])
            return
        event["_received"] = asyncio.get_running_loop().time()
        self.events.append(event)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._new_event:
            self._new_event.notify_all()

    async def _listen(self, track: MediaStreamTrack) -> None:
        loop = asyncio.get_running_loop()
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        try:
            while True:
                frame = await track.recv()
                assert isinstance(frame, av.AudioFrame)
                now = loop.time()
                for out in resampler.resample(frame):
                    self.heard.frames.append((now, bytes(out.planes[0])[: out.samples * 2]))
        except MediaStreamError:
            return

    def send(self, event: dict[str, Any] | str) -> None:
        """Send a client event on the ``oai-events`` channel (a string is sent as it is)."""
        assert self._channel is not None
        self._channel.send(event if isinstance(event, str) else json.dumps(event))

    def type_text(self, text: str) -> None:
        """A typed user message and a request for a (spoken) response."""
        self.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": text}],
                },
            }
        )
        self.send({"type": "response.create"})

    async def say_pcm(self, pcm48k: bytes) -> float:
        """Speak ``pcm48k`` (mono s16) in real time; returns the loop time it ended."""
        self.mic.feed(pcm48k)
        await self.mic.drained.wait()
        return asyncio.get_running_loop().time()

    async def wait_for(self, kind: str, since: int = 0, timeout: float = 30) -> dict[str, Any]:
        """The first event of type ``kind`` at index ``since`` or later, waiting for it."""

        def found() -> dict[str, Any] | None:
            return next((e for e in self.events[since:] if e.get("type") == kind), None)

        async def wait() -> dict[str, Any]:
            async with self._new_event:
                await self._new_event.wait_for(lambda: found() is not None)
            event = found()
            assert event is not None
            return event

        return await asyncio.wait_for(wait(), timeout)

    async def hangup(self) -> None:
        if self.call_id is not None:
            headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            async with aiohttp.ClientSession() as http:
                url = f"{self.base_url}/v1/realtime/calls/{self.call_id}/hangup"
                async with http.post(url, headers=headers):
                    pass
            self.call_id = None
        for task in self._tasks:
            task.cancel()
        self.mic.stop()
        await self.pc.close()


def read_pcm48k(path: str) -> bytes:
    """Any audio file PyAV reads, as 48 kHz mono s16."""
    out = bytearray()
    with av.open(path) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        for frame in container.decode(audio=0):
            for converted in resampler.resample(frame):
                out += bytes(converted.planes[0])[: converted.samples * 2]
        for converted in resampler.resample(None):
            out += bytes(converted.planes[0])[: converted.samples * 2]
    return bytes(out)
