"""Smoke run of the Pulumi benchmark's quick mode: it runs end to end and prints its tables.

No timing asserts (the figures live in the README); this only keeps the bench working.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_bench_pulumi_quick_prints_its_tables() -> None:
    result = subprocess.run(
        [sys.executable, "bench/bench_pulumi.py", "--quick"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for header in ("preview of unchanged dashboards", "state bytes now (dashboard once)", "first Check"):
        assert header in result.stdout, header
