"""RTCPeerConnection end to end on loopback: setup time, data channel throughput, idle memory.

* **setup**: ``createOffer()`` → first message delivered on the answerer, two peer connections
  in one process and one event loop, non-trickle signaling handed over in-process (ICE, DTLS,
  SCTP, DCEP all real, over real UDP sockets). Constructors are outside the timed part: aiortc
  makes a certificate in each, pywebrtc reuses its process-wide default certificate
  (``pywebrtc.configuration.default_certificate``), Pion makes one in each.
* **throughput**: one ordered, reliable channel; 64 KiB binary messages (aiortc's default
  max-message-size), the sender keeps ``bufferedAmount`` under 1 MiB with the
  ``bufferedamountlow`` event; Mbit/s of payload from first send to last message received.
* **CPU** per setup and Mbit per CPU-second (``time.process_time``, both peers): the
  load-independent view of the two cases above.
* **memory**: RSS growth per idle connected session of a server process that holds N of them
  (:func:`bench.idle.measure`): pywebrtc's on one shared UDP socket (a ``UdpMux``) with one
  certificate for all, aiortc's with a socket and a certificate each (it can share neither);
  the clients are in another process.
* **Pion** (Go, Debian's Pion WebRTC v3.1, built from ``conformance/pion/peer``): the same
  setup and throughput cases between two Pion peer connections in one Go process
  (``bench.go`` there mirrors ``_setup_ms`` and ``_throughput_mbps``; one warm-up run first, as
  each setup sample of ours and aiortc is: ``_warm_setup_ms``). Pion v3.1 reads a message into
  a 65535-byte buffer, so its messages are 64 KiB - 1 byte.
* **libwebrtc** (node + ``@roamhq/wrtc`` from ``PYWEBRTC_WRTC_DIR``, else from ``build/node``
  where ``make test`` installs it; one warm-up run first in the same node process) and
  **Chromium ↔ pywebrtc** setup (Playwright, if importable) where practical.

aiortc gets ``RTCConfiguration(iceServers=[])``: its default is a public STUN server, which
ours does not use (and no traffic may leave the machine). pywebrtc and aiortc run on uvloop
when it is installed (the harness runs each sample in a fresh event loop).
The host is a shared 2-core machine: numbers are noisy.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bench.harness import Case, Scenario

MESSAGE = 64 * 1024
TOTAL = 32 * 1024 * 1024
HIGH_WATER = 1024 * 1024
MEMORY_SESSIONS = int(os.environ.get("PYWEBRTC_BENCH_SESSIONS", "1000"))
AIORTC_MEMORY_SESSIONS = int(os.environ.get("PYWEBRTC_BENCH_AIORTC_SESSIONS", "200"))

try:
    import uvloop

    HAVE_UVLOOP = True
except ImportError:  # pragma: no cover
    HAVE_UVLOOP = False


def _run(coroutine_fn: Callable[[], Coroutine[Any, Any, float]]) -> float:
    if HAVE_UVLOOP:
        return uvloop.run(coroutine_fn())
    return asyncio.run(coroutine_fn())


def _resolve(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


# --- the two stacks behind one small interface -----------------------------------------------


class Stack:
    name = ""

    def pc(self) -> Any:
        raise NotImplementedError

    def description(self, sdp: str, type_: str) -> Any:
        raise NotImplementedError


class Ours(Stack):
    name = "pywebrtc"

    def pc(self) -> Any:
        from pywebrtc import RTCPeerConnection

        return RTCPeerConnection()

    def description(self, sdp: str, type_: str) -> Any:
        from pywebrtc import RTCSessionDescription

        return RTCSessionDescription(sdp, type_)


class Aiortc(Stack):
    name = "aiortc"

    def pc(self) -> Any:
        import aiortc

        # No STUN server: aiortc's default is a public one (a DNS lookup and a server-reflexive
        # candidate ours does not gather, and traffic off this machine).
        return aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))

    def description(self, sdp: str, type_: str) -> Any:
        import aiortc

        return aiortc.RTCSessionDescription(sdp, type_)


async def _negotiate(stack: Stack, a: Any, b: Any) -> None:
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(stack.description(a.localDescription.sdp, "offer"))
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(stack.description(b.localDescription.sdp, "answer"))


async def _setup_ms(stack: Stack) -> float:
    loop = asyncio.get_running_loop()
    a, b = stack.pc(), stack.pc()
    delivered: asyncio.Future[float] = loop.create_future()

    def on_channel(channel: Any) -> None:
        def on_message(message: object) -> None:
            if not delivered.done():
                delivered.set_result(time.perf_counter())

        channel.on("message", on_message)

    b.on("datachannel", on_channel)
    start = time.perf_counter()
    channel = a.createDataChannel("setup")
    channel.on("open", lambda: channel.send("first"))
    await _negotiate(stack, a, b)
    end = await asyncio.wait_for(delivered, 30)
    await a.close()
    await b.close()
    return (end - start) * 1000.0


async def _throughput_mbps(stack: Stack, total: int = TOTAL) -> float:
    loop = asyncio.get_running_loop()
    a, b = stack.pc(), stack.pc()
    count = total // MESSAGE
    done: asyncio.Future[float] = loop.create_future()
    received = 0

    def on_channel(channel: Any) -> None:
        def on_message(message: bytes) -> None:
            nonlocal received
            received += 1
            if received == count and not done.done():
                done.set_result(time.perf_counter())

        channel.on("message", on_message)

    b.on("datachannel", on_channel)
    channel = a.createDataChannel("bulk")
    opened = loop.create_future()
    channel.on("open", lambda: _resolve(opened, None))
    await _negotiate(stack, a, b)
    await asyncio.wait_for(opened, 30)
    channel.bufferedAmountLowThreshold = HIGH_WATER // 2
    low = asyncio.Event()
    channel.on("bufferedamountlow", low.set)
    payload = os.urandom(MESSAGE)
    start = time.perf_counter()
    for _ in range(count):
        while channel.bufferedAmount > HIGH_WATER:
            low.clear()
            await low.wait()
        channel.send(payload)
    end = await asyncio.wait_for(done, 120)
    await a.close()
    await b.close()
    return count * MESSAGE * 8 / (end - start) / 1e6


def _warm_setup_ms(stack: Stack) -> float:
    """One untimed setup, then a timed one: each sample is warm the way the Pion and node
    programs warm themselves (a run right before the timed one), whatever ran in between."""
    _run(lambda: _setup_ms(stack))
    return _run(lambda: _setup_ms(stack))


def _cpu_ms(stack: Stack) -> float:
    """CPU time (both peers, this process) of one whole setup (constructors, setup, close),
    after one untimed setup as the Pion and node programs do: robust to other load."""
    _run(lambda: _setup_ms(stack))
    start = time.process_time()
    _run(lambda: _setup_ms(stack))
    return (time.process_time() - start) * 1000.0


def _throughput_per_cpu(stack: Stack) -> float:
    """Payload Mbit per CPU-second (sender and receiver together) for the throughput case."""
    start = time.process_time()
    _run(lambda: _throughput_mbps(stack, TOTAL // 4))
    return (TOTAL // 4) * 8 / (time.process_time() - start) / 1e6


# --- memory: N idle connected sessions in a server process (bench/idle.py) -----------------


def _memory_kib(stack_name: str, n: int) -> float:
    from bench.idle import measure

    return measure(stack_name, n, idle=2.0)["rss_kib_per_session"]


# --- libwebrtc through node-webrtc ------------------------------------------------------------

_WRTC_SCRIPT = r"""
const { RTCPeerConnection } = require("@roamhq/wrtc");
const mode = process.argv[2];
const setup = mode !== "throughput";  // setup or setup-cpu
async function once() {
  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
  a.onicecandidate = e => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = e => e.candidate && a.addIceCandidate(e.candidate);
  const MESSAGE = 64 * 1024, TOTAL = 32 * 1024 * 1024, COUNT = TOTAL / MESSAGE;
  let t0, got = 0;
  const done = new Promise(resolve => {
    b.ondatachannel = e => { e.channel.onmessage = () => {
      got++;
      if (setup || got === COUNT) resolve(performance.now());
    }; };
  });
  t0 = performance.now();
  const ch = a.createDataChannel(mode);
  ch.binaryType = "arraybuffer";
  ch.onopen = async () => {
    if (setup) { ch.send("first"); return; }
    const payload = new Uint8Array(MESSAGE);
    t0 = performance.now();
    for (let i = 0; i < COUNT; i++) {
      while (ch.bufferedAmount > 1024 * 1024)
        await new Promise(r => setTimeout(r, 1));
      ch.send(payload);
    }
  };
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  const end = await done;
  a.close(); b.close();
  return setup ? end - t0 : TOTAL * 8 / ((end - t0) / 1000) / 1e6;
}
// setup-cpu: CPU ms of this process (every thread: libwebrtc's network, signaling and worker
// threads too) for one whole setup, constructors to close.
async function cpu() {
  const before = process.cpuUsage();
  await once();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}
// One warm-up run first, as Pion's program and this Python process are warm.
const timed = mode === "setup-cpu" ? cpu : once;
once().then(timed).then(v => { console.log(JSON.stringify(v)); process.exit(0); });
"""


def _wrtc_dir() -> Path | None:
    # `make test` installs @roamhq/wrtc into build/node (scripts/install-node-deps).
    folder = os.environ.get("PYWEBRTC_WRTC_DIR") or str(
        Path(__file__).resolve().parent.parent / "build" / "node"
    )
    if shutil.which("node") is None:
        return None
    path = Path(folder)
    return path if (path / "node_modules" / "@roamhq" / "wrtc").exists() else None


def _wrtc(mode: str) -> float:
    folder = _wrtc_dir()
    assert folder is not None
    script = folder / "pywebrtc-bench.js"
    script.write_text(_WRTC_SCRIPT)
    out = subprocess.run(
        ["node", str(script), mode], cwd=folder, capture_output=True, text=True, timeout=120
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return float(out.stdout.strip().splitlines()[-1])


# --- Pion through the Go peer of conformance/pion -------------------------------------------


def _pion_binary() -> Path | None:
    from conformance.pion.driver import PionError, build

    try:
        return build()
    except PionError:
        return None


def _pion(mode: str) -> float:
    binary = _pion_binary()
    assert binary is not None
    out = subprocess.run([str(binary), "bench", mode], capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return float(out.stdout.strip().splitlines()[-1])


# --- Chromium offers, pywebrtc answers -------------------------------------------------------


def _chrome_setup_samples(repeats: int) -> list[float]:
    """Chromium (offerer, in the page, trickling its candidates) → pywebrtc (answerer, its
    candidates in the answer): from asking the page to create the offer until our side has
    the page's first message (sent by the page on "open"). Includes the page's HTTP command
    round trips (a few each way), so it is an upper bound of the stack's own setup time."""
    from conformance.browser.driver import BrowserSession, launch_chromium
    from pywebrtc import RTCPeerConnection, RTCSessionDescription

    samples: list[float] = []
    sessions = BrowserSession.open(launch_chromium)
    session = next(sessions)
    try:
        for _ in range(repeats + 1):

            async def one() -> float:
                page = session.page
                bid = await page.call("newPc")
                ours = RTCPeerConnection()
                got: asyncio.Future[float] = asyncio.get_running_loop().create_future()

                def on_channel(channel: Any) -> None:
                    channel.on(
                        "message",
                        lambda m: _resolve(got, time.perf_counter()),
                    )

                ours.on("datachannel", on_channel)
                await page.call("createChannel", bid, "ordered", {})
                await page.call("sendOnOpen", bid, "ordered", "first")
                start = time.perf_counter()
                offer = await page.call("offerTrickle", bid)
                await ours.setRemoteDescription(RTCSessionDescription(offer, "offer"))
                await ours.setLocalDescription(await ours.createAnswer())
                assert ours.localDescription is not None
                await page.call("setAnswer", bid, ours.localDescription.sdp)

                async def trickle() -> None:
                    while True:
                        for candidate in await page.call("trickleCandidates", bid):
                            if candidate is None:
                                await ours.addIceCandidate(None)
                                return
                            await ours.addIceCandidate(candidate)

                trickling = asyncio.ensure_future(trickle())
                end = await asyncio.wait_for(got, 30)
                trickling.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await trickling
                await ours.close()
                await page.call("closePc", bid)
                return (end - start) * 1000.0

            samples.append(session.run(one()))
    finally:
        sessions.close()
    return samples[1:]  # the first one warms the page up


def scenario() -> Scenario:
    ours, theirs = Ours(), Aiortc()
    cases = [
        Case(
            "setup: createOffer → first message (loopback)",
            lambda: _warm_setup_ms(ours),
            lambda: _warm_setup_ms(theirs),
            unit="ms",
            higher_is_better=False,
        ),
        Case(
            "throughput: 64 KiB messages, ordered reliable (loopback)",
            lambda: _run(lambda: _throughput_mbps(ours)),
            lambda: _run(lambda: _throughput_mbps(theirs)),
            unit="Mbit/s",
        ),
    ]
    cases += [
        Case(
            "CPU per setup, both peers (constructors, ICE, DTLS, SCTP, close; "
            "aiortc makes a certificate per connection, pywebrtc reuses one)",
            lambda: _cpu_ms(ours),
            lambda: _cpu_ms(theirs),
            unit="CPU ms",
            higher_is_better=False,
        ),
        Case(
            "throughput per CPU-second, sender + receiver (8 MiB)",
            lambda: _throughput_per_cpu(ours),
            lambda: _throughput_per_cpu(theirs),
            unit="Mbit/CPU-s",
        ),
    ]
    notes = [
        f"event loop: {'uvloop' if HAVE_UVLOOP else 'asyncio default'} for both stacks",
        "shared 2-core host, other engineers' jobs running: noisy",
    ]

    def versus(peer: str, run: Callable[[str], float], setup: str, throughput: str) -> list[Case]:
        """Setup and throughput against another stack's program (``run(mode)``)."""
        return [
            Case(
                f"setup vs {peer} ({setup})",
                lambda: _warm_setup_ms(ours),
                lambda: run("setup"),
                peer_name=peer,
                unit="ms",
                higher_is_better=False,
            ),
            Case(
                f"CPU per setup vs {peer}, both peers, whole setup (constructors to close)",
                lambda: _cpu_ms(ours),
                lambda: run("setup-cpu"),
                peer_name=peer,
                unit="CPU ms",
                higher_is_better=False,
            ),
            Case(
                f"throughput vs {peer} ({throughput})",
                lambda: _run(lambda: _throughput_mbps(ours)),
                lambda: run("throughput"),
                peer_name=peer,
                unit="Mbit/s",
            ),
        ]

    if _pion_binary() is not None:
        cases += versus(
            "Pion",
            _pion,
            "Go, two peer connections in one process, non-trickle",
            "Go; 64 KiB - 1 byte messages for Pion",
        )
    else:
        notes.append("Pion cases left out: Go or Pion missing (scripts/install-system-deps)")
    if _wrtc_dir() is not None:
        cases += versus("libwebrtc", _wrtc, "node @roamhq/wrtc, trickle", "node @roamhq/wrtc")
    if os.environ.get("PYWEBRTC_BENCH_CHROME") == "1":
        chrome = _chrome_setup_samples(7)
        chrome.sort()
        cases.append(
            Case(
                "setup: Chromium offers → pywebrtc answers → first message",
                iter(chrome).__next__,
                unit="ms",
                higher_is_better=False,
            )
        )
    if MEMORY_SESSIONS > 0:
        cases.append(
            Case(
                f"memory per idle connected session, server process ({MEMORY_SESSIONS} on one "
                f"socket; aiortc {AIORTC_MEMORY_SESSIONS}, a socket each)",
                lambda: _memory_kib("pywebrtc", MEMORY_SESSIONS),
                lambda: _memory_kib("aiortc", AIORTC_MEMORY_SESSIONS),
                unit="KiB",
                higher_is_better=False,
            )
        )
    return Scenario(
        "peerconnection",
        "RTCPeerConnection on loopback, pywebrtc vs aiortc (and Pion, libwebrtc where available) "
        "in the same run (see bench/peerconnection.py for what each case measures).",
        cases,
        repeats=5,
        notes=notes,
    )
