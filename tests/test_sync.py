"""`dawg sync` against the Kubernetes API stand-in (through the real `kubernetes` client),
the Grafana stand-in, and generators built from source."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from dawg_provider.cluster.crd import Reason
from dawg_provider.cluster.sources import ClusterSource, ManifestSource
from dawg_provider.cluster.sync import (
    Outcome,
    Summary,
    SyncJob,
    SyncOptions,
)
from dawg_provider.cluster.tenancy import TenancyPolicy, default_uid
from dawg_provider.grafana import Dialect, GrafanaClient, GrafanaConnection, RetryPolicy, ownership
from dawg_provider.render import Renderer
from tests.grafana_standin import Fault, FaultKind, GrafanaStandIn
from tests.k8s_standin import KubernetesStandIn, client_api, write_kubeconfig

TOKEN = "glsa_sync_job_secret_token"
OWNER = "k8s-test"


@pytest.fixture
def grafana() -> Iterator[GrafanaStandIn]:
    server = GrafanaStandIn("12.0", tokens={TOKEN: (1, "Admin")}).start()
    yield server
    server.stop()


def simple(example_wasm: dict[str, Path], app: str, **extra: Any) -> dict[str, Any]:
    return {"generator": f"file://{example_wasm['simple']}", "config": f"app_name: {app}\n", **extra}


def run(k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, **options: Any) -> Summary:
    source = ClusterSource(client_api(k8s), options.pop("namespaces", None), options.pop("selector", None))
    connection = GrafanaConnection(
        grafana.url,
        token=options.pop("token", TOKEN),
        retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02),
        dialect=options.pop("dialect", Dialect.LEGACY),  # the fault patterns name legacy paths
    )
    opts = SyncOptions(**{"owner": OWNER, "concurrency": 4, **options})
    return SyncJob(source, lambda: GrafanaClient(connection), renderer, opts).run()


def outcomes(summary: Summary) -> dict[str, tuple[str, str]]:
    return {r.key: (r.outcome.value, r.reason.value) for r in summary.results}


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in obj["status"]["conditions"] if c["type"] == kind)


def test_create_then_unchanged_then_update(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    k8s.add("shop", "web", simple(example_wasm, "web", folder="Teams/shop"))
    summary = run(k8s, grafana, renderer)
    assert outcomes(summary) == {"shop/web": ("created", "Created")}
    obj = k8s.get("shop", "web")
    uid = ownership.derived_uid("k8s", "shop", "web")
    assert obj["status"]["grafana"]["uid"] == uid and obj["status"]["grafana"]["version"] == 1
    assert obj["status"]["observedGeneration"] == 1
    assert condition(obj, "Ready")["status"] == "True" and condition(obj, "Synced")["reason"] == "Created"
    stored = grafana.dashboard(uid)
    assert stored is not None and ownership.owned_by(stored.json, OWNER)

    grafana.reset_counts()
    k8s.requests.clear()
    again = run(k8s, grafana, renderer)
    assert outcomes(again) == {"shop/web": ("unchanged", "UpToDate")}
    assert grafana.count("POST") == 0 and grafana.count("GET", f"/api/dashboards/uid/{uid}") == 0  # skipped
    assert [r for r in k8s.requests if r[0] == "PATCH"] == []  # status not rewritten

    k8s.set_spec("shop", "web", simple(example_wasm, "web2", folder="Teams/shop"))
    updated = run(k8s, grafana, renderer)
    assert outcomes(updated) == {"shop/web": ("updated", "Updated")}
    assert k8s.get("shop", "web")["status"]["observedGeneration"] == 2
    assert grafana.dashboard(uid).json["title"] == "web2"  # type: ignore[union-attr]


def test_suspended_is_left_alone(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    k8s.add("shop", "web", simple(example_wasm, "web"))
    run(k8s, grafana, renderer)
    k8s.set_spec("shop", "web", simple(example_wasm, "changed", suspend=True))
    grafana.reset_counts()
    summary = run(k8s, grafana, renderer)
    assert outcomes(summary) == {"shop/web": ("suspended", "Suspended")}
    assert grafana.count("POST") == 0 and grafana.count("DELETE") == 0
    obj = k8s.get("shop", "web")
    assert condition(obj, "Synced")["status"] == "False" and condition(obj, "Ready")["status"] == "True"
    assert condition(obj, "Ready")["observedGeneration"] == 1  # says which spec it is about

    # Edited again while suspended: still left alone; resumed: the latest spec is applied.
    uid = obj["status"]["grafana"]["uid"]
    k8s.set_spec("shop", "web", simple(example_wasm, "edited-while-suspended", suspend=True))
    assert outcomes(run(k8s, grafana, renderer)) == {"shop/web": ("suspended", "Suspended")}
    assert grafana.dashboard(uid).json["title"] == "web"  # type: ignore[union-attr]
    k8s.set_spec("shop", "web", simple(example_wasm, "edited-while-suspended"))
    assert outcomes(run(k8s, grafana, renderer)) == {"shop/web": ("updated", "Updated")}
    assert grafana.dashboard(uid).json["title"] == "edited-while-suspended"  # type: ignore[union-attr]
    obj = k8s.get("shop", "web")
    assert condition(obj, "Ready")["status"] == "True" and condition(obj, "Ready")["observedGeneration"] == 4


def test_deleted_resources_are_pruned_and_foreign_dashboards_never(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    for name in ("a", "b", "c"):
        k8s.add("team", name, simple(example_wasm, name, folder="Teams/team/Team"))
    run(k8s, grafana, renderer)
    client = GrafanaClient(GrafanaConnection(grafana.url, token=TOKEN))
    client.save_dashboard({"uid": "foreign", "title": "Hand made", "tags": ["dawg-owner:k8s-test"]})
    client.save_dashboard(ownership.mark({"uid": "other-job", "title": "Other job"}, "k8s-other"))
    k8s.delete("team", "b")
    summary = run(k8s, grafana, renderer)
    assert summary.pruned == [ownership.derived_uid("k8s", "team", "b")]
    assert grafana.dashboard(ownership.derived_uid("k8s", "team", "b")) is None
    assert grafana.dashboard("foreign") is not None and grafana.dashboard("other-job") is not None
    assert grafana.dashboard(ownership.derived_uid("k8s", "team", "a")) is not None
    for name in ("a", "c"):
        k8s.delete("team", name)
    emptied = run(k8s, grafana, renderer)  # nothing listed: no pruning without --force-prune
    assert emptied.pruned == [] and "the source listed no Dashboard resources" in emptied.errors[0]
    run(k8s, grafana, renderer, force_prune=True)
    assert not any(
        f.title == "Team" for f in grafana.orgs[1].folders.values()
    )  # DAWG's folder, now empty, removed


def test_failures_are_isolated_with_the_right_reason(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    k8s.add("apps", "good", simple(example_wasm, "good"))
    k8s.add("apps", "missing-generator", {"generator": "file:///nonexistent/gen.wasm"})
    k8s.add("apps", "bad-config", simple(example_wasm, "x", config="colour: blue"))
    k8s.add("apps", "bad-spec", simple(example_wasm, "y", drift="sometimes"))
    k8s.add(
        "apps",
        "crashing",
        {
            "generator": f"file://{example_wasm['service']}",
            "config": "service: s\njob: j\n",
            "uid": "grafana-500",
        },
    )
    grafana.inject(Fault(FaultKind.STATUS, "GET", "/api/dashboards/uid/grafana-500", times=100, status=500))
    summary = run(k8s, grafana, renderer, policy=TenancyPolicy(literal_uids=frozenset({"apps"})))
    assert outcomes(summary) == {
        "apps/good": ("created", "Created"),
        "apps/missing-generator": ("failed", "GeneratorFailed"),
        "apps/bad-config": ("failed", "ConfigInvalid"),
        "apps/bad-spec": ("failed", "ConfigInvalid"),
        "apps/crashing": ("failed", "GrafanaError"),
    }
    assert summary.failed
    bad = k8s.get("apps", "bad-config")
    assert (
        'unknown field "colour" (known fields: app_name, datasource)' in condition(bad, "Synced")["message"]
    )
    # Refused by the schema in the generator's bytes, before the generator ran.
    assert "config does not match the generator's config schema" in condition(bad, "Synced")["message"]
    assert condition(bad, "Ready")["status"] == "False"
    assert (
        "spec.drift: must be one of 'overwrite', 'fail', got 'sometimes'"
        in condition(k8s.get("apps", "bad-spec"), "Synced")["message"]
    )


def test_drift_and_uid_conflicts(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    k8s.add("ops", "strict", simple(example_wasm, "strict", drift="fail"))
    k8s.add("ops", "lenient", simple(example_wasm, "lenient"))
    run(k8s, grafana, renderer)
    for name in ("strict", "lenient"):
        grafana.ui_edit(default_uid_for("ops", name), {"title": "edited"}, user="alice")
    GrafanaClient(GrafanaConnection(grafana.url, token=TOKEN)).save_dashboard(
        {"uid": "taken", "title": "Someone's"}
    )
    k8s.add("ops", "conflict", simple(example_wasm, "c", uid="taken"))
    literal = TenancyPolicy(literal_uids=frozenset({"ops"}))
    summary = run(k8s, grafana, renderer, verify_interval=timedelta(0), policy=literal)
    assert outcomes(summary) == {
        "ops/strict": ("failed", "Drifted"),
        "ops/lenient": ("updated", "Updated"),
        "ops/conflict": ("failed", "UidConflict"),
    }
    assert "changed outside DAWG by alice" in condition(k8s.get("ops", "strict"), "Synced")["message"]
    assert grafana.dashboard(default_uid_for("ops", "strict")).json["title"] == "edited"  # type: ignore[union-attr]
    assert grafana.dashboard("taken").json["title"] == "Someone's"  # type: ignore[union-attr]


def default_uid_for(namespace: str, name: str) -> str:
    return ownership.derived_uid("k8s", namespace, name)


def test_dry_run_writes_nothing_and_matches_manifests(
    k8s: KubernetesStandIn,
    grafana: GrafanaStandIn,
    renderer: Renderer,
    example_wasm: dict[str, Path],
    tmp_path: Path,
) -> None:
    specs = {"one": simple(example_wasm, "one", folder="Teams/dry/Run"), "two": simple(example_wasm, "two")}
    documents = []
    for name, spec in specs.items():
        k8s.add("dry", name, spec)
        documents.append(
            {
                "apiVersion": "dawg.urcloud.cc/v1",
                "kind": "Dashboard",
                "metadata": {"name": name, "namespace": "dry"},
                "spec": spec,
            }
        )
    (tmp_path / "dashboards.yaml").write_text(yaml.safe_dump_all(documents))
    cluster = run(k8s, grafana, renderer, dry_run=True)
    connection = GrafanaConnection(grafana.url, token=TOKEN)
    files = SyncJob(
        ManifestSource(tmp_path),
        lambda: GrafanaClient(connection),
        renderer,
        SyncOptions(owner=OWNER, dry_run=True),
    ).run()
    assert grafana.count("POST") == 0 and [r for r in k8s.requests if r[0] == "PATCH"] == []
    assert sorted(cluster.results, key=lambda r: r.key) == sorted(files.results, key=lambda r: r.key)
    assert {r.outcome for r in cluster.results} == {Outcome.CREATED}


def test_prune_guard_refuses_mass_deletion(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    for index in range(24):
        k8s.add("many", f"d{index}", simple(example_wasm, f"d{index}"))
    run(k8s, grafana, renderer)
    run_wrong = run(k8s, grafana, renderer, selector="team=nobody")  # a wrong selector lists nothing
    assert run_wrong.pruned == []
    assert "the source listed no Dashboard resources, but 24 dashboards are owned" in run_wrong.errors[0]
    k8s.add("many", "other", simple(example_wasm, "other"), labels={"team": "few"})
    few = run(k8s, grafana, renderer, selector="team=few")  # lists one: 24 of 25 would go
    assert few.pruned == [] and "pruning refused: 24 of the 25 dashboards" in few.errors[0]
    assert len(GrafanaClient(GrafanaConnection(grafana.url, token=TOKEN)).managed_dashboards(OWNER)) == 25


def test_shards_by_label_and_namespace_keep_to_themselves(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    k8s.add("a", "x", simple(example_wasm, "ax"), labels={"shard": "one"})
    k8s.add("b", "y", simple(example_wasm, "by"), labels={"shard": "two"})
    first = run(k8s, grafana, renderer, selector="shard=one", owner="k8s-one")
    second = run(k8s, grafana, renderer, namespaces=["b"], owner="k8s-two")
    assert list(outcomes(first)) == ["a/x"] and list(outcomes(second)) == ["b/y"]
    assert first.pruned == second.pruned == []


def test_a_thousand_resources_converge_through_faults(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    for index in range(1000):
        k8s.add(f"ns{index % 10}", f"d{index}", simple(example_wasm, f"app{index}"))
    grafana.inject(Fault(FaultKind.STATUS, None, "/api/", times=10**9, status=503, probability=0.1, seed=1))
    grafana.inject(
        Fault(FaultKind.APPLIED_LOST, "POST", "/api/dashboards/db", times=10**9, probability=0.1, seed=2)
    )
    grafana.inject(
        Fault(FaultKind.RESET, "GET", "/api/dashboards/uid/", times=10**9, probability=0.1, seed=3)
    )
    passes = 0
    while passes < 8:
        passes += 1
        summary = run(k8s, grafana, renderer, concurrency=8)
        if not summary.failed:
            break
    assert not summary.failed, f"not converged after {passes} passes: {summary.line()}"
    wanted = {ownership.derived_uid("k8s", f"ns{i % 10}", f"d{i}") for i in range(1000)}
    stored = {uid for uid, d in grafana.orgs[1].dashboards.items() if ownership.owned_by(d.json, OWNER)}
    assert stored == wanted  # 0 lost, 0 duplicated
    assert all(
        len(grafana.orgs[1].dashboards[uid].history) == 1 for uid in wanted
    )  # lost answers never written twice
    assert all(
        condition(k8s.get(f"ns{i % 10}", f"d{i}"), "Ready")["status"] == "True" for i in range(0, 1000, 37)
    )


def test_token_never_in_status_or_output(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, example_wasm: dict[str, Path], tmp_path: Path
) -> None:
    k8s.add("sec", "web", simple(example_wasm, "web"))
    kubeconfig = write_kubeconfig(k8s, tmp_path / "kubeconfig")
    wrong = "glsa_wrong_but_secret_token_value"
    command = [sys.executable, "-m", "dawg_provider", "sync", "--kubeconfig", str(kubeconfig)]
    env = {
        **os.environ,
        "GRAFANA_URL": grafana.url,
        "GRAFANA_TOKEN": wrong,
        "DAWG_CACHE_DIR": str(tmp_path / "cache"),
        "DAWG_OWNER": OWNER,
    }
    result = subprocess.run(
        [*command, "--allowed-file-root", str(example_wasm["simple"].parent)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "HTTP 401" in result.stdout and "1 failed" in result.stdout
    assert wrong not in result.stdout + result.stderr
    assert wrong not in str(k8s.get("sec", "web")["status"])
    assert condition(k8s.get("sec", "web"), "Synced")["reason"] == Reason.GRAFANA_ERROR.value
    ok = subprocess.run(
        [*command, "--allowed-file-root", str(example_wasm["simple"].parent)],
        capture_output=True,
        text=True,
        env={**env, "GRAFANA_TOKEN": TOKEN},
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert (
        ok.stdout.strip().splitlines()[-1]
        == "dawg sync: 1 dashboards: 1 created, 0 updated, 0 unchanged, 0 suspended, 0 failed, 0 pruned"
    )
    assert TOKEN not in ok.stdout + ok.stderr


def test_default_uid_is_collision_safe() -> None:
    from dawg_provider.cluster.crd import DashboardResource

    a = DashboardResource("team-a", "api", {})
    b = DashboardResource("team", "a-api", {})
    assert default_uid(a) != default_uid(b) and ownership.valid_uid(default_uid(a))


def test_example_manifests_sync_from_the_repository_root(
    grafana: GrafanaStandIn, example_wasm: dict[str, Path], tmp_path: Path
) -> None:
    root = Path(__file__).resolve().parent.parent
    dist = root / "generators" / "dist"
    dist.mkdir(exist_ok=True)
    for name, path in example_wasm.items():
        (dist / f"{name}.wasm").write_bytes(path.read_bytes())
    env = {
        **os.environ,
        "GRAFANA_URL": grafana.url,
        "GRAFANA_TOKEN": TOKEN,
        "DAWG_CACHE_DIR": str(tmp_path / "cache"),
    }
    command = [
        sys.executable,
        "-m",
        "dawg_provider.cli",
        "sync",
        "--manifests",
        "deploy/examples",
        "--owner",
        "dawg-examples",
    ]
    first = subprocess.run(command, cwd=root, capture_output=True, text=True, env=env, check=False)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.strip().splitlines()[-1].startswith("dawg sync: 3 dashboards: 3 created")
    again = subprocess.run(command, cwd=root, capture_output=True, text=True, env=env, check=False)
    assert (
        again.stdout.strip()
        .splitlines()[-1]
        .startswith("dawg sync: 3 dashboards: 0 created, 0 updated, 3 unchanged")
    )
    # 3 dashboards and the owner's lease, once; through either dialect
    assert grafana.count("POST", "^/api/dashboards/db$|/dashboards$") == 4


def test_the_checked_in_crd_is_the_generated_one() -> None:
    from dawg_provider.cluster.crd import crd_manifest

    root = Path(__file__).resolve().parent.parent
    assert yaml.safe_load((root / "deploy" / "crd.yaml").read_text()) == crd_manifest(), (
        "run: dawg crd > deploy/crd.yaml"
    )


def test_status_url_under_a_grafana_sub_path(
    k8s: KubernetesStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    server = GrafanaStandIn("12.0", tokens={TOKEN: (1, "Admin")}, sub_path="/grafana").start()
    try:
        k8s.add("shop", "web", simple(example_wasm, "web"))
        run(k8s, server, renderer)
        uid = ownership.derived_uid("k8s", "shop", "web")
        assert k8s.get("shop", "web")["status"]["grafana"]["url"] == f"{server.url}/d/{uid}/web"
    finally:
        server.stop()


def test_a_13_grafana_is_written_only_through_apis(
    k8s: KubernetesStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    server = GrafanaStandIn("13.0", tokens={TOKEN: (1, "Admin")}).start()
    try:
        k8s.add("shop", "web", simple(example_wasm, "web"))
        first = run(k8s, server, renderer, dialect=Dialect.AUTO)
        assert outcomes(first) == {"shop/web": ("created", "Created")}
        writes = [path for method, path in server.requests if method in ("POST", "PUT", "DELETE")]
        assert writes and all(path.startswith("/apis/") for path in writes)
        uid = ownership.derived_uid("k8s", "shop", "web")
        stored = next(d for d in server.orgs[1].dashboards.values() if d.uid == uid)  # not the lease
        assert stored.labels.get("dawg.urcloud.cc/managed") == "true"
    finally:
        server.stop()
