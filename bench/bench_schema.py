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
characters, on RE2; then what refusing or checking the hostile inputs of review
findings 13.1-13.3 costs (each was minutes of host CPU, or a crash, before).

    .venv/bin/python bench/bench_schema.py [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import io
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
from dawg_provider import Artifact, InvalidModule, Runtime  # noqa: E402
from dawg_provider.wasm.config_schema import SECTION, load_schema, read_schema  # noqa: E402
from dawg_provider.wasm.sections import read_custom_section  # noqa: E402
from generators.build import EXAMPLES  # noqa: E402

CORE_MODULE = b"\0asm\x01\x00\x00\x00"  # an empty core module: the 8-byte header


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
    print_hostile(repeats)
    print(f"({repeats} repetitions per cell; medians)")
    return 0


def print_hostile(repeats: int) -> None:
    """What refusing the hostile shapes of findings 13.1-13.3 costs (each was minutes or a crash)."""
    fan = {f"a{i}": {"anyOf": [{"$ref": f"#/$defs/a{i + 1}"}] * 2} for i in range(40)}
    exponential = json.dumps({"$defs": {**fan, "a40": {"type": "string"}}, "$ref": "#/$defs/a0"}).encode()
    sections = io.BytesIO(CORE_MODULE + b"\x00\x01\x00" * 2_000_000)
    unique = load_schema("u", b'{"properties": {"tags": {"uniqueItems": true}}}')
    tags = ("tags:\n" + "".join(f"- {{a: {i}}}\n" for i in range(3000))).encode()

    def refused(call: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            with contextlib.suppress(InvalidModule):
                call()

        return run

    cases: list[tuple[str, Callable[[], object]]] = [
        ("load: 2.8 KB anyOf-of-$refs schema (2^40)", refused(lambda: load_schema("x", exponential))),
        ('load: {"$ref": "#"}', refused(lambda: load_schema("x", b'{"$ref": "#"}'))),
        ("find: 2M empty custom sections (6 MB)", refused(lambda: read_schema("x", sections))),
        ("check: uniqueItems over 3,000 mappings", lambda: unique.problems(tags)),
    ]
    rows = [(name, f"{median_ms(call, max(1, repeats // 10)):.2f}") for name, call in cases]
    print()
    print_table(("hostile input", "ms"), rows)


if __name__ == "__main__":
    sys.exit(main())
