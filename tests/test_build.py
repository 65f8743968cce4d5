"""The example build is reproducible: same bytes from another checkout path, twice."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from generators.build import (
    CACHE_ENV,
    EXAMPLES,
    HERE,
    BuildError,
    build_example,
    cached_build,
    input_key,
)


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


def test_the_build_cache_key_follows_every_input_and_nothing_else(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "pkg").mkdir(parents=True)
    (app / "app.py").write_text("TITLE = 'a'\n")
    (app / "pkg" / "mod.py").write_text("X = 1\n")
    wit = tmp_path / "wit"
    wit.mkdir()
    (wit / "g.wit").write_text("package dawg:generator;\n")
    key = input_key(["componentize-py 0.25.1", "generator"], [app, wit])
    assert key == input_key(["componentize-py 0.25.1", "generator"], [app, wit])  # stable
    # What a build writes or leaves behind is not an input.
    for junk in ("__pycache__/app.cpython-313.pyc", "dist/app.wasm", "node_modules/x/index.js"):
        (app / junk).parent.mkdir(parents=True, exist_ok=True)
        (app / junk).write_text("junk")
    assert input_key(["componentize-py 0.25.1", "generator"], [app, wit]) == key
    # Every real input is: a source edit, a new file, the WIT, the tool's version, the world.
    (app / "app.py").write_text("TITLE = 'b'\n")
    edited = input_key(["componentize-py 0.25.1", "generator"], [app, wit])
    assert edited != key
    (app / "pkg" / "new.py").write_text("")
    assert input_key(["componentize-py 0.25.1", "generator"], [app, wit]) != edited
    assert input_key(["componentize-py 0.26.0", "generator"], [app, wit]) != edited
    assert input_key(["componentize-py 0.25.1", "command"], [app, wit]) != edited
    # A file moved between trees (app -> wit) is another input set.
    (wit / "extra.wit").write_text("")
    assert input_key(["componentize-py 0.25.1", "generator"], [app, wit]) != edited


def test_the_build_cache_builds_once_per_key_and_can_be_turned_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    built: list[Path] = []

    def produce(out: Path) -> None:
        built.append(out)
        out.write_bytes(b"\0asm component " + str(len(built)).encode())

    first = cached_build("k1", tmp_path / "a.wasm", produce)
    again = cached_build("k1", tmp_path / "b.wasm", produce)
    assert len(built) == 1 and again.read_bytes() == first.read_bytes() == b"\0asm component 1"
    cached_build("k2", tmp_path / "c.wasm", produce)  # another input set: built
    assert len(built) == 2
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["k1.wasm", "k2.wasm"]  # no temp left
    monkeypatch.setenv(CACHE_ENV, "off")
    cached_build("k1", tmp_path / "d.wasm", produce)
    assert len(built) == 3 and (tmp_path / "d.wasm").read_bytes() == b"\0asm component 3"


def test_a_failed_build_caches_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))

    def broken(out: Path) -> None:
        raise BuildError("componentize-py ... failed")

    with pytest.raises(BuildError):
        cached_build("k", tmp_path / "a.wasm", broken)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
    assert not (tmp_path / "a.wasm").exists()
