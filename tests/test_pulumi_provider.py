"""WasmDashboard over the engine's protocol: the SDK's real provider server, driven over gRPC.

These protocol tests are the project's stand-in for `pulumi up` (the CLI cannot be
installed here): Configure first; Check with old inputs; Diff with old outputs;
Create, Update, Read, Delete, against the Grafana stand-in and the real registry.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from pulumi.runtime.proto import provider_pb2

from dawg_provider.grafana import ownership
from dawg_provider.grafana.canonical import path_changes
from dawg_provider.pulumi.props import is_unknown
from dawg_provider.sources.reference import OciRef, parse_reference
from dawg_provider.sources.registry import RegistryClient, RegistryOptions
from generators.build import HERE, Language, build
from tests.grafana_standin import GrafanaStandIn
from tests.pulumi_engine import ProviderProcess, Stack, serialized_provider
from tests.registry import RegistryProcess

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "glsa_provider_test_secret"
OWNER = "pulumi-dawg-dev"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


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
    # As the engine sends it: the token wrapped as a secret in `args` (provider_plugin.go Configure).
    process.configure(
        {"dawg:grafanaUrl": grafana.url, "dawg:grafanaToken": TOKEN}, frozenset({"dawg:grafanaToken"})
    )
    yield process
    process.close()


@pytest.fixture
def stack(provider: ProviderProcess) -> Iterator[Stack]:
    stack = Stack(provider)
    yield stack
    stack.close()


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
        "grafanaTarget",
        "instance",
        "warnings",
    ):
        assert key in outs, key
    # Stored once: in the inputs (where the engine diffs it), not again in the outputs.
    assert "dashboard" not in outs and stack.resources["web"].inputs["dashboard"]["title"] == "web"
    assert outs["grafanaTarget"] == {"url": grafana.url}  # the token never
    assert TOKEN not in repr(outs) and TOKEN not in repr(stack.resources["web"].inputs)
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


def test_replace_flag_with_the_same_uid_keeps_the_dashboard(
    stack: Stack, grafana: GrafanaStandIn, provider: ProviderProcess
) -> None:
    """`pulumi up --replace`: no Diff, create-before-delete; the old Delete must not remove it."""
    stack.up("web", inputs("dawg-replace-flag"))
    old = stack.resources["web"]
    provider.calls.clear()
    step = stack.up("web", inputs("dawg-replace-flag"), replace=True)
    assert step.op == "replace"
    urn = stack.urn("web")
    assert [method for method, subject in provider.calls if subject == urn] == ["Check", "Create", "Delete"]
    stored = grafana.dashboard("dawg-replace-flag")
    assert stored is not None, "the old resource's Delete removed the dashboard its replacement wrote"
    new = stack.resources["web"]
    assert new.outputs["instance"] != old.outputs["instance"]
    assert stored.json["dawgInstance"] == new.outputs["instance"] and stored.version == new.outputs["version"]
    assert ownership.owned_by(stored.json, OWNER)
    stack.destroy("web")  # the newest owner's Delete does remove it
    assert grafana.dashboard("dawg-replace-flag") is None


def test_two_resources_with_one_uid_the_first_deleted_leaves_the_dashboard(
    stack: Stack, grafana: GrafanaStandIn
) -> None:
    stack.up("first", inputs("dawg-shared-uid"))
    stack.up("second", inputs("dawg-shared-uid", config={"app_name": "api"}))  # the last writer
    stack.destroy("first")
    stored = grafana.dashboard("dawg-shared-uid")
    assert stored is not None and stored.json["title"] == "api"  # not removed, not rewritten
    assert stored.json["dawgInstance"] == stack.resources["second"].outputs["instance"]
    stack.destroy("second")
    assert grafana.dashboard("dawg-shared-uid") is None


def test_a_state_from_before_the_target_and_stamp_updates_in_place(
    stack: Stack, grafana: GrafanaStandIn, provider: ProviderProcess
) -> None:
    """States written by earlier versions: no grafanaTarget or instance, the dashboard in the
    outputs. An upgrade must not replace every dashboard: one visible update records them."""
    stack.up("web", inputs("dawg-legacy"))
    state = stack.resources["web"]
    legacy_out = {
        k: v for k, v in state.outputs.items() if k not in ("grafanaTarget", "instance", "warnings")
    }
    state.outputs = {**legacy_out, "dashboard": state.inputs["dashboard"]}
    state.inputs = {k: v for k, v in state.inputs.items() if k != "grafanaTarget"}
    preview = stack.preview("web", inputs("dawg-legacy"))
    assert preview.op == "update" and list(preview.diff.replaces) == []
    step = stack.up("web", inputs("dawg-legacy"))
    assert step.op == "update"
    outs = stack.resources["web"].outputs
    assert outs["grafanaTarget"] == {"url": grafana.url} and "dashboard" not in outs
    stored = grafana.dashboard("dawg-legacy")
    assert stored is not None and stored.json["dawgInstance"] == outs["instance"]
    assert stack.preview("web", inputs("dawg-legacy")).op == "same"


def test_an_alias_of_the_same_grafana_replaces_create_first_and_keeps_the_dashboard(
    stack: Stack, grafana: GrafanaStandIn, provider: ProviderProcess
) -> None:
    """A DNS alias (localhost vs 127.0.0.1) is another target: a replacement, but never
    delete-first (Grafana's delete drops version history, stars, permissions): the new
    resource writes first, and the old one's deferred Delete sees the newer stamp."""
    stack.up("web", inputs("dawg-respelled"))
    stack.up("web", inputs("dawg-respelled", config={"app_name": "api"}))  # version history: 2
    respelled = grafana.url.replace("127.0.0.1", "localhost")
    news = inputs("dawg-respelled", config={"app_name": "api"}, grafana={"url": respelled, "token": TOKEN})
    preview = stack.preview("web", news)
    assert preview.op == "replace" and list(preview.diff.replaces) == ["grafanaTarget"]
    assert preview.diff.changes == provider_pb2.DiffResponse.DIFF_UNKNOWN  # the path diff stays
    assert not preview.diff.deleteBeforeReplace
    provider.calls.clear()
    grafana.reset_counts()
    step = stack.up("web", news)
    assert step.op == "replace" and not step.delete_before_replace
    urn = stack.urn("web")
    assert [m for m, subject in provider.calls if subject == urn] == [
        "Check",
        "Diff",
        "Check",
        "Create",
        "Delete",
    ]
    assert grafana.count("DELETE", r".") == 0, "the old resource's Delete removed the dashboard"
    stored = grafana.dashboard("dawg-respelled")
    assert stored is not None and stored.json["dawgInstance"] == stack.resources["web"].outputs["instance"]
    assert stored.version >= 3  # history kept: updated in place, never recreated


def test_the_same_grafana_spelled_differently_is_not_a_change(
    stack: Stack, grafana: GrafanaStandIn, tmp_path: Path
) -> None:
    """Adding `dawg:grafanaOrgId: 1` (Grafana's default org), a trailing slash or
    upper-case scheme: the same Grafana, so `same`, and nothing is sent to Grafana."""
    stack.up("web", inputs("dawg-spelling"))
    recorded = stack.resources["web"].inputs["grafanaTarget"]
    respelled = ProviderProcess(ROOT, {"DAWG_CACHE_DIR": str(tmp_path / "cache")})
    try:
        respelled.configure(
            {
                "dawg:grafanaUrl": grafana.url.replace("http://", "HTTP://") + "/",
                "dawg:grafanaToken": TOKEN,
                "dawg:grafanaOrgId": "1",
            },
            frozenset({"dawg:grafanaToken"}),
        )
        stack.provider = respelled
        grafana.reset_counts()
        assert stack.preview("web", inputs("dawg-spelling")).op == "same"
        assert stack.up("web", inputs("dawg-spelling")).op == "same"
        assert grafana.requests == [] and stack.resources["web"].inputs["grafanaTarget"] == recorded
        assert grafana.dashboard("dawg-spelling") is not None
    finally:
        respelled.close()


def test_the_first_replace_after_upgrading_keeps_the_dashboard(
    stack: Stack, grafana: GrafanaStandIn, provider: ProviderProcess
) -> None:
    """Review finding 1: a state from before stamps (no `instance`) and `pulumi up --replace`
    as the first up after upgrading: Check, Create (stamps), then the old Delete, which must
    treat any live stamp as a newer owner's."""
    stack.up("web", inputs("dawg-legacy-replace"))
    state = stack.resources["web"]
    state.outputs = {
        **{k: v for k, v in state.outputs.items() if k not in ("grafanaTarget", "instance", "warnings")},
        "dashboard": state.inputs["dashboard"],
    }
    state.inputs = {k: v for k, v in state.inputs.items() if k != "grafanaTarget"}
    provider.calls.clear()
    grafana.reset_counts()
    stack.up("web", inputs("dawg-legacy-replace"), replace=True)
    urn = stack.urn("web")
    assert [m for m, subject in provider.calls if subject == urn] == ["Check", "Create", "Delete"]
    assert grafana.count("DELETE", r".") == 0
    stored = grafana.dashboard("dawg-legacy-replace")
    assert stored is not None, "the legacy resource's Delete removed the dashboard its replacement wrote"
    assert stored.json["dawgInstance"] == stack.resources["web"].outputs["instance"]
    stack.destroy("web")  # the replacement, which owns it, does delete it
    assert grafana.dashboard("dawg-legacy-replace") is None


@pytest.mark.parametrize("old_state", ["other-token", "stopped"])
def test_a_move_with_a_token_per_grafana_completes_and_names_what_it_left(
    tmp_path: Path, old_state: str
) -> None:
    """Review finding 3: each Grafana accepts only its own token, or the old one is gone.
    The new dashboards are created, the old deletes warn instead of failing the run."""
    old_token, new_token = "glsa_old_only", "glsa_new_only"
    old_grafana = GrafanaStandIn("12.0", tokens={old_token: (1, "Admin")}).start()
    new_grafana = GrafanaStandIn("12.0", tokens={new_token: (1, "Admin")}).start()
    env = {"DAWG_CACHE_DIR": str(tmp_path / "cache")}
    secret = frozenset({"dawg:grafanaToken"})
    first = ProviderProcess(ROOT, env)
    second = ProviderProcess(ROOT, env)
    stack = Stack(first)
    goals = {f"d{i}": inputs(f"dawg-tokmove-{i}") for i in range(2)}
    old_url = old_grafana.url
    try:
        first.configure({"dawg:grafanaUrl": old_url, "dawg:grafanaToken": old_token}, secret)
        stack.deploy(goals)
        if old_state == "stopped":
            old_grafana.stop()
        else:
            old_grafana.reset_counts()
        second.configure({"dawg:grafanaUrl": new_grafana.url, "dawg:grafanaToken": new_token}, secret)
        stack.provider = second
        steps = stack.deploy(goals)  # does not raise
        assert {step.op for step in steps.values()} == {"replace"}
        calls = [m for m, _ in second.calls if m in ("Create", "Delete")]
        assert calls[:2] == ["Create", "Create"] and calls[2:] == ["Delete", "Delete"]  # created first
        for i in range(2):
            assert new_grafana.dashboard(f"dawg-tokmove-{i}") is not None
            assert stack.resources[f"d{i}"].outputs["grafanaTarget"] == {"url": new_grafana.url}
        if old_state == "other-token":
            # Left in place, untouched: only the refused DELETEs reached it.
            assert all(old_grafana.dashboard(f"dawg-tokmove-{i}") for i in range(2))
            assert {method for method, _ in old_grafana.requests} <= {"GET", "DELETE"}
        # The next `up` is clean: nothing left to delete, nothing fails.
        assert {step.op for step in stack.deploy(goals).values()} == {"same"}
        log = second.close()
        for i in range(2):
            assert f"dawg-tokmove-{i} was left in the previous Grafana {old_url}" in log
        assert old_token not in log and new_token not in log
    finally:
        stack.close()
        first.close()
        if second.process.poll() is None:
            second.close()
        new_grafana.stop()
        if old_state != "stopped":
            old_grafana.stop()


def test_a_stack_config_url_change_moves_dashboards_and_leaves_no_orphan(
    grafana: GrafanaStandIn, tmp_path: Path
) -> None:
    old_grafana = GrafanaStandIn("12.0", tokens={TOKEN: (1, "Admin")}).start()
    new_grafana = GrafanaStandIn("12.0", tokens={TOKEN: (1, "Admin")}).start()
    env = {"DAWG_CACHE_DIR": str(tmp_path / "cache")}
    secret = frozenset({"dawg:grafanaToken"})
    first = ProviderProcess(ROOT, env)
    first.configure({"dawg:grafanaUrl": old_grafana.url, "dawg:grafanaToken": TOKEN}, secret)
    stack = Stack(first)
    goals = {f"d{i}": inputs(f"dawg-move-{i}") for i in range(3)}
    try:
        stack.deploy(goals)
        assert all(old_grafana.dashboard(f"dawg-move-{i}") for i in range(3))
        # `pulumi config set dawg:grafanaUrl ...`: the engine configures a new provider process.
        second = ProviderProcess(ROOT, env)
        second.configure({"dawg:grafanaUrl": new_grafana.url, "dawg:grafanaToken": TOKEN}, secret)
        stack.provider = second
        old_grafana.reset_counts()
        preview = stack.deploy(goals, apply=False)
        assert {step.op for step in preview.values()} == {"replace"}  # visible in the preview
        assert all(list(step.diff.replaces) == ["grafanaTarget"] for step in preview.values())
        assert old_grafana.requests == [] and new_grafana.requests == []
        stack.deploy(goals)
        for i in range(3):
            assert old_grafana.dashboard(f"dawg-move-{i}") is None, "orphan left in the old Grafana"
            assert new_grafana.dashboard(f"dawg-move-{i}") is not None
        assert grafana.dashboard("dawg-move-0") is None  # the module's Grafana was never touched
        # The stack file changes again (another URL, a token neither Grafana accepts) but is
        # not deployed: destroy and refresh use the config stored at the last `up`.
        third = ProviderProcess(ROOT, env)
        third.configure({"dawg:grafanaUrl": old_grafana.url, "dawg:grafanaToken": "glsa_rotated"}, secret)
        stack.provider = third
        old_grafana.reset_counts()
        stack.destroy("d0")
        assert new_grafana.dashboard("dawg-move-0") is None and old_grafana.requests == []
        assert stack.refresh("d1") and stack.resources["d1"].outputs["url"].startswith(new_grafana.url)
        assert new_grafana.dashboard("dawg-move-2") is not None
    finally:
        stack.close()
        for process in (first, locals().get("second"), locals().get("third")):
            if isinstance(process, ProviderProcess):
                process.close()
        old_grafana.stop()
        new_grafana.stop()


def test_a_failed_step_cancels_the_deferred_and_pruned_deletes(
    stack: Stack, grafana: GrafanaStandIn, provider: ProviderProcess
) -> None:
    """deployment_executor.go `Execute`: performPostSteps only after every step succeeded."""
    stack.up("keep", inputs("dawg-cancel-keep"))
    stack.up("repl", inputs("dawg-cancel-a"))
    bad = inputs("dawg-cancel-bad", grafana={"url": grafana.url, "token": "glsa_refused"})
    grafana.reset_counts()
    provider.calls.clear()
    with pytest.raises(grpc.RpcError, match="HTTP 401"):
        stack.deploy({"repl": inputs("dawg-cancel-b"), "bad": bad})  # "keep" would be pruned
    assert not [m for m, _ in provider.calls if m == "Delete"] and grafana.count("DELETE", r".") == 0
    assert grafana.dashboard("dawg-cancel-keep") is not None and "keep" in stack.resources
    assert grafana.dashboard("dawg-cancel-a") is not None  # the replaced one is not deleted either
    assert grafana.dashboard("dawg-cancel-b") is not None and grafana.dashboard("dawg-cancel-bad") is None
    assert [name for name, _ in stack.pending_deletes] == ["repl"]
    for name in ("keep", "repl"):
        stack.destroy(name)


def test_delete_before_replace_keeps_a_pending_replacement_until_its_create_succeeds(
    stack: Stack, grafana: GrafanaStandIn, provider: ProviderProcess
) -> None:
    """The resource option: delete first; a failed Create leaves the old state pending, and the
    next run creates it without deleting again (step_generator.go `continueStepsFromDiff`)."""
    stack.up("web", inputs("dawg-dbr-1"))
    refused = inputs("dawg-dbr-2", grafana={"url": grafana.url, "token": "glsa_refused"})
    with pytest.raises(grpc.RpcError):
        stack.deploy({"web": refused}, delete_before_replace={"web"})
    assert grafana.dashboard("dawg-dbr-1") is None  # deleted first, as asked
    state = stack.resources["web"]
    assert state.pending_replacement and state.outputs["uid"] == "dawg-dbr-1"
    provider.calls.clear()
    step = stack.deploy({"web": inputs("dawg-dbr-2")}, delete_before_replace={"web"})["web"]
    assert step.op == "replace"
    assert [m for m, subject in provider.calls if subject == stack.urn("web")] == ["Check", "Diff", "Create"]
    assert grafana.dashboard("dawg-dbr-2") is not None and not stack.resources["web"].pending_replacement
    stack.destroy("web")


def test_fifty_resources_are_created_in_parallel_each_exactly_once(
    stack: Stack, grafana: GrafanaStandIn, provider: ProviderProcess
) -> None:
    goals = {f"p{i}": inputs(f"dawg-parallel-{i}", folder="Parallel") for i in range(50)}
    grafana.reset_counts()
    provider.calls.clear()
    steps = stack.deploy(goals, prune=False)
    assert {step.op for step in steps.values()} == {"create"}
    creates = [subject for method, subject in provider.calls if method == "Create"]
    assert sorted(creates) == sorted(stack.urn(name) for name in goals)  # each exactly once
    assert not [m for m, _ in provider.calls if m in ("Update", "Delete")]
    # One create each, through whichever dialect the profile serves (12.0: /apis, else legacy).
    assert grafana.count("POST", r"^/api/dashboards/db$|/dashboards$") == 50
    assert all(grafana.dashboard(f"dawg-parallel-{i}") is not None for i in range(50))
    folders = [f for f in grafana.orgs[1].folders.values() if f.title == "Parallel"]
    assert len(folders) == 1  # concurrent creates share one folder
    for name in goals:
        stack.destroy(name)


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
    # Provider logs are not resource warnings in the engine: the warning is kept in the outputs.
    warnings = stack.resources["web"].outputs["warnings"]  # also the output model's own warnings
    drift = [warning for warning in warnings if "changed outside DAWG" in warning]
    assert len(drift) == 1 and "changed outside DAWG by alice (version 1 -> 2)" in drift[0]


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


@pytest.mark.parametrize(
    "field", ["generator", "config", "folder", "uid", "grafana", "timeout", "memory", "drift", "adopt"]
)
def test_an_unknown_input_during_preview_is_neither_a_crash_nor_missing(
    provider: ProviderProcess, stack: Stack, grafana: GrafanaStandIn, field: str
) -> None:
    stack.up("web", inputs("dawg-unknowns"))
    grafana.reset_counts()
    news = {**inputs("dawg-unknowns"), field: UNKNOWN}
    checked, failures = provider.check(stack.urn("web"), stack.resources["web"].inputs, news)
    assert failures == []
    state = stack.resources["web"]
    diff = provider.diff(state.id, stack.urn("web"), state.outputs, checked, state.inputs)
    assert diff.changes == provider_pb2.DiffResponse.DIFF_UNKNOWN  # the engine decides; nothing hidden
    if field == "uid":
        assert list(diff.replaces) == ["uid"]
    elif field == "grafana":
        assert is_unknown(checked["grafanaTarget"]) and list(diff.replaces) == ["grafanaTarget"]
    else:
        assert list(diff.replaces) == []
    if field in ("generator", "config", "uid", "timeout", "memory"):
        assert is_unknown(checked["dashboard"])  # computed at `up`, when it is known
    assert stack.preview("web", news).op in ("update", "replace")
    assert grafana.requests == []  # previews never call Grafana


def test_an_unknown_nested_value_is_unknown_too(provider: ProviderProcess, stack: Stack) -> None:
    news = inputs("dawg-nested", config={"app_name": UNKNOWN}, grafana={"url": UNKNOWN, "token": "t"})
    checked, failures = provider.check(stack.urn("nested"), {}, news)
    assert failures == [] and is_unknown(checked["dashboard"]) and is_unknown(checked["grafanaTarget"])
    news = inputs("dawg-nested", grafana={"url": "https://g.example.com/", "token": UNKNOWN})
    checked, failures = provider.check(stack.urn("nested"), {}, news)
    assert failures == [] and checked["grafanaTarget"] == {"url": "https://g.example.com"}


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


def test_import_with_the_id_only_fails_and_touches_nothing(stack: Stack, grafana: GrafanaStandIn) -> None:
    """`pulumi import` cannot work for a dynamic resource (pulumi/pulumi#16175): adopt instead."""
    from dawg_provider.grafana import GrafanaClient, GrafanaConnection

    GrafanaClient(GrafanaConnection(grafana.url, token=TOKEN)).save_dashboard(
        {"uid": "to-import", "title": "Imported"}
    )
    grafana.reset_counts()
    with pytest.raises(grpc.RpcError) as caught:
        stack.import_("imported", "to-import")
    assert "__provider" in str(caught.value)  # the SDK cannot find the provider without it
    assert grafana.requests == [] and "imported" not in stack.resources
    stored = grafana.dashboard("to-import")
    assert stored is not None and stored.json["title"] == "Imported" and stored.version == 1


def test_the_pickled_provider_is_small_tokenless_and_stable() -> None:
    blob = serialized_provider()
    raw = base64.b64decode(blob)
    assert len(raw) < 200 and b"dawg_provider.pulumi_provider" in raw and b"WasmDashboardProvider" in raw
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


def test_model_warnings_are_in_the_preview_and_the_outputs_and_errors_fail_check(
    provider: ProviderProcess, stack: Stack, grafana: GrafanaStandIn, tmp_path: Path
) -> None:
    hostile = build(Language.C, ROOT / "tests" / "hostile" / "hostile.c", tmp_path / "hostile.wasm")
    odd = {"title": "odd", "schemaVersion": 39, "panels": [{"type": "no-such-panel"}]}
    warned = inputs("dawg-model-warn", generator=f"file://{hostile}", config="raw " + json.dumps(odd))
    checked, failures = provider.check(stack.urn("warned"), {}, warned)
    assert failures == []
    assert [w for w in checked["warnings"] if "panels[0].type: 'no-such-panel'" in w]  # preview shows it
    stack.up("warned", warned)
    assert [w for w in stack.resources["warned"].outputs["warnings"] if "no-such-panel" in w]
    assert grafana.dashboard("dawg-model-warn") is not None  # a warning does not stop the write

    unchanged = stack.preview("warned", warned)
    assert unchanged.op == "same"  # the warnings in the inputs never make a change of their own

    broken = {"title": "broken", "panels": [{"type": "stat", "gridPos": {"h": 1, "w": 1, "x": 0}}]}
    bad = inputs("dawg-model-err", generator=f"file://{hostile}", config="raw " + json.dumps(broken))
    _, failures = provider.check(stack.urn("broken"), {}, bad)
    assert failures[0][0] == "generator"
    assert "panels[0].gridPos: y must be an integer" in failures[0][1]
    assert "Output validation" in failures[0][1]
    step = stack.up("broken", bad)
    assert step.op == "failed" and grafana.dashboard("dawg-model-err") is None  # nothing written


def test_replace_of_a_v2_dashboard_keeps_it_and_an_unchanged_up_writes_nothing(
    stack: Stack, grafana: GrafanaStandIn, provider: ProviderProcess, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Review finding 1: Grafana keeps no unknown key in a v2 spec (its typed DashboardSpec), so
    the stamp rides in the tags; `up --replace` must not let the old Delete remove the dashboard."""
    hostile = Path(__file__).resolve().parent / "hostile" / "hostile.c"
    v2gen = build(Language.C, hostile, tmp_path_factory.mktemp("v2gen") / "v2.wasm")
    v2_inputs = inputs("dawg-replace-v2", generator=f"file://{v2gen}", config="v2 v2alpha1\n")
    stack.up("dyn", v2_inputs)
    stored = grafana.dashboard("dawg-replace-v2")
    assert stored is not None and stored.schema == "v2alpha1" and "dawgInstance" not in stored.json
    old = stack.resources["dyn"]
    writes = grafana.count("POST") + grafana.count("PUT")
    assert stack.up("dyn", v2_inputs).op == "same"  # Grafana's typed form compares equal
    assert grafana.count("POST") + grafana.count("PUT") == writes
    step = stack.up("dyn", v2_inputs, replace=True)
    assert step.op == "replace"
    stored = grafana.dashboard("dawg-replace-v2")
    assert stored is not None, "the old resource's Delete removed the dashboard its replacement wrote"
    new = stack.resources["dyn"]
    assert new.outputs["instance"] != old.outputs["instance"]
    assert f"dawg-instance:{new.outputs['instance']}" in stored.json["tags"]
    stack.destroy("dyn")  # the newest owner's Delete does remove it
    assert grafana.dashboard("dawg-replace-v2") is None
