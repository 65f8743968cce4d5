"""The dashboard model check in `dawg sync`: warnings reach `status.warnings` (bounded,
valid against the CRD) and the pass report; errors fail the CR `DashboardInvalid` and
write nothing. Generators: the hostile C generator's `raw` mode prints any dashboard."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dawg_provider.cluster.crd import MAX_WARNING_CHARS, MAX_WARNINGS, Reason, bounded_warnings
from dawg_provider.cluster.report import report
from dawg_provider.cluster.schema import validate_object
from dawg_provider.cluster.sources import ClusterSource
from dawg_provider.cluster.sync import Summary, SyncJob, SyncOptions
from dawg_provider.errors import register_secret
from dawg_provider.grafana import Dialect, GrafanaClient, GrafanaConnection, RetryPolicy, ownership
from dawg_provider.render import Renderer
from generators.build import Language, build
from tests.conftest import HOSTILE
from tests.grafana_standin import GrafanaStandIn
from tests.k8s_standin import KubernetesStandIn, client_api

TOKEN = "glsa_sync_warnings_secret_token"
OWNER = "k8s-test"
GOOD_PANEL = {"type": "stat", "gridPos": {"h": 4, "w": 6, "x": 0, "y": 0}}


@pytest.fixture
def grafana() -> Iterator[GrafanaStandIn]:
    server = GrafanaStandIn("12.0", tokens={TOKEN: (1, "Admin")}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def hostile_c(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Only the C hostile generator (seconds to build), not the whole hostile set."""
    return build(Language.C, HOSTILE / "hostile.c", tmp_path_factory.mktemp("hostile") / "c.wasm")


def raw(hostile_c: Path, dashboard: dict[str, Any]) -> dict[str, Any]:
    return {"generator": f"file://{hostile_c}", "config": "raw " + json.dumps(dashboard)}


def run(k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, **options: Any) -> Summary:
    connection = GrafanaConnection(
        grafana.url,
        token=TOKEN,
        retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02),
        dialect=Dialect.LEGACY,
    )
    opts = SyncOptions(**{"owner": OWNER, "concurrency": 2, **options})
    return SyncJob(ClusterSource(client_api(k8s)), lambda: GrafanaClient(connection), renderer, opts).run()


def synced(obj: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in obj["status"]["conditions"] if c["type"] == "Synced")


def uid(name: str) -> str:
    return ownership.derived_uid("k8s", "apps", name)


def test_model_warnings_reach_status_and_report_and_clear_when_fixed(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, hostile_c: Path
) -> None:
    odd = {"title": "odd", "panels": [{**GOOD_PANEL, "type": "no-such-panel"}]}  # no schemaVersion
    k8s.add("apps", "odd", raw(hostile_c, odd))
    summary = run(k8s, grafana, renderer)
    assert [(r.key, r.reason) for r in summary.results] == [("apps/odd", Reason.CREATED)]
    obj = k8s.get("apps", "odd")
    warnings = obj["status"]["warnings"]
    assert any("schemaVersion: missing" in w for w in warnings)
    assert any("panels[0].type: 'no-such-panel' is not a core panel type" in w for w in warnings)
    assert "2 warnings on the render, see status.warnings" in synced(obj)["message"]
    assert synced(obj)["status"] == "True"
    assert grafana.dashboard(uid("odd")) is not None  # warnings do not stop the write
    out = io.StringIO()
    report(summary, False, out)
    assert "    warning: generator " in out.getvalue() and "no-such-panel" in out.getvalue()

    fixed = {**odd, "schemaVersion": 39, "panels": [GOOD_PANEL]}
    k8s.set_spec("apps", "odd", raw(hostile_c, fixed))
    run(k8s, grafana, renderer)
    obj = k8s.get("apps", "odd")
    assert obj["status"]["warnings"] == []  # cleared, not left over by the merge patch
    assert "warning" not in synced(obj)["message"]


def test_model_errors_fail_the_cr_dashboard_invalid_and_write_nothing(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, hostile_c: Path
) -> None:
    good = {"title": "fine", "schemaVersion": 39, "panels": [GOOD_PANEL]}
    broken = {"title": "broken", "schemaVersion": 39, "panels": [{"type": "stat", "gridPos": {"h": "4"}}]}
    k8s.add("apps", "fine", raw(hostile_c, good))
    k8s.add("apps", "broken", raw(hostile_c, broken))
    summary = run(k8s, grafana, renderer)
    assert {r.key: r.reason for r in summary.results} == {
        "apps/fine": Reason.CREATED,
        "apps/broken": Reason.DASHBOARD_INVALID,
    }
    assert not summary.job_failed  # one CR's failure is in its status
    obj = k8s.get("apps", "broken")
    condition = synced(obj)
    assert condition["reason"] == "DashboardInvalid" and condition["status"] == "False"
    assert "panels[0].gridPos: h, w, x, y must be integers" in condition["message"]
    assert "Output validation" in condition["message"]
    assert "warnings" not in obj["status"]
    assert grafana.dashboard(uid("broken")) is None  # nothing written
    assert grafana.dashboard(uid("fine")) is not None  # the other CR is untouched by it


def test_a_flood_of_warnings_is_bounded_and_fits_the_crd(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, hostile_c: Path
) -> None:
    register_secret(TOKEN)
    # The hostile generator reads at most 4 KiB of config: 27 panels, one with a long type.
    panels: list[dict[str, Any]] = [{"type": "x" * 1000}, {"type": f"leak {TOKEN}"}]
    panels += [{"type": f"t{i}"} for i in range(25)]
    k8s.add("apps", "flood", raw(hostile_c, {"title": "flood", "schemaVersion": 39, "panels": panels}))
    run(k8s, grafana, renderer)
    obj = k8s.get("apps", "flood")  # the stand-in validated the patch against the CRD schema
    warnings = obj["status"]["warnings"]
    assert len(warnings) == MAX_WARNINGS and all(len(w) <= MAX_WARNING_CHARS for w in warnings)
    # check_model keeps 20 of the 27 findings plus a count line; status keeps 19 plus its own.
    assert warnings[-1] == "... and 2 more (dawg render shows them all)"
    assert warnings[0].endswith("xxx...") and "leak" in warnings[1]
    assert TOKEN not in json.dumps(obj["status"])
    assert validate_object(obj) == []


def test_failure_keeps_the_warnings_of_the_dashboard_still_in_grafana(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, hostile_c: Path
) -> None:
    k8s.add("apps", "w", raw(hostile_c, {"title": "w", "panels": []}))
    run(k8s, grafana, renderer)
    before = k8s.get("apps", "w")["status"]["warnings"]
    assert len(before) == 1
    k8s.set_spec("apps", "w", raw(hostile_c, {"title": "w", "panels": {}}))
    run(k8s, grafana, renderer)
    obj = k8s.get("apps", "w")
    assert synced(obj)["reason"] == "DashboardInvalid"
    assert obj["status"]["warnings"] == before  # they describe what Grafana still shows


def test_dry_run_reports_the_warnings_and_writes_nothing(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, hostile_c: Path
) -> None:
    k8s.add("apps", "dry", raw(hostile_c, {"title": "dry", "panels": []}))
    summary = run(k8s, grafana, renderer, dry_run=True)
    assert any("schemaVersion: missing" in w for w in summary.results[0].warnings)
    assert "status" not in k8s.get("apps", "dry") or not k8s.get("apps", "dry")["status"]
    assert grafana.dashboard(uid("dry")) is None


def test_bounded_warnings_is_pure_and_exact() -> None:
    assert bounded_warnings(()) == []
    assert bounded_warnings(("a",) * MAX_WARNINGS) == ["a"] * MAX_WARNINGS  # exactly the cap: all kept
    over = bounded_warnings(("a",) * (MAX_WARNINGS + 1))
    assert over[:-1] == ["a"] * (MAX_WARNINGS - 1) and over[-1].startswith("... and 2 more")
    assert bounded_warnings(("y" * 600,))[0] == "y" * (MAX_WARNING_CHARS - 3) + "..."
