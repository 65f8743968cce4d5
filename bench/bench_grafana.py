"""Grafana client benchmark against the stand-in (tests/grafana_standin.py): prints tables.

1. Requests per dashboard on each profile (planner + client, one warmed client):
   a new dashboard costs 1 GET + 1 POST, an unchanged one 1 GET and 0 writes, a
   changed one 1 GET + 1 write (POST on legacy, PUT on /apis); a generator's v2
   dashboard one GET more (read at the classic version, then at its stored v2 one);
   detection (health,
   frontend settings, the API groups, the org) is 3 to 5 GETs once per client.
2. A pass over N dashboards (resolve the folder, apply each with 8 workers sharing
   one connection, then prune) with Grafana down: with the breaker, and without it
   (threshold out of reach) on a sample. Target: under 60 s for 1000, nothing pruned.
3. The same pass against a stand-in in its own process, without faults and with 5%
   of requests hanging (60 s) while the client reads with a 3 s timeout.

The stand-in is a Python HTTP server, so absolute throughput says more about it than
about Grafana; the request counts and the ratios are what this measures.

    .venv/bin/python bench/bench_grafana.py [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.table import print_table  # noqa: E402
from dawg_provider.errors import GrafanaError  # noqa: E402
from dawg_provider.grafana import (  # noqa: E402
    GrafanaClient,
    GrafanaConnection,
    HealthState,
    RetryPolicy,
    ownership,
    v2,
)
from dawg_provider.grafana.apply import apply  # noqa: E402
from dawg_provider.grafana.planner import Desired, Policy, Recorded  # noqa: E402
from tests.grafana_standin import GrafanaStandIn  # noqa: E402

OWNER = "bench"
WORKERS = 8


def dashboard(i: int, expr: str = "up", folder: str = "") -> Desired:
    board = {
        "title": f"Bench {i}",
        "schemaVersion": 39,
        "refresh": "1s",  # under Grafana's 5s minimum: must still converge to 0 writes
        "panels": [
            {"id": p, "type": "timeseries", "title": f"P{p}", "targets": [{"expr": f"{expr}{{i='{i}'}}"}]}
            for p in range(10)
        ],
    }
    return Desired(f"dawg-bench-{i}", ownership.mark(board, OWNER), folder)


def dashboard_v2(i: int, version: str, expr: str = "up") -> Desired:
    """The same dashboard as a generator printing schema v2 would have it carried (grafana/v2.py)."""
    elements = {
        f"panel-{p}": {"kind": "Panel", "spec": {"id": p, "title": f"P{p}", "query": f"{expr}{{i='{i}'}}"}}
        for p in range(10)
    }
    spec = {
        "title": f"Bench v2 {i}",
        "elements": elements,
        "layout": {"kind": "GridLayout", "spec": {"items": []}},
    }
    return Desired(f"dawg-bench-v2-{i}", ownership.mark(v2.carried(spec, version), OWNER), "")


def requests_per_dashboard() -> None:
    rows = []
    runs = [(p, "classic") for p in ("10.4", "11.5", "12.0", "13.0")] + [("12.0", "v2alpha1"), ("13.0", "v2")]
    for profile, schema in runs:
        server = GrafanaStandIn(profile, tokens={"t": (1, "Admin")}).start()
        try:
            client = GrafanaClient(GrafanaConnection(server.url, token="t"))
            server.reset_counts()
            client.info()
            found = client.apis()
            dialect = f"apis {found.dashboard}" if found is not None else "legacy"
            if schema != "classic":
                dialect = f"apis {schema} (v2 output)"
            detection = server.count("GET")
            policy = Policy(OWNER)
            recorded = None
            if schema == "classic":
                steps = (
                    ("new", dashboard(0)),
                    ("unchanged", dashboard(0)),
                    ("changed", dashboard(0, "sum(up)")),
                )
            else:
                steps = (
                    ("new", dashboard_v2(0, schema)),
                    ("unchanged", dashboard_v2(0, schema)),
                    ("changed", dashboard_v2(0, schema, "sum(up)")),
                )
            for label, desired in steps:
                server.reset_counts()
                applied = apply(client, desired, recorded, policy)
                writes = server.count("POST") + server.count("PUT") + server.count("DELETE")
                rows.append(
                    (
                        profile,
                        dialect,
                        str(detection),
                        label,
                        applied.plan.action.value,
                        str(server.count("GET")),
                        str(writes),
                    )
                )
                version = (
                    applied.saved.version if applied.saved else applied.live.version if applied.live else 0
                )
                recorded = Recorded(version, desired.hash)
        finally:
            server.stop()
    print_table(("profile", "dialect", "detection GETs", "dashboard", "plan", "GETs", "writes"), rows)
    print(
        "(detection: once per client; writes = POST + PUT + DELETE; a v2 dashboard is read at the "
        "classic version, then again at its stored v2 version)"
    )
    print()


@dataclass
class PassResult:
    seconds: float
    failed: int
    pruned: int
    requests: int
    errors: set[str]


def one_pass(
    url: str, count: int, state: HealthState, timeout: tuple[float, float], offset: int = 0
) -> PassResult:
    """What a sync pass does: one folder, `count` dashboards by WORKERS threads, then prune."""
    connection = GrafanaConnection(url, token="t", health=state, timeout=timeout, retry=RetryPolicy())
    local = threading.local()
    clients: list[GrafanaClient] = []
    lock = threading.Lock()
    errors: set[str] = set()

    def client() -> GrafanaClient:
        if not hasattr(local, "client"):
            local.client = GrafanaClient(connection)
            with lock:
                clients.append(local.client)
        made: GrafanaClient = local.client
        return made

    folder: list[str] = []

    def sync(i: int) -> bool:
        try:
            if not folder:  # resolved once per pass, like the sync job's folder cache
                folder.append(client().resolve_folder("", ["Bench pass"]))
            apply(client(), dashboard(offset + i, folder=folder[0]), None, Policy(OWNER))
            return True
        except GrafanaError as error:
            with lock:
                errors.add(type(error).__name__)
            return False

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        done = list(pool.map(sync, range(count)))
    pruned = 0
    try:
        wanted = {dashboard(offset + i).uid for i in range(count)}
        for hit in client().managed_dashboards(OWNER):
            if hit.uid not in wanted and hit.uid.startswith(f"dawg-bench-{offset // 100_000}"):
                pruned += 1  # counted, never deleted: the bench only checks nothing would be
    except GrafanaError as error:
        errors.add(f"prune skipped: {type(error).__name__}")
    elapsed = time.perf_counter() - started
    return PassResult(elapsed, done.count(False), pruned, sum(c.requests for c in clients), errors)


def grafana_down(count: int, sample: int) -> None:
    server = GrafanaStandIn().start()
    url = server.url
    server.stop()  # nothing listens there now: connection refused
    rows = []
    for label, state, n in (
        ("on (threshold 8)", HealthState(), count),
        ("off (sample)", HealthState(threshold=10**9), sample),
    ):
        result = one_pass(url, n, state, (3.0, 10.0))
        rows.append(
            (
                label,
                str(n),
                f"{result.seconds:.1f}",
                f"{result.seconds / n * 1000:.0f}",
                str(result.requests),
                str(result.failed),
                str(result.pruned),
                ", ".join(sorted(result.errors)),
            )
        )
    print_table(
        ("breaker", "dashboards", "seconds", "ms/dashboard", "requests", "failed", "pruned", "errors"), rows
    )
    print(
        f"(Grafana down = connection refused; {WORKERS} workers; "
        "default retry policy: 5 attempts, backoff to 10 s)"
    )
    print()


def hanging(count: int) -> None:
    rows = []
    baseline = 0.0
    for share in (0.0, 0.05):
        with subprocess.Popen(
            [sys.executable, "-m", "tests.grafana_standin", "--token", "t", "--hang-share", str(share)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        ) as process:
            assert process.stdout is not None and process.stdin is not None
            url = process.stdout.readline().strip()
            result = one_pass(url, count, HealthState(), (3.0, 3.0), offset=int(share * 1000) * 100_000)
            baseline = baseline or result.seconds
            rows.append(
                (
                    f"{share:.0%}",
                    str(count),
                    f"{result.seconds:.1f}",
                    f"{result.seconds / baseline:.1f}x",
                    str(result.requests),
                    str(result.failed),
                    str(result.pruned),
                )
            )
            process.stdin.close()
    print_table(("hanging", "dashboards", "seconds", "vs no faults", "requests", "failed", "pruned"), rows)
    print(
        f"(hanging = no answer for 60 s; client timeouts 3 s; {WORKERS} workers; stand-in in its own process)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    count = 40 if args.quick else 1000
    requests_per_dashboard()
    grafana_down(count, 8 if args.quick else 16)
    hanging(count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
