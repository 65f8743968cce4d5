"""Pulumi provider benchmark over the engine's protocol: prints tables; not a test.

1. A preview of 500 unchanged WasmDashboards (Check + Diff only, as `pulumi preview`
   does) spread over the three example generators: Grafana requests counted (target
   0), and the provider's time against 500 x the warm generator run measured in the
   same run.
2. State bytes per dashboard as the checkpoint stores them (inputs + outputs, JSON),
   with the dashboard stored once (inputs; now) against stored twice (inputs and
   outputs; before), from the same resources, and the preview's provider CPU both ways
   (Diff receives the old outputs); and the path-level preview diff that the
   inputs keep (changed paths for a config change).
3. The first Check in a fresh provider process (every `pulumi preview` starts one),
   with the Go generator, with and without the compiled-module disk cache.

    .venv/bin/python bench/bench_pulumi.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.examples import example_dist  # noqa: E402
from bench.table import print_table  # noqa: E402
from dawg_provider import Artifact, Runtime  # noqa: E402
from dawg_provider.grafana.canonical import path_changes  # noqa: E402
from generators.build import EXAMPLES  # noqa: E402
from tests.grafana_standin import GrafanaStandIn  # noqa: E402
from tests.pulumi_engine import ProviderProcess, Stack  # noqa: E402

CONFIGS = {example.name: example.example_config.read_text() for example in EXAMPLES}


def inputs(name: str, index: int) -> dict[str, object]:
    return {
        "generator": f"file://generators/dist/{name}.wasm",
        "config": CONFIGS[name],
        "folder": "Bench",
        "uid": f"dawg-bench-{index}",
        "owner": "pulumi-dawg-bench",
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def state_bytes(stack: Stack) -> tuple[float, float]:
    """Mean checkpoint bytes per resource: as stored now, and with the dashboard also in
    the outputs as before (the same resources, measured side by side)."""
    now, before = [], []
    for state in stack.resources.values():
        record = {"id": state.id, "inputs": state.inputs, "outputs": state.outputs}
        now.append(len(json.dumps(record)))
        doubled = {**record, "outputs": {**state.outputs, "dashboard": state.inputs["dashboard"]}}
        before.append(len(json.dumps(doubled)))
    return statistics.mean(now), statistics.mean(before)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    count = 60 if args.quick else 500
    names = [example.name for example in EXAMPLES][:3]  # the three core-module generators
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        built = example_dist(scratch)
        dist = ROOT / "generators" / "dist"
        dist.mkdir(exist_ok=True)
        for name, path in built.items():
            shutil.copy(path, dist / f"{name}.wasm")

        grafana = GrafanaStandIn("12.0", tokens={"t": (1, "Admin")}).start()
        cache = scratch / "cache"
        provider = ProviderProcess(ROOT, {"DAWG_CACHE_DIR": str(cache)})
        provider.configure({"dawg:grafanaUrl": grafana.url, "dawg:grafanaToken": "t"})
        stack = Stack(provider)
        for index in range(count):
            stack.up(f"d{index}", inputs(names[index % 3], index))
        now_bytes, before_bytes = state_bytes(stack)
        name0 = names[0]
        changed_config = CONFIGS[name0].replace("checkout", "payments")
        checked, _ = provider.check(
            stack.urn("d0"), stack.resources["d0"].inputs, {**inputs(name0, 0), "config": changed_config}
        )
        diff_paths = len(path_changes(stack.resources["d0"].inputs["dashboard"], checked["dashboard"]))
        grafana.reset_counts()
        cpu_before = cpu_seconds(provider.process.pid)
        started = time.perf_counter()
        ops = [stack.preview(f"d{index}", inputs(names[index % 3], index)).op for index in range(count)]
        preview_s = time.perf_counter() - started
        provider_cpu_s = cpu_seconds(provider.process.pid) - cpu_before
        requests = len(grafana.requests)
        # Before: the outputs repeated the dashboard, and Diff receives the old outputs.
        for state in stack.resources.values():
            state.outputs = {**state.outputs, "dashboard": state.inputs["dashboard"]}
        cpu_before = cpu_seconds(provider.process.pid)
        ops += [stack.preview(f"d{index}", inputs(names[index % 3], index)).op for index in range(count)]
        doubled_cpu_s = cpu_seconds(provider.process.pid) - cpu_before
        provider.close()
        grafana.stop()
        assert set(ops) == {"same"}, set(ops)

        runtime = Runtime(scratch / "bench-runtime-cache")
        artifacts = {name: Artifact.from_bytes(name, built[name].read_bytes()) for name in names}
        for name in names:
            runtime.run(artifacts[name], CONFIGS[name])
        runs = []
        started = time.perf_counter()
        for index in range(count):
            name = names[index % 3]
            runtime.run(artifacts[name], CONFIGS[name])
        runs_s = time.perf_counter() - started
        runs.append(runs_s)

        print_table(
            (
                "preview of unchanged dashboards",
                "Grafana requests",
                "wall ms (engine stand-in + provider)",
                "provider CPU ms",
                f"{count} warm runs ms",
                "provider CPU / runs",
            ),
            [
                (
                    str(count),
                    str(requests),
                    f"{preview_s * 1000:,.0f}",
                    f"{provider_cpu_s * 1000:,.0f}",
                    f"{runs_s * 1000:,.0f}",
                    f"{provider_cpu_s / runs_s:.2f}x",
                )
            ],
        )
        print(
            "(the wall time includes this harness's own protobuf work; the real engine does its side in Go)"
        )
        print()
        print_table(
            (
                "per dashboard",
                "preview provider CPU ms now",
                "before (dashboard twice)",
                "warm generator run ms",
                "state bytes now (dashboard once)",
                "state bytes before (twice)",
                "now / before",
            ),
            [
                (
                    f"mean of {count}",
                    f"{provider_cpu_s * 1000 / count:.2f}",
                    f"{doubled_cpu_s * 1000 / count:.2f}",
                    f"{runs_s * 1000 / count:.2f}",
                    f"{now_bytes:,.0f}",
                    f"{before_bytes:,.0f}",
                    f"{now_bytes / before_bytes:.2f}",
                )
            ],
        )
        print(f"(a config change of d0 still shows {diff_paths} changed dashboard paths in the preview diff)")
        print()

        def first_check(cache_dir: Path) -> float:
            process = ProviderProcess(ROOT, {"DAWG_CACHE_DIR": str(cache_dir)})
            process.configure({"dawg:grafanaUrl": "http://127.0.0.1:9"})  # check never calls it
            started = time.perf_counter()
            _, failures = process.check("urn:first", {}, inputs("deployment", 0))
            elapsed = time.perf_counter() - started
            process.close()
            assert failures == [], failures
            return elapsed

        warm = [first_check(cache) for _ in range(3)]
        cold = [first_check(scratch / f"empty-{i}") for i in range(2)]
        print_table(
            ("first Check in a fresh provider (Go generator)", "ms"),
            [
                ("with the disk cache", f"{statistics.median(warm) * 1000:,.0f}"),
                ("without (compile)", f"{statistics.median(cold) * 1000:,.0f}"),
            ],
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
