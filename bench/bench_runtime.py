"""Generator runtime benchmark: prints a table; not a test.

For each example generator, side by side in one run (the machines are shared and
noisy, so ratios measured together are what count):

- compile:      Cranelift compile of the .wasm (`wasmtime.Module(engine, bytes)`)
- cache load:   the disk-cache path (stat check + `Module.deserialize_file`)
- warm run:     `Runtime.run` with the module in memory: new Store, instantiate, run,
                capture, validate the JSON
- floor:        a bare wasmtime loop on the same module: new Store + WASI with stdin
                and stdout on memfds, instantiate, `_start`, read stdout (no limits,
                no deadline, no validation)
- process:      a fresh `dawg render` process, with a warm disk cache and without one

and the deployment dashboard built natively in Python with grafana-foundation-sdk.

Targets (issue 2): cache load of the Go generator < 1 ms (vs ~3 s compile); warm
run <= 1.2x the floor; warm wasm run no slower than the native Python build.

    .venv/bin/python bench/bench_runtime.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import wasmtime

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.examples import example_dist  # noqa: E402
from bench.native_deployment import build_deployment_dashboard  # noqa: E402
from bench.table import print_table  # noqa: E402
from dawg_provider import Artifact, Runtime  # noqa: E402
from dawg_provider.wasm.runtime import ModuleKind  # noqa: E402
from generators.build import EXAMPLES  # noqa: E402


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(func: Callable[[], object]) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


class Floor:
    """The least a Python host can do to run a WASI command: plain wasmtime."""

    def __init__(self, wasm: bytes, config: bytes) -> None:
        self.engine = wasmtime.Engine()
        self.module = wasmtime.Module(self.engine, wasm)
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_wasi()
        self.stdin = os.memfd_create("floor-stdin")
        os.write(self.stdin, config)
        self.stdout = os.memfd_create("floor-stdout")

    def run(self) -> bytes:
        os.ftruncate(self.stdout, 0)
        store = wasmtime.Store(self.engine)
        wasi = wasmtime.WasiConfig()
        wasi.argv = ["generator"]
        wasi.stdin_file = f"/proc/self/fd/{self.stdin}"
        wasi.stdout_file = f"/proc/self/fd/{self.stdout}"
        store.set_wasi(wasi)
        instance = self.linker.instantiate(store, self.module)
        start = instance.exports(store)["_start"]
        assert isinstance(start, wasmtime.Func)
        try:
            start(store)
        except wasmtime.ExitTrap as error:
            assert error.code == 0
        return os.pread(self.stdout, 1 << 24, 0)


def fresh_process_ms(wasm: Path, config: Path, cache: Path | None, repeats: int) -> float:
    command = [sys.executable, "-m", "dawg_provider.cli"]
    if cache is None:
        command.append("--no-disk-cache")
    command += ["render", str(wasm), "--config", str(config), "--compact"]
    env = {**os.environ, "DAWG_CACHE_DIR": str(cache or "/nonexistent")}
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        samples.append(time.perf_counter() - started)
    return median_ms(samples)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    runs = 50 if args.quick else 300
    loads = 20 if args.quick else 100
    processes = 2 if args.quick else 5

    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        dist = example_dist(scratch)
        rows = []
        warm_deployment = 0.0
        skipped = []
        for example in EXAMPLES:
            wasm_path = dist[example.name]
            config = example.example_config.read_bytes()
            artifact = Artifact.from_bytes(str(wasm_path), wasm_path.read_bytes())
            cache = scratch / f"cache-{example.name}"

            runtime = Runtime(cache)
            compile_s = timed(lambda: runtime.compile(artifact))  # noqa: B023
            kind = runtime.inspect(artifact).kind
            if kind is not ModuleKind.WASI_COMMAND:
                # The floor is a bare WASI preview 1 command; components and the prototype
                # ABI are measured by bench_components.py. Told by the runtime's own
                # detection, not by the language, so a new example cannot crash this again.
                skipped.append(f"{example.name} ({kind.value})")
                continue

            load_samples = []
            for _ in range(loads):
                runtime.modules.forget()
                load_samples.append(timed(lambda: runtime.compile(artifact)))  # noqa: B023
            assert runtime.modules.stats.disk_hits == loads

            floor = Floor(artifact.wasm, config)
            assert floor.run() == runtime.run(artifact, config).raw
            warm, bare = [], []
            for _ in range(runs):  # interleaved, so both see the same machine
                warm.append(timed(lambda: runtime.run(artifact, config)))  # noqa: B023
                bare.append(timed(floor.run))
            if example.name == "deployment":
                warm_deployment = median_ms(warm)

            with_cache = fresh_process_ms(wasm_path, example.example_config, cache, processes)
            without_cache = fresh_process_ms(wasm_path, example.example_config, None, max(1, processes // 2))
            rows.append(
                (
                    example.name,
                    f"{example.language.value}",
                    f"{len(artifact.wasm) / 1024:,.0f} KiB",
                    f"{compile_s * 1000:,.1f}",
                    f"{median_ms(load_samples):.3f}",
                    f"{median_ms(warm):.3f}",
                    f"{median_ms(bare):.3f}",
                    f"{median_ms(warm) / median_ms(bare):.2f}x",
                    f"{with_cache:,.0f}",
                    f"{without_cache:,.0f}",
                )
            )

        native = [timed(lambda: build_deployment_dashboard("shop", "checkout-api")) for _ in range(runs)]

    headers = (
        "generator",
        "lang",
        "wasm",
        "compile ms",
        "cache load ms",
        "warm run ms",
        "floor ms",
        "warm/floor",
        "process+cache ms",
        "process no cache ms",
    )
    print_table(headers, rows)
    print()
    print(
        f"deployment dashboard: warm wasm run {warm_deployment:.3f} ms vs native Python "
        f"(grafana-foundation-sdk build + JSON) {median_ms(native):.3f} ms "
        f"-> wasm/native {warm_deployment / median_ms(native):.2f}x"
    )
    if skipped:
        print(f"not a WASI command, see bench_components.py: {', '.join(skipped)}")
    print(f"({runs} warm runs, {loads} cache loads, {processes} fresh processes per generator; medians)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
