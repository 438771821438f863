"""Many idle connected sessions in one server process: memory, CPU, timer wake-ups.

A **server process** holds N peer connections that answer offers arriving on a Unix socket
(the signaling); **client processes** (one or two) make the offers, one data channel each, and
wait until every channel is open. All traffic is on loopback. Then nothing is sent for a while
and the server process is measured:

* **RSS per session**: the server's RSS growth from "one session per client connected" to "all
  N connected and idle for a second", divided by N (the warm-up sessions keep per-process
  costs, imports and the first certificate, out of it).
* **CPU**: the server's user + system CPU time over the idle window divided by its length (%
  of one core), less the ``gc.collect()`` the benchmark runs at its start (for the RSS). What
  remains is consent freshness (RFC 7675: a check every 4-6 s each way on every session, 30 s
  expiry), SCTP heartbeats and the timers.
* **timer wake-ups per second**: :attr:`pywebrtc.shell.LoopTimer.wakeups` over the window.
* **mux datagrams per second** received by the server over the window: consent kept both ways
  shows as about 2 × 2N / 5 s (the clients' checks and the responses to the server's own), and
  every session on both sides still ``connected`` at the end.

pywebrtc: the server's sessions share one UDP socket (a :class:`~pywebrtc.ice.UdpMux` on
127.0.0.1), full ICE (controlled, answering) so that it sends consent checks too; the clients
have one socket each on 127.0.0.1. aiortc cannot share a socket: each of its sessions has its
own (on every interface it gathers: loopback, and this host's own addresses, which the kernel
also delivers locally), with ``iceServers=[]``.

``python -m bench idle`` runs the scenario; ``bench.peerconnection``'s memory case calls
:func:`measure` with a short idle window. The processes talk to the parent through one JSON
line per command on stdin/stdout.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.harness import Case, JsonChild, Scenario

ROOT = Path(__file__).resolve().parent.parent
SESSIONS = int(os.environ.get("PYWEBRTC_BENCH_IDLE_SESSIONS", "10000"))
SMALL_SESSIONS = 1000
AIORTC_SESSIONS = int(os.environ.get("PYWEBRTC_BENCH_IDLE_AIORTC_SESSIONS", "500"))
IDLE_SECONDS = float(os.environ.get("PYWEBRTC_BENCH_IDLE_SECONDS", "40"))
# PYWEBRTC_BENCH_IDLE_LITE=1: the server is ICE-lite (RFC 8445 §2.5): it answers the clients'
# consent checks (at the mux, Agent.answer_consent_check) and sends none of its own.
LITE = os.environ.get("PYWEBRTC_BENCH_IDLE_LITE") == "1"
# PYWEBRTC_BENCH_IDLE_PROFILE=FILE: the server runs cProfile over the idle window and writes
# its pstats to FILE (for finding where the idle CPU goes; it slows the server, so its CPU
# figure is not comparable then).
PROFILE = os.environ.get("PYWEBRTC_BENCH_IDLE_PROFILE", "")
# Offers in flight per client process while connecting.
CONCURRENCY = 64
# A session that has not connected this long after its offer went out counts as failed (on a
# busy shared host a few of 10,000 can); more than MAX_FAILED of them fails the run.
CONNECT_TIMEOUT = 300.0
MAX_FAILED = 0.02
# Bounds: connecting must not take longer than this per 1,000 sessions (plus a minute).
SETUP_SECONDS_PER_1000 = 120.0

try:
    import uvloop

    HAVE_UVLOOP = True
except ImportError:  # pragma: no cover
    HAVE_UVLOOP = False


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _stdin_lines() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


def _say(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


# --- the server process ----------------------------------------------------------------------


async def _server(stack: str, path: str) -> None:
    loop = asyncio.get_running_loop()
    pcs: list[Any] = []
    mux_counters: Any = None
    timer: Any = None
    if stack == "pywebrtc":
        from pywebrtc import (
            RTCConfiguration,
            RTCPeerConnection,
            RTCSessionDescription,
            SettingEngine,
        )
        from pywebrtc.dtls import Certificate
        from pywebrtc.ice import open_udp_mux
        from pywebrtc.timer import LoopTimer

        mux, _transport = await open_udp_mux("127.0.0.1")
        mux_counters = mux.counters
        timer = LoopTimer.for_loop(loop)
        settings = SettingEngine()
        settings.set_udp_mux(mux)
        settings.set_lite(LITE)
        # A server's sessions can share one certificate (the W3C API lets the app pass it).
        shared = RTCConfiguration(certificates=[Certificate.generate()])
        if os.environ.get("PYWEBRTC_BENCH_CERTIFICATE_EACH") == "1":
            shared = RTCConfiguration()

        def new_pc() -> Any:
            return RTCPeerConnection(shared, settings=settings)

        def description(sdp: str, kind: str) -> Any:
            return RTCSessionDescription(sdp, kind)
    else:
        import aiortc

        def new_pc() -> Any:
            return aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))

        def description(sdp: str, kind: str) -> Any:
            return aiortc.RTCSessionDescription(sdp, kind)

    async def answer(offer: str) -> str:
        pc = new_pc()
        pcs.append(pc)
        await pc.setRemoteDescription(description(offer, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return str(pc.localDescription.sdp)

    async def signaling(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def one(request: dict[str, Any]) -> None:
            sdp = await answer(request["sdp"])
            writer.write((json.dumps({"id": request["id"], "sdp": sdp}) + "\n").encode())

        tasks = set()
        while line := await reader.readline():
            task = asyncio.ensure_future(one(json.loads(line)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    server = await asyncio.start_unix_server(signaling, path, limit=1 << 20)
    commands = await _stdin_lines()
    _say(event="listening")
    stats_asked = 0
    profiler: Any = None
    while line := await commands.readline():
        command = line.decode().strip()
        if command == "stats":
            stats_asked += 1
            if PROFILE and stats_asked == 3:  # the idle window ends (see measure)
                profiler.disable()
                profiler.dump_stats(PROFILE)
            # The collection (for a steady RSS) is the benchmark's own work, not the idle
            # sessions': the CPU before it ends a window, the CPU after it starts the next one
            # (it costs about a second with 10,000 sessions: 2.5 % of a 40 s window).
            cpu = os.times()
            gc.collect()
            after = os.times()
            _say(
                rss_kib=_rss_kib(),
                cpu_s=cpu.user + cpu.system,
                cpu_after_gc_s=after.user + after.system,
                timer_entries=len(timer) if timer is not None else None,
                wall_s=time.monotonic(),
                wakeups=timer.wakeups if timer is not None else None,
                timer_calls=timer.calls if timer is not None else None,
                mux_received=mux_counters.received if mux_counters is not None else None,
                gc_collections=[g["collections"] for g in gc.get_stats()],
                sessions=len(pcs),
                connected=sum(1 for pc in pcs if pc.connectionState == "connected"),
                states=dict(Counter(pc.connectionState for pc in pcs)),
            )
            if PROFILE and stats_asked == 2:  # the idle window starts
                import cProfile

                profiler = cProfile.Profile(time.process_time)  # CPU time: a shared host
                profiler.enable()
        elif command == "trace":  # tracemalloc, for profiling: start, then the top growth
            _trace(len(pcs))
    server.close()


_snapshot: list[Any] = []


def _trace(sessions: int) -> None:
    import tracemalloc

    gc.collect()
    if not _snapshot:
        tracemalloc.start(1)
        _snapshot.append((tracemalloc.take_snapshot(), sessions))
        _say(event="tracing")
        return
    first, before = _snapshot[0]
    second = tracemalloc.take_snapshot()
    n = max(1, sessions - before)
    lines = []
    for key in ("filename", "lineno"):
        diff = second.compare_to(first, key)
        lines.append(f"--- by {key}: {sum(d.size_diff for d in diff) / n:.0f} B per session")
        for d in diff[: 60 if key != "traceback" else 15]:
            lines.append(
                f"{d.size_diff / n:8.0f} B {d.count_diff / n:6.2f}/session {d.traceback[0]}"
            )
            if key == "traceback":
                lines.extend("        " + str(f) for f in d.traceback[1:])
    sys.stderr.write("\n".join(lines) + "\n")
    _say(event="traced")


# --- a client process ------------------------------------------------------------------------


async def _client(stack: str, path: str, count: int) -> None:
    loop = asyncio.get_running_loop()
    if stack == "pywebrtc":
        import pywebrtc.shell
        from pywebrtc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
        from pywebrtc.dtls import Certificate

        # One socket per client session, on loopback only (this host's other addresses would
        # double the sockets; the server's mux is on 127.0.0.1).
        pywebrtc.shell.host_addresses = lambda *args, **kwargs: ["127.0.0.1"]  # type: ignore[attr-defined]
        # The clients are not what is measured: one certificate for all of them.
        configuration = RTCConfiguration(certificates=[Certificate.generate()])

        def new_pc() -> Any:
            return RTCPeerConnection(configuration)

        def description(sdp: str, kind: str) -> Any:
            return RTCSessionDescription(sdp, kind)
    else:
        import aiortc

        def new_pc() -> Any:
            return aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))

        def description(sdp: str, kind: str) -> Any:
            return aiortc.RTCSessionDescription(sdp, kind)

    reader, writer = await asyncio.open_unix_connection(path, limit=1 << 20)
    answers: dict[int, asyncio.Future[str]] = {}

    async def read_answers() -> None:
        while line := await reader.readline():
            reply = json.loads(line)
            answers.pop(reply["id"]).set_result(reply["sdp"])

    reading = asyncio.ensure_future(read_answers())
    pcs: list[Any] = []
    slots = asyncio.Semaphore(CONCURRENCY)
    serial = 0

    async def connect() -> bool:
        nonlocal serial
        async with slots:
            serial += 1
            key = serial
            pc = new_pc()
            pcs.append(pc)
            opened: asyncio.Future[None] = loop.create_future()
            channel = pc.createDataChannel("idle")
            channel.on("open", lambda: None if opened.done() else opened.set_result(None))
            await pc.setLocalDescription(await pc.createOffer())
            answers[key] = loop.create_future()
            writer.write((json.dumps({"id": key, "sdp": pc.localDescription.sdp}) + "\n").encode())
            try:
                sdp = await asyncio.wait_for(answers[key], CONNECT_TIMEOUT)
                await pc.setRemoteDescription(description(sdp, "answer"))
                await asyncio.wait_for(opened, CONNECT_TIMEOUT)
            except TimeoutError:
                return False
            return True

    commands = await _stdin_lines()
    await connect()
    _say(event="warm")
    await commands.readline()  # "go"
    start = time.monotonic()
    results = await asyncio.gather(*(connect() for _ in range(count)))
    _say(event="ready", failed=results.count(False), seconds=time.monotonic() - start)
    while line := await commands.readline():
        if line.decode().strip() == "stats":
            states = [pc.connectionState for pc in pcs]
            _say(sessions=len(states), connected=states.count("connected"))
    reading.cancel()


def _child(role: str, stack: str, path: str, count: int) -> None:
    coroutine = _server(stack, path) if role == "server" else _client(stack, path, count)
    if HAVE_UVLOOP:
        uvloop.run(coroutine)
    else:  # pragma: no cover
        asyncio.run(coroutine)


# --- the parent --------------------------------------------------------------------------------


class _Process(JsonChild):
    def __init__(self, *args: str) -> None:
        super().__init__([sys.executable, "-m", "bench.idle", *args], cwd=ROOT)


def measure(stack: str, sessions: int, idle: float, clients: int = 1) -> dict[str, float]:
    """Connect ``sessions`` sessions (beyond one warm-up per client) to one server process,
    stay idle ``idle`` seconds, and return the server's figures (see the module docstring)."""
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "signaling")
        server = _Process("server", stack, path)
        children = [server]
        try:
            server.read()  # listening
            shares = [sessions // clients + (i < sessions % clients) for i in range(clients)]
            for share in shares:
                children.append(_Process("client", stack, path, str(share)))
            for client in children[1:]:
                client.read()  # warm
            before = server.ask("stats")
            deadline = time.monotonic() + 60 + SETUP_SECONDS_PER_1000 * sessions / 1000
            for client in children[1:]:
                client.send("go")
            failed = 0
            setup = 0.0
            for client in children[1:]:
                ready = client.read()
                failed += ready["failed"]
                setup = max(setup, ready["seconds"])
                if time.monotonic() > deadline:
                    raise RuntimeError("connecting took too long")
            if failed > MAX_FAILED * sessions:
                raise RuntimeError(f"{failed} of {sessions} sessions did not connect")
            time.sleep(1.0)
            start = server.ask("stats")
            time.sleep(idle)
            # The clients' states first: the server's stats run a gc.collect() (about a second
            # with 10,000 sessions) during which it answers no consent check, and clients whose
            # check fell in it can be W3C "disconnected" (7.5 s without a response) for a moment.
            far = [client.ask("stats") for client in children[1:]]
            end = server.ask("stats")
        finally:
            for child in reversed(children):  # the clients first: the server sees them go
                child.close()
    wall = end["wall_s"] - start["wall_s"]
    total = sessions + clients
    return {
        "sessions": total,
        "failed": failed,
        "setup_s": setup,
        "rss_kib_per_session": (start["rss_kib"] - before["rss_kib"]) / sessions,
        "rss_mib": end["rss_kib"] / 1024,
        "cpu_pct": 100 * (end["cpu_s"] - start["cpu_after_gc_s"]) / wall,
        "wakeups_per_s": (
            (end["wakeups"] - start["wakeups"]) / wall if end["wakeups"] is not None else -1
        ),
        "timer_calls_per_s": (
            (end["timer_calls"] - start["timer_calls"]) / wall if end["wakeups"] is not None else -1
        ),
        "datagrams_per_s": (
            (end["mux_received"] - start["mux_received"]) / wall
            if end["mux_received"] is not None
            else -1
        ),
        # Garbage collections per second in the window, by generation (the benchmark's own
        # gc.collect() at the window's start counted out): is gc.freeze() worth it?
        **{
            f"gc{gen}_per_s": (
                end["gc_collections"][gen] - start["gc_collections"][gen] - (gen == 2)
            )
            / wall
            for gen in range(3)
        },
        "server_connected": end["connected"] / total,
        "clients_connected": sum(f["connected"] for f in far) / total,
    }


_RESULTS: dict[tuple[str, int], dict[str, float]] = {}


def _result(stack: str, sessions: int) -> dict[str, float]:
    """One run per stack and size, shared by the cases that report its figures."""
    key = (stack, sessions)
    if key not in _RESULTS:
        _RESULTS[key] = measure(stack, sessions, IDLE_SECONDS, clients=2 if sessions > 2000 else 1)
        print(f"{stack} {sessions}: {_RESULTS[key]}", file=sys.stderr)
    return _RESULTS[key]


def _figure(stack: str, sessions: int, name: str, scale: float = 1.0) -> float:
    return _result(stack, sessions)[name] * scale


def scenario() -> Scenario:
    big, small, theirs = SESSIONS, min(SMALL_SESSIONS, SESSIONS), AIORTC_SESSIONS

    def ours(name: str, sessions: int = big, scale: float = 1.0) -> Any:
        return lambda: _figure("pywebrtc", sessions, name, scale)

    def aiortc(name: str, scale: float = 1.0) -> Any:
        return lambda: _figure("aiortc", theirs, name, scale)

    cases = [
        Case(
            f"server CPU, {big:,} idle sessions on one socket (% of a core)",
            ours("cpu_pct"),
            unit="%",
            higher_is_better=False,
        ),
        Case(
            f"server CPU per 1,000 idle sessions (pywebrtc {big:,} on one socket; "
            f"aiortc {theirs} with a socket each)",
            ours("cpu_pct", scale=1000 / big),
            aiortc("cpu_pct", scale=1000 / theirs),
            unit="% of a core",
            higher_is_better=False,
        ),
        Case(
            f"server RSS per idle session (pywebrtc {big:,}; aiortc {theirs})",
            ours("rss_kib_per_session"),
            aiortc("rss_kib_per_session"),
            unit="KiB",
            higher_is_better=False,
        ),
        Case(
            f"server RSS, {big:,} idle sessions",
            ours("rss_mib"),
            unit="MiB",
            higher_is_better=False,
        ),
        Case(
            f"timer wake-ups per second, {small:,} idle sessions",
            ours("wakeups_per_s", small),
            unit="/s",
            higher_is_better=False,
        ),
        Case(
            f"timer wake-ups per second, {big:,} idle sessions",
            ours("wakeups_per_s"),
            unit="/s",
            higher_is_better=False,
        ),
        Case(
            f"datagrams received by the server per second, {big:,} idle sessions (consent)",
            ours("datagrams_per_s"),
            unit="/s",
        ),
        Case(
            f"sessions still connected after {IDLE_SECONDS:.0f} s idle, server and client side",
            lambda: (
                100
                * min(
                    _figure("pywebrtc", big, "server_connected"),
                    _figure("pywebrtc", big, "clients_connected"),
                )
            ),
            lambda: (
                100
                * min(
                    _figure("aiortc", theirs, "server_connected"),
                    _figure("aiortc", theirs, "clients_connected"),
                )
            ),
            unit="%",
        ),
        Case(
            f"time to connect, per 1,000 sessions (pywebrtc {big:,} from two processes, "
            f"{CONCURRENCY} offers in flight each; aiortc {theirs} from one)",
            ours("setup_s", scale=1000 / big),
            aiortc("setup_s", scale=1000 / theirs),
            unit="s",
            higher_is_better=False,
        ),
    ]
    notes = [
        "server: pywebrtc sessions on one UdpMux (127.0.0.1), "
        + (
            "ICE-lite: it answers the clients' consent checks at the mux and sends none (a "
            "Binding indication only after 15 s without an answer sent, RFC 8445 §11); "
            if LITE
            else "full ICE (controlled) so that it sends consent checks as well as answering them; "
        )
        + f"{big:,} sessions (plus one warm-up "
        f"per client process) from two client processes with a socket per session; aiortc "
        f"{theirs} sessions, a socket each, server and one client process both aiortc "
        "(aioice is always a full agent: its server sends consent checks too)",
        f"measured over {IDLE_SECONDS:.0f} s of idle after all are connected; CPU is the server "
        "process's user + system time over that window; RSS per session is its growth from the "
        "warm-up to all connected, divided by the sessions",
        f"wake-ups: pywebrtc.shell.LoopTimer.wakeups over the window ({small:,} sessions measured "
        "in a run of their own); the figures of each run are printed to stderr as they come, "
        "with LoopTimer.calls (sessions called back) beside them",
        "sessions that did not connect within "
        f"{CONNECT_TIMEOUT:.0f} s (at most {MAX_FAILED:.0%}) stay in the counts: see the connected "
        "case",
        "one certificate for all the server's sessions (RTCConfiguration(certificates=[...])); "
        "aiortc has no such option and makes one per peer connection",
        f"event loop: {'uvloop' if HAVE_UVLOOP else 'asyncio default'}; shared 2-core host",
    ]
    return Scenario(
        "idle (ICE-lite server)" if LITE else "idle",
        "Idle connected sessions in one server process on one UDP socket, consent freshness kept "
        "both ways: CPU, timer wake-ups, memory (see bench/idle.py).",
        cases,
        repeats=1,
        notes=notes,
    )


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 0)
