"""`dawg test`: golden files for a generator's own CI, through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dawg_provider.kit.golden import Verdict, find_cases, judge, run_case


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


BROKEN = '{"title":"t","schemaVersion":39,"panels":[{"type":"text","gridPos":{"h":"8","w":12,"x":0,"y":0}}]}'


def hostile_c(tmp_path: Path) -> Path:
    from generators.build import Language, build
    from tests.conftest import HOSTILE

    return build(Language.C, HOSTILE / "hostile.c", tmp_path / "hostile.wasm")


def test_a_dashboard_render_refuses_is_a_golden_error_never_a_golden_dashboard(
    session_cache: Path, tmp_path: Path
) -> None:
    gen = str(hostile_c(tmp_path))
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "broken.yaml").write_text(f"raw {BROKEN}\n")
    (cases / "odd.yaml").write_text('raw {"title":"t","schemaVersion":39,"panels":[{"type":"nope"}]}\n')
    render = dawg(session_cache, "render", gen, "--config", str(cases / "broken.yaml"))
    assert render.returncode == 1 and "panels[0].gridPos: h must be an integer" in render.stderr

    updated = dawg(session_cache, "test", gen, str(cases), "--update")
    assert updated.returncode == 0, updated.stderr
    assert not (cases / "broken.golden.json").exists()
    assert "panels[0].gridPos: h must be an integer" in (cases / "broken.golden.err").read_text()
    assert "'nope' is not a core panel type" in updated.stderr  # warnings shown as by render
    assert json.loads((cases / "odd.golden.json").read_text())["panels"][0]["type"] == "nope"
    again = dawg(session_cache, "test", gen, str(cases))
    assert again.returncode == 0 and "2 passed" in again.stdout


def test_update_never_writes_or_reads_through_a_symbolic_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("keep me")
    secret = outside / "credentials"
    secret.write_text("aws_secret_access_key = hunter2")
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "a.yaml").write_text("app_name: a\n")
    (cases / "a.golden.json").symlink_to(victim)
    (cases / "b.yaml").symlink_to(secret)
    rendered: list[bytes] = []

    def render(config: bytes) -> dict[str, object]:
        rendered.append(config)
        return {"title": "pwned"}

    found = {case.name: case for case in find_cases(cases)}
    assert set(found) == {"a", "b"}
    for name in ("a", "b"):
        result = run_case(found[name], render, update=True)
        assert result.verdict is Verdict.FAILED and "is a symbolic link" in result.diff
    assert victim.read_text() == "keep me"  # not truncated through the link
    assert rendered == []  # the linked config was never read, nor anything rendered
    assert (cases / "a.golden.json").is_symlink() and not (cases / "b.golden.json").exists()


def test_update_writes_whole_files_and_leaves_no_temporary(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("x: 1\n")
    (case,) = find_cases(tmp_path)
    assert run_case(case, lambda _: {"title": "a"}, update=True).verdict is Verdict.UPDATED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.golden.json", "a.yaml"]
    assert run_case(case, lambda _: {"title": "a"}, update=False).verdict is Verdict.PASSED
