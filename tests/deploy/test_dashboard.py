"""deploy/grafana/pywebrtc.json and docs/deploy.md against the metrics the processes really
serve: a running pywebrtc-signaling (with the Redis registry, so that every series exists)
and the relay's renderer."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from relay import metrics as relay_metrics
from tests.deploy.manifests import REPO, VARIANTS, find, render
from tests.relay.redisproc import RedisServer
from tests.signaling.service import SignalingProcess

DASHBOARD = REPO / "deploy" / "grafana" / "pywebrtc.json"
DEPLOY_DOC = REPO / "docs" / "deploy.md"
NAME = re.compile(r"\bpywebrtc_[a-z0-9_]+\b")


def _families(exposition: str) -> dict[str, str]:
    """``{family: type}`` from the ``# TYPE`` lines of Prometheus text, without the
    ``<family>_created`` creation-time gauges prometheus_client adds beside counters and
    histograms."""
    out: dict[str, str] = {}
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            out[name] = kind
    return {
        name: kind for name, kind in out.items()
        if not (
            name.endswith("_created")
            and kind == "gauge"
            and {base := name.removesuffix("_created"), base + "_total"} & set(out)
        )
    }  # fmt: skip


def _series_names(family: str, kind: str) -> set[str]:
    """Every series name a family of that type exposes (and PromQL can select)."""
    if kind == "counter":
        base = family.removesuffix("_total")
        return {base + "_total", base + "_created"}
    if kind == "histogram":
        return {family + suffix for suffix in ("_bucket", "_sum", "_count", "_created")}
    return {family}


def _public_name(family: str, kind: str) -> str:
    """The name users query: counters with ``_total``."""
    return family.removesuffix("_total") + "_total" if kind == "counter" else family


@pytest.fixture(scope="module")
def families() -> Iterator[dict[str, str]]:
    """Every metric family of both programs, read from a live transceiver's /metrics."""
    redis = RedisServer()
    service = None
    try:
        service = SignalingProcess("--redis", redis.url, timeout=60)
        with urllib.request.urlopen(service.url + "/metrics", timeout=10) as response:
            signaling = _families(response.read().decode())
        # the probes of deploy/k8s answer on the running service too
        objects = render(VARIANTS["hostnetwork"])
        template = find(objects, "StatefulSet", "pywebrtc-transceiver")["spec"]["template"]
        (container,) = template["spec"]["containers"]
        for probe in ("livenessProbe", "readinessProbe"):
            path = container[probe]["httpGet"]["path"]
            with urllib.request.urlopen(service.url + path, timeout=10) as response:
                assert response.status == 200, path
    finally:
        if service is not None:
            service.close()
        redis.stop()
    relay = _families(relay_metrics.render({}))
    assert "pywebrtc_registry_registered" in signaling and "pywebrtc_sessions" in signaling
    assert "pywebrtc_relay_drops_total" in relay
    yield {**signaling, **relay}


def _exprs() -> list[str]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())

    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    exprs = [t["expr"] for panel in panels(dashboard["panels"]) for t in panel.get("targets", [])]
    assert exprs
    return exprs


def test_every_dashboard_expr_uses_existing_metrics(families: dict[str, str]) -> None:
    known = {name for family, kind in families.items() for name in _series_names(family, kind)}
    for expr in _exprs():
        names = NAME.findall(expr)
        assert names, f"no pywebrtc metric in {expr!r}"
        for name in names:
            assert name in known, f"{name} (in {expr!r}) is not a metric the processes serve"
        assert expr.count("(") == expr.count(")"), expr


def test_every_metric_is_on_the_dashboard_and_in_the_docs(families: dict[str, str]) -> None:
    used = {name for expr in _exprs() for name in NAME.findall(expr)}
    doc = DEPLOY_DOC.read_text()
    for family, kind in families.items():
        assert used & _series_names(family, kind), f"{family} is on no dashboard panel"
        assert _public_name(family, kind) in doc, f"docs/deploy.md does not explain {family}"


def test_dashboard_is_importable_json() -> None:
    dashboard = json.loads(Path(DASHBOARD).read_text())
    assert dashboard["uid"] and dashboard["title"]
    ids = []

    def walk(items: list[dict[str, Any]]) -> None:
        for panel in items:
            ids.append(panel["id"])
            walk(panel.get("panels", []))

    walk(dashboard["panels"])
    assert len(ids) == len(set(ids))
    # the data source is a variable, so that the dashboard imports into any Grafana
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
