"""A smoke run of ``bench/signaling.py`` at tiny sizes: both servers start pinned, the
pywebrtc client and the Go load generator (``bench/siggen``) reach them, and the figures the
scenario reports come out of real runs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench import signaling
from bench.signaling import LoadGenerator, Server, histogram_quantile, top_frames


def _buckets(counts: dict[str, float]) -> dict[str, float]:
    return {f'pywebrtc_session_setup_seconds_bucket{{le="{le}"}}': n for le, n in counts.items()}


def test_histogram_quantile_interpolates_within_buckets_of_the_window() -> None:
    before = _buckets({"0.01": 5, "0.025": 5, "0.05": 5, "+Inf": 5})
    after = _buckets({"0.01": 5, "0.025": 9, "0.05": 15, "+Inf": 15})
    # 10 observed in the window: 4 in (0.01, 0.025], 6 in (0.025, 0.05].
    assert histogram_quantile(0.2, before, after) == pytest.approx(0.01 + 0.015 * 2 / 4)
    assert histogram_quantile(0.5, before, after) == pytest.approx(0.025 + 0.025 * 1 / 6)
    assert math.isnan(histogram_quantile(0.5, after, after))


def test_top_frames_counts_own_time_and_leaves_idle_out(tmp_path: Path) -> None:
    profile = tmp_path / "raw.txt"
    profile.write_text(
        "main (signaling/cli.py:283) 50\n"
        "main (signaling/cli.py:283);a (x.py:1);b (y.py:2) 30\n"
        "main (signaling/cli.py:283);a (x.py:3) 10\n"
    )
    lines = top_frames(str(profile)).splitlines()
    assert lines[0].startswith("40 samples in working frames (50 idle")
    assert lines[2].split() == ["75.0", "75.0", "b", "(y.py)"]
    assert lines[3].split() == ["25.0", "100.0", "a", "(x.py)"]


@pytest.mark.parametrize(("stack", "sessions"), [("pywebrtc", 10), ("aiortc", 5)])
def test_setups_per_cpu_second(stack: str, sessions: int) -> None:
    figures = signaling.setups_per_cpu_second(stack, sessions)
    assert figures["ok"] == sessions and figures["failed"] == 0
    assert figures["drained"]
    assert figures["setups_per_cpu_s"] > 0


def test_echo_level_through_the_relay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signaling, "SETTLE", 0.5)
    monkeypatch.setattr(signaling, "WINDOW", 2.0)
    server = Server("pywebrtc", relay=True)
    load = LoadGenerator(server.url)
    try:
        result = signaling._level(server, load, None, 3, fresh=False)
    finally:
        load.close()
        server.close()
    # The plumbing, not the figure (the bench judges loss; a loaded host may cause some):
    # every session connected through the relay, and the echo comes back.
    assert result["connected"] == 3, result
    assert result["loss"] < 0.5, result
    assert result["relay_cpu"] > 0, result
