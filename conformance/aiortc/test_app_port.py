"""An aiortc app ported by changing its imports: ``examples/aiortc_style_server.py`` (an echo
server in the style of aiortc's ``examples/server``) runs as written, on pywebrtc, and with
``pywebrtc`` turned into ``aiortc`` in its imports, on aiortc; an aiortc client talks to each
over HTTP and loopback and must see the same thing: its tone echoed, ``pong`` for ``ping`` on
its data channel, a file played instead of the echo, and what it sent recorded to a WAV file
once it hangs up (the server's track ends and its ``ended`` handler stops the recorder).
"""

from __future__ import annotations

import array
import asyncio
import re
import types
import wave
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import aiortc
import pytest
from aiohttp import web

from tests.peerconnection.audio_helpers import dominant_frequency, tone_of
from tests.test_aiortc_names import write_tone_wav

from .test_audio import AiortcTone

TIMEOUT = 20.0
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "aiortc_style_server.py"


def load_app(stack: str) -> types.ModuleType:
    """The example as a module; for ``aiortc`` with only its import lines changed."""
    source = EXAMPLE.read_text()
    if stack == "aiortc":
        source, count = re.subn(r"^from pywebrtc", "from aiortc", source, flags=re.MULTILINE)
        assert count == 2  # the two import statements, and nothing else
        assert "pywebrtc" not in source.split('"""', 2)[2].replace("examples", "")
    module = types.ModuleType(f"aiortc_style_server_{stack}")
    exec(compile(source, f"{EXAMPLE} ({stack})", "exec"), module.__dict__)
    return module


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 90))


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/offer"


def settle(fut: asyncio.Future[Any]) -> Callable[..., None]:
    """An event handler that resolves ``fut`` with the first value it is given."""

    def handler(value: Any = None) -> None:
        if not fut.done():
            fut.set_result(value)

    return handler


async def call(url: str, tone: float) -> tuple[aiortc.RTCPeerConnection, Any, Any]:
    """The aiortc client: a tone and a data channel; returns it, the echoed track, the
    channel (open)."""
    client = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))
    loop = asyncio.get_running_loop()
    track: asyncio.Future[Any] = loop.create_future()
    client.on("track", settle(track))
    client.addTrack(AiortcTone(tone))
    channel = client.createDataChannel("chat")
    opened: asyncio.Future[None] = loop.create_future()
    channel.on("open", settle(opened))
    await client.setLocalDescription(await client.createOffer())
    offer = client.localDescription
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={"sdp": offer.sdp, "type": offer.type}) as response,
    ):
        answer = await response.json()
    await client.setRemoteDescription(aiortc.RTCSessionDescription(answer["sdp"], answer["type"]))
    await asyncio.wait_for(opened, TIMEOUT)
    return client, await asyncio.wait_for(track, TIMEOUT), channel


async def ping(channel: Any) -> str:
    reply: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    channel.on("message", settle(reply))
    channel.send("ping 7")
    return await asyncio.wait_for(reply, TIMEOUT)


def recorded(path: Path) -> tuple[float, float] | None:
    """(seconds, frequency) of a finished WAV recording's first channel; None while it is
    not a complete, loud WAV file."""
    try:
        with wave.open(str(path)) as wav:
            rate, channels = wav.getframerate(), wav.getnchannels()
            data = array.array("h", wav.readframes(wav.getnframes()))
    except (OSError, EOFError, wave.Error):
        return None
    samples = list(data[::channels])
    loud = [i for i, s in enumerate(samples) if abs(s) > 1000]
    if not loud:
        return None
    return len(samples) / rate, dominant_frequency(samples[loud[0] + rate // 10 :], rate)


@pytest.mark.parametrize("stack", ["pywebrtc", "aiortc"])
def test_echo_ping_and_recording(stack: str, tmp_path: Path) -> None:
    async def body() -> None:
        recording = tmp_path / "heard.wav"
        app = load_app(stack).make_app(record_to=str(recording))
        runner, url = await serve(app)
        try:
            client, echoed, channel = await call(url, 700.0)
            assert await ping(channel) == "pong 7"
            heard = await tone_of(echoed, seconds=1.0)
            assert abs(heard - 700) < 10, heard
            await client.close()  # the server's track ends: its handler stops the recorder
            found = None
            for _ in range(200):  # the WAV header is complete once the recorder stopped
                found = recorded(recording)
                if found is not None and found[0] > 1.0:
                    break
                await asyncio.sleep(0.05)
            assert found is not None
            seconds, frequency = found
            assert seconds > 1.0 and abs(frequency - 700) < 10, (seconds, frequency)
        finally:
            await runner.cleanup()

    run(body)


@pytest.mark.parametrize("stack", ["pywebrtc", "aiortc"])
def test_play_from_a_file_instead_of_the_echo(stack: str, tmp_path: Path) -> None:
    async def body() -> None:
        source = tmp_path / "tone.wav"
        write_tone_wav(source, 880.0, seconds=3.0, rate=16000)
        app = load_app(stack).make_app(play_from=str(source))
        runner, url = await serve(app)
        try:
            client, played, _ = await call(url, 300.0)
            heard = await tone_of(played, seconds=1.0)
            assert abs(heard - 880) < 10, heard
            await client.close()
        finally:
            await runner.cleanup()

    run(body)
