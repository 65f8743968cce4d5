"""Compiled-module cache: what verifying an entry costs on a warm load. Prints a table; not a test.

Side by side, for each core-module example, one process, the same cache entry:

- unverified mmap:  `Module.deserialize_file` of the entry (the load before the MAC:
                    a `stat` check, then an mmap; no byte of the file is read)
- HMAC only:        read the entry + HMAC-SHA256 over it (the verification alone)
- verified load:    `ModuleCache.get` from disk as the runtime does it now: the
                    ownership checks, read + HMAC check, `deserialize_file`, re-stat

The ratio verified / unverified is the price of never loading native code that this
process (or the key's holder) did not compile for that wasm (issue 10, item 7).

    .venv/bin/python bench/bench_modcache.py [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import wasmtime  # noqa: E402

from bench.table import print_table  # noqa: E402
from dawg_provider import Artifact, Runtime  # noqa: E402
from dawg_provider.wasm import modcache  # noqa: E402
from generators.build import EXAMPLES, build  # noqa: E402

CORE = ("simple", "service", "deployment")


def median_ms(samples: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one small generator, few repetitions")
    args = parser.parse_args()
    names = CORE[:1] if args.quick else CORE
    loads = 3 if args.quick else 30
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for example in (e for e in EXAMPLES if e.name in names):  # only what is measured is built
            name = example.name
            path = build(example.language, example.source, Path(scratch) / "dist" / f"{name}.wasm")
            artifact = Artifact.from_bytes(str(path), path.read_bytes())
            runtime = Runtime(Path(scratch) / name)
            cache = runtime.modules
            runtime.compile(artifact)
            entry = cache.paths(artifact.hexdigest)
            assert entry is not None
            code_path = entry[0]

            def unverified(code_path: Path = code_path, engine: wasmtime.Engine = runtime.engine) -> object:
                return wasmtime.Module.deserialize_file(engine, str(code_path))

            def mac_only(code_path: Path = code_path) -> object:
                return hmac.new(modcache.cache_key(), code_path.read_bytes(), hashlib.sha256).hexdigest()

            def verified(artifact: Artifact = artifact, cache: modcache.ModuleCache = cache) -> object:
                cache.forget()
                return cache.get(
                    artifact.hexdigest, lambda: (_ for _ in ()).throw(AssertionError("recompiled"))
                )

            before = median_ms(loads, unverified)
            mac = median_ms(loads, mac_only)
            after = median_ms(loads, verified)
            assert cache.stats.rejected == 0 and cache.stats.disk_hits == loads
            size = code_path.stat().st_size / (1 << 20)
            rows.append(
                [
                    name,
                    f"{size:.1f} MiB",
                    f"{before:.2f}",
                    f"{mac:.2f}",
                    f"{after:.2f}",
                    f"{after / before:.1f}x",
                ]
            )
    print_table(
        [
            "generator",
            "compiled",
            "unverified mmap ms",
            "HMAC only ms",
            "verified load ms",
            "verified/unverified",
        ],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
