"""WasmDashboard over the engine's protocol: the SDK's real provider server, driven over gRPC.

These protocol tests are the project's stand-in for `pulumi up` (the CLI cannot be
installed here): Configure first; Check with old inputs; Diff with old outputs;
Create, Update, Read, Delete, against the Grafana stand-in and the real registry.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime.proto import provider_pb2

from dawg_provider.grafana import ownership
from dawg_provider.grafana.canonical import path_changes
from dawg_provider.sources.reference import OciRef, parse_reference
from dawg_provider.sources.registry import RegistryClient, RegistryOptions
from generators.build import HERE, Language, build
from tests.grafana_standin import GrafanaStandIn
from tests.pulumi_engine import ProviderProcess, Stack, serialized_provider
from tests.registry import RegistryProcess

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "glsa_provider_test_secret"
OWNER = "pulumi-dawg-dev"


@pytest.fixture(scope="module")
def grafana() -> Iterator[GrafanaStandIn]:
    server = GrafanaStandIn("12.0", tokens={TOKEN: (1, "Admin")}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def provider(
    grafana: GrafanaStandIn, tmp_path_factory: pytest.TempPathFactory, example_wasm: dict[str, Path]
) -> Iterator[ProviderProcess]:
    dist = ROOT / "generators" / "dist"
    dist.mkdir(exist_ok=True)
    for name, path in example_wasm.items():  # the program's file:// references point here
        shutil.copy(path, dist / f"{name}.wasm")
    process = ProviderProcess(ROOT, {"DAWG_CACHE_DIR": str(tmp_path_factory.mktemp("provider-cache"))})
    process.configure({"dawg:grafanaUrl": grafana.url, "dawg:grafanaToken": TOKEN})
    yield process
    process.close()


@pytest.fixture
def stack(provider: ProviderProcess) -> Stack:
    return Stack(provider)


def inputs(uid: str, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "generator": "file://generators/dist/simple.wasm",
        "config": {"app_name": "web"},
        "folder": "Shop/Frontend",
        "uid": uid,
        "owner": OWNER,
    }
    return {**base, **overrides}


def test_create_writes_the_dashboard_and_returns_every_output(stack: Stack, grafana: GrafanaStandIn) -> None:
    step = stack.up("web", inputs("dawg-create"))
    assert step.op == "create"
    outs = stack.resources["web"].outputs
    for key in (
        "generator",
        "config",
        "folder",
        "uid",
        "owner",
        "url",
        "version",
        "folderUid",
        "generatorDigest",
        "dashboardSha256",
        "dashboard",
    ):
        assert key in outs, key
    assert outs["url"] == f"{grafana.url}/d/dawg-create/web" and outs["version"] == 1
    assert outs["generatorDigest"].startswith("sha256:")
    stored = grafana.dashboard("dawg-create")
    assert stored is not None
    assert ownership.owned_by(stored.json, OWNER)
    folder = grafana.orgs[1].folders[stored.folder_uid]
    assert folder.title == "Frontend" and grafana.orgs[1].folders[folder.parent_uid].title == "Shop"
    assert outs["folderUid"] == stored.folder_uid


def test_unchanged_preview_and_up_touch_nothing(stack: Stack, grafana: GrafanaStandIn) -> None:
    stack.up("web", inputs("dawg-unchanged"))
    grafana.reset_counts()
    preview = stack.preview("web", inputs("dawg-unchanged"))
    assert preview.op == "same" and preview.diff.changes == provider_pb2.DiffResponse.DIFF_NONE
    assert stack.up("web", inputs("dawg-unchanged")).op == "same"
    assert grafana.requests == []  # previews and no-op ups never call Grafana
    # Reformatted config text that renders the same dashboard is normalization only.
    assert stack.preview("web", inputs("dawg-unchanged", config="app_name: web  # same\n")).op == "same"


def test_config_change_updates_with_a_path_level_diff(
    stack: Stack, grafana: GrafanaStandIn, provider: ProviderProcess
) -> None:
    stack.up("web", inputs("dawg-update"))
    before = stack.resources["web"].inputs["dashboard"]
    checked, failures = provider.check(
        stack.urn("web"), stack.resources["web"].inputs, inputs("dawg-update", config={"app_name": "api"})
    )
    assert failures == []
    paths = {change.path for change in path_changes(before, checked["dashboard"])}
    assert "panels[1].targets[0].expr" in paths and "title" in paths  # what `preview --diff` shows
    step = stack.up("web", inputs("dawg-update", config={"app_name": "api"}))
    assert step.op == "update" and step.diff.changes == provider_pb2.DiffResponse.DIFF_UNKNOWN
    outs = stack.resources["web"].outputs
    assert outs["version"] == 2 and outs["config"] == {"app_name": "api"}
    stored = grafana.dashboard("dawg-update")
    assert stored is not None and stored.json["title"] == "api"


def test_uid_change_replaces(stack: Stack, grafana: GrafanaStandIn) -> None:
    stack.up("web", inputs("dawg-old-uid"))
    step = stack.up("web", inputs("dawg-new-uid"))
    assert step.op == "replace" and list(step.diff.replaces) == ["uid"]
    assert grafana.dashboard("dawg-new-uid") is not None and grafana.dashboard("dawg-old-uid") is None


def test_drift_after_refresh_is_overwritten_with_a_warning_by_default(
    stack: Stack, grafana: GrafanaStandIn
) -> None:
    stack.up("web", inputs("dawg-drift-ow"))
    grafana.ui_edit("dawg-drift-ow", {"title": "Edited in the UI"}, user="alice")
    assert stack.refresh("web")
    assert stack.resources["web"].inputs["dashboard"]["title"] == "Edited in the UI"  # refresh shows the edit
    step = stack.up("web", inputs("dawg-drift-ow"))
    assert step.op == "update"
    stored = grafana.dashboard("dawg-drift-ow")
    assert stored is not None and stored.json["title"] == "web" and stored.version == 3


def test_drift_fail_policy_refuses_and_names_who(stack: Stack, grafana: GrafanaStandIn) -> None:
    stack.up("web", inputs("dawg-drift-fail", drift="fail"))
    grafana.ui_edit("dawg-drift-fail", {"title": "Edited in the UI"}, user="alice")
    with pytest.raises(
        Exception, match=r"changed outside DAWG by alice \(version 1 -> 2\); drift policy is 'fail'"
    ) as caught:
        stack.up("web", inputs("dawg-drift-fail", drift="fail", config={"app_name": "other"}))
    assert "nothing was written" in str(caught.value)
    stored = grafana.dashboard("dawg-drift-fail")
    assert stored is not None and stored.json["title"] == "Edited in the UI"


def test_delete_twice_and_read_of_a_deleted_dashboard(
    stack: Stack, grafana: GrafanaStandIn, provider: ProviderProcess
) -> None:
    stack.up("web", inputs("dawg-delete"))
    state = stack.resources["web"]
    stack.destroy("web")
    assert grafana.dashboard("dawg-delete") is None
    provider.delete(state.id, stack.urn("web"), state.outputs)  # 404 is success
    stack.resources["web"] = state
    assert stack.refresh("web") is False and "web" not in stack.resources


def test_delete_never_removes_a_dashboard_that_is_no_longer_dawgs(
    stack: Stack, grafana: GrafanaStandIn
) -> None:
    stack.up("web", inputs("dawg-handed-over"))
    stored = grafana.dashboard("dawg-handed-over")
    assert stored is not None
    stored.json["tags"] = ["now-owned-by-the-sre-team"]
    stack.destroy("web")
    assert grafana.dashboard("dawg-handed-over") is not None


def test_adoption_is_refused_then_allowed(stack: Stack, grafana: GrafanaStandIn) -> None:
    from dawg_provider.grafana import GrafanaClient, GrafanaConnection

    GrafanaClient(GrafanaConnection(grafana.url, token=TOKEN)).save_dashboard(
        {"uid": "hand-made", "title": "Hand made"}
    )
    with pytest.raises(
        Exception, match=r"hand-made \('Hand made'\) exists and belongs to someone else .* set adopt"
    ):
        stack.up("web", inputs("hand-made"))
    stored = grafana.dashboard("hand-made")
    assert stored is not None and stored.json["title"] == "Hand made" and stored.version == 1
    assert stack.up("web", inputs("hand-made", adopt=True)).op == "create"
    stored = grafana.dashboard("hand-made")
    assert stored is not None and ownership.owned_by(stored.json, OWNER) and stored.version == 2


def test_integers_and_nulls_reach_grafana_intact(stack: Stack, grafana: GrafanaStandIn) -> None:
    stack.up(
        "deploy",
        inputs(
            "dawg-types",
            generator="file://generators/dist/deployment.wasm",
            config={"namespace": "shop", "name": "api"},
        ),
    )
    stored = grafana.dashboard("dawg-types")
    assert stored is not None
    stat = next(p for p in stored.json["panels"] if p["type"] == "stat")
    assert all(type(v) is int for v in stat["gridPos"].values())
    assert stat["fieldConfig"]["defaults"]["thresholds"]["steps"][0] == {"color": "green", "value": None}
    assert type(stored.json["schemaVersion"]) is int


def test_bad_inputs_are_check_failures_naming_the_field(provider: ProviderProcess, stack: Stack) -> None:
    _, failures = provider.check(
        stack.urn("bad"), {}, inputs("bad uid!", drift="maybe", timeout="soon", generator="")
    )
    fields = {field for field, _ in failures}
    assert {"uid", "drift", "timeout", "generator"} <= fields
    _, failures = provider.check(stack.urn("bad"), {}, inputs("dawg-bad", config={"app": "x"}))
    assert failures[0][0] == "config" and 'unknown field "app"' in failures[0][1]
    assert "config does not match the generator's config schema" in failures[0][1]  # before it ran
    _, failures = provider.check(stack.urn("bad"), {}, inputs("dawg-bad", config={"app_name": 7}))
    assert failures == [("config", failures[0][1])]
    assert 'field "app_name" must be a string, got number 7' in failures[0][1]
    _, failures = provider.check(
        stack.urn("bad"), {}, inputs("dawg-bad", generator="file://nope/missing.wasm")
    )
    assert failures[0][0] == "generator" and "no such file" in failures[0][1]


def test_unknown_inputs_during_preview_are_tolerated(provider: ProviderProcess, stack: Stack) -> None:
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    checked, failures = provider.check(stack.urn("later"), {}, inputs("dawg-later", config=unknown))
    assert failures == []
    assert (
        checked["dashboard"] is None
        or "Unknown" in type(checked["dashboard"]).__name__
        or checked["dashboard"] == unknown
    )


def test_per_resource_connection_and_no_token_in_errors(stack: Stack) -> None:
    other = GrafanaStandIn("11.5", tokens={"glsa_other": (1, "Admin")}).start()
    try:
        stack.up("elsewhere", inputs("dawg-elsewhere", grafana={"url": other.url, "token": "glsa_other"}))
        assert other.dashboard("dawg-elsewhere") is not None
        with pytest.raises(Exception) as caught:
            stack.up("wrong", inputs("dawg-wrong", grafana={"url": other.url, "token": "glsa_wrong_secret"}))
        assert "HTTP 401" in str(caught.value) and "glsa_wrong_secret" not in str(caught.value)
    finally:
        other.stop()


def test_import_reads_the_live_dashboard(
    stack: Stack, provider: ProviderProcess, grafana: GrafanaStandIn
) -> None:
    from dawg_provider.grafana import GrafanaClient, GrafanaConnection

    GrafanaClient(GrafanaConnection(grafana.url, token=TOKEN)).save_dashboard(
        {"uid": "to-import", "title": "Imported"}
    )
    id_, outs, imported = provider.read("to-import", stack.urn("imported"), {"__provider": provider.provider})
    assert id_ == "to-import" and outs["dashboard"]["title"] == "Imported" and imported["uid"] == "to-import"


def test_the_pickled_provider_is_small_tokenless_and_stable() -> None:
    blob = serialized_provider()
    raw = base64.b64decode(blob)
    assert len(raw) < 200 and b"dawg_provider.pulumi.provider" in raw and b"WasmDashboardProvider" in raw
    assert TOKEN.encode() not in raw and b"glsa" not in raw
    code = "from tests.pulumi_engine import serialized_provider; print(serialized_provider())"
    other = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert other == blob


# ---- registry-backed generators ----------------------------------------------------------


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RegistryProcess]:
    server = RegistryProcess(tmp_path / "registry")
    server.start()
    yield server
    server.stop()


def push(server: RegistryProcess, wasm: bytes) -> None:
    ref = parse_reference(server.url("dawg/simple", "v1"))
    assert isinstance(ref, OciRef)
    RegistryClient(RegistryOptions()).push(ref, wasm, {}, "simple.wasm")


def test_new_digest_behind_the_same_tag_is_a_visible_change(
    stack: Stack,
    registry: RegistryProcess,
    example_wasm: dict[str, Path],
    tmp_path: Path,
    grafana: GrafanaStandIn,
) -> None:
    push(registry, example_wasm["simple"].read_bytes())
    news = inputs("dawg-oci", generator=registry.url("dawg/simple", "v1"))
    stack.up("oci", news)
    first_digest = stack.resources["oci"].outputs["generatorDigest"]
    assert stack.resources["oci"].outputs["generatorRef"].startswith(f"{news['generator']}@sha256:")
    source = tmp_path / "main.zig"
    source.write_text((HERE / "simple" / "main.zig").read_text().replace("Network Received", "Network In"))
    push(registry, build(Language.ZIG, source, tmp_path / "simple-v2.wasm").read_bytes())
    preview = stack.preview("oci", news)
    assert preview.op == "update"
    step = stack.up("oci", news)
    assert step.op == "update"
    assert stack.resources["oci"].outputs["generatorDigest"] != first_digest
    stored = grafana.dashboard("dawg-oci")
    assert stored is not None and stored.json["panels"][1]["title"] == "Network In"


def test_registry_outage_keeps_an_unchanged_preview_working(
    stack: Stack, registry: RegistryProcess, example_wasm: dict[str, Path], grafana: GrafanaStandIn
) -> None:
    push(registry, example_wasm["simple"].read_bytes())
    news = inputs("dawg-outage", generator=registry.url("dawg/simple", "v1"))
    stack.up("outage", news)
    registry.stop()
    grafana.reset_counts()
    assert stack.preview("outage", news).op == "same"
    assert grafana.requests == []
