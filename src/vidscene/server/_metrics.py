"""``/metrics``: Prometheus text, from ``prometheus_client``.

Request latencies and analysed seconds are counted as they happen; job counts, queue depth and
active streams are read when Prometheus scrapes (a collector), so they are never stale and
cost nothing between scrapes. Each app has its own registry (several apps in one test
process must not share counters)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from vidscene.store import JOB_STATES

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


class _Live:
    """The collector of values read at scrape time."""

    def __init__(self, jobs_by_state: Callable[[], dict[str, int]], depth: Callable[[], int],
                 streams: Callable[[], dict[str, int]]) -> None:
        self.jobs_by_state, self.depth, self.streams = jobs_by_state, depth, streams

    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("vidscene_jobs", "Job records by state.", labels=["state"])
        counts = self.jobs_by_state()
        for state in JOB_STATES:
            jobs.add_metric([state], counts.get(state, 0))
        yield jobs
        yield GaugeMetricFamily("vidscene_queue_depth",
                                "Jobs this server accepted and has not finished.",
                                value=self.depth())
        streams = GaugeMetricFamily("vidscene_active_streams",
                                    "Working copies of each pipeline stage.", labels=["stage"])
        for stage, n in sorted(self.streams().items()):
            streams.add_metric([stage], n)
        yield streams


class Metrics:
    def __init__(self, jobs_by_state: Callable[[], dict[str, int]], depth: Callable[[], int],
                 streams: Callable[[], dict[str, int]]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "vidscene_http_request_duration_seconds", "HTTP request latency.",
            ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.video_seconds = Counter(
            "vidscene_analysis_video_seconds", "Seconds of video analysed by this server.",
            registry=self.registry)
        self.analysis_seconds = Histogram(
            "vidscene_analysis_seconds", "Wall time of each analysis this server ran.",
            buckets=(1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600), registry=self.registry)
        self.registry.register(_Live(jobs_by_state, depth, streams))  # type: ignore[arg-type]

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).observe(seconds)

    def observe_analysis(self, video_seconds: float, timing: dict[str, Any]) -> None:
        self.video_seconds.inc(max(0.0, video_seconds))
        total = timing.get("total_s")
        if isinstance(total, int | float):
            self.analysis_seconds.observe(float(total))
