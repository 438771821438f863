"""The benchmark harness: repeat each case, report median and spread, compare with a peer.

A case is a pair of zero-argument callables, ours and the peer's, each returning one sample
(for example operations per second, or milliseconds). ``ratio`` is always "how many times
better pywebrtc is", so above 1 is good whatever the unit.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"

Sample = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    ours: Sample
    peer: Sample | None = None
    peer_name: str = "aiortc"
    unit: str = "ops/s"
    higher_is_better: bool = True


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    cases: Sequence[Case]
    repeats: int = 7
    notes: list[str] = field(default_factory=list)
    # Notes known only once the cases have run (the host's load during them, say).
    notes_after: Callable[[], list[str]] | None = None


@dataclass(frozen=True, slots=True)
class Stats:
    median: float
    low: float
    high: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        return cls(statistics.median(samples), min(samples), max(samples))

    def spread_pct(self) -> float:
        return 100.0 * (self.high - self.low) / self.median if self.median else 0.0


def ops_per_second(op: Callable[[], object], min_time: float = 0.2) -> float:
    """Call ``op`` in a calibrated loop and return calls per CPU-second of this process (CPU
    time, not wall time, so that other load on a shared machine does not count against it)."""
    n = 1
    while True:
        start = time.process_time()
        for _ in range(n):
            op()
        elapsed = time.process_time() - start
        if elapsed >= min_time:
            return n / elapsed
        n = n * 2 if elapsed < min_time / 10 else int(n * min_time / elapsed * 1.1) + 1


def _fmt(value: float) -> str:
    if value >= 100_000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:,.1f}"
    return f"{value:.3g}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {_cpu_model()}, "
        f"Python {platform.python_version()}"
    )


def run(scenario: Scenario, write: bool = True) -> list[tuple[Case, Stats, Stats | None]]:
    """Run every case of ``scenario`` (or those whose name contains ``$PYWEBRTC_BENCH_CASES``),
    print a table, and append it to docs/benchmarks.md."""
    results: list[tuple[Case, Stats, Stats | None]] = []
    only = os.environ.get("PYWEBRTC_BENCH_CASES")
    if only:
        cases = [case for case in scenario.cases if only in case.name]
        scenario = replace(
            scenario, cases=cases, notes=[*scenario.notes, f"only the cases named *{only}*"]
        )
    for case in scenario.cases:
        ours: list[float] = []
        peer: list[float] = []
        # Interleave ours and the peer so that drift in machine load hits both alike.
        for _ in range(scenario.repeats):
            ours.append(case.ours())
            if case.peer is not None:
                peer.append(case.peer())
        results.append((case, Stats.of(ours), Stats.of(peer) if peer else None))
    table = format_table(scenario, results)
    print(table)
    if write:
        append_results(scenario, table)
    return results


def format_table(scenario: Scenario, results: list[tuple[Case, Stats, Stats | None]]) -> str:
    lines = [
        "| case | unit | pywebrtc (median, spread) | peer | peer (median, spread) | × better |",
        "|---|---|---|---|---|---|",
    ]
    for case, ours, peer in results:
        if peer is None:
            peer_cell, ratio = "—", "—"
        else:
            peer_cell = f"{_fmt(peer.median)} (±{peer.spread_pct() / 2:.0f}%)"
            r = ours.median / peer.median if case.higher_is_better else peer.median / ours.median
            ratio = f"{r:.2f}"
        better = "higher" if case.higher_is_better else "lower"
        lines.append(
            f"| {case.name} | {case.unit} ({better} is better) | "
            f"{_fmt(ours.median)} (±{ours.spread_pct() / 2:.0f}%) | "
            f"{case.peer_name if case.peer else '—'} | {peer_cell} | {ratio} |"
        )
    return "\n".join(lines)


def append_results(scenario: Scenario, table: str) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python -m bench " + " ".join(sys.argv[1:]) if sys.argv[1:] else scenario.name
    parts = [
        f"\n## {scenario.name} — {now}\n",
        f"{scenario.description}\n",
        f"- machine: {machine()}",
        f"- command: `{command}`; {scenario.repeats} runs each, ours and the peer interleaved; "
        "spread is ±half the min–max range",
        *[f"- {note}" for note in scenario.notes],
        *[f"- {note}" for note in (scenario.notes_after() if scenario.notes_after else [])],
        "",
        table,
        "",
    ]
    if not RESULTS.exists():
        RESULTS.write_text(
            "# Benchmark results\n\nWritten by `python -m bench NAME`; newest at the bottom. "
            "`× better` is how many times better pywebrtc is than the peer in the same run.\n"
        )
    with RESULTS.open("a") as f:
        f.write("\n".join(parts))


class JsonChild:
    """A child process driven over its stdin/stdout: one command line in, one JSON line out
    (the benches' clients, servers and load generators)."""

    def __init__(
        self,
        argv: Sequence[str],
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        close_timeout: float = 30,
    ) -> None:
        self.popen = subprocess.Popen(
            list(argv), cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.close_timeout = close_timeout

    def send(self, command: str) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(command + "\n")
        self.popen.stdin.flush()

    def read(self) -> dict[str, Any]:
        """The child's next JSON line. Other lines are passed to stderr: Pion's logger writes
        to stdout (e.g. "mux ERROR: ... read/write on closed pipe" when a session closes)."""
        assert self.popen.stdout is not None
        while True:
            line = self.popen.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.popen.args!r} exited")
            if line.startswith("{"):
                break
            sys.stderr.write(line)
        result: dict[str, Any] = json.loads(line)
        return result

    def ask(self, command: str) -> dict[str, Any]:
        self.send(command)
        return self.read()

    def close(self) -> None:
        """Close its stdin (its cue to stop) and wait for it, killing it after the timeout."""
        if self.popen.stdin is not None:
            self.popen.stdin.close()
        try:
            self.popen.wait(self.close_timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
