"""Relay forwarding rate and added latency, against a C recvmmsg forwarder and uvloop.

Peers, run in the same session on loopback:

* ``bench/cforward.c`` (compiled here with gcc): recvmmsg/sendmmsg in batches of 32, one
  flow, no parsing — the machine's practical limit for a UDP forwarder;
* a plain uvloop ``DatagramProtocol`` forwarder (``python -m bench.relay uvforward``).

The relay runs as ``pywebrtc-relay`` would (``python -m relay.cli``, ``--io auto``: the C loops
of relay._fastloop where they were built), routing included; its pure-Python loops
(``--io thread``, the fallback) are measured too, for packets per CPU-second. Every
run opens 32 new client flows, each with a routable STUN Binding Request of a session of its
own (the relay binds at most 16 client addresses to one ufrag), then sends RTP-sized
datagrams that are framed and forwarded to a sink transceiver.

Packets/s is measured at saturation: the generator (``cforward burst``) stops the forwarder
with SIGSTOP, queues a burst in its socket buffer, resumes it, and reads the sink only once
the forwarder's CPU time stops moving — so batches are full, the generator's own cost does
not limit the rate, and no sink wakeups are billed to the forwarder. Forwarded packets are
divided by the CPU seconds the forwarder process(es) used, every thread counted
(``/proc/PID/task/TID/schedstat``): "per core". That normalisation matters because this
machine's 2 cores are shared with other engineers' test runs; wall-clock rates (time from
SIGCONT to the last arrival) are reported for 1 vs 2 workers only, and are noisy.

Added latency is the round trip client → forwarder → echo → forwarder → client minus the
direct round trip client → echo, one datagram at a time, at each percentile. The relay, the
C forwarder and the direct path take turns ping by ping (order alternating), so that every
series sees the same moments of this shared machine; each sample is one such session of
``PINGS`` round trips per path, and the relay's and the C forwarder's figures in one table
row come from the same sessions. Each session also reads the forwarders' scheduler
statistics (``/proc/PID/task/*/schedstat``: CPU time, time spent runnable but waiting for a
core, and how many times a thread was switched in), per round trip, so that a tail can be
told apart: work of the forwarder's own, or waiting for a core (wake-ups).

A tail percentile of a few thousand pings on a loaded host is set by a handful of
scheduler events (a woken forwarder waiting out a busy process's slice, milliseconds), so
each session is long (``PINGS``) and the share of round trips over 1 ms is reported too.

Knobs (environment): ``PYWEBRTC_BENCH_RELAY_PINGS`` (round trips per path per session,
default 20000), ``PYWEBRTC_BENCH_RELAY_HOGS`` (start that many busy-loop processes, at this
process's nice level, for the whole run: the documented loaded host; default 0).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import Case, Scenario

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CFORWARD_SOURCE = HERE / "cforward.c"
CFORWARD = HERE / "cforward"
KEY = bytes(range(16))
FLOWS = 32
BURST = 4000  # queued while the forwarder is stopped: fits its 8 MB receive buffer
ROUNDS = 10
SIZE = 200  # a 20 ms Opus frame in SRTP is ~100–200 bytes
PINGS = int(os.environ.get("PYWEBRTC_BENCH_RELAY_PINGS", "20000"))
HOGS = int(os.environ.get("PYWEBRTC_BENCH_RELAY_HOGS", "0"))
SLOW_US = 1000.0  # a round trip this much slower than the direct path's median is "slow"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _compile() -> None:
    if CFORWARD.exists() and CFORWARD.stat().st_mtime >= CFORWARD_SOURCE.stat().st_mtime:
        return
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(CFORWARD), str(CFORWARD_SOURCE)], check=True)


def _cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _schedstat(pid: int) -> dict[int, tuple[int, int, int]]:
    """Per thread of ``pid``: (ns on a CPU, ns runnable but waiting, times switched in)."""
    out: dict[int, tuple[int, int, int]] = {}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return out
    for task in tasks:
        try:
            run, wait, slices = (task / "schedstat").read_text().split()[:3]
        except (OSError, ValueError):
            continue
        out[int(task.name)] = (int(run), int(wait), int(slices))
    return out


def _sched_delta(
    before: dict[int, tuple[int, int, int]], after: dict[int, tuple[int, int, int]]
) -> tuple[int, int, int]:
    """Summed over threads (a thread started in between counts from zero)."""
    total = [0, 0, 0]
    for tid, values in after.items():
        old = before.get(tid, (0, 0, 0))
        for k in range(3):
            total[k] += values[k] - old[k]
    return total[0], total[1], total[2]


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _binding_request(username: str) -> bytes:
    from pywebrtc import stun

    return stun.binding_request(
        stun.new_transaction_id(),
        username,
        b"benchmark-key",
        priority=1 << 24,
        controlling=True,
        tie_breaker=1,
    )


class Forwarder:
    """One forwarder process (or a relay with workers) listening on ``port``."""

    def __init__(self, name: str, argv: list[str], port: int, workers: int = 0) -> None:
        self.name = name
        self.port = port
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the process)
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=self.log, env=env, cwd=REPO)
        self.workers = workers
        _wait_udp(port)
        self.pids = [self.process.pid]
        if workers > 1:
            deadline = time.monotonic() + 10
            while len(_children(self.process.pid)) < workers and time.monotonic() < deadline:
                time.sleep(0.05)
            self.pids += _children(self.process.pid)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _wait_udp(port: int, timeout: float = 15.0) -> None:
    """Wait until something has bound UDP ``port`` (read from /proc, never by binding it)."""
    suffix = f":{port:04X}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = Path("/proc/net/udp").read_text().splitlines()[1:]
        if any(line.split()[1].endswith(suffix) for line in lines):
            time.sleep(0.2)  # bound; give it a moment to finish starting
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on UDP {port}")


class Rig:
    """Every process the scenario needs, started once and stopped at exit."""

    def __init__(self) -> None:
        _compile()
        from relay.routing import RouteCodec

        self.codec = RouteCodec({0: KEY}, active=0)
        self.sink = _free_port()
        self.echo_port = _free_port()
        self.processes: list[Forwarder] = []
        self.hogs: list[subprocess.Popen[bytes]] = []
        self.echo = self._start(
            "echo", [str(CFORWARD), "echo", str(self.echo_port)], self.echo_port
        )
        keys = Path(tempfile.mkdtemp()) / "keys"
        keys.write_text(f"0 {KEY.hex()}\n")

        def relay(workers: int, io: str) -> list[str]:
            return [
                sys.executable,
                "-m",
                "relay.cli",
                "--keys",
                str(keys),
                "--transceiver",
                f"1=127.0.0.1:{self.sink}",
                "--transceiver",
                f"2=127.0.0.1:{self.echo_port}",
                "--workers",
                str(workers),
                "--io",
                io,
                "--log-level",
                "WARNING",
                "--listen",
            ]

        def pair(name: str, argv: list[str]) -> tuple[Forwarder, Forwarder]:
            to_sink, to_echo = _free_port(), _free_port()
            return (
                self._start(name, [*argv, str(to_sink), str(self.sink)], to_sink),
                self._start(name, [*argv, str(to_echo), str(self.echo_port)], to_echo),
            )

        self.c_sink, self.c_echo = pair("C recvmmsg forwarder", [str(CFORWARD), "fwd"])
        uv = [sys.executable, "-m", "bench.relay", "uvforward"]
        self.uv_sink, self.uv_echo = pair("uvloop forwarder", uv)
        port = _free_port()
        self.relay1 = self._start("relay", [*relay(1, "auto"), f"127.0.0.1:{port}"], port)
        port = _free_port()
        self.relay_py = self._start(
            "relay, Python loops", [*relay(1, "thread"), f"127.0.0.1:{port}"], port
        )
        port = _free_port()
        self.relay2 = self._start(
            "relay 2 workers", [*relay(2, "auto"), f"127.0.0.1:{port}"], port, workers=2
        )
        atexit.register(self.close)
        # The documented loaded host: busy loops at our own nice level, started once the
        # forwarders are up, for the whole run.
        self.hogs = [
            subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(HOGS)
        ]
        if self.hogs:
            time.sleep(2.0)

    def _start(self, name: str, argv: list[str], port: int, workers: int = 0) -> Forwarder:
        forwarder = Forwarder(name, argv, port, workers)
        self.processes.append(forwarder)
        return forwarder

    def close(self) -> None:
        for hog in self.hogs:
            hog.kill()
            hog.wait()
        self.hogs = []
        for p in self.processes:
            p.close()

    def hello(self, transceiver: int) -> bytes:
        """A Binding Request for a new session on ``transceiver`` (a fresh ufrag)."""
        from relay.routing import Route

        return _binding_request(f"{self.codec.encode(Route(0, transceiver))}:bench")

    def run_burst(self, forwarder: Forwarder, relay: bool) -> tuple[float, float]:
        """(packets per CPU second of the forwarder, wall-clock packets/s while draining)."""
        hello = ",".join(self.hello(1).hex() for _ in range(FLOWS)) if relay else "00"
        out = subprocess.run(
            [
                str(CFORWARD),
                "burst",
                str(forwarder.port),
                str(self.sink),
                str(FLOWS),
                str(BURST),
                str(ROUNDS),
                str(SIZE),
                hello,
                *map(str, forwarder.pids),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        received, cpu, wall = out.split()
        if int(received) < BURST * ROUNDS * 0.99:
            raise RuntimeError(f"{forwarder.name}: only {received} of {BURST * ROUNDS} arrived")
        return int(received) / float(cpu), int(received) / float(wall)

    def latency_session(self) -> dict[str, list[float]]:
        """``PINGS`` round trips (µs) each via the relay, via the C forwarder and direct to
        the echo, taking turns ping by ping; under "sched:relay" and "sched:c", the
        forwarder's CPU ns, runnable-but-waiting ns and switches-in over the session."""
        watched = {"relay": self.relay1.process.pid, "c": self.c_echo.process.pid}
        payload = b"\x80\x6f" + bytes(SIZE - 2)
        paths = {"relay": self.relay1.port, "c": self.c_echo.port, "direct": self.echo_port}
        hellos = {"relay": self.hello(2), "c": payload, "direct": None}
        sockets: list[tuple[str, socket.socket]] = []
        try:
            for name, port in paths.items():
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append((name, s))
                s.connect(("127.0.0.1", port))
                s.settimeout(1.0)
                hello = hellos[name]
                if hello is not None:
                    s.send(hello)
                    s.recv(2048)
            samples: dict[str, list[float]] = {name: [] for name in paths}
            before = {name: _schedstat(pid) for name, pid in watched.items()}
            clock = time.perf_counter_ns
            for i in range(PINGS):
                for name, s in sockets if i & 1 else reversed(sockets):
                    start = clock()
                    s.send(payload)
                    try:
                        s.recv(2048)
                    except TimeoutError:
                        continue
                    samples[name].append((clock() - start) / 1000)
            for name, pid in watched.items():
                samples[f"sched:{name}"] = [
                    float(v) for v in _sched_delta(before[name], _schedstat(pid))
                ]
            return samples
        finally:
            for _, s in sockets:
                s.close()

    def latency_figures(self) -> dict[str, tuple[float, float]]:
        """One interleaved session's figures, each as (relay, C forwarder): added latency at
        p50 and p99 (µs, against the direct path; at least 0.1), the share of round trips
        more than ``SLOW_US`` over the direct path's median (%), and per round trip the
        forwarder's CPU time, its time runnable but waiting for a core (µs) and the times its
        threads were switched in."""
        samples = self.latency_session()
        direct = {q: _percentile(samples["direct"], q) for q in (50, 99)}
        figures: dict[str, tuple[float, float]] = {}
        for q in (50, 99):
            relay, c = (max(_percentile(samples[n], q) - direct[q], 0.1) for n in ("relay", "c"))
            figures[f"p{q}"] = (relay, c)
        slow = direct[50] + SLOW_US
        relay_slow, c_slow = (
            100.0 * sum(x > slow for x in samples[n]) / len(samples[n]) for n in ("relay", "c")
        )
        figures["slow"] = (relay_slow, c_slow)
        sched = {n: samples[f"sched:{n}"] for n in ("relay", "c")}
        trips = {n: len(samples[n]) for n in ("relay", "c")}
        for k, key in enumerate(("cpu", "wait", "switches")):
            scale = 1000.0 if k < 2 else 1.0
            relay, c = (sched[n][k] / scale / max(trips[n], 1) for n in ("relay", "c"))
            figures[key] = (relay, c)
        return figures


def _percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100)[q - 1]


_rig: Rig | None = None


def rig() -> Rig:
    global _rig
    if _rig is None:
        _rig = Rig()
    return _rig


def scenario() -> Scenario:
    def per_core(name: str, is_relay: bool) -> float:
        r = rig()
        return r.run_burst(getattr(r, name), is_relay)[0]

    def wall(name: str) -> float:
        r = rig()
        return r.run_burst(getattr(r, name), True)[1]

    # The harness calls ours, then the peer, alternately, case by case: the first latency
    # case runs one interleaved session per repeat and every latency case reads the relay's
    # figure and the C forwarder's from the same session (the peer's sample is the C
    # figure of the session ours just read).
    sessions: list[dict[str, tuple[float, float]]] = []
    calls: dict[str, int] = {}
    peer: dict[str, float] = {}
    load = os.getloadavg()[0]
    loads: list[float] = []

    def figure(key: str) -> float:
        n = calls[key] = calls.get(key, 0) + 1
        if len(sessions) < n:
            sessions.append(rig().latency_figures())
            loads.append(os.getloadavg()[0])
        relay, peer[key] = sessions[n - 1][key]
        return relay

    def latency_case(name: str, key: str, unit: str = "µs") -> Case:
        return Case(
            name,
            lambda: figure(key),
            lambda: peer[key],
            peer_name="C recvmmsg/sendmmsg",
            unit=unit,
            higher_is_better=False,
        )

    notes = [
        f"{FLOWS} new flows per sample, {SIZE}-byte datagrams; {ROUNDS} bursts of {BURST} "
        "queued while the forwarder is SIGSTOPped, then drained at full batches; per-core "
        "rate = forwarded packets / forwarder CPU seconds, every thread "
        "(/proc/PID/task/*/schedstat)",
        "the 2 cores are shared with other sessions' test runs: wall-clock numbers are "
        "noisy, per-core ones less so",
        "the relay sends to each backend on a connected socket; the C peer sends "
        "unconnected (per-datagram route lookup), as a minimal forwarder does",
        f"added latency: {PINGS} round trips each via the relay, via the C forwarder and "
        "direct to a C echo, taking turns ping by ping; a path's percentile minus the "
        "direct path's; every latency row's relay and C figures come from the same "
        "sessions (one per run); 'slower than direct' counts round trips more than "
        f"{SLOW_US:g} µs over the direct path's median; the per-round-trip rows are the "
        "forwarder process's /proc/PID/task/*/schedstat over the session (CPU time, time "
        "runnable but waiting for a core, switches in), divided by its round trips",
    ]
    return Scenario(
        name="relay",
        description=(
            "pywebrtc-relay (default --io auto: one thread polls the public socket and the "
            "backend links, known flows forwarded both ways by the C loops of relay._fastloop, "
            "recvmmsg/sendmmsg without the GIL; new flows, STUN and routing in Python) vs a "
            "minimal C "
            "recvmmsg/sendmmsg forwarder and a plain uvloop forwarder, on loopback; and the "
            "relay's pure-Python loops (--io thread, the fallback where the extension is not "
            "built) vs the C forwarder."
        ),
        cases=[
            Case(
                "packets/s per core vs C forwarder",
                lambda: per_core("relay1", True),
                lambda: per_core("c_sink", False),
                peer_name="C recvmmsg/sendmmsg",
                unit="pkt/CPU-s",
            ),
            Case(
                "packets/s per core vs uvloop forwarder",
                lambda: per_core("relay1", True),
                lambda: per_core("uv_sink", False),
                peer_name="uvloop forwarder",
                unit="pkt/CPU-s",
            ),
            Case(
                "packets/s per core, Python loops (--io thread) vs C forwarder",
                lambda: per_core("relay_py", True),
                lambda: per_core("c_sink", False),
                peer_name="C recvmmsg/sendmmsg",
                unit="pkt/CPU-s",
            ),
            Case(
                "packets/s wall clock, 2 workers vs 1",
                lambda: wall("relay2"),
                lambda: wall("relay1"),
                peer_name="relay, 1 worker",
                unit="pkt/s",
            ),
            latency_case("added latency p50 vs C forwarder", "p50"),
            latency_case("added latency p99 vs C forwarder", "p99"),
            latency_case(
                f"round trips over {SLOW_US / 1000:g} ms slower than direct (share)", "slow", "%"
            ),
            latency_case("forwarder CPU per round trip, every thread", "cpu"),
            latency_case("forwarder waiting for a core per round trip", "wait"),
            latency_case("forwarder threads switched in per round trip", "switches", "switches"),
        ],
        repeats=5,
        notes=notes,
        notes_after=lambda: [_load_note(load, loads)],
    )


def _load_note(start: float, sessions: list[float]) -> str:
    after = ", ".join(f"{x:.2f}" for x in sessions) or "—"
    hogs = f"; busy-loop processes started by the bench ran throughout: {HOGS}" if HOGS else ""
    return (
        f"host load (1-minute load average, {os.cpu_count()} cores): {start:.2f} at the "
        f"start, {after} after each latency session{hogs}"
    )


# -- the uvloop peer -------------------------------------------------------------------


class _UvForward(asyncio.DatagramProtocol):
    def __init__(self, state: dict[str, object], side: str) -> None:
        self.state = state
        self.side = side

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.state[self.side] = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.side == "public":
            self.state["client"] = addr
            self.state["private"].sendto(data, self.state["dest"])  # type: ignore[attr-defined]
        else:
            self.state["public"].sendto(data, self.state["client"])  # type: ignore[attr-defined]


async def _uvforward(listen: int, dest: int) -> None:
    loop = asyncio.get_running_loop()
    state: dict[str, object] = {"dest": ("127.0.0.1", dest)}
    for side, port in (("public", listen), ("private", 0)):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        sock.bind(("127.0.0.1", port))
        await loop.create_datagram_endpoint(
            lambda side=side: _UvForward(state, side),  # type: ignore[misc]
            sock=sock,
        )
    await asyncio.Event().wait()


if __name__ == "__main__" and sys.argv[1:2] == ["uvforward"]:
    import uvloop

    uvloop.run(_uvforward(int(sys.argv[2]), int(sys.argv[3])))
