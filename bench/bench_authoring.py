"""The generator author's loop per language: prints a table; not a test.

For each `dawg new` template, side by side in one run: `dawg new`, the first
`build.sh` (cold: toolchain caches as the machine has them), then an edit of the
panel title and the rebuild (the loop an author repeats), then `dawg render` of the
new build in a fresh process (which compiles the new digest; the disk cache cannot
help, the bytes changed) and the same render again (compiled module cached).

Quick mode measures the Zig and C templates only (seconds); the full run adds Go,
Python (componentize-py) and JavaScript (componentize-js), which take minutes.

    .venv/bin/python bench/bench_authoring.py [--quick]
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
from dawg_provider.kit.new import FACTS, TemplateLanguage  # noqa: E402

BIN = Path(sys.executable).parent
PANEL_TITLE = "Requests per second"


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n{result.stderr[-2000:]}")
    return time.perf_counter() - started


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
        }
        dawg = [sys.executable, "-m", "dawg_provider.cli"]
        for language in languages:
            name = f"bench-{language.value}"
            project = scratch / name
            timed([*dawg, "new", language.value, str(project)], scratch, env)
            if language is TemplateLanguage.JAVASCRIPT:  # the example's packages, no network
                (project / "node_modules").symlink_to(ROOT / "generators" / "js-network" / "node_modules")
            cold = timed(["bash", "build.sh"], project, env)
            source = project / FACTS[language].source
            source.write_text(source.read_text().replace(PANEL_TITLE, "Requests per second (edited)"))
            rebuild = timed(["bash", "build.sh"], project, env)
            render = [*dawg, "render", f"dist/{name}.wasm", "--config", "example.yaml", "--compact"]
            first = timed(render, project, env)
            again = timed(render, project, env)
            size = (project / "dist" / f"{name}.wasm").stat().st_size
            rows.append(
                (
                    FACTS[language].language,
                    f"{size / 2**20:.2f} MiB",
                    f"{cold:.1f}",
                    f"{rebuild:.1f}",
                    f"{first:.2f}",
                    f"{again:.2f}",
                    f"{rebuild + first:.1f}",
                )
            )
    print_table(
        (
            "template",
            "wasm",
            "first build s",
            "rebuild s",
            "render (new digest) s",
            "render (cached) s",
            "edit->see s",
        ),
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
