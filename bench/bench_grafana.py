"""Grafana client benchmark against the stand-in (tests/grafana_standin.py): prints tables.

1. Requests per "apply if changed" (planner + client): an unchanged dashboard must cost
   exactly 1 GET and 0 writes; a changed one 1 GET + 1 POST.
2. Throughput of saving 1000 dashboards with bounded concurrency (1, 4, 8 workers),
   against a stand-in in its own process, answering at once or after 5 ms per
   request (a stand-in for network and database time).

The stand-in is a Python HTTP server, so absolute throughput says more about it than
about Grafana; the request counts and the ratios between worker counts are what this
measures.

    .venv/bin/python bench/bench_grafana.py [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.table import print_table  # noqa: E402
from dawg_provider.grafana import (  # noqa: E402
    GrafanaClient,
    GrafanaConnection,
    ownership,
)
from dawg_provider.grafana.apply import apply  # noqa: E402
from dawg_provider.grafana.planner import Desired, Policy, Recorded  # noqa: E402
from tests.grafana_standin import GrafanaStandIn  # noqa: E402

OWNER = "bench"


def dashboard(i: int, expr: str = "up") -> Desired:
    board = {
        "title": f"Bench {i}",
        "schemaVersion": 39,
        "panels": [
            {"id": p, "type": "timeseries", "title": f"P{p}", "targets": [{"expr": f"{expr}{{i='{i}'}}"}]}
            for p in range(10)
        ],
    }
    return Desired(f"dawg-bench-{i}", ownership.mark(board, OWNER), "")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    count = 200 if args.quick else 1000
    server = GrafanaStandIn("12.0", tokens={"t": (1, "Admin")}).start()
    try:
        client = GrafanaClient(GrafanaConnection(server.url, token="t"))
        policy = Policy(OWNER)
        first = apply(client, dashboard(0), None, policy)
        assert first.saved is not None
        recorded = Recorded(first.saved.version, dashboard(0).hash)
        rows = []
        for label, desired in (("unchanged", dashboard(0)), ("changed", dashboard(0, "sum(up)"))):
            server.reset_counts()
            applied = apply(client, desired, recorded, policy)
            writes = server.count("POST") + server.count("PUT")
            rows.append((label, applied.plan.action.value, str(server.count("GET")), str(writes)))
        print_table(("apply if changed", "plan", "GETs", "writes"), rows)
        print()
    finally:
        server.stop()

    throughput = []
    for latency in (0.0, 0.005):
        with subprocess.Popen(
            [sys.executable, "-m", "tests.grafana_standin", "--token", "t", "--latency", str(latency)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        ) as process:
            assert process.stdout is not None and process.stdin is not None
            url = process.stdout.readline().strip()
            baseline = 0.0
            for workers in (1, 4, 8):
                elapsed = save_many(url, count, workers, offset=workers * 10_000)
                baseline = baseline or elapsed
                throughput.append(
                    (
                        f"{latency * 1000:.0f} ms",
                        str(workers),
                        str(count),
                        f"{elapsed:.2f}",
                        f"{count / elapsed:,.0f}",
                        f"{baseline / elapsed:.2f}x",
                    )
                )
            process.stdin.close()
    print_table(
        ("server latency", "workers", "dashboards", "seconds", "dashboards/s", "speed-up"), throughput
    )
    print("(each save = 1 GET + 1 POST; stand-in in its own process on loopback; 2 cores)")
    return 0


def save_many(url: str, count: int, workers: int, offset: int) -> float:
    """Apply `count` new dashboards with `workers` threads, one client per thread."""
    local = threading.local()
    policy = Policy(OWNER)

    def save(i: int) -> None:
        if not hasattr(local, "client"):
            local.client = GrafanaClient(GrafanaConnection(url, token="t"))
        apply(local.client, dashboard(offset + i), None, policy)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(save, range(count)))
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
