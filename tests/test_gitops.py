"""--manifests as a GitOps path: file references resolve against the manifest's own
directory, and each file reports what it read and what it skipped."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from dawg_provider.cluster.sources import ManifestSource, relative_to

DASHBOARD: dict[str, Any] = {
    "apiVersion": "dawg.urcloud.cc/v1",
    "kind": "Dashboard",
    "metadata": {"name": "web"},
}


@pytest.mark.parametrize(
    ("generator", "expected"),
    [
        ("file://gen/a.wasm", "file:///repo/team/gen/a.wasm"),
        ("gen/a.wasm", "file:///repo/team/gen/a.wasm"),
        ("file://../shared/a.wasm", "file:///repo/shared/a.wasm"),
        ("file:///abs/a.wasm", "file:///abs/a.wasm"),
        ("/abs/a.wasm", "/abs/a.wasm"),
        ("oci://registry.example.com/g:1", "oci://registry.example.com/g:1"),
    ],
)
def test_relative_file_generators_resolve_against_the_manifest(generator: str, expected: str) -> None:
    document: dict[str, Any] = {**DASHBOARD, "spec": {"generator": generator}}
    assert relative_to(document, Path("/repo/team"))["spec"]["generator"] == expected
    assert document["spec"]["generator"] == generator  # the input is not changed


def test_the_same_manifest_means_the_same_file_from_any_directory(tmp_path: Path) -> None:
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "dash.yaml").write_text(
        yaml.safe_dump_all(
            [
                {**DASHBOARD, "spec": {"generator": "file://gen.wasm"}},
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
                ["not", "an", "object"],
            ]
        )
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    before = Path.cwd()
    try:
        os.chdir(elsewhere)
        source = ManifestSource(tmp_path)
        (resource,) = source.list()
    finally:
        os.chdir(before)
    assert resource.spec["generator"] == f"file://{tmp_path / 'team' / 'gen.wasm'}"
    errors, notices = source.problems()
    assert not errors
    assert f"{tmp_path / 'team' / 'dash.yaml'}: read 1 Dashboard(s): web; skipped 2" in notices
    assert any("document 2): skipped, kind 'ConfigMap'" in n for n in notices)
    assert any("document 3): skipped, not a Kubernetes object" in n for n in notices)
