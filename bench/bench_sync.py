"""Sync job benchmark: prints a table; not a test.

1000 Dashboard resources over 10 distinct generators (Zig builds of the simple
generator, each drawing a differently named panel), all synced once; then 10 of
them change, and a pass runs, as the job's own process against the Kubernetes and
Grafana stand-ins:

- Grafana writes counted (target: 10);
- wall time against a naive pass that renders and POSTs every dashboard, measured
  side by side (target: >= 10x faster);
- peak RSS of the job process (target: <= 300 MB).

    .venv/bin/python bench/bench_sync.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bench.table import print_table  # noqa: E402
from generators.build import HERE, Language, build  # noqa: E402
from tests.grafana_standin import Fault, FaultKind, GrafanaStandIn  # noqa: E402
from tests.k8s_standin import KubernetesStandIn, write_kubeconfig  # noqa: E402
from tests.peak_rss import CHILD_PEAK  # noqa: E402

RSS_WRAPPER = CHILD_PEAK + (  # the child's own peak (VmHWM), not the parent's: tests/peak_rss.py
    "import runpy, sys; sys.argv = ['dawg'] + sys.argv[1:]; code = 0\n"
    "try:\n    runpy.run_module(sys.argv.pop(1), run_name='__main__')\n"
    "except SystemExit as e:\n    code = e.code or 0\n"
    "print('peak_rss_kb', peak_kib(), file=sys.stderr)\n"
    "sys.exit(code)"
)


def timed(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", RSS_WRAPPER, *command],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    elapsed = time.perf_counter() - started
    rss = next(
        (int(line.split()[1]) for line in result.stderr.splitlines() if line.startswith("peak_rss_kb")), 0
    )
    if result.returncode not in (0,):
        raise SystemExit(f"{command} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return elapsed, rss, result.stdout


def one_run(count: int, generators: list[Path], scratch: Path, latency: float) -> list[tuple[str, ...]]:
    grafana = GrafanaStandIn("12.0", tokens={"t": (1, "Admin")}).start()
    k8s = KubernetesStandIn().start()
    try:
        kubeconfig = write_kubeconfig(k8s, scratch / "kubeconfig")
        for index in range(count):
            spec = {"generator": f"file://{generators[index % 10]}", "config": f"app_name: app{index}\n"}
            k8s.add(f"ns{index % 20}", f"d{index}", spec)
        env = {
            **os.environ,
            "GRAFANA_URL": grafana.url,
            "GRAFANA_TOKEN": "t",
            "DAWG_CACHE_DIR": str(scratch / "cache"),
            "DAWG_OWNER": "k8s-bench",
        }
        # The generators live in the scratch directory: the job's file roots must allow it.
        sync = ["dawg_provider", "sync", "--kubeconfig", str(kubeconfig), "--concurrency", "4"]
        sync += ["--allowed-file-root", str(scratch)]
        timed(sync, env)  # the first pass creates everything
        if latency:
            grafana.inject(Fault(FaultKind.LATENCY, times=10**9, delay=latency))
        for index in range(10):
            spec = {
                "generator": f"file://{generators[index * 7 % 10]}",
                "config": f"app_name: changed{index}\n",
            }
            k8s.set_spec(f"ns{index * 7 % 20}", f"d{index * 7}", spec)
        grafana.reset_counts()
        dawg_s, dawg_rss, out = timed(sync, env)
        writes = grafana.count("POST") + grafana.count("PUT") + grafana.count("DELETE")
        summary = out.strip().splitlines()[-1]
        assert "10 updated" in summary and "0 failed" in summary, summary
        grafana.reset_counts()
        naive_s, naive_rss, _ = timed(["bench.naive_push", k8s.url, k8s.token], env)
        naive_writes = grafana.count("POST") + grafana.count("PUT")  # either dialect
    finally:
        grafana.stop()
        k8s.stop()
    label = f"{latency * 1000:.0f} ms"
    return [
        (
            label,
            f"dawg sync, {count} CRs, 10 changed",
            str(writes),
            f"{dawg_s:.2f}",
            f"{dawg_rss / 1024:.0f}",
            "1.0x",
        ),
        (
            label,
            f"naive push of all {count}",
            str(naive_writes),
            f"{naive_s:.2f}",
            f"{naive_rss / 1024:.0f}",
            f"{naive_s / dawg_s:.1f}x",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    count = 200 if args.quick else 1000
    rows: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        generators = []
        for index in range(10):
            source = scratch / f"gen{index}" / "main.zig"
            source.parent.mkdir()
            source.write_text(
                (HERE / "simple" / "main.zig")
                .read_text()
                .replace("Network Received", f"Network Received {index}")
            )
            generators.append(build(Language.ZIG, source, scratch / f"gen{index}.wasm"))
        for latency in (0.0, 0.02):
            rows += one_run(count, generators, scratch, latency)
    print_table(("Grafana latency", "pass", "Grafana writes", "wall s", "peak RSS MB", "time vs dawg"), rows)
    print(
        "(each pass is a fresh process, like a CronJob pod, with a warm disk cache; the stand-ins run in this"
    )
    print(" process; 20 ms per request approximates a real Grafana writing to its database)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
