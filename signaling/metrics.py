"""Prometheus series of the transceiver service (``GET /metrics``).

Fixed names (issue 13): ``pywebrtc_sessions{state}`` (live sessions by W3C connectionState),
``pywebrtc_sessions_created_total``, ``pywebrtc_rtp_packets_received_total``,
``pywebrtc_rtp_packets_sent_total``, ``pywebrtc_datachannel_messages_received_total``,
``pywebrtc_http_requests_total{method,code}``, ``pywebrtc_session_setup_seconds`` (offer
received → connected). The RTP totals count audio and video; ``pywebrtc_video_rtp_packets_*``
count the video part alone. Each service has its own registry, so tests can run several in one
process. Gauges and RTP totals are read from the live sessions at scrape time (plus what ended
sessions carried), so they cannot drift from the truth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATES = ("new", "connecting", "connected", "disconnected", "failed", "closed")


class _Live(Collector):
    """Series computed from the live sessions when scraped."""

    def __init__(
        self,
        states: Callable[[], Iterable[str]],
        rtp: Callable[[], tuple[int, int, int, int]],
        extra: Callable[[], dict[str, float]],
    ) -> None:
        self._states = states
        self._rtp = rtp
        self._extra = extra

    def collect(self) -> Iterable[Metric]:
        counts = dict.fromkeys(STATES, 0)
        for state in self._states():
            counts[state] = counts.get(state, 0) + 1
        sessions = GaugeMetricFamily(
            "pywebrtc_sessions", "Live sessions by W3C connectionState", labels=["state"]
        )
        for state, count in counts.items():
            sessions.add_metric([state], count)
        yield sessions
        received, sent, video_received, video_sent = self._rtp()
        yield CounterMetricFamily(
            "pywebrtc_rtp_packets_received", "RTP packets received", value=received
        )
        yield CounterMetricFamily("pywebrtc_rtp_packets_sent", "RTP packets sent", value=sent)
        yield CounterMetricFamily(
            "pywebrtc_video_rtp_packets_received", "Video RTP packets received",
            value=video_received,
        )  # fmt: skip
        yield CounterMetricFamily(
            "pywebrtc_video_rtp_packets_sent", "Video RTP packets sent", value=video_sent
        )
        for name, value in self._extra().items():
            yield GaugeMetricFamily(name, name.replace("_", " "), value=value)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sessions_created = Counter(
            "pywebrtc_sessions_created", "Sessions created", registry=self.registry
        )
        self.sessions_ended = Counter(
            "pywebrtc_sessions_ended", "Sessions ended, by reason", ["reason"],
            registry=self.registry,
        )  # fmt: skip
        self.datachannel_messages = Counter(
            "pywebrtc_datachannel_messages_received",
            "Data channel messages received",
            registry=self.registry,
        )
        self.http_requests = Counter(
            "pywebrtc_http_requests", "HTTP requests", ["method", "code"], registry=self.registry
        )
        self.setup_seconds = Histogram(
            "pywebrtc_session_setup_seconds",
            "Offer received to connectionState connected",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )

    def watch(
        self,
        states: Callable[[], Iterable[str]],
        rtp: Callable[[], tuple[int, int, int, int]],
        extra: Callable[[], dict[str, float]],
    ) -> None:
        """Register the scrape-time series (once)."""
        self.registry.register(_Live(states, rtp, extra))

    def value(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A gauge read from ``read()`` at scrape time."""
        Gauge(name, documentation, registry=self.registry).set_function(read)

    def render(self) -> bytes:
        return generate_latest(self.registry)
