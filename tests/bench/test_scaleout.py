"""The short version of ``python -m bench scaleout``'s soak (issue 15): 100 sessions through two
relays and three transceivers, each a network namespace (``tests/topology.py``), for 20 s with
churn on top; no session lost, every process's /metrics scraped and parsed, RSS reported."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from bench import scaleout


def test_histogram_quantile_sums_the_buckets_of_every_process() -> None:
    name = "pywebrtc_session_setup_seconds"

    def scrape(one: float, two: float) -> dict[str, float]:
        return {
            f'trx1|{name}_bucket{{le="0.1"}}': one,
            f'trx1|{name}_bucket{{le="+Inf"}}': one,
            f'trx2|{name}_bucket{{le="0.1"}}': 0,
            f'trx2|{name}_bucket{{le="+Inf"}}': two,
        }

    # 4 observed in (0, 0.1] on trx1, 4 above 0.1 on trx2: the median is the bucket's top.
    assert scaleout.histogram_quantile(0.5, scrape(0, 0), scrape(4, 4), name) == 0.1
    assert scaleout.histogram_quantile(0.25, scrape(0, 0), scrape(4, 4), name) == 0.05
    assert math.isnan(scaleout.histogram_quantile(0.5, scrape(4, 4), scrape(4, 4), name))


def test_soak_100_sessions_2_relays_3_transceivers_with_churn(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in {
        "SESSIONS": 100, "MINUTES": 20 / 60, "CHURN": 5.0, "CHURN_MINUTES": 10 / 60,
        "CHURN_HOLD": 2.0, "TALKING": 0.2, "SCRAPE": 4.0, "SETTLE": 2.0,
        "METRICS_DIR": str(tmp_path),
    }.items():  # fmt: skip
        monkeypatch.setattr(scaleout, name, value)
    started = time.monotonic()
    r = scaleout.soak()
    wall = time.monotonic() - started
    print("scaleout soak:", {k: v for k, v in r.items() if k != "metrics"}, r["metrics"])
    assert r["setup"]["ok"] == 100 and r["setup"]["failed"] == 0, r["setup"]
    assert r["churn"]["ok"] == r["churn"]["started"] >= 45, r["churn"]
    assert r["churn"]["ended_early"] == 0, r["churn"]
    assert r["lost"] == 0, r["per_session"]
    assert r["held"][0] == 100 <= r["held"][1], r["held"]  # the transceivers' own count
    assert abs(r["per_session"]["talking"] - 20) <= 1  # the fraction, spread evenly
    # The plumbing, not the figure (a loaded host may lose some): the echo comes back.
    assert r["echo"]["received"] > 0.9 * r["echo"]["sent"] > 0, r["echo"]
    assert r["ended"]["peer-closed"] == r["churn"]["ok"], r["ended"]
    assert not math.isnan(r["setup_churn_p99_ms"])
    metrics = r["metrics"]
    assert metrics["failures"] == [], metrics
    processes = {"relay1", "relay2", "trx1", "trx2", "trx3"}
    assert set(metrics["families"]) == processes
    assert all(metrics["scrapes"][p] >= 5 for p in processes | {"redis"}), metrics
    assert metrics["dashboard_missing"] == [], metrics
    assert len(list(tmp_path.glob("*.prom"))) == sum(metrics["scrapes"][p] for p in processes)
    assert set(r["rss_kib"]) == processes | {"redis", "siggen"}
    assert all(start > 0 and end > 0 for start, end in r["rss_kib"].values()), r["rss_kib"]
    assert r["packets_per_relay_core"] > 0 and r["sessions_per_transceiver_core"] > 0
    assert wall < 90, wall
