"""OCI fetch benchmark on a local registry: prints a table; not a test.

Side by side, for the Go deployment generator (4.4 MiB) and the Zig one (7 KiB):

- cold pull:          empty cache; manifest by tag + blob download + verify + store
- tag, warm cache:    the tag resolves through the registry (1 manifest request),
                      the blob comes from the content store
- pinned, cached:     `oci://...@sha256:...` already stored: no network at all

Target (issue 3): a pinned cached reference resolves in < 1 ms with zero requests.

    .venv/bin/python bench/bench_oci.py [--quick]
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
from dawg_provider.sources.fetch import Fetcher  # noqa: E402
from dawg_provider.sources.reference import OciRef, parse_reference  # noqa: E402
from dawg_provider.sources.registry import RegistryClient, RegistryOptions  # noqa: E402
from tests.registry import RegistryProcess  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 10 if args.quick else 50
    rows = []
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        dist = example_dist(scratch)
        server = RegistryProcess(scratch / "registry")
        server.start()
        try:
            for name in ("deployment", "simple"):
                wasm = dist[name].read_bytes()
                tag_ref = parse_reference(server.url(f"bench/{name}", "v1"))
                assert isinstance(tag_ref, OciRef)
                digest = RegistryClient(RegistryOptions()).push(tag_ref, wasm, {}, f"{name}.wasm").digest
                pinned = f"{tag_ref.text}@{digest}"

                cold, cold_requests = [], []
                for i in range(repeats // 2 or 1):
                    fetcher = Fetcher(scratch / f"cold-{name}-{i}")
                    started = time.perf_counter()
                    fetcher.fetch(tag_ref.text)
                    cold.append(time.perf_counter() - started)
                    cold_requests.append(fetcher.client.requests)

                warm_root = scratch / f"warm-{name}"
                Fetcher(warm_root).fetch(tag_ref.text)
                tag, tag_requests = [], []
                for _ in range(repeats):
                    fetcher = Fetcher(warm_root)
                    started = time.perf_counter()
                    fetcher.fetch(tag_ref.text)
                    tag.append(time.perf_counter() - started)
                    tag_requests.append(fetcher.client.requests)

                cached, cached_requests = [], []
                for _ in range(repeats * 10):
                    fetcher = Fetcher(warm_root)
                    started = time.perf_counter()
                    fetcher.fetch(pinned)
                    cached.append(time.perf_counter() - started)
                    cached_requests.append(0 if fetcher._client is None else fetcher._client.requests)

                def ms(samples: list[float]) -> str:
                    return f"{statistics.median(samples) * 1000:.3f}"

                rows.append(
                    (
                        name,
                        f"{len(wasm) / 1024:,.0f} KiB",
                        ms(cold),
                        str(max(cold_requests)),
                        ms(tag),
                        str(max(tag_requests)),
                        ms(cached),
                        str(max(cached_requests)),
                    )
                )
        finally:
            server.stop()

    headers = (
        "generator",
        "wasm",
        "cold pull ms",
        "requests",
        "tag, warm cache ms",
        "requests",
        "pinned, cached ms",
        "requests",
    )
    print_table(headers, rows)
    print(
        f"(medians; {repeats} tag resolutions, {repeats * 10} pinned resolutions per generator; "
        "loopback registry)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
