"""--manifests as a GitOps path: file references resolve against the manifest's own
directory, and each file reports what it read and what it skipped."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from dawg_provider.cluster.sources import ManifestSource, relative_to
from dawg_provider.render import Renderer
from tests.grafana_standin import GrafanaStandIn
from tests.test_sync import OWNER, TOKEN, grafana

__all__ = ["grafana"]

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


def test_a_ui_edit_shows_from_grafana_alone_in_manifests_mode(
    grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path], tmp_path: Path
) -> None:
    from dawg_provider.cluster.results import Outcome
    from dawg_provider.cluster.sync import SyncJob, SyncOptions
    from dawg_provider.grafana import GrafanaClient, GrafanaConnection, ownership

    spec = {"generator": f"file://{example_wasm['simple']}", "config": "app_name: web\n", "drift": "fail"}
    (tmp_path / "d.yaml").write_text(yaml.safe_dump({**DASHBOARD, "metadata": {"name": "web"}, "spec": spec}))
    connection = GrafanaConnection(grafana.url, token=TOKEN)

    def run() -> Any:
        options = SyncOptions(owner=OWNER, instance="gitops test")
        return SyncJob(ManifestSource(tmp_path), lambda: GrafanaClient(connection), renderer, options).run()

    (created,) = run().results
    stored = grafana.orgs[1].dashboards[created.uid]
    assert any(t.startswith(ownership.CONTENT_TAG_PREFIX) for t in stored.json["tags"])
    assert not ownership.edited_since_sealed(stored.json)
    assert [r.outcome for r in run().results] == [Outcome.UNCHANGED]  # a fresh source: no state kept
    grafana.ui_edit(created.uid, {"title": "edited by hand"})
    edited = grafana.orgs[1].dashboards[created.uid].json
    (result,) = run().results
    assert result.outcome is Outcome.FAILED and "edited in Grafana after DAWG wrote it" in result.message
    assert grafana.orgs[1].dashboards[created.uid].json == edited  # drift: fail wrote nothing


def test_a_generator_cannot_forge_the_content_mark() -> None:
    from dawg_provider.grafana import ownership

    forged = ownership.seal({"title": "x", "tags": ["dawg-sha:0000", "keep"]})
    assert [t for t in forged["tags"] if t.startswith("dawg-sha:")] != ["dawg-sha:0000"]
    assert not ownership.edited_since_sealed(forged)
    assert ownership.edited_since_sealed({**forged, "title": "y"})


@pytest.mark.parametrize(
    ("profile", "dialect"),
    [(p, "legacy") for p in ("10.4", "11.2", "11.5", "12.0", "13.0")] + [("12.0", "apis"), ("13.0", "apis")],
)
def test_a_normalising_grafana_is_not_drift_on_the_second_manifests_run(
    profile: str, dialect: str, renderer: Renderer, example_wasm: dict[str, Path], tmp_path: Path
) -> None:
    """The mark is over what Grafana keeps: the simple generator asks for refresh 30s, a
    Grafana with min_refresh_interval 1m stores 1m (dashboard_service.go `SaveDashboard`);
    the second run is 0 writes and no drift, and a real edit still shows."""
    from dawg_provider.cluster.results import Outcome
    from dawg_provider.cluster.sync import SyncJob, SyncOptions
    from dawg_provider.cluster.tenancy import TenancyPolicy
    from dawg_provider.grafana import Dialect, GrafanaClient, GrafanaConnection, ownership

    server = GrafanaStandIn(profile, tokens={TOKEN: (1, "Admin")})
    server.min_refresh = "1m"
    server.start()
    try:
        spec = {"generator": f"file://{example_wasm['simple']}", "config": "app_name: web\n", "drift": "fail"}
        (tmp_path / "d.yaml").write_text(yaml.safe_dump({**DASHBOARD, "spec": spec}))
        connection = GrafanaConnection(server.url, token=TOKEN, dialect=Dialect(dialect))

        flat = TenancyPolicy(default_root="team-{namespace}")  # 10.4: no nested folders

        def run() -> Any:
            options = SyncOptions(owner=OWNER, instance="gitops test", policy=flat)
            return SyncJob(
                ManifestSource(tmp_path), lambda: GrafanaClient(connection), renderer, options
            ).run()

        (created,) = run().results
        assert created.outcome is Outcome.CREATED, created.message
        stored = server.orgs[1].dashboards[created.uid]
        assert stored.json["refresh"] == "1m"  # Grafana's form, not the generator's 30s
        assert not ownership.edited_since_sealed(stored.json)
        version = stored.version
        server.reset_counts()
        (again,) = run().results
        assert again.outcome is Outcome.UNCHANGED, again.message
        assert "edited in Grafana" not in again.message
        assert server.count("POST") + server.count("PUT") == 0
        assert server.orgs[1].dashboards[created.uid].version == version
        server.ui_edit(created.uid, {"refresh": "5m"})
        edited = server.orgs[1].dashboards[created.uid].json
        (drifted,) = run().results
        assert (
            drifted.outcome is Outcome.FAILED and "edited in Grafana after DAWG wrote it" in drifted.message
        )
        assert server.orgs[1].dashboards[created.uid].json == edited
    finally:
        server.stop()
