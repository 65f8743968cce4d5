"""The controller's Prometheus metrics, served on `--metrics-port` (`/metrics`).

prometheus_client rather than hand-written text: it gets the exposition format,
label escaping and histogram buckets right, and adds the process metrics (memory,
CPU, open files) operators expect. Each controller has its own registry, so tests
can run several.
"""

from __future__ import annotations

from typing import Any

import prometheus_client as prom

from .results import Summary


class Metrics:
    """What the controller does, by outcome and duration."""

    def __init__(self) -> None:
        self.registry = prom.CollectorRegistry()
        r = self.registry
        self.reconciles = prom.Counter(
            "dawg_reconciles", "Dashboards reconciled, by outcome", ["outcome"], registry=r
        )
        self.duration = prom.Histogram(
            "dawg_reconcile_batch_duration_seconds",
            "Time to reconcile one batch or pass",
            ["kind"],
            registry=r,
        )
        self.queue_depth = prom.Gauge("dawg_queue_depth", "Dashboards waiting to be reconciled", registry=r)
        self.grafana = prom.Counter(
            "dawg_grafana_requests", "HTTP requests to Grafana, by status class", ["code"], registry=r
        )
        self.grafana_errors = prom.Counter(
            "dawg_grafana_request_errors", "Grafana requests answered 4xx/5xx or not answered", registry=r
        )
        self.registry_requests = prom.Counter(
            "dawg_registry_requests", "HTTP requests to OCI registries, by status class", ["code"], registry=r
        )
        self.registry_errors = prom.Counter(
            "dawg_registry_request_errors",
            "Registry requests answered 4xx/5xx or not answered",
            registry=r,
        )
        self.generator = prom.Histogram(
            "dawg_generator_run_seconds", "Generator runs (render included)", registry=r
        )
        self.relists = prom.Counter("dawg_relists", "Listings restarted after 410 Gone", registry=r)
        self.leader = prom.Gauge("dawg_leader", "1 while this replica holds the Lease", registry=r)
        self.job_errors = prom.Counter(
            "dawg_job_errors", "Passes or batches that failed as a job", registry=r
        )
        prom.ProcessCollector(registry=r)

    def observe(self, summary: Summary, kind: str, seconds: float) -> None:
        for result in summary.results:
            self.reconciles.labels(result.outcome.value).inc()
        self.duration.labels(kind).observe(seconds)
        if summary.job_failed:
            self.job_errors.inc()

    def grafana_request(self, status: int | None) -> None:
        """The Grafana client's `observer`: one attempt, its status or None (no answer)."""
        _count(self.grafana, self.grafana_errors, status)

    def registry_request(self, status: int | None) -> None:
        """The registry client's `observer`: one request, its status or None (no answer)."""
        _count(self.registry_requests, self.registry_errors, status)

    def text(self) -> str:
        return prom.generate_latest(self.registry).decode()

    def serve(self, port: int) -> Any:
        """Serves `/metrics` (any path) on `port`, in a daemon thread; returns the server."""
        server, _thread = prom.start_http_server(port, registry=self.registry)
        return server


def _code(status: int | None) -> str:
    """The status class as a label: `2xx`..`5xx`, or `none` when no answer came."""
    return f"{status // 100}xx" if status else "none"


def _count(requests: Any, errors: Any, status: int | None) -> None:
    requests.labels(_code(status)).inc()
    if status is None or status >= 400:
        errors.inc()
