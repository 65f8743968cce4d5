"""Controller benchmark: how long a CR change takes to reach Grafana; prints a table.

1000 Dashboard resources (target: a change reaches Grafana within 2 s, median and
p99), synced once by `dawg controller`'s code (in a thread, against the Kubernetes and
Grafana stand-ins in this process); then CRs change one at a time and each change is
timed from the write to the API server until Grafana holds the new version. Also
timed: the controller's first full pass, a restart's first pass (which must
write nothing to Grafana), and changes made while a verifying full pass (every CR
rendered and compared with Grafana) runs: they must not wait for it. Last, two
replicas with leader election: how long after the leader goes away a change reaches
Grafana through the other one, when it shuts down cleanly (SIGTERM: it releases the
Lease) and when it vanishes (a crash: the Lease must expire), side by side.

    .venv/bin/python bench/bench_controller.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.table import print_table  # noqa: E402
from dawg_provider import Runtime  # noqa: E402
from dawg_provider.cluster.controller import Controller  # noqa: E402
from dawg_provider.cluster.crd import DashboardResource  # noqa: E402
from dawg_provider.cluster.kube import Kube  # noqa: E402
from dawg_provider.cluster.leader import LeaderElector  # noqa: E402
from dawg_provider.cluster.sources import ClusterSource, Source  # noqa: E402
from dawg_provider.cluster.sync import SyncJob, SyncOptions  # noqa: E402
from dawg_provider.cluster.tenancy import default_uid  # noqa: E402
from dawg_provider.grafana import GrafanaClient, GrafanaConnection  # noqa: E402
from dawg_provider.render import Renderer  # noqa: E402
from dawg_provider.sources.fetch import Fetcher  # noqa: E402
from generators.build import HERE, Language, build  # noqa: E402
from tests.grafana_standin import GrafanaStandIn  # noqa: E402
from tests.k8s_standin import KubernetesStandIn, api_client, client_api  # noqa: E402


def wait(check: object, timeout: float = 600.0) -> float:
    started = time.monotonic()
    while not check():  # type: ignore[operator]
        if time.monotonic() - started > timeout:
            raise SystemExit("timed out")
        time.sleep(0.005)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 40 CRs, 3 changes")
    args = parser.parse_args()
    count, changes = (40, 3) if args.quick else (1000, 30)
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        wasm = build(Language.ZIG, HERE / "simple" / "main.zig", scratch / "simple.wasm")
        grafana = GrafanaStandIn("12.0", tokens={"t": (1, "Admin")}).start()
        k8s = KubernetesStandIn(bookmark_interval=1.0).start()
        renderer = Renderer(Runtime(scratch / "cache"), Fetcher(scratch / "cache"))
        connection = GrafanaConnection(grafana.url, token="t")

        verify = {"interval": timedelta(minutes=30)}

        def make_job(source: Source, prune: bool) -> SyncJob:
            options = SyncOptions(owner="k8s-bench", prune=prune, concurrency=4, instance="bench")
            options = replace(options, verify_interval=verify["interval"])
            return SyncJob(source, lambda: GrafanaClient(connection), renderer, options)

        def start() -> Controller:
            c = Controller(Kube(api_client(k8s)), ClusterSource(client_api(k8s)), make_job, resync=3600)
            c.start()
            threading.Thread(target=c.run_forever, daemon=True).start()
            return c

        def versions(uid: str) -> int:
            stored = grafana.orgs[1].dashboards.get(uid)
            return stored.version if stored else 0

        try:
            uids = []
            for i in range(count):
                obj = k8s.add(
                    f"ns{i % 20}", f"d{i}", {"generator": f"file://{wasm}", "config": f"app_name: a{i}\n"}
                )
                resource = DashboardResource(f"ns{i % 20}", f"d{i}", obj["spec"], uid=obj["metadata"]["uid"])
                uids.append(default_uid(resource))
            controller = start()
            first = wait(lambda: controller.passes >= 1 and all(versions(u) == 1 for u in uids))
            latencies = []
            for n in range(changes):
                i = (n * 37) % count
                spec = {"generator": f"file://{wasm}", "config": f"app_name: changed{n}\n"}
                before = versions(uids[i])
                k8s.set_spec(f"ns{i % 20}", f"d{i}", spec)
                latencies.append(wait(lambda i=i, before=before: versions(uids[i]) > before, timeout=30))
            controller.stop()
            grafana.reset_counts()
            restarted = start()
            restart = wait(lambda: restarted.passes >= 1)
            restart_writes = grafana.count("POST") + grafana.count("PUT") + grafana.count("DELETE")
            verify["interval"] = timedelta(0)  # the next pass renders and compares every CR
            restarted.request_full_pass()
            wait(lambda: restarted.gate.passing)
            during, still_passing = [], 0
            for n in range(max(1, changes // 6)):
                i = (n * 53 + 11) % count
                spec = {"generator": f"file://{wasm}", "config": f"app_name: during{n}\n"}
                before = versions(uids[i])
                k8s.set_spec(f"ns{i % 20}", f"d{i}", spec)
                during.append(wait(lambda i=i, before=before: versions(uids[i]) > before, timeout=60))
                still_passing += restarted.gate.passing
            wait(lambda: not restarted.gate.passing, timeout=600)
            restarted.stop()
            verify["interval"] = timedelta(minutes=30)
            lease = (2.0, 1.4, 0.2) if args.quick else (5.0, 3.0, 0.5)  # (duration, deadline, retry)

            def elected(identity: str) -> Controller:
                kube = Kube(api_client(k8s))
                elector = LeaderElector(kube, "dawg", "bench", identity, *lease)
                c = Controller(
                    kube,
                    ClusterSource(client_api(k8s)),
                    make_job,
                    elector=elector,
                    resync=3600,
                    wind_down=connection.health.wind_down,
                )
                c.start()
                threading.Thread(target=c.run_forever, daemon=True).start()
                return c

            handovers = {}
            for n, how in enumerate(("crash", "SIGTERM")):
                leader = elected(f"leader-{how}")
                wait(lambda leader=leader: leader.passes >= 1, timeout=600)
                follower = elected(f"follower-{how}")
                time.sleep(2 * lease[2])  # the follower has listed and seen the Lease
                i = (n * 71 + 5) % count
                before = versions(uids[i])
                started = time.monotonic()
                if how == "crash":
                    leader.stop()  # renewals stop; nothing is released
                else:
                    leader.shutdown(10)
                changed = {"generator": f"file://{wasm}", "config": f"app_name: h{n}\n"}
                k8s.set_spec(f"ns{i % 20}", f"d{i}", changed)
                wait(lambda i=i, before=before: versions(uids[i]) > before, timeout=120)
                handovers[how] = time.monotonic() - started
                follower.shutdown(10)
        finally:
            grafana.stop()
            k8s.stop()
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    rows = [
        (f"{count} CRs", "first full pass (creates all)", f"{first:.2f}", "-", str(count)),
        (
            f"{count} CRs",
            f"a change reaches Grafana ({changes} changes)",
            f"{statistics.median(ordered):.3f}",
            f"{p99:.3f}",
            "1 each",
        ),
        (f"{count} CRs", "restart: first pass", f"{restart:.2f}", "-", str(restart_writes)),
        (
            f"{count} CRs",
            f"a change during a verifying pass ({len(during)}; {still_passing} while it ran)",
            f"{statistics.median(during):.3f}",
            f"{max(during):.3f}",
            "1 each",
        ),
    ]
    for how, why in (("crash", "the Lease expires"), ("SIGTERM", "the Lease is released")):
        what = f"leader gone ({how}: {why}; Lease {lease[0]:.0f} s) to a change in Grafana"
        rows.append((f"{count} CRs", what, f"{handovers[how]:.2f}", "-", "1"))
    print_table(("CRs", "what", "median / wall s", "p99 s", "Grafana writes"), rows)
    print("(target: a change within 2 s, median and p99; a restart writes nothing;")
    print(" a clean shutdown hands over well under the Lease duration a crash costs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
