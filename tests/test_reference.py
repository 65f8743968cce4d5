"""Generator references (files and OCI) and artifacts loaded from files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dawg_provider import InvalidModule, InvalidReference, load_artifact, parse_reference
from dawg_provider.sources.reference import FileRef, OciRef

DIGEST = "sha256:" + "a" * 64


def file_ref(text: str, base: Path | None = None) -> FileRef:
    ref = parse_reference(text, base)
    assert isinstance(ref, FileRef)
    return ref


def oci_ref(text: str) -> OciRef:
    ref = parse_reference(text)
    assert isinstance(ref, OciRef)
    return ref


def test_plain_and_file_references_resolve_against_the_base_dir(tmp_path: Path) -> None:
    assert file_ref("gen.wasm", tmp_path).path == tmp_path / "gen.wasm"
    assert file_ref("file://dist/gen.wasm", tmp_path).path == tmp_path / "dist" / "gen.wasm"
    assert file_ref("file:///abs/gen.wasm", tmp_path).path == Path("/abs/gen.wasm")
    ref = file_ref("file://my%20gen.wasm", tmp_path)
    assert (ref.path, str(ref)) == (tmp_path / "my gen.wasm", "file://my%20gen.wasm")


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest", "defaulted"),
    [
        (
            "oci://registry.example.com/dashboards/deployment:v3.4.0",
            "registry.example.com",
            "dashboards/deployment",
            "v3.4.0",
            None,
            False,
        ),
        ("oci://127.0.0.1:5000/dawg/deployment", "127.0.0.1:5000", "dawg/deployment", "latest", None, True),
        (f"oci://reg.io/a/b@{DIGEST}", "reg.io", "a/b", None, DIGEST, False),
        (f"oci://reg.io:443/a/b:v1@{DIGEST}", "reg.io:443", "a/b", "v1", DIGEST, False),
        ("registry://localhost:5000/gen:1.0", "localhost:5000", "gen", "1.0", None, False),
        ("oci://[::1]:5000/x/y_z--w.v:tag_1", "[::1]:5000", "x/y_z--w.v", "tag_1", None, False),
    ],
)
def test_oci_references(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None, defaulted: bool
) -> None:
    ref = oci_ref(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest, ref.tag_defaulted) == (
        registry,
        repository,
        tag,
        digest,
        defaulted,
    )
    assert ref.pinned == (digest is not None)
    assert str(ref) == text


def test_pinning_keeps_the_tag_and_adds_the_digest() -> None:
    pinned = oci_ref("oci://reg.io/a/b:v1").with_digest(DIGEST)
    assert pinned.canonical == f"oci://reg.io/a/b:v1@{DIGEST}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("file://", "needs a path"),
        ("http://x/y.wasm", "unknown scheme 'http'"),
        ("oci://", "registry: missing"),
        ("oci:///repo:tag", "registry: missing"),
        ("oci://reg.io", "repository: missing"),
        ("oci://reg.io/", "repository: missing"),
        ("oci://bad_host!/a:b", "registry: 'bad_host!' is not a host"),
        ("oci://reg.io:99999/a:b", "registry: 'reg.io:99999'"),
        ("oci://reg.io/Team/gen:v1", "repository: 'Team' in 'Team/gen' is not valid"),
        ("oci://reg.io/a//b:v1", "repository: '' in 'a//b'"),
        ("oci://reg.io/a/b:-bad", "tag: '-bad' is not a valid tag"),
        ("oci://reg.io/a/b@sha256:abc", "digest: 'sha256:abc' is not sha256:<64"),
        ("oci://reg.io/a/b@md5:" + "a" * 32, "digest:"),
    ],
)
def test_bad_references_say_which_part_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidReference, match=message.replace("(", r"\(")):
        parse_reference(text)


def test_missing_file_directory_and_non_wasm(tmp_path: Path) -> None:
    with pytest.raises(InvalidModule, match="no such file"):
        load_artifact(file_ref("missing.wasm", tmp_path))
    with pytest.raises(InvalidModule, match="is a directory"):
        load_artifact(file_ref(str(tmp_path)))
    text = tmp_path / "gen.wasm"
    text.write_text("#!/bin/sh\necho hi\n")
    with pytest.raises(InvalidModule, match=r"does not start with \\0asm"):
        load_artifact(file_ref(str(text)))


def test_artifact_digest_is_sha256_of_the_bytes(example_wasm: dict[str, Path]) -> None:
    path = example_wasm["simple"]
    artifact = load_artifact(file_ref(str(path)))
    assert artifact.digest == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert artifact.label.startswith(f"{path} (sha256:")
