"""Issue 12's acceptance on each of the five stand-in profiles (10.4, 11.2, 11.5, 12.0, 13.0):
the planner (through the client), the Pulumi provider (over the engine's protocol) and the
sync job apply cleanly, converge to 0 writes on the second run, and never lose a UI edit
silently (detected as drift; never overwritten under `drift: fail`).

Each profile speaks the dialect DAWG detects on it (legacy before 12, /apis from 12.0), so
these are the representative convergence tests, not the whole suites again: those keep one
profile and the dialect tests (`test_grafana_apis.py`) cover every profile.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from dawg_provider.cluster.sources import ClusterSource
from dawg_provider.cluster.sync import Summary, SyncJob, SyncOptions
from dawg_provider.cluster.tenancy import TenancyPolicy
from dawg_provider.grafana import GrafanaClient, GrafanaConnection, RetryPolicy, ownership
from dawg_provider.grafana.apply import apply
from dawg_provider.grafana.planner import Action, Desired, DriftPolicy, Policy, Recorded
from dawg_provider.render import Renderer
from tests.grafana_standin import PROFILES, GrafanaStandIn
from tests.k8s_standin import KubernetesStandIn, client_api
from tests.pulumi_engine import ProviderProcess, Stack

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "glsa_profiles_token"
OWNER = "k8s-profiles"
FIVE = ["10.4", "11.2", "11.5", "12.0", "13.0"]
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)


def test_the_five_profiles_are_all_there() -> None:
    assert sorted(set(PROFILES) - {"newest"}) == FIVE


@pytest.fixture(params=FIVE)
def grafana(request: pytest.FixtureRequest) -> Iterator[GrafanaStandIn]:
    server = GrafanaStandIn(request.param, tokens={TOKEN: (1, "Admin")}).start()
    yield server
    server.stop()


def writes(server: GrafanaStandIn) -> int:
    return server.count("POST") + server.count("PUT") + server.count("DELETE")


def only_through_the_detected_dialect(server: GrafanaStandIn) -> None:
    paths = [path for method, path in server.requests if method in ("POST", "PUT", "DELETE")]
    apis = bool(server.profile.apis)
    assert paths and all(path.startswith("/apis/") == apis for path in paths), paths


# ---- the planner, through the client ----------------------------------------------------------


def test_planner_applies_converges_and_keeps_ui_edits(grafana: GrafanaStandIn) -> None:
    client = GrafanaClient(GrafanaConnection(grafana.url, token=TOKEN, retry=FAST))
    folder = client.resolve_folder("", ["Profiles"])  # one level: 10.4 has nested folders off
    board = ownership.mark({"title": " Profiles ", "refresh": "1s", "panels": [{"id": 1}]}, OWNER)
    want = Desired("dawg-profiles", board, folder)
    first = apply(client, want, None, Policy(OWNER))
    assert first.plan.action is Action.CREATE and first.saved is not None
    only_through_the_detected_dialect(grafana)
    recorded = Recorded(first.saved.version, want.hash)
    sent = writes(grafana)
    fresh = GrafanaClient(GrafanaConnection(grafana.url, token=TOKEN, retry=FAST))  # the next run
    assert apply(fresh, want, recorded, Policy(OWNER)).plan.action is Action.NOOP
    assert writes(grafana) == sent  # 0 writes on the second run

    grafana.ui_edit("dawg-profiles", {"description": "Alice's"}, user="alice")
    strict = apply(fresh, want, recorded, Policy(OWNER, drift=DriftPolicy.FAIL))
    assert strict.plan.action is Action.DRIFTED and "changed outside DAWG by alice" in strict.plan.reason
    assert writes(grafana) == sent
    assert grafana.dashboard("dawg-profiles").json["description"] == "Alice's"  # type: ignore[union-attr]
    lenient = apply(fresh, want, recorded, Policy(OWNER))
    assert lenient.plan.action is Action.UPDATE and lenient.saved is not None
    assert any("changed outside DAWG by alice" in warning for warning in lenient.plan.warnings)

    if grafana.profile.apis:  # a v2 save in the UI: drift, never overwritten under fail
        grafana.ui_save_as_v2("dawg-profiles")
        sent = writes(grafana)
        again = Recorded(lenient.saved.version, want.hash)
        v2 = apply(fresh, want, again, Policy(OWNER, drift=DriftPolicy.FAIL))
        assert v2.plan.action is Action.DRIFTED and "converted to the v2 schema" in v2.plan.reason
        assert writes(grafana) == sent


# ---- the sync job -----------------------------------------------------------------------------


def sync(k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer) -> Summary:
    connection = GrafanaConnection(grafana.url, token=TOKEN, retry=FAST)  # dialect detected
    # one folder level: 10.4 has nested folders off (the default root `Teams/<ns>` is two)
    policy = TenancyPolicy(folder_roots={"shop": "Shop"})
    options = SyncOptions(owner=OWNER, concurrency=2, verify_interval=timedelta(0), policy=policy)
    return SyncJob(ClusterSource(client_api(k8s)), lambda: GrafanaClient(connection), renderer, options).run()


def test_sync_applies_converges_and_keeps_ui_edits(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    def cr(app: str, **extra: Any) -> dict[str, Any]:
        return {"generator": f"file://{example_wasm['simple']}", "config": f"app_name: {app}\n", **extra}

    k8s.add("shop", "strict", cr("strict", folder="Shop", drift="fail"))
    k8s.add("shop", "lenient", cr("lenient", folder="Shop"))
    first = sync(k8s, grafana, renderer)
    assert {r.key: r.outcome.value for r in first.results} == {
        "shop/strict": "created",
        "shop/lenient": "created",
    }, [r.message for r in first.results]
    ours = [ownership.derived_uid("k8s", "shop", name) for name in ("strict", "lenient")]
    before = [(grafana.dashboard(uid).version, grafana.dashboard(uid).resource_version) for uid in ours]  # type: ignore[union-attr]
    grafana.reset_counts()
    second = sync(k8s, grafana, renderer)
    assert {r.outcome.value for r in second.results} == {"unchanged"}
    assert grafana.count("GET") > 0  # verified against Grafana (verify_interval 0), not skipped
    after = [(grafana.dashboard(uid).version, grafana.dashboard(uid).resource_version) for uid in ours]  # type: ignore[union-attr]
    assert after == before  # 0 dashboard writes (the job's own lease is its only write)

    for name in ("strict", "lenient"):
        grafana.ui_edit(ownership.derived_uid("k8s", "shop", name), {"title": "edited"}, user="alice")
    third = sync(k8s, grafana, renderer)
    assert {r.key: (r.outcome.value, r.reason.value) for r in third.results} == {
        "shop/strict": ("failed", "Drifted"),
        "shop/lenient": ("updated", "Updated"),
    }
    strict = grafana.dashboard(ownership.derived_uid("k8s", "shop", "strict"))
    assert strict is not None and strict.json["title"] == "edited"  # never overwritten under fail


# ---- the Pulumi provider ----------------------------------------------------------------------


@pytest.fixture
def provider(
    grafana: GrafanaStandIn, tmp_path: Path, example_wasm: dict[str, Path]
) -> Iterator[ProviderProcess]:
    dist = ROOT / "generators" / "dist"
    dist.mkdir(exist_ok=True)
    shutil.copy(example_wasm["simple"], dist / "simple.wasm")
    process = ProviderProcess(ROOT, {"DAWG_CACHE_DIR": str(tmp_path / "cache")})
    process.configure(
        {"dawg:grafanaUrl": grafana.url, "dawg:grafanaToken": TOKEN}, frozenset({"dawg:grafanaToken"})
    )
    yield process
    process.close()


def test_provider_applies_converges_and_keeps_ui_edits(
    provider: ProviderProcess, grafana: GrafanaStandIn
) -> None:
    stack = Stack(provider)
    try:
        news = {
            "generator": "file://generators/dist/simple.wasm",
            "config": {"app_name": "web"},
            "folder": "Frontend",
            "uid": "dawg-profiles-web",
            "owner": "pulumi-dawg-profiles",
            "drift": "fail",
        }
        assert stack.up("web", news).op == "create"
        only_through_the_detected_dialect(grafana)
        sent = writes(grafana)
        assert stack.refresh("web")  # a round trip through this Grafana's dialect...
        assert stack.up("web", news).op == "same"  # ...reads back as what was applied
        assert writes(grafana) == sent
        grafana.ui_edit("dawg-profiles-web", {"title": "Edited in the UI"}, user="alice")
        with pytest.raises(Exception, match=r"changed outside DAWG by alice .*drift policy is 'fail'"):
            stack.up("web", {**news, "config": {"app_name": "other"}})
        assert writes(grafana) == sent
        assert grafana.dashboard("dawg-profiles-web").json["title"] == "Edited in the UI"  # type: ignore[union-attr]
    finally:
        stack.close()
