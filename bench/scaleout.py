"""Scale-out load and soak (issue 15): many sessions through two relays and three transceivers
on the multi-host topology of ``tests/topology.py``; the scaling from one to three
transceivers; the same load on one aiortc server process.

The fleet, every host a network namespace on one bridge (no traffic leaves the machine):
``gen`` (10.77.1.1, the load generator), ``relay1``/``relay2`` (``pywebrtc-relay`` on
10.77.0.11:3478 and 10.77.0.12:3478, ``--redis`` registry and route cache, ``--metrics`` on
port 9100), ``trx1``..``trx3`` (``pywebrtc-signaling --app echo --redis``, each answer naming
both relays), ``redis`` (``redis-server``). The load is ``bench/siggen`` (Go, Debian's Pion v3,
one process, a socket per session, far cheaper per session than Python clients): session i is
offered to transceiver i mod 3 (``POST /offer``) and keeps only the answer's candidate on relay
i mod 2, so both relays and all three transceivers carry a share. A session has a sendrecv
Opus track and a data channel; a talking session (``TALKING``, a fraction spread evenly) sends
one pre-encoded 20 ms Opus frame at ``PPS`` packets/s (a 200 ms pause every 10 s: see
``bench/siggen``) and a data-channel message a second; a silent one a message every 5 s.

**(a) soak**: ``SESSIONS`` sessions set up, then ``MINUTES`` of soak: for the first
``CHURN_MINUTES``, ``CHURN`` new sessions per second on top (each set up, one data-channel
message echoed, held ``CHURN_HOLD`` s, closed), then steady. Reported: sessions lost (of the
long-lived ones: failed, closed by the server, not connected at the end or a phase without an
echo as the client saw it, or missing from the transceivers' ``pywebrtc_sessions`` at the end;
a session Pion calls disconnected for a while and that comes back is counted apart), RSS of
every process at start and end (``/proc/PID/status``), per-session RTP loss and RFC 3550
interarrival jitter of the echoed packets (p50/p99/max over sessions), setup p50/p99 during
churn (the transceivers' ``pywebrtc_session_setup_seconds`` histogram over the churn phase, as
Prometheus' histogram_quantile; and the generator's offer → first echoed message), sessions per
transceiver core and packets per relay core (CPU-seconds of the processes from
``/proc/PID/stat`` over the steady phase, or the churn phase when there is no steady one).
``GET /metrics`` of every relay and transceiver is scraped every ``SCRAPE`` s during the soak
into ``METRICS_DIR`` (default ``build/scaleout/<time>``), each scrape parsed with
``prometheus_client``'s parser and every metric the Grafana dashboard
(``deploy/grafana/pywebrtc.json``) queries looked for; Redis' ``INFO`` is saved beside them (it
serves no /metrics).

**(b) scaling**: ``SCALING_SESSIONS`` sessions per transceiver (``SCALING_TALKING``) with 1, 2 and 3
transceivers, a ``WINDOW`` s window each: echoed RTP packets per second, the throughput each
added transceiver brings, and packets per transceiver CPU-second (flat = linear scaling).

**(c) the peer**: the same mix on one ``bench/aiortc_echo_server.py`` process (on ``trx1``,
reached directly: its ufrags carry no route for the relay), in steps (``AIORTC_STEPS``) until
a level fails (not all connected, RTP loss over ``MAX_LOSS``, data-channel loss over
``2 × MAX_LOSS``, or its CPU over ``MAX_CPU`` of a core): the sessions it holds and its
sessions per core, against the transceivers' sessions per core in the soak.

Sizes come from ``PYWEBRTC_BENCH_SCALEOUT_<NAME>``: ``SESSIONS`` (1000), ``MINUTES`` (10),
``CHURN`` (50 per second), ``CHURN_MINUTES`` (5), ``CHURN_HOLD`` (5 s), ``PPS`` (50),
``TALKING`` (1.0), ``SCRAPE`` (10 s), ``SCALING_SESSIONS`` (SESSIONS / 3),
``SCALING_TALKING`` (TALKING), ``WINDOW``
(30 s), ``SETTLE`` (5 s), ``AIORTC_STEPS`` (25,50,100,200,400,800), ``CONCURRENCY`` (16),
``PARTS`` (soak,scaling,aiortc), ``METRICS_DIR``. The defaults are the issue's figures; a
2-core machine cannot carry them (see the notes the run writes). ``python -m bench.scaleout
soak|scaling|aiortc`` runs one part and prints its figures as JSON. Needs root (namespaces).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.harness import Case, JsonChild, Scenario
from bench.signaling import _opus_frame, build_siggen, cpu_seconds, run_queue_wait
from tests.relay.relayproc import RelayProcess
from tests.signaling.service import SignalingProcess
from tests.topology import Host, Topology

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "pywebrtc.json"


def _env(name: str, default: str) -> str:
    return os.environ.get(f"PYWEBRTC_BENCH_SCALEOUT_{name}", default)


SESSIONS = int(_env("SESSIONS", "1000"))
MINUTES = float(_env("MINUTES", "10"))
CHURN = float(_env("CHURN", "50"))
CHURN_MINUTES = float(_env("CHURN_MINUTES", "5"))
CHURN_HOLD = float(_env("CHURN_HOLD", "5"))
PPS = int(_env("PPS", "50"))
TALKING = float(_env("TALKING", "1.0"))
SCRAPE = float(_env("SCRAPE", "10"))
SCALING_SESSIONS = int(_env("SCALING_SESSIONS", str(max(1, SESSIONS // 3))))
SCALING_TALKING = float(_env("SCALING_TALKING", str(TALKING)))
WINDOW = float(_env("WINDOW", "30"))
SETTLE = float(_env("SETTLE", "5"))
AIORTC_STEPS = [int(n) for n in _env("AIORTC_STEPS", "25,50,100,200,400,800").split(",")]
CONCURRENCY = int(_env("CONCURRENCY", "16"))
PARTS = _env("PARTS", "soak,scaling,aiortc").split(",")
METRICS_DIR = _env("METRICS_DIR", "")

HOSTS = {
    "gen": "1.1",
    "relay1": "0.11",
    "relay2": "0.12",
    "trx1": "0.21",
    "trx2": "0.22",
    "trx3": "0.23",
    "redis": "0.30",
}
RELAYS = ("relay1", "relay2")
TRANSCEIVERS = ("trx1", "trx2", "trx3")
KEYS = "# scale-out fleet key\n3 0f1e2d3c4b5a69788796a5b4c3d2e1f0\n"
CLUSTER = 5
RELAY_PORT = 3478
RELAY_METRICS_PORT = 9100
REDIS_PORT = 6379
AIORTC_PORT = 8090
MAX_LOSS = 0.005
MAX_CPU = 0.90
MAX_WAIT = 0.05  # run-queue wait (of the window) over which a failed level is measured again
ATTEMPTS = 2
DRAIN_TIMEOUT = 60.0
# Session setup outcomes that are a session lost, not a session ended by its client.
BAD_ENDINGS = ("ice-failed", "setup-timeout")
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str, timeout: float = 10) -> str:
    with _NO_PROXY.open(url, timeout=timeout) as response:
        text: str = response.read().decode()
        return text


def _until(probe: Callable[[], Any], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError):
            if probe():
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out: {what}")
        time.sleep(0.1)


def rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` (KiB), 0 if it is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def parse_metrics(text: str) -> dict[str, float]:
    """A Prometheus text exposition as {sample name with labels: value}, through
    ``prometheus_client``'s parser (raises ValueError on what it cannot parse)."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = float(sample.value)
    return out


def total(metrics: dict[str, float], fragment: str) -> float:
    """The sum of every sample whose key (``NAME|sample{labels}``) contains ``fragment``."""
    return sum(value for key, value in metrics.items() if fragment in key)


def dashboard_metrics() -> set[str]:
    """The metric names the Grafana dashboard's queries use (histograms by their base name)."""
    names = set(re.findall(r"\b(pywebrtc_[a-z_]+)", DASHBOARD.read_text()))
    return {re.sub(r"_(bucket|sum|count)$", "", name) for name in names}


def histogram_quantile(
    q: float, before: dict[str, float], after: dict[str, float], name: str
) -> float:
    """The ``q`` quantile of histogram ``name`` observed between two scrapes of one or more
    processes (buckets summed), linear within a bucket as Prometheus' histogram_quantile."""
    buckets: dict[float, float] = {}
    for key, value in after.items():
        match = re.fullmatch(rf'{name}_bucket\{{le="([^"]+)"\}}', key.split("|", 1)[-1])
        if match:
            le = float(match.group(1))
            buckets[le] = buckets.get(le, 0.0) + value - before.get(key, 0.0)
    ordered = sorted(buckets.items())
    count = ordered[-1][1] if ordered else 0.0
    if count <= 0:
        return float("nan")
    rank = q * count
    lower, below = 0.0, 0.0
    for upper, cumulative in ordered:
        if cumulative >= rank:
            if math.isinf(upper):
                return lower
            return lower + (upper - lower) * (rank - below) / max(cumulative - below, 1e-9)
        lower, below = upper, cumulative
    return lower


def quantiles(values: list[float]) -> dict[str, float]:
    """p50, p99 and max of ``values`` (NaN when empty)."""
    if not values:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": at(0.5), "p99": at(0.99), "max": ordered[-1]}


# --- the fleet --------------------------------------------------------------------------------


class Fleet:
    """The topology with Redis, both relays and ``transceivers`` echo transceivers running."""

    def __init__(self, transceivers: int = len(TRANSCEIVERS)) -> None:
        self.topology = Topology(HOSTS)
        self.relays: dict[str, RelayProcess] = {}
        self.transceivers: dict[str, SignalingProcess] = {}
        self.redis: subprocess.Popen[bytes] | None = None
        self.folder = tempfile.TemporaryDirectory(prefix="bench-scaleout-")
        self.keys = Path(self.folder.name) / "keys"
        self.keys.write_text(KEYS)
        try:
            self._start_redis()
            for name in RELAYS:
                self._start_relay(name)
            self.gen.call(lambda: self._start_transceivers(TRANSCEIVERS[:transceivers]))
        except BaseException:
            self.close()
            raise

    @property
    def gen(self) -> Host:
        return self.topology["gen"]

    def address(self, name: str) -> str:
        return self.topology[name].address

    @property
    def redis_url(self) -> str:
        return f"redis://{self.address('redis')}:{REDIS_PORT}/0"

    def _start_redis(self) -> None:
        host = self.topology["redis"]
        self.redis = host.popen(
            ["redis-server", "--bind", host.address, "--port", str(REDIS_PORT), "--save", "",
             "--appendonly", "no", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.gen.call(lambda: _until(lambda: self.redis_info("server"), "redis-server answers"))

    def redis_info(self, section: str = "") -> str:
        """Redis' ``INFO [section]`` (call from a host that reaches it)."""
        with socket.create_connection((self.address("redis"), REDIS_PORT), timeout=2) as s:
            s.sendall(f"INFO {section}\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                header, _, body = data.partition(b"\r\n")
                if header.startswith(b"$") and len(body) >= int(header[1:]):
                    return body[: int(header[1:])].decode()
        return ""

    def _start_relay(self, name: str) -> None:
        host = self.topology[name]
        self.relays[name] = RelayProcess(
            "--listen", f"{host.address}:{RELAY_PORT}", "--keys", str(self.keys),
            "--cluster", str(CLUSTER), "--redis", self.redis_url, "--registry-interval", "0.5",
            "--metrics", f"{host.address}:{RELAY_METRICS_PORT}", prefix=host.prefix,
        )  # fmt: skip

    def _start_transceivers(self, names: tuple[str, ...]) -> None:
        relays = [arg for r in RELAYS for arg in ("--relay", f"{self.address(r)}:{RELAY_PORT}")]
        for ident, name in enumerate(names, 1):
            host = self.topology[name]
            self.transceivers[name] = SignalingProcess(
                "--app", "echo", "--keys", str(self.keys), "--cluster", str(CLUSTER),
                "--id", str(ident), "--redis", self.redis_url, "--heartbeat", "1",
                *relays, "--max-sessions", "100000", "--log-level", "WARNING",
                timeout=60, bind=host.address, prefix=host.prefix,
            )  # fmt: skip

        def registered() -> bool:
            registry = self.redis_info("keyspace")
            keys = re.search(r"db0:keys=(\d+)", registry)
            # Each transceiver writes two keys (its address and its load).
            return keys is not None and int(keys.group(1)) >= 2 * len(names)

        if names:
            _until(registered, "transceivers registered")
            time.sleep(1.5)  # the relays' next reads of the registry

    # -- what runs, and its figures ------------------------------------------------------------
    def processes(self) -> dict[str, int]:
        """Every process of the fleet by name: pid."""
        pids = {name: relay.process.pid for name, relay in self.relays.items()}
        pids |= {name: trx.process.pid for name, trx in self.transceivers.items()}
        if self.redis is not None:
            pids["redis"] = self.redis.pid
        return pids

    def metrics_urls(self) -> dict[str, str]:
        urls = {name: trx.url + "/metrics" for name, trx in self.transceivers.items()}
        for name in self.relays:
            urls[name] = f"http://{self.address(name)}:{RELAY_METRICS_PORT}/metrics"
        return urls

    def scrape(self) -> dict[str, float]:
        """Every process's /metrics, parsed, as ``NAME|sample`` (from the calling thread,
        which must be in a host)."""
        out: dict[str, float] = {}
        for name, url in self.metrics_urls().items():
            out |= {f"{name}|{k}": v for k, v in parse_metrics(_get(url)).items()}
        return out

    def offer_urls(self, names: tuple[str, ...] = TRANSCEIVERS) -> list[str]:
        return [self.transceivers[name].url + "/offer" for name in names]

    def sessions(self) -> int:
        """Live sessions over every transceiver (from the calling host)."""
        return int(total(self.scrape(), "|pywebrtc_sessions{"))

    def close(self) -> None:
        for trx in self.transceivers.values():
            trx.terminate(5)
            trx.close()
        for relay in self.relays.values():
            relay.terminate()
            relay.close()
        self.topology.close()
        self.folder.cleanup()


class Generator(JsonChild):
    """``bench/siggen`` on the ``gen`` host, offering to ``urls`` in turn."""

    def __init__(
        self, fleet: Fleet, urls: list[str], relays: tuple[str, ...], talking: float
    ) -> None:
        argv = [
            *fleet.gen.prefix, str(build_siggen()), "-url", ",".join(urls),
            "-opus", _opus_frame().hex(), "-concurrency", str(CONCURRENCY), "-iface", "eth0",
            "-pps", str(PPS), "-talking", str(talking),
        ]  # fmt: skip
        if relays:
            argv += ["-relay", ",".join(fleet.address(r) for r in relays)]
        super().__init__(argv, close_timeout=60)


class Sampler:
    """Per-process CPU-seconds, run-queue wait and RSS at one moment."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.at = time.monotonic()
        self.cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
        self.wait = {name: run_queue_wait(pid) for name, pid in pids.items()}
        self.rss = {name: rss_kib(pid) for name, pid in pids.items()}

    def cores(self, since: Sampler, names: list[str]) -> float:
        """CPU-seconds per second of ``names`` together since ``since``."""
        return sum(self.cpu[n] - since.cpu[n] for n in names) / (self.at - since.at)

    def waited(self, since: Sampler, names: list[str]) -> float:
        """The mean fraction of the time ``names`` waited runnable for a CPU."""
        span = self.at - since.at
        return sum(self.wait[n] - since.wait[n] for n in names) / span / max(len(names), 1)


class Scraper(threading.Thread):
    """Every ``SCRAPE`` s, from inside the ``gen`` host: every process's /metrics saved and
    parsed, Redis' INFO saved, and each process's RSS and CPU noted."""

    def __init__(self, fleet: Fleet, folder: Path, pids: dict[str, int]) -> None:
        super().__init__(name="scraper", daemon=True)
        self.fleet, self.folder, self.pids = fleet, folder, pids
        folder.mkdir(parents=True, exist_ok=True)
        self.stopping = threading.Event()
        self.scrapes: dict[str, int] = {}
        self.failures: list[str] = []
        self.families: dict[str, set[str]] = {}
        self.samples: dict[str, int] = {}
        self.rss: dict[str, list[int]] = {name: [] for name in pids}
        self.redis_memory: list[int] = []

    def run(self) -> None:
        with self.fleet.gen.entered():
            start = time.monotonic()
            while True:
                self.once(time.monotonic() - start)
                if self.stopping.wait(SCRAPE):
                    return

    def once(self, elapsed: float) -> None:
        from prometheus_client.parser import text_string_to_metric_families

        for name, url in self.fleet.metrics_urls().items():
            try:
                text = _get(url)
                (self.folder / f"{elapsed:06.1f}-{name}.prom").write_text(text)
                families = list(text_string_to_metric_families(text))
            except (OSError, ValueError) as error:
                self.failures.append(f"{name} at {elapsed:.0f} s: {error!r}")
                continue
            self.scrapes[name] = self.scrapes.get(name, 0) + 1
            self.families.setdefault(name, set()).update(f.name for f in families)
            self.samples[name] = sum(len(f.samples) for f in families)
        try:
            info = self.fleet.redis_info()
            (self.folder / f"{elapsed:06.1f}-redis.info").write_text(info)
            memory = re.search(r"used_memory:(\d+)", info)
            if memory:
                self.redis_memory.append(int(memory.group(1)))
            self.scrapes["redis"] = self.scrapes.get("redis", 0) + 1
        except OSError as error:
            self.failures.append(f"redis at {elapsed:.0f} s: {error!r}")
        for name, pid in self.pids.items():
            self.rss[name].append(rss_kib(pid))

    def stop(self) -> None:
        self.stopping.set()
        self.join()

    def summary(self) -> dict[str, Any]:
        seen = set().union(*self.families.values()) if self.families else set()
        # prometheus_client names a counter family without its _total.
        seen |= {name + "_total" for name in seen}
        return {
            "folder": str(self.folder),
            "scrapes": self.scrapes,
            "failures": self.failures,
            "families": {name: len(f) for name, f in self.families.items()},
            "samples_last": self.samples,
            "dashboard_missing": sorted(dashboard_metrics() - seen),
            "rss_max_kib": {name: max(v, default=0) for name, v in self.rss.items()},
            "redis_used_memory": [min(self.redis_memory, default=0),
                                  max(self.redis_memory, default=0)],
        }  # fmt: skip


def _metrics_folder() -> Path:
    if METRICS_DIR:
        return Path(METRICS_DIR)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
    return ROOT / "build" / "scaleout" / stamp


@contextlib.contextmanager
def _generator(
    fleet: Fleet, urls: list[str], relays: tuple[str, ...] = RELAYS, talking: float | None = None
) -> Iterator[Generator]:
    generator = Generator(fleet, urls, relays, TALKING if talking is None else talking)
    try:
        yield generator
    finally:
        with contextlib.suppress(OSError, RuntimeError, ValueError):
            generator.ask("drop -1")
        generator.close()


def _drained(fleet: Fleet, count: Callable[[], int]) -> bool:
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while fleet.gen.call(count):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


# --- (a) load and soak ------------------------------------------------------------------------


def _per_session(phases: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-session RTP loss and jitter over the phases, and the long-lived sessions lost: failed
    or closed by the server, not connected at the end, or a phase without a single echo. A
    session that Pion calls disconnected (5 s without a packet: a starved host) and that
    comes back is not lost; those are counted apart ("interrupted")."""
    rows = [phase["per_session"] for phase in phases]
    sessions = len(rows[-1])
    loss, jitter, jitter_max, dc_loss = [], [], [], []
    lost: list[str] = []
    interrupted = 0
    for i in range(sessions):
        mine = [phase[i] for phase in rows if i < len(phase)]
        talking = mine[-1][0] == 1
        sent = sum(r[1] for r in mine)
        received = sum(r[2] for r in mine)
        dc_sent = sum(r[5] for r in mine)
        dc_received = sum(r[6] for r in mine)
        dead_phase = any(
            (talking and r[1] > 0 and r[2] == 0) or (r[5] > 0 and r[6] == 0) for r in mine
        )
        why = [
            reason
            for reason, bad in (
                ("a phase without echoes", dead_phase),
                ("not connected at the end", mine[-1][7] != 1),
                ("failed or closed by the server", mine[-1][9] == 1),
            )
            if bad
        ]
        interrupted += mine[-1][8] > 0
        if why:
            lost.append(f"{i}: {', '.join(why)} ({'talking' if talking else 'silent'})")
        if dc_sent:
            dc_loss.append(max(0.0, 1 - dc_received / dc_sent))
        if talking and sent:
            loss.append(max(0.0, 1 - received / sent))
            jitter.append(mine[-1][3])
            jitter_max.append(max(r[4] for r in mine))
    return {
        "sessions": sessions,
        "talking": len(loss),
        "lost": len(lost),
        "lost_sessions": lost[:20],
        "interrupted": interrupted,
        "loss_pct": {k: 100 * v for k, v in quantiles(loss).items()},
        "jitter_ms": quantiles(jitter),
        "jitter_max_ms": quantiles(jitter_max),
        "dc_loss_pct": {k: 100 * v for k, v in quantiles(dc_loss).items()},
    }


def soak(fleet: Fleet | None = None) -> dict[str, Any]:
    """(a): ``SESSIONS`` sessions for ``MINUTES`` with churn on top; see the module docstring."""
    own = fleet is None
    fleet = fleet or Fleet()
    duration = MINUTES * 60
    churn_seconds = min(CHURN_MINUTES * 60, duration) if CHURN > 0 else 0.0
    steady_seconds = duration - churn_seconds - (CHURN_HOLD if churn_seconds else 0.0)
    pids = fleet.processes()
    trx, relays = list(fleet.transceivers), list(fleet.relays)
    result: dict[str, Any] = {
        "sessions": SESSIONS, "minutes": MINUTES, "churn_per_s": CHURN,
        "churn_seconds": churn_seconds, "pps": PPS, "talking": TALKING,
    }  # fmt: skip
    try:
        with _generator(fleet, fleet.offer_urls()) as gen:
            pids["siggen"] = gen.popen.pid
            result["setup"] = added = gen.ask(f"add {SESSIONS}")
            if added["failed"]:
                raise RuntimeError(f"initial setups failed: {added}")
            time.sleep(SETTLE)
            start = Sampler(pids)
            metrics_start = fleet.gen.call(fleet.scrape)
            scraper = Scraper(fleet, _metrics_folder(), pids)
            scraper.start()
            phases: list[dict[str, Any]] = []
            try:
                if churn_seconds:
                    gen.ask(f"churn {CHURN} {churn_seconds} {CHURN_HOLD}")
                    phases.append(gen.ask(f"measure {churn_seconds} sessions"))
                    result["churn"] = gen.ask("churned")
                churned = Sampler(pids)
                metrics_churned = fleet.gen.call(fleet.scrape)
                if steady_seconds >= 1:
                    phases.append(gen.ask(f"measure {steady_seconds} sessions"))
                end = Sampler(pids)
                metrics_end = fleet.gen.call(fleet.scrape)
            finally:
                scraper.stop()
    finally:
        if own:
            fleet.close()
    steady = (churned, end) if steady_seconds >= 1 else (start, churned)
    steady_metrics = (
        (metrics_churned, metrics_end) if steady_seconds >= 1 else (metrics_start, metrics_churned)
    )
    relay_packets = sum(
        total(steady_metrics[1], f"{r}|pywebrtc_relay_packets_{way}_total")
        - total(steady_metrics[0], f"{r}|pywebrtc_relay_packets_{way}_total")
        for r in relays
        for way in ("from_clients", "to_clients")
    )
    trx_cores = steady[1].cores(steady[0], trx)
    relay_cores = steady[1].cores(steady[0], relays)
    ended = {
        reason: total(metrics_end, f'|pywebrtc_sessions_ended_total{{reason="{reason}"}}')
        - total(metrics_start, f'|pywebrtc_sessions_ended_total{{reason="{reason}"}}')
        for reason in ("peer-closed", *BAD_ENDINGS)
    }
    per_session = _per_session(phases)
    name = "pywebrtc_session_setup_seconds"
    result |= {
        # Of the long-lived sessions: as their clients saw it, or as the transceivers counted.
        "lost": max(per_session["lost"], SESSIONS - int(total(metrics_end, "|pywebrtc_sessions{"))),
        "per_session": per_session,
        "ended": ended,
        # The transceivers' own count of live sessions at the soak's start and end.
        "held": [total(m, "|pywebrtc_sessions{") for m in (metrics_start, metrics_end)],
        "setup_churn_p50_ms": 1000 * histogram_quantile(0.5, metrics_start, metrics_churned, name),
        "setup_churn_p99_ms": 1000 * histogram_quantile(0.99, metrics_start, metrics_churned, name),
        "steady_seconds": steady[1].at - steady[0].at,
        "transceiver_cores": trx_cores,
        "sessions_per_transceiver_core": SESSIONS / trx_cores if trx_cores else float("nan"),
        "relay_cores": relay_cores,
        "relay_packets_per_s": relay_packets / (steady[1].at - steady[0].at),
        "packets_per_relay_core": relay_packets / (relay_cores * (steady[1].at - steady[0].at))
        if relay_cores
        else float("nan"),
        "cores": {n: round(end.cores(start, [n]), 3) for n in pids},
        "run_queue_wait": {n: round(end.waited(start, [n]), 3) for n in pids},
        "rss_kib": {n: [start.rss[n], end.rss[n]] for n in pids},
        "echo": {
            k: sum(p[k] for p in phases) for k in ("sent", "received", "dc_sent", "dc_received")
        },
        "echoed_per_transceiver_core": phases[-1]["received"]
        / (steady[1].at - steady[0].at)
        / trx_cores
        if trx_cores
        else float("nan"),
        "rtt_p99_ms": max(p["rtt_p99_ms"] for p in phases),
        "generator_lag_max_ms": max(p["lag_max_ms"] for p in phases),
        "metrics": scraper.summary(),
    }
    return result


# --- (b) scaling ------------------------------------------------------------------------------


def scaling(fleet: Fleet | None = None) -> dict[str, Any]:
    """(b): ``SCALING_SESSIONS`` per transceiver with 1, 2, 3 transceivers."""
    own = fleet is None
    fleet = fleet or Fleet()
    levels = []
    try:
        for count in range(1, len(TRANSCEIVERS) + 1):
            names = TRANSCEIVERS[:count]
            pids = {n: fleet.processes()[n] for n in (*names, *RELAYS)}
            with _generator(fleet, fleet.offer_urls(names), talking=SCALING_TALKING) as gen:
                added = gen.ask(f"add {SCALING_SESSIONS * count}")
                time.sleep(SETTLE)
                before = Sampler(pids)
                window = gen.ask(f"measure {WINDOW}")
                after = Sampler(pids)
            cores = after.cores(before, list(names))
            level = {
                "transceivers": count,
                "sessions": SCALING_SESSIONS * count,
                "failed": added["failed"],
                "connected": window["connected"],
                "echoed_pps": window["received"] / WINDOW,
                "loss": max(0.0, 1 - window["received"] / max(window["sent"], 1)),
                "transceiver_cores": cores,
                "relay_cores": after.cores(before, list(RELAYS)),
                "run_queue_wait": after.waited(before, list(names)),
                "packets_per_transceiver_core": window["received"] / WINDOW / cores
                if cores
                else float("nan"),
                "sessions_per_transceiver_core": SCALING_SESSIONS * count / cores
                if cores
                else float("nan"),
            }
            print(f"scaling: {level}", file=sys.stderr)
            levels.append(level)
            _drained(fleet, fleet.sessions)
    finally:
        if own:
            fleet.close()
    first = levels[0]["echoed_pps"]
    for previous, level in zip(levels, levels[1:], strict=False):
        level["added_pps"] = level["echoed_pps"] - previous["echoed_pps"]
        level["efficiency"] = level["echoed_pps"] / (level["transceivers"] * first) if first else 0
    return {"per_transceiver": SCALING_SESSIONS, "levels": levels}


# --- (c) the peer: one aiortc server process ------------------------------------------------


def _aiortc_level(
    gen: Generator, pids: dict[str, int], target: int, failed: int
) -> tuple[dict[str, Any], list[str]]:
    """One window at ``target`` sessions on the aiortc server: its figures, why it failed."""
    time.sleep(SETTLE)
    before = Sampler(pids)
    window = gen.ask(f"measure {WINDOW}")
    after = Sampler(pids)
    cpu = after.cores(before, ["aiortc"])
    loss = max(0.0, 1 - window["received"] / max(window["sent"], 1))
    dc_loss = max(0.0, 1 - window["dc_received"] / max(window["dc_sent"], 1))
    level = {
        "sessions": target, "failed": failed, "connected": window["connected"], "cpu": cpu,
        "loss": loss, "dc_loss": dc_loss, "run_queue_wait": after.waited(before, ["aiortc"]),
        "rss_kib": after.rss["aiortc"],
    }  # fmt: skip
    why = []
    if window["connected"] < target or failed:
        why.append(f"{target - window['connected']} not connected")
    if loss > MAX_LOSS:
        why.append(f"RTP loss {loss:.2%}")
    if dc_loss > 2 * MAX_LOSS:
        why.append(f"data-channel loss {dc_loss:.2%}")
    if cpu > MAX_CPU:
        why.append(f"CPU {cpu:.0%}")
    return level, why


def aiortc_peer(fleet: Fleet | None = None) -> dict[str, Any]:
    """(c): the same mix on ``bench/aiortc_echo_server.py``, stepping up to its ceiling."""
    own = fleet is None
    fleet = fleet or Fleet(transceivers=0)
    host = fleet.topology["trx1"]
    url = f"http://{host.address}:{AIORTC_PORT}"
    server = host.popen(
        [sys.executable, "-m", "bench.aiortc_echo_server", host.address, str(AIORTC_PORT)],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def sessions() -> int:
        count: int = json.loads(_get(url + "/sessions"))["sessions"]
        return count

    best: dict[str, Any] = {"sessions": 0}
    levels = []
    limit = "steps exhausted"
    try:
        fleet.gen.call(lambda: _until(lambda: sessions() == 0, "aiortc server ready"))
        pids = {"aiortc": server.pid}
        with _generator(fleet, [url + "/offer"], relays=()) as gen:
            for target in AIORTC_STEPS:
                added = gen.ask(f"add {target - gen.ask('measure 0')['sessions']}")
                for _ in range(ATTEMPTS):
                    level, why = _aiortc_level(gen, pids, target, added["failed"])
                    print(f"aiortc: {level} {why}", file=sys.stderr)
                    levels.append(level)
                    # Measured again when the host, not aiortc's own core, was the limit.
                    if not why or level["cpu"] > MAX_CPU or level["run_queue_wait"] < MAX_WAIT:
                        break
                if why:
                    wait = level["run_queue_wait"]
                    limit = f"{target} failed: {', '.join(why)} (run-queue wait {wait:.0%})"
                    break
                best = level
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if own:
            fleet.close()
    if best["sessions"]:
        best["sessions_per_core"] = best["sessions"] / best["cpu"]
    return {"best": best, "limit": limit, "levels": levels}


# --- the scenario ---------------------------------------------------------------------------

_RESULTS: dict[str, dict[str, Any]] = {}
_NOTES: list[str] = []


def _part(name: str) -> dict[str, Any]:
    """Each part runs once per bench run; the cases read their figures from it."""
    if name not in _RESULTS:
        run = {"soak": soak, "scaling": scaling, "aiortc": aiortc_peer}[name]
        _RESULTS[name] = figures = run(None)
        print(f"scaleout {name}: {json.dumps(figures, default=str)}", file=sys.stderr)
        _NOTES.extend(_notes(name, figures))
    return _RESULTS[name]


def _fmt_rss(rss: dict[str, list[int]]) -> str:
    return ", ".join(f"{n} {a / 1024:.0f}→{b / 1024:.0f} MiB" for n, (a, b) in rss.items())


# The issue's load and soak: sessions, minutes, churn per second for minutes, all talking.
ISSUE = {"sessions": 1000, "minutes": 10, "churn": 50, "churn_minutes": 5, "pps": 50}


def _issue_load(r: dict[str, Any]) -> list[str]:
    """What of the issue's load this run left out, and what the measured rates say it needs."""
    run = {
        "sessions": SESSIONS, "minutes": MINUTES, "churn": CHURN,
        "churn_minutes": CHURN_MINUTES, "pps": PPS,
    }  # fmt: skip
    if run == ISSUE and TALKING >= 1:
        return []
    echoes = ISSUE["sessions"] * ISSUE["pps"]
    per_trx, per_relay = r["echoed_per_transceiver_core"], r["packets_per_relay_core"]
    trx, relay = echoes / per_trx, 2 * echoes / per_relay
    generator = r["cores"]["siggen"] * echoes / max(r["echo"]["received"] / (60 * MINUTES), 1)
    return [
        f"not run as the issue has it: {ISSUE['sessions']:,} sessions all talking at "
        f"{ISSUE['pps']} packets/s each way for {ISSUE['minutes']} min with "
        f"{ISSUE['churn']}/s churn for {ISSUE['churn_minutes']} min; this run: "
        f"{SESSIONS:,} sessions, {TALKING:.0%} talking at {PPS} packets/s, {MINUTES:g} min, "
        f"churn {CHURN:g}/s for {min(CHURN_MINUTES, MINUTES):g} min. Why: the issue's "
        f"{echoes:,} echoed packets/s at the rates measured here ({per_trx:,.0f} echoed "
        f"packets per transceiver CPU-second at this mix, {per_relay:,.0f} relay packets "
        f"per CPU-second, 2 per echo) need about {trx:.1f} cores for the "
        f"transceivers and {relay:.1f} for the relays, and the Go generator up to "
        f"{generator:.1f} more (its CPU here, setups and churn included, scaled by echoed "
        f"packets), while this machine has "
        f"{os.cpu_count()} cores shared with other work (run-queue waits above)",
    ]


def _notes(name: str, r: dict[str, Any]) -> list[str]:
    if name == "soak":
        p = r["per_session"]
        m = r["metrics"]
        churn = r.get("churn", {})
        return [
            f"soak: {r['sessions']} sessions ({p['talking']} talking at {r['pps']} packets/s "
            f"each way), {r['minutes']:g} min; churn {r['churn_per_s']:g}/s for "
            f"{r['churn_seconds']:.0f} s ({churn.get('ok', 0)} set up, "
            f"{churn.get('failed', 0)} failed, {churn.get('ended_early', 0)} broken while "
            f"held; generator's offer → first echo p50 {churn.get('setup_p50_ms', -1):.0f} "
            f"ms, p99 {churn.get('setup_p99_ms', -1):.0f} ms); initial setup of all "
            f"{r['setup']['ok']} in {r['setup']['seconds']:.0f} s",
            f"soak: sessions lost {r['lost']} (as the clients saw it {p['lost']}; transceivers' "
            f"ice-failed/setup-timeout endings, churn setups included, "
            f"{sum(r['ended'][b] for b in BAD_ENDINGS):.0f}); the transceivers held "
            f"{r['held'][0]:.0f} sessions at the start, {r['held'][1]:.0f} at the end; "
            f"{p['interrupted']} sessions were interrupted (Pion: disconnected, 5 s without a "
            "packet) and came back; "
            f"per-session RTP loss p50/p99/max {p['loss_pct']['p50']:.2f}/"
            f"{p['loss_pct']['p99']:.2f}/{p['loss_pct']['max']:.2f} %, RFC 3550 jitter "
            f"{p['jitter_ms']['p50']:.1f}/{p['jitter_ms']['p99']:.1f}/{p['jitter_ms']['max']:.1f}"
            f" ms, data-channel loss p99 {p['dc_loss_pct']['p99']:.2f} %, data-channel "
            f"round trip p99 {r['rtt_p99_ms']:.0f} ms",
            f"soak: RSS at start → end: {_fmt_rss(r['rss_kib'])}; CPU (cores) over the soak "
            f"{r['cores']}; run-queue wait (a loaded host) {r['run_queue_wait']}",
            *_issue_load(r),
            f"soak metrics: scraped every {SCRAPE:g} s into {m['folder']}: {m['scrapes']}, "
            f"{len(m['failures'])} failed or unparsable; metric families {m['families']}; "
            f"dashboard metrics never seen: {m['dashboard_missing'] or 'none'}",
        ]
    if name == "scaling":
        levels = "; ".join(
            f"{lv['transceivers']}: {lv['echoed_pps']:,.0f} echoed packets/s, loss "
            f"{lv['loss']:.2%}, {lv['packets_per_transceiver_core']:,.0f} per transceiver "
            f"core, transceivers {lv['transceiver_cores']:.2f} cores (run-queue wait "
            f"{lv['run_queue_wait']:.0%})"
            + (f", +{lv['added_pps']:,.0f} for the added one" if "added_pps" in lv else "")
            for lv in r["levels"]
        )
        return [f"scaling, {r['per_transceiver']} sessions per transceiver: {levels}"]
    best = r["best"]
    return [
        f"aiortc: held {best['sessions']} sessions of the same mix on one process ("
        f"{r['limit']}); "
        + "; ".join(
            f"{lv['sessions']}: CPU {lv['cpu']:.0%}, loss {lv['loss']:.2%}, "
            f"{lv['connected']} connected"
            for lv in r["levels"]
        )
    ]


def scenario() -> Scenario:
    def figure(part: str, get: Callable[[dict[str, Any]], float]) -> Callable[[], float]:
        return lambda: float(get(_part(part)))

    def scaled(count: int) -> Callable[[dict[str, Any]], float]:
        return lambda r: float(r["levels"][count - 1]["echoed_pps"])

    mix = f"{TALKING:.0%} talking at {PPS} packets/s each way, a data channel each"
    cases: list[Case] = []
    if "soak" in PARTS:
        aiortc = "aiortc" in PARTS
        cases += [
            Case(
                f"sessions lost: {SESSIONS:,} sessions, {MINUTES:g} min, churn {CHURN:g}/s for "
                f"{min(CHURN_MINUTES, MINUTES):g} min, through 2 relays and 3 transceivers",
                figure("soak", lambda r: r["lost"]),
                unit="sessions",
                higher_is_better=False,
            ),
            Case(
                f"sessions per transceiver core ({mix}; aiortc: one process at its ceiling)",
                figure("soak", lambda r: r["sessions_per_transceiver_core"]),
                figure("aiortc", lambda r: r["best"].get("sessions_per_core", float("nan")))
                if aiortc
                else None,
                peer_name="aiohttp + aiortc",
                unit="sessions/core",
            ),
            Case(
                "packets per relay CPU-second (both ways, both relays)",
                figure("soak", lambda r: r["packets_per_relay_core"]),
                unit="packets/CPU-s",
            ),
            Case(
                "setup p50 during churn (transceivers' pywebrtc_session_setup_seconds)",
                figure("soak", lambda r: r["setup_churn_p50_ms"]),
                unit="ms",
                higher_is_better=False,
            ),
            Case(
                "setup p99 during churn",
                figure("soak", lambda r: r["setup_churn_p99_ms"]),
                unit="ms",
                higher_is_better=False,
            ),
            Case(
                "per-session RTP loss, p99 over the talking sessions",
                figure("soak", lambda r: r["per_session"]["loss_pct"]["p99"]),
                unit="%",
                higher_is_better=False,
            ),
            Case(
                "per-session jitter (RFC 3550, echoed packets), p99 over the talking sessions",
                figure("soak", lambda r: r["per_session"]["jitter_ms"]["p99"]),
                unit="ms",
                higher_is_better=False,
            ),
        ]
    if "scaling" in PARTS:
        cases += [
            Case(
                f"echoed packets/s with {n} transceiver{'s' if n > 1 else ''} "
                f"({SCALING_SESSIONS:,} sessions each, {SCALING_TALKING:.0%} talking at {PPS} "
                "packets/s each way, a data channel each)",
                figure("scaling", scaled(n)),
                unit="packets/s",
            )
            for n in range(1, len(TRANSCEIVERS) + 1)
        ]
    if "aiortc" in PARTS and "soak" not in PARTS:
        cases.append(
            Case(
                f"sessions one aiortc server process holds ({mix})",
                figure("aiortc", lambda r: r["best"]["sessions"]),
                unit="sessions",
            )
        )
    notes = [
        "every host a network namespace on one bridge (tests/topology.py); load from "
        "bench/siggen (Go, Debian's Pion v3), session i on transceiver i mod 3 and relay i mod "
        "2; CPU = utime + stime from /proc/PID/stat; nothing pinned: every process shares the "
        f"machine's {os.cpu_count()} cores with the generator",
        "setup times: Pion's ICE agent (the client) sends its checks on a 200 ms tick, which "
        "dominates both the transceivers' offer → connected histogram and the generator's "
        "offer → first echoed message",
    ]
    _NOTES[:] = notes
    return Scenario(
        "scaleout",
        "Scale-out (issue 15): load and soak through 2 relays and 3 transceivers, scaling from "
        "1 to 3 transceivers, and the same mix on one aiortc server (see bench/scaleout.py).",
        cases,
        repeats=1,
        notes=_NOTES,
    )


if __name__ == "__main__":
    # Killed by a timeout: close the fleet (its processes, its namespaces) on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parts = {"soak": soak, "scaling": scaling, "aiortc": aiortc_peer}
    if sys.argv[1:2] and sys.argv[1] in parts:
        print(json.dumps(parts[sys.argv[1]](None), default=str, indent=1))
        raise SystemExit
    raise SystemExit("usage: python -m bench.scaleout soak|scaling|aiortc")
