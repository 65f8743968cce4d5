"""Cost of config schemas per render: prints a table; not a test.

For each example generator, side by side in one run:

- find:      reading the `dawg.config-schema` section from the .wasm file (seeking over
             every other section; what a fresh process pays once per generator)
- load:      parsing and checking the schema and building its validator (once per
             generator per process)
- check:     validating the example config (every render: YAML parse + JSON Schema)
- warm run:  `Runtime.run` with the module in memory, which includes the check
- check/run: the share of a warm render the schema costs

and the worst case a hostile schema can make of one check: `^(a+)+$` on 50,000
characters, on RE2.

    .venv/bin/python bench/bench_schema.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.examples import example_dist  # noqa: E402
from bench.table import print_table  # noqa: E402
from dawg_provider import Artifact, Runtime  # noqa: E402
from dawg_provider.wasm.config_schema import SECTION, load_schema  # noqa: E402
from dawg_provider.wasm.sections import read_custom_section  # noqa: E402
from generators.build import EXAMPLES  # noqa: E402


def median_ms(func: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        func()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    repeats = 30 if args.quick else 300
    rows = []
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        dist = example_dist(scratch)
        runtime = Runtime(scratch / "cache")
        for example in EXAMPLES:
            path = dist[example.name]
            config = example.example_config.read_bytes()
            artifact = Artifact.from_bytes(example.name, path.read_bytes())

            def find(wasm: Path = path) -> bytes | None:
                with wasm.open("rb") as stream:
                    return read_custom_section(stream, SECTION, 1 << 20)

            content = find()
            assert content is not None, example.name
            schema = load_schema(example.name, content)
            runtime.run(artifact, config)  # compile, and fill the runtime's schema cache
            find_ms = median_ms(find, repeats)
            load_ms = median_ms(lambda c=content, n=example.name: load_schema(n, c), repeats)  # type: ignore[misc]
            check_ms = median_ms(lambda s=schema, c=config: s.check("bench", c), repeats)  # type: ignore[misc]
            run_ms = median_ms(lambda a=artifact, c=config: runtime.run(a, c), repeats)  # type: ignore[misc]
            rows.append(
                (
                    example.name,
                    f"{path.stat().st_size / 2**20:.1f} MiB",
                    f"{find_ms:.3f}",
                    f"{load_ms:.3f}",
                    f"{check_ms:.3f}",
                    f"{run_ms:.3f}",
                    f"{100 * check_ms / run_ms:.0f}%",
                )
            )
    print_table(("generator", "wasm", "find ms", "load ms", "check ms", "warm run ms", "check/run"), rows)
    evil = load_schema("evil", json.dumps({"properties": {"n": {"pattern": "^(a+)+$"}}}).encode())
    hostile = ("n: " + "a" * 50_000 + "b").encode()
    print()
    worst = median_ms(lambda: evil.problems(hostile), 5)
    print(f"hostile pattern ^(a+)+$ on 50,000 characters (RE2): {worst:.2f} ms")
    print(f"({repeats} repetitions per cell; medians)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
