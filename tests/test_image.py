"""The Dockerfile builds from a clean clone (no container engine runs here, so this
checks what can be checked without one): every COPY source is tracked by git, every
input of generators/build.py is copied into the stage that runs it, the
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


def stage_copies(stage: str, before: str) -> list[str]:
    """The COPY sources of a stage (from the build context) up to the line running `before`."""
    sources: list[str] = []
    for line in stage.splitlines():
        if before in line and line.startswith("RUN "):
            return sources
        if line.startswith("COPY ") and "--from=" not in line:
            sources += line.split()[1:-1]
    raise AssertionError(f"no RUN line with {before!r} in the stage")


def build_inputs() -> set[Path]:
    """Every path outside generators/dist that generators/build.py reads: its module-level
    paths (the WIT world, ...), each example's source, schema and example config, and the
    packages it imports from this repository."""
    from generators import build

    paths = {value for value in vars(build).values() if isinstance(value, Path)}
    for example in build.EXAMPLES:
        paths |= {example.source, example.schema, example.example_config}
    text = (ROOT / "generators" / "build.py").read_text()
    paths |= {ROOT / name for name in re.findall(r"^\s*(?:from|import) (\w+)", text, re.M)}
    inputs = {p.resolve() for p in paths if p.resolve().is_relative_to(ROOT) and p.resolve() != ROOT}
    return {p for p in inputs if p.exists() and not p.is_relative_to(build.DIST.resolve())}


def test_the_generator_stage_copies_everything_the_build_reads() -> None:
    """A clean clone holds only tracked files and the stage holds only what it COPYs: each
    input of generators/build.py must be both (wit/ was missing, so the Python and
    JavaScript components could not be built in the image)."""
    stages = re.split(r"^FROM ", (ROOT / "Dockerfile").read_text(), flags=re.M)
    copied = [source.rstrip("/") for source in stage_copies(stages[1], "generators/build.py")]
    files = tracked()
    inputs = sorted(str(p.relative_to(ROOT)) for p in build_inputs())
    assert "wit" in inputs and "dawg_provider" in inputs and "generators/simple/main.zig" in inputs
    for path in inputs:
        assert any(path == c or path.startswith(c + "/") for c in copied), f"{path} is not copied"
        assert path in files or any(f.startswith(path + "/") for f in files), f"{path} is not tracked"


def test_the_context_keeps_every_copy_source() -> None:
    """A COPY of a path .dockerignore leaves out fails in the build."""
    ignored = [p.strip().rstrip("/") for p in (ROOT / ".dockerignore").read_text().splitlines()]
    ignored = [p for p in ignored if p and not p.startswith("#") and "*" not in p]
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            for source in line.split()[1:-1]:
                top = source.rstrip("/")
                assert not any(top == p or top.startswith(p + "/") for p in ignored), source
