"""Component generators next to core-module generators: prints a table; not a test.

For each: the Cranelift compile, the load from DAWG's disk cache (a fresh Runtime on a
warm cache directory), and a warm call (new Store + instantiate + call + validate),
medians from one run.

    .venv/bin/python bench/bench_components.py [--quick]
"""

from __future__ import annotations

import argparse
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
from generators.build import EXAMPLES  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs = 20 if args.quick else 100
    rows = []
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        dist = example_dist(scratch)
        for example in EXAMPLES:
            artifact = Artifact.from_bytes(example.name, dist[example.name].read_bytes())
            config = example.example_config.read_bytes()
            cache = scratch / f"cache-{example.name}"
            runtime = Runtime(cache)
            started = time.perf_counter()
            runtime.compile(artifact)
            compile_s = time.perf_counter() - started
            loads = []
            for _ in range(10):
                fresh = Runtime(cache)
                started = time.perf_counter()
                fresh.compile(artifact)
                loads.append(time.perf_counter() - started)
            kind = runtime.inspect(artifact).kind.value
            runtime.run(artifact, config)
            calls = []
            for _ in range(runs):
                started = time.perf_counter()
                runtime.run(artifact, config)
                calls.append(time.perf_counter() - started)
            rows.append(
                (
                    example.name,
                    kind,
                    f"{len(artifact.wasm) / 2**20:.1f} MiB",
                    f"{compile_s * 1000:,.0f}",
                    f"{statistics.median(loads) * 1000:.2f}",
                    f"{statistics.median(calls) * 1000:.2f}",
                )
            )
    print_table(("generator", "kind", "wasm", "compile ms", "disk-cache load ms", "warm call ms"), rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
