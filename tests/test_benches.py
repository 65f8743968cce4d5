"""Every benchmark runs in its quick mode, so none can rot unnoticed (smoke only, no timings).

bench_runtime.py crashed for weeks after the JavaScript example landed, because no
test ran it. Each `bench/bench_*.py --quick` now runs as its own process, on the
examples this session already built, and must exit 0 having printed its table.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.examples import ENV_DIST

ROOT = Path(__file__).resolve().parent.parent
BENCHES = sorted(path.name for path in (ROOT / "bench").glob("bench_*.py"))
HELPERS = {"__init__.py", "examples.py", "table.py", "naive_push.py", "native_deployment.py"}
TABLE_RULE = re.compile(r"^\|(-+\|)+$", re.MULTILINE)


def test_every_script_in_bench_is_a_bench_or_a_known_helper() -> None:
    scripts = {path.name for path in (ROOT / "bench").glob("*.py")}
    assert scripts - set(BENCHES) == HELPERS, "name a new benchmark bench_*.py so the suite runs it"
    assert "bench_runtime.py" in BENCHES


@pytest.mark.slow
@pytest.mark.parametrize("bench", BENCHES)
def test_bench_quick_mode_prints_its_table(bench: str, example_wasm: dict[str, Path]) -> None:
    dist = next(iter(example_wasm.values())).parent
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / bench), "--quick"],
        cwd=ROOT,
        env={**os.environ, ENV_DIST: str(dist)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, f"{bench} --quick failed:\n{result.stderr[-3000:]}"
    assert TABLE_RULE.search(result.stdout), f"{bench} printed no table:\n{result.stdout[-2000:]}"
    assert "Traceback" not in result.stderr
