"""The controller's Prometheus metrics, served on `--metrics-port` (`/metrics`).

prometheus_client rather than hand-written text: it gets the exposition format,
label escaping and histogram buckets right, and adds the process metrics (memory,
CPU, open files) operators expect. Each controller has its own registry, so tests
can run several.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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

    def serve(self, port: int, health: Callable[[], str | None] = lambda: None) -> Any:
        """Serves `/metrics` and `/healthz` on `port`, in a daemon thread; returns the server.

        Not prometheus_client's `start_http_server`: it answers the metrics page on ANY path
        (exposition.py: "the URI path for GET is not constrained"), so a liveness probe on
        `/healthz` would pass while the controller is wedged. `/healthz` is 200 when
        `health()` returns None, else 503 with its reason; other paths are 404."""
        metrics = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # the kubelet probes every 20 s: not worth a log line each

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._answer(200, prom.CONTENT_TYPE_LATEST, metrics.text().encode())
                elif path == "/healthz":
                    problem = health()
                    status, body = (200, "ok") if problem is None else (503, problem)
                    self._answer(status, "text/plain; charset=utf-8", body.encode())
                else:
                    self._answer(404, "text/plain; charset=utf-8", b"not found: /metrics or /healthz")

            def _answer(self, status: int, kind: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = ThreadingHTTPServer(("", port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


def _code(status: int | None) -> str:
    """The status class as a label: `2xx`..`5xx`, or `none` when no answer came."""
    return f"{status // 100}xx" if status else "none"


def _count(requests: Any, errors: Any, status: int | None) -> None:
    requests.labels(_code(status)).inc()
    if status is None or status >= 400:
        errors.inc()
