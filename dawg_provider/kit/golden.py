"""`dawg test`: render every config in a directory and compare with golden files.

For a generator's own CI: each config `NAME.yaml` (or `.yml`, `.json`) in the
directory is rendered exactly as `dawg render` would (schema check, sandbox, output
checks), and the result is compared with `NAME.golden.json` (the dashboard, indented,
keys sorted) or, when rendering fails on purpose, `NAME.golden.err` (the error
without the generator's name and digest, which change with every build). `--update`
writes what was rendered instead. The decision is a pure function of the expected
and actual text, so a dry run and a real run agree.

The directory comes with a contributor's pull request: a config or golden file that
is a symbolic link fails its case (nothing is read through it, nothing written
through it: `--update` would otherwise truncate wherever the link points), and
golden files are written to a temporary name and renamed into place.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from ..errors import DawgError, GeneratorError

CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
GOLDEN_JSON = ".golden.json"
GOLDEN_ERR = ".golden.err"
MAX_DIFF_LINES = 60


class Verdict(Enum):
    """How one case came out."""

    PASSED = "ok"
    FAILED = "FAIL"
    MISSING = "MISSING"
    UPDATED = "updated"


@dataclass(frozen=True)
class Case:
    """One config and its golden files."""

    name: str
    config: Path

    @property
    def golden_json(self) -> Path:
        return self.config.with_name(self.name + GOLDEN_JSON)

    @property
    def golden_err(self) -> Path:
        return self.config.with_name(self.name + GOLDEN_ERR)


@dataclass(frozen=True)
class Result:
    """A case's verdict, and the diff when it failed."""

    case: Case
    verdict: Verdict
    diff: str = ""


def find_cases(directory: Path) -> list[Case]:
    """Every config in `directory` (not recursive), sorted by name; golden files are not configs."""
    cases = []
    for path in sorted(directory.iterdir()):
        if (
            (path.is_file() or path.is_symlink())
            and path.suffix in CONFIG_SUFFIXES
            and not path.name.endswith(GOLDEN_JSON)
        ):
            cases.append(Case(path.name[: -len(path.suffix)], path))
    return cases


def golden_text(dashboard: dict[str, Any]) -> str:
    """How a dashboard is written to a golden file: stable, readable, diffable."""
    return json.dumps(dashboard, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def error_text(error: DawgError) -> str:
    """An error as a golden file holds it: without `generator <ref> (sha256:...)`, which vary."""
    text = str(error)
    if isinstance(error, GeneratorError):
        text = text.removeprefix(f"generator {error.generator}: ")
    return text.rstrip() + "\n"


def judge(expected: str | None, actual: str, label: str) -> tuple[Verdict, str]:
    """Compare a golden file's text with what was rendered. Pure."""
    if expected is None:
        return Verdict.MISSING, ""
    if expected == actual:
        return Verdict.PASSED, ""
    lines = list(
        difflib.unified_diff(
            expected.splitlines(),
            actual.splitlines(),
            f"{label} (golden)",
            f"{label} (rendered)",
            lineterm="",
        )
    )
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... ({len(lines) - MAX_DIFF_LINES} more diff lines)"]
    return Verdict.FAILED, "\n".join(lines)


def run_case(case: Case, render: Callable[[bytes], dict[str, Any]], update: bool) -> Result:
    """Render one case and judge it (or, with `update`, write its golden file)."""
    linked = [p for p in (case.config, case.golden_json, case.golden_err) if p.is_symlink()]
    if linked:
        return Result(
            case,
            Verdict.FAILED,
            f"{linked[0]} is a symbolic link: dawg test reads and writes only regular files "
            "in the directory (nothing was read or written through it)",
        )
    try:
        actual = golden_text(render(case.config.read_bytes()))
        golden, other = case.golden_json, case.golden_err
    except GeneratorError as error:
        actual = error_text(error)
        golden, other = case.golden_err, case.golden_json
    if update:
        scratch = golden.with_name(f".{golden.name}.{os.getpid()}.tmp")
        scratch.write_text(actual)
        os.replace(scratch, golden)  # a link appearing meanwhile is replaced, not followed
        other.unlink(missing_ok=True)
        return Result(case, Verdict.UPDATED)
    expected = golden.read_text() if golden.exists() else None
    if expected is None and other.exists():
        wanted = "an error" if other == case.golden_err else "a dashboard"
        got = "a dashboard" if golden == case.golden_json else "an error"
        return Result(case, Verdict.FAILED, f"expected {wanted} ({other.name}), got {got}:\n{actual}")
    verdict, diff = judge(expected, actual, golden.name)
    return Result(case, verdict, diff)
