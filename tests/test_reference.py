"""Generator references and artifacts loaded from files."""

from __future__ import annotations

from pathlib import Path

import pytest

from dawg_provider import InvalidModule, InvalidReference, Scheme, load_artifact, parse_reference


def test_plain_and_file_references_resolve_against_the_base_dir(tmp_path: Path) -> None:
    assert parse_reference("gen.wasm", tmp_path).path == tmp_path / "gen.wasm"
    assert parse_reference("file://dist/gen.wasm", tmp_path).path == tmp_path / "dist" / "gen.wasm"
    assert parse_reference("file:///abs/gen.wasm", tmp_path).path == Path("/abs/gen.wasm")
    ref = parse_reference("file://my%20gen.wasm", tmp_path)
    assert (ref.scheme, ref.path, str(ref)) == (Scheme.FILE, tmp_path / "my gen.wasm", "file://my%20gen.wasm")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("file://", "needs a path"),
        ("http://x/y.wasm", "unknown scheme 'http'"),
    ],
)
def test_bad_references_say_which_part_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidReference, match=message):
        parse_reference(text)


def test_missing_file_directory_and_non_wasm(tmp_path: Path) -> None:
    with pytest.raises(InvalidModule, match="no such file"):
        load_artifact(parse_reference("missing.wasm", tmp_path))
    with pytest.raises(InvalidModule, match="is a directory"):
        load_artifact(parse_reference(str(tmp_path)))
    text = tmp_path / "gen.wasm"
    text.write_text("#!/bin/sh\necho hi\n")
    with pytest.raises(InvalidModule, match=r"does not start with \\0asm"):
        load_artifact(parse_reference(str(text)))


def test_artifact_digest_is_sha256_of_the_bytes(example_wasm: dict[str, Path]) -> None:
    import hashlib

    path = example_wasm["simple"]
    artifact = load_artifact(parse_reference(str(path)))
    assert artifact.digest == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert artifact.label.startswith(f"{path} (sha256:")
