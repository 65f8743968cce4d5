"""The Dockerfile builds from a clean clone (no container engine runs here, so this
checks what can be checked without one): every COPY source is tracked by git, the
context excludes what is big or local, and the runtime stage has no Pulumi packages."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def tracked() -> set[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return set(out.splitlines())


def test_every_copy_source_is_in_a_clean_clone() -> None:
    files = tracked()
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if not line.startswith("COPY ") or "--from=" in line:
            continue
        for source in line.split()[1:-1]:
            assert source in files or any(f.startswith(source.rstrip("/") + "/") for f in files), source


def test_the_context_leaves_out_local_and_built_files() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "generators/dist", "**/node_modules"} <= ignored


def test_the_runtime_stage_installs_no_pulumi() -> None:
    stages = re.split(r"^FROM ", (ROOT / "Dockerfile").read_text(), flags=re.M)
    runtime = stages[-1]
    assert 'pip install ".[cluster]"' in runtime and "[dev]" not in runtime and "pulumi" in runtime
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base_and_cluster = [*extras["dependencies"], *extras["optional-dependencies"]["cluster"]]
    assert not [d for d in base_and_cluster if d.lower().startswith("pulumi")]
    assert "generators/build.py" in stages[1]  # the generators are built inside
