"""The Grafana benchmark's quick mode runs (smoke only, no timing asserts)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_grafana_quick_mode_runs() -> None:
    done = subprocess.run(
        [sys.executable, "bench/bench_grafana.py", "--quick"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| breaker" in done.stdout and "| hanging" in done.stdout
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in done.stdout.splitlines()]
    assert ["13.0", "apis v1", "5", "unchanged", "noop", "1", "0"] in rows
    assert ["10.4", "legacy", "3", "unchanged", "noop", "1", "0"] in rows
