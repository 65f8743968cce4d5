"""The controller benchmark's quick mode runs (a smoke test: no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_controller_bench_quick_mode() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_controller.py"), "--quick"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "a change reaches Grafana" in result.stdout and "restart: first pass" in result.stdout
    assert "leader gone (crash" in result.stdout and "leader gone (SIGTERM" in result.stdout
