"""`dawg test`: golden files for a generator's own CI, through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dawg_provider.kit.golden import Verdict, judge


def dawg(cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dawg_provider.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "DAWG_CACHE_DIR": str(cache)},
        check=False,
    )


def test_missing_then_updated_then_passing_then_a_diff(
    example_wasm: dict[str, Path], session_cache: Path, tmp_path: Path
) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "web.yaml").write_text("app_name: web\n")
    (cases / "typo.yaml").write_text("app: web\n")  # must fail, and keep failing the same way
    (cases / "notes.txt").write_text("not a config")
    gen = str(example_wasm["simple"])

    first = dawg(session_cache, "test", gen, str(cases))
    assert first.returncode == 1 and "MISSING" in first.stdout
    assert not list(cases.glob("*.golden.*"))  # nothing written without --update

    updated = dawg(session_cache, "test", gen, str(cases), "--update")
    assert updated.returncode == 0, updated.stderr
    assert json.loads((cases / "web.golden.json").read_text())["title"] == "web"
    err = (cases / "typo.golden.err").read_text()
    assert err.startswith("config does not match") and "sha256" not in err  # stable across builds

    passing = dawg(session_cache, "test", gen, str(cases))
    assert passing.returncode == 0 and passing.stdout.splitlines()[-1] == "2 passed, 0 failed"

    (cases / "web.yaml").write_text("app_name: api\n")
    changed = dawg(session_cache, "test", gen, str(cases))
    assert changed.returncode == 1
    assert '-  "title": "web"' in changed.stdout and '+  "title": "api"' in changed.stdout
    assert json.loads((cases / "web.golden.json").read_text())["title"] == "web"  # golden untouched

    (cases / "web.yaml").write_text("app: api\n")  # now it fails where a dashboard was expected
    flipped = dawg(session_cache, "test", gen, str(cases))
    assert (
        flipped.returncode == 1 and "expected a dashboard (web.golden.json), got an error" in flipped.stdout
    )


def test_an_empty_or_missing_directory_is_an_error(
    example_wasm: dict[str, Path], session_cache: Path, tmp_path: Path
) -> None:
    result = dawg(session_cache, "test", str(example_wasm["simple"]), str(tmp_path))
    assert result.returncode == 1 and "no configs" in result.stderr
    result = dawg(session_cache, "test", str(example_wasm["simple"]), str(tmp_path / "nope"))
    assert result.returncode == 1 and "not a directory" in result.stderr


def test_judge_is_pure() -> None:
    assert judge(None, "x", "g") == (Verdict.MISSING, "")
    assert judge("a\n", "a\n", "g") == (Verdict.PASSED, "")
    verdict, diff = judge("a\n" * 500, "b\n" * 500, "g")
    assert verdict is Verdict.FAILED and diff.endswith("more diff lines)")
