"""The generator author's loop per language: prints a table; not a test.

For each `dawg new` template, side by side in one run: `dawg new`, the first
`build.sh` (cold: toolchain caches as the machine has them), then an edit of the
panel title and the rebuild (the loop an author repeats), then `dawg render` of the
new build in a fresh process (which compiles the new digest; the disk cache cannot
help, the bytes changed) and the same render again (compiled module cached).

Each build is shown as wall time and as CPU time (user + system of the build's
processes): on a shared machine the wall time is mostly waiting for a core, the CPU
time is what the toolchain costs.

Quick mode measures the Zig and C templates only (seconds); the full run adds Go,
Python (componentize-py) and JavaScript (componentize-js), which take minutes, and
a second table: the component examples through `generators/build.py` with its build
cache off (what every test session and CI run paid before the cache) and on (an
unchanged source: the session after the first).

    .venv/bin/python bench/bench_authoring.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.table import print_table  # noqa: E402
from dawg_provider.kit.new import FACTS, TemplateLanguage  # noqa: E402

BIN = Path(sys.executable).parent
PANEL_TITLE = "Requests per second"


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    return measured(command, cwd, env)[0]


def measured(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the command and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n{result.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


BUILD_ONE = (
    "import sys; from pathlib import Path; from generators.build import EXAMPLES, build_example; "
    "build_example(next(e for e in EXAMPLES if e.name == sys.argv[1]), Path(sys.argv[2]))"
)


def example_cache_rows(scratch: Path, env: dict[str, str]) -> list[tuple[str, ...]]:
    """The component examples built by generators/build.py: cache off, then twice with a
    fresh cache (the first fills it, the second is an unchanged source)."""
    rows: list[tuple[str, ...]] = []
    for name in ("python-service", "js-network"):
        out = scratch / f"examples-{name}"
        command = [sys.executable, "-c", BUILD_ONE, name, str(out)]
        cold = measured(command, ROOT, {**env, "DAWG_BUILD_CACHE": "off"})
        cached_env = {**env, "DAWG_BUILD_CACHE": str(scratch / "build-cache")}
        filling = measured(command, ROOT, cached_env)
        hit = measured(command, ROOT, cached_env)
        rows.append(
            (
                name,
                f"{cold[0]:.1f} / {cold[1]:.1f}",
                f"{filling[0]:.1f} / {filling[1]:.1f}",
                f"{hit[0]:.2f} / {hit[1]:.2f}",
                f"{cold[1] / max(hit[1], 1e-3):.0f}x",
            )
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="Zig and C only")
    args = parser.parse_args()
    languages = [TemplateLanguage.ZIG, TemplateLanguage.C]
    if not args.quick:
        languages += [TemplateLanguage.GO, TemplateLanguage.PYTHON, TemplateLanguage.JAVASCRIPT]
    rows = []
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHON": sys.executable,
            "DAWG": str(BIN / "dawg"),
            "DAWG_CACHE_DIR": str(scratch / "cache"),
            # One MAC key for all processes, as an author iterating would set: without it each
            # process has its own key and the second render would recompile (wasm/modcache.py).
            "DAWG_MODULE_CACHE_KEY": os.urandom(16).hex(),
        }
        dawg = [sys.executable, "-m", "dawg_provider.cli"]
        for language in languages:
            name = f"bench-{language.value}"
            project = scratch / name
            timed([*dawg, "new", language.value, str(project)], scratch, env)
            if language is TemplateLanguage.JAVASCRIPT:  # the example's packages, no network
                (project / "node_modules").symlink_to(ROOT / "generators" / "js-network" / "node_modules")
            cold, cold_cpu = measured(["bash", "build.sh"], project, env)
            source = project / FACTS[language].source
            source.write_text(source.read_text().replace(PANEL_TITLE, "Requests per second (edited)"))
            rebuild, rebuild_cpu = measured(["bash", "build.sh"], project, env)
            render = [*dawg, "render", f"dist/{name}.wasm", "--config", "example.yaml", "--compact"]
            first = timed(render, project, env)
            again = timed(render, project, env)
            size = (project / "dist" / f"{name}.wasm").stat().st_size
            rows.append(
                (
                    FACTS[language].language,
                    f"{size / 2**20:.2f} MiB",
                    f"{cold:.1f} / {cold_cpu:.1f}",
                    f"{rebuild:.1f} / {rebuild_cpu:.1f}",
                    f"{first:.2f}",
                    f"{again:.2f}",
                    f"{rebuild + first:.1f}",
                )
            )
        cache_rows = [] if args.quick else example_cache_rows(scratch, env)
    print_table(
        (
            "template",
            "wasm",
            "first build s (wall / cpu)",
            "rebuild s (wall / cpu)",
            "render (new digest) s",
            "render again (cached) s",
            "edit->see s",
        ),
        rows,
    )
    if cache_rows:
        print()
        print_table(
            (
                "example (generators/build.py)",
                "cache off s (wall / cpu)",
                "filling the cache s",
                "unchanged, cached s",
                "cpu saved",
            ),
            cache_rows,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
