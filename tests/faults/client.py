"""A fault-test client: an aiortc peer that WHIP-publishes audio (a 440 Hz tone, Opus) and a data
channel to an echo transceiver, sends a numbered message every 20 ms and records when each
echoed message and each echoed audio frame comes back, so a test can measure gaps."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import aiortc
from aiortc.mediastreams import MediaStreamError

from conformance.aiortc.test_audio import AiortcTone
from tests.signaling.service import Response, request

SDP = {"Content-Type": "application/sdp"}
INTERVAL = 0.02
TIMEOUT = 20.0


def keep_candidates(sdp: str, address: str, rewrite: str | None = None) -> str:
    """The answer with only its candidates on ``address`` (optionally rewritten to ``rewrite``:
    the client then sends through a proxy there)."""
    lines = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            fields = line.split()
            if fields[4] != address:
                continue
            if rewrite is not None:
                host, _, port = rewrite.rpartition(":")
                fields[4], fields[5] = host, port
                line = " ".join(fields)
        lines.append(line + "\r\n")
    return "".join(lines)


class Client:
    def __init__(self) -> None:
        self.pc = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))
        self.channel = self.pc.createDataChannel("echo")
        self.pc.addTrack(AiortcTone(440))
        self.sent = 0
        self.received: list[tuple[float, int]] = []  # (arrival, number)
        self.audio: list[float] = []  # when aiortc's jitter buffer yields an echoed frame
        self.rtp: list[float] = []  # arrival of each echoed RTP packet (before that buffer)
        self.answer = ""
        self.redirected: str | None = None
        self.failed_at: float | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.channel.on("message", self._message)
        self.pc.on("track", self._track)
        self.pc.on("connectionstatechange", self._state)

    def _message(self, text: Any) -> None:
        self.received.append((time.monotonic(), int(str(text))))

    def _track(self, track: Any) -> None:
        for transceiver in self.pc.getTransceivers():
            if transceiver.receiver.track is track:
                self._tap(transceiver.receiver)
        self._tasks.append(asyncio.ensure_future(self._drain(track)))

    def _tap(self, receiver: Any) -> None:
        """Record each RTP packet's arrival before aiortc's jitter buffer sees it."""
        handle = receiver._handle_rtp_packet

        async def counted(packet: Any, arrival_time_ms: int) -> None:
            self.rtp.append(time.monotonic())
            await handle(packet, arrival_time_ms)

        setattr(receiver, "_handle_rtp_packet", counted)  # noqa: B010 (a test tap)

    def _state(self) -> None:
        if self.pc.connectionState in ("failed", "closed") and self.failed_at is None:
            self.failed_at = time.monotonic()

    async def _drain(self, track: Any) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                self.audio.append(time.monotonic())

    async def _send(self) -> None:
        while self.channel.readyState == "open":
            self.channel.send(str(self.sent))
            self.sent += 1
            await asyncio.sleep(INTERVAL)

    async def connect(
        self, url: str, relay: str, rewrite: str | None = None, redirect_to: str | None = None
    ) -> Response:
        """POST the offer to ``url/whip`` (following one 307, to ``redirect_to`` if given), keep the
        answer's candidate on ``relay`` (an IP), wait until the channel opens, start sending."""
        opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_open() -> None:
            if not opened.done():
                opened.set_result(None)

        self.channel.on("open", on_open)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = self.pc.localDescription.sdp
        response = await asyncio.to_thread(request, "POST", url + "/whip", SDP, offer)
        if response.status_code == 307:
            self.redirected = response.headers["Location"]
            if redirect_to is not None:
                assert self.redirected == redirect_to + "/whip?redirected=1"
            response = await asyncio.to_thread(request, "POST", self.redirected, SDP, offer)
        else:
            assert redirect_to is None, response.status_code
        assert response.status_code == 201, response.text
        self.answer = keep_candidates(response.text, relay, rewrite)
        assert "a=candidate:" in self.answer, response.text
        await self.pc.setRemoteDescription(aiortc.RTCSessionDescription(self.answer, "answer"))
        await asyncio.wait_for(opened, TIMEOUT)
        self._tasks.append(asyncio.ensure_future(self._send()))
        return response

    def lost(self) -> list[int]:
        """Numbers sent before the last one echoed that never came back."""
        got = {n for _, n in self.received}
        return [n for n in range(max(got, default=0)) if n not in got]

    def resumed(self, after: float) -> tuple[float, float, float]:
        """Seconds from ``after`` to the first echoed message, RTP packet and decoded audio
        frame that arrived later (inf if none)."""
        message = next((t for t, _ in self.received if t > after), float("inf"))
        rtp = next((t for t in self.rtp if t > after), float("inf"))
        audio = next((t for t in self.audio if t > after), float("inf"))
        return message - after, rtp - after, audio - after

    def longest_gap(self, since: float) -> float:
        times = [since] + [t for t, _ in self.received if t > since]
        return max(b - a for a, b in zip(times, times[1:], strict=False)) if len(times) > 1 else 0

    async def wait_echoes(self, count: int, timeout: float = TIMEOUT) -> None:
        """Wait for ``count`` more echoes than now."""
        target = len(self.received) + count
        deadline = time.monotonic() + timeout
        while len(self.received) < target:
            assert time.monotonic() < deadline, f"only {len(self.received)} of {target} echoes"
            await asyncio.sleep(INTERVAL)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()
