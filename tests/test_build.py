"""The example build is reproducible: same bytes from another checkout path, twice."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from generators.build import EXAMPLES, HERE, build_example


def test_build_from_another_path_gives_identical_bytes(tmp_path: Path, example_wasm: dict[str, Path]) -> None:
    elsewhere = tmp_path / "some" / "other" / "checkout"
    shutil.copytree(HERE, elsewhere, ignore=shutil.ignore_patterns("dist"))
    for example in (e for e in EXAMPLES if e.reproducible):
        source = elsewhere / example.source.relative_to(HERE)
        rebuilt = build_example(example, tmp_path / "out", source)
        original = example_wasm[example.name]
        assert (
            hashlib.sha256(rebuilt.read_bytes()).digest() == hashlib.sha256(original.read_bytes()).digest()
        ), example.name
