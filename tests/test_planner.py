"""The pure planner, and applying plans against the Grafana stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dawg_provider.errors import GrafanaConflict
from dawg_provider.grafana import GrafanaClient, GrafanaConnection, ownership
from dawg_provider.grafana.apply import apply, payload
from dawg_provider.grafana.planner import Action, Desired, DriftPolicy, Observed, Policy, Recorded, plan
from tests.grafana_standin import GrafanaStandIn

OWNER = "pulumi-dawg-dev"
POLICY = Policy(OWNER)


def desired(title: str = "Shop", expr: str = "up", folder: str = "") -> Desired:
    board = ownership.mark(
        {
            "title": title,
            "schemaVersion": 39,
            "panels": [{"id": 1, "type": "stat", "targets": [{"expr": expr}]}],
        },
        OWNER,
    )
    return Desired("dawg-shop", board, folder)


def observed(board: dict[str, Any], version: int = 3, folder: str = "", by: str = "sa-dawg") -> Observed:
    return Observed({**board, "id": 7, "uid": "dawg-shop", "version": version}, version, folder, by)


def test_create_when_missing() -> None:
    assert plan(desired(), None, None, POLICY).action is Action.CREATE


def test_noop_when_only_volatile_fields_and_number_forms_differ() -> None:
    want = desired()
    live = observed({**want.dashboard, "schemaVersion": 39.0})
    decision = plan(want, live, Recorded(3, want.hash), POLICY)
    assert (decision.action, decision.writes) == (Action.NOOP, False)


def test_update_carries_the_observed_version_and_a_diff() -> None:
    decision = plan(desired(expr="rate(x[5m])"), observed(desired().dashboard), Recorded(3), POLICY)
    assert decision.action is Action.UPDATE and decision.expected_version == 3
    assert decision.diff is not None and decision.diff.summary() == "1 panel changed"
    assert "targets[0].expr: 'up' -> 'rate(x[5m])'" in "\n".join(decision.diff.lines())


def test_folder_move_is_an_update() -> None:
    decision = plan(desired(folder="team"), observed(desired().dashboard, folder=""), None, POLICY)
    assert decision.action is Action.UPDATE and "new folder" in decision.reason


def test_foreign_dashboards_are_refused_unless_adopted() -> None:
    foreign = observed({"title": "Hand made", "tags": ["prod"]}, by="alice")
    refused = plan(desired(), foreign, None, POLICY)
    assert (
        refused.action is Action.REFUSE
        and "no dawg-managed tag" in refused.reason
        and "adopt" in refused.reason
    )
    other_owner = observed(ownership.mark({"title": "x"}, "k8s-prod"))
    assert "DAWG owner 'k8s-prod'" in plan(desired(), other_owner, None, POLICY).reason
    adopted = plan(desired(), foreign, None, Policy(OWNER, adopt=True))
    assert adopted.action is Action.ADOPT and adopted.expected_version == 3


def test_drift_fail_and_overwrite() -> None:
    want = desired()
    edited = observed({**want.dashboard, "title": "Edited in UI"}, version=5, by="alice")
    failed = plan(want, edited, Recorded(3, want.hash), Policy(OWNER, drift=DriftPolicy.FAIL))
    assert failed.action is Action.DRIFTED and not failed.writes
    assert "changed outside DAWG by alice (version 3 -> 5)" in failed.reason
    overwritten = plan(want, edited, Recorded(3, want.hash), POLICY)
    assert overwritten.action is Action.UPDATE and overwritten.expected_version == 5
    assert "by alice" in overwritten.warnings[0]


def test_a_v2_dashboard_is_never_adopted_behind_drift_fail() -> None:
    """Review finding 7: adopt must not reach a v2 dashboard before the drift policy does."""
    foreign_v2 = Observed({"title": "X", "tags": ["team"], "panels": []}, 7, "", "alice", False, "v2")
    failed = plan(desired(), foreign_v2, None, Policy(OWNER, adopt=True, drift=DriftPolicy.FAIL))
    assert failed.action is Action.DRIFTED and not failed.writes
    assert "converted to the v2 schema (v2) in the Grafana UI by alice" in failed.reason
    taken = plan(desired(), foreign_v2, None, Policy(OWNER, adopt=True))  # overwrite: the opt-in
    assert taken.action is Action.ADOPT and taken.expected_version == 7
    assert len(taken.warnings) == 1 and "would lose what only v2 holds" in taken.warnings[0]
    refused = plan(desired(), foreign_v2, None, POLICY)  # neither adopt nor fail: not DAWG's
    assert refused.action is Action.REFUSE and not refused.writes


def test_a_v2_dashboard_with_the_same_content_is_still_not_a_noop_under_adopt() -> None:
    want = desired()
    same_v2 = Observed({**want.dashboard, "tags": []}, 4, "", "alice", False, "v2beta1")
    adopted = plan(want, same_v2, None, Policy(OWNER, adopt=True))
    assert adopted.action is Action.ADOPT and adopted.warnings


def test_provisioned_dashboards_are_refused() -> None:
    live = Observed(desired().dashboard, 1, "", "admin", provisioned=True)
    assert plan(desired(), live, None, POLICY).action is Action.REFUSE


# ---- against the stand-in --------------------------------------------------------------


@pytest.fixture
def grafana() -> Iterator[GrafanaStandIn]:
    server = GrafanaStandIn("12.0", tokens={"t": (1, "Admin")}).start()
    yield server
    server.stop()


def test_apply_if_changed_counts_requests(grafana: GrafanaStandIn) -> None:
    client = GrafanaClient(GrafanaConnection(grafana.url, token="t"))
    first = apply(client, desired(), None, POLICY)
    assert first.plan.action is Action.CREATE and first.saved is not None
    recorded = Recorded(first.saved.version, desired().hash)
    grafana.reset_counts()
    unchanged = apply(client, desired(), recorded, POLICY)
    assert unchanged.plan.action is Action.NOOP
    assert (grafana.count("GET"), grafana.count("POST") + grafana.count("PUT")) == (1, 0)
    grafana.reset_counts()
    changed = apply(client, desired(expr="sum(up)"), recorded, POLICY)
    assert changed.plan.action is Action.UPDATE and changed.saved is not None and changed.saved.version == 2
    assert (grafana.count("GET"), grafana.count("POST") + grafana.count("PUT")) == (1, 1)  # either dialect


def test_an_edit_between_read_and_write_is_a_conflict(grafana: GrafanaStandIn) -> None:
    client = GrafanaClient(GrafanaConnection(grafana.url, token="t"))
    apply(client, desired(), None, POLICY)
    live = client.get_dashboard("dawg-shop")
    assert live is not None
    decision = plan(desired(expr="new"), observed(live.dashboard, live.version), None, POLICY)
    grafana.ui_edit("dawg-shop", {"description": "edited meanwhile"})
    with pytest.raises(GrafanaConflict, match=r"version-mismatch|HTTP 409 Conflict"):  # legacy | /apis
        client.save_dashboard(payload(desired(expr="new"), decision.expected_version), folder_uid="")


def test_integers_and_nulls_arrive_intact(grafana: GrafanaStandIn) -> None:
    client = GrafanaClient(GrafanaConnection(grafana.url, token="t"))
    board = ownership.mark(
        {
            "title": "Types",
            "schemaVersion": 39,
            "panels": [
                {
                    "id": 1,
                    "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
                    "datasource": None,
                    "maxDataPoints": 1.5,
                }
            ],
        },
        OWNER,
    )
    apply(client, Desired("dawg-types", board, ""), None, POLICY)
    stored = grafana.dashboard("dawg-types")
    assert stored is not None
    panel = stored.json["panels"][0]
    assert panel["gridPos"] == {"h": 8, "w": 12, "x": 0, "y": 0} and all(
        type(v) is int for v in panel["gridPos"].values()
    )
    assert "datasource" in panel and panel["datasource"] is None
    assert stored.json["schemaVersion"] == 39 and type(stored.json["schemaVersion"]) is int
