"""The example build is reproducible: same bytes from another checkout path, twice."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from generators.build import EXAMPLES, HERE, build


def test_build_from_another_path_gives_identical_bytes(tmp_path: Path, example_wasm: dict[str, Path]) -> None:
    elsewhere = tmp_path / "some" / "other" / "checkout"
    shutil.copytree(HERE, elsewhere, ignore=shutil.ignore_patterns("dist"))
    for example in (e for e in EXAMPLES if e.reproducible):
        source = elsewhere / example.source.relative_to(HERE)
        rebuilt = build(example.language, source, tmp_path / "out" / f"{example.name}.wasm")
        original = example_wasm[example.name]
        assert (
            hashlib.sha256(rebuilt.read_bytes()).digest() == hashlib.sha256(original.read_bytes()).digest()
        ), example.name
