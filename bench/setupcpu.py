"""Server CPU per session setup of ``pywebrtc-signaling --app echo`` (a helper, not a scenario).

``python -m bench.setupcpu [N] [CONCURRENCY]`` starts the service pinned to core 1, then a client
process on core 0 runs ``N`` setups with our ``RTCPeerConnection`` (``CONCURRENCY`` at a time):
``POST /offer`` → ICE-lite → DTLS → SCTP → one data-channel message echoed back → close. The
server's CPU time (utime + stime from ``/proc/PID/stat``) is read before the first setup and after
every session has ended (the gauges back to zero), so closing is counted too. Prints server CPU
ms per setup and setups per CPU-second. ``PYWEBRTC_SETUPCPU_PROFILE=FILE`` records the server
with ``py-spy record --gil`` (speedscope format; ``pip install py-spy``) for the measured part,
at ``PYWEBRTC_SETUPCPU_RATE`` samples a second (500);
``PYWEBRTC_SETUPCPU_SERVER=SCRIPT`` starts the service through another executable (e.g. one
that runs it under cProfile or with ``gc.callbacks``). A shared host makes single runs noisy:
compare two trees by alternating runs.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.signaling.service import SignalingProcess

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of ``pid`` (proc(5): stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


async def _one(url: str, http: object) -> None:
    import aiohttp

    from pywebrtc import RTCPeerConnection, RTCSessionDescription

    assert isinstance(http, aiohttp.ClientSession)
    loop = asyncio.get_running_loop()
    pc = RTCPeerConnection()
    echoed: asyncio.Future[None] = loop.create_future()
    channel = pc.createDataChannel("echo")
    channel.on("open", lambda: channel.send("ping"))

    def on_message(message: object) -> None:
        if not echoed.done():
            echoed.set_result(None)

    channel.on("message", on_message)
    await pc.setLocalDescription(await pc.createOffer())
    assert pc.localDescription is not None
    body = {"type": "offer", "sdp": pc.localDescription.sdp}
    async with http.post(url + "/offer", json=body) as response:
        assert response.status == 200, await response.text()
        answer = await response.json()
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
    await asyncio.wait_for(echoed, 30)
    await pc.close()


async def _client(url: str, count: int, concurrency: int) -> None:
    import aiohttp

    semaphore = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as http:

        async def one() -> None:
            async with semaphore:
                await _one(url, http)

        await asyncio.gather(*(one() for _ in range(count)))


def client_main() -> None:
    url, count, concurrency = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    try:
        import uvloop

        uvloop.run(_client(url, count, concurrency))
    except ImportError:
        asyncio.run(_client(url, count, concurrency))


def _live(service: SignalingProcess) -> float:
    states = ("new", "connecting", "connected", "disconnected", "failed", "closed")
    return sum(service.metric("pywebrtc_sessions", f'state="{s}"') for s in states)


def _client_run(url: str, count: int, concurrency: int) -> None:
    subprocess.run(
        ["taskset", "-c", "0", sys.executable, "-m", "bench.setupcpu", "--client", url,
         str(count), str(concurrency)],
        check=True,
    )  # fmt: skip


def main() -> None:
    wrapper = os.environ.get("PYWEBRTC_SETUPCPU_SERVER")  # e.g. a script running it under cProfile
    if wrapper:
        import tests.signaling.service

        tests.signaling.service.SCRIPT = Path(wrapper)
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    service = SignalingProcess("--app", "echo", "--log-level", "WARNING", "--max-sessions", "5000")
    pid = service.process.pid
    subprocess.run(["taskset", "-pc", "1", str(pid)], check=True, capture_output=True)
    profile = os.environ.get("PYWEBRTC_SETUPCPU_PROFILE")
    try:
        _client_run(service.url, 20, concurrency)  # warm-up: imports, first-use caches
        while _live(service):
            time.sleep(0.2)
        spy = None
        if profile:
            spy = subprocess.Popen(
                ["py-spy", "record", "--pid", str(pid), "-o", profile, "--format", "speedscope",
                 "--rate", os.environ.get("PYWEBRTC_SETUPCPU_RATE", "500"), "--gil"],
            )  # fmt: skip
            time.sleep(1.0)
        before = cpu_times(pid)
        start = time.monotonic()
        _client_run(service.url, count, concurrency)
        while _live(service):
            time.sleep(0.1)
        after = cpu_times(pid)
        user, system = after[0] - before[0], after[1] - before[1]
        used = user + system
        wall = time.monotonic() - start
        if spy is not None:
            spy.send_signal(2)
            spy.wait()
        print(
            f"{count} setups ({concurrency} at a time): server {used:.2f} CPU-s, "
            f"{used / count * 1000:.2f} CPU ms/setup ({user / count * 1000:.2f} user, "
            f"{system / count * 1000:.2f} system), {count / used:.0f} setups/CPU-s; "
            f"wall {wall:.1f} s"
        )
    finally:
        service.terminate()
        service.close()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client_main()
    else:
        main()
