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
            "dawg_grafana_request_errors", "Grafana requests answered 4xx/5xx", registry=r
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

    def grafana_response(self, response: Any, *args: Any, **kwargs: Any) -> None:
        """A `requests` response hook for the Grafana client's session."""
        code = int(getattr(response, "status_code", 0) or 0)
        self.grafana.labels(f"{code // 100}xx").inc()
        if code >= 400:
            self.grafana_errors.inc()

    def text(self) -> str:
        return prom.generate_latest(self.registry).decode()

    def serve(self, port: int) -> Any:
        """Serves `/metrics` (any path) on `port`, in a daemon thread; returns the server."""
        server, _thread = prom.start_http_server(port, registry=self.registry)
        return server
