"""Ownership read back on /apis: tags AND labels, and what DAWG does when they disagree.

DAWG writes its ownership in tags (every dialect) and in labels (/apis). A hostile user
who can edit one dashboard can copy DAWG's tags into it (the JSON model editor), or
rewrite its labels through /apis; a legacy save on 12.x/13.x resets labels. A dashboard
whose tags and labels do not name the same owner is no one's for sure: never written,
never pruned, unless adopted explicitly.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from dawg_provider.grafana import GrafanaClient, GrafanaConnection, RetryPolicy, ownership
from dawg_provider.grafana.apply import apply
from dawg_provider.grafana.planner import Action, Desired, DriftPolicy, Policy, Recorded
from tests.grafana_standin import GrafanaStandIn

TOKEN = "glsa_admin_token"
FAST = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.005, total=30)
OWNER = "k8s-labels"


@pytest.fixture(params=["12.0", "13.0"])
def standin(request: pytest.FixtureRequest) -> Iterator[GrafanaStandIn]:
    server = GrafanaStandIn(request.param, tokens={TOKEN: (1, "Admin")}).start()
    yield server
    server.stop()


def make(server: GrafanaStandIn) -> GrafanaClient:
    return GrafanaClient(GrafanaConnection(server.url, token=TOKEN, retry=FAST, timeout=(2.0, 2.0)))


def desired(uid: str, **extra: object) -> Desired:
    return Desired(uid, ownership.mark({"title": "Labels", **extra}, OWNER), "")


def writes(server: GrafanaStandIn) -> int:
    return server.count("POST") + server.count("PUT") + server.count("DELETE")


def test_dawg_reads_its_ownership_from_labels_and_tags(standin: GrafanaStandIn) -> None:
    client = make(standin)
    first = apply(client, desired("dawg-lab"), None, Policy(OWNER))
    assert first.saved is not None
    live = client.get_dashboard("dawg-lab")
    assert live is not None and live.labels is not None
    assert ownership.label_owner(live.labels) == OWNER
    assert ownership.owned_by(live.dashboard, OWNER, live.labels)
    assert ownership.owner_of(live.dashboard, live.labels) == OWNER
    again = apply(client, desired("dawg-lab"), Recorded(first.saved.version, None), Policy(OWNER))
    assert again.plan.action is Action.NOOP


def test_tags_claiming_dawg_with_labels_naming_another_owner_are_refused(standin: GrafanaStandIn) -> None:
    """Hostile: someone rewrites the labels through /apis (a metadata-only change: the
    generation DAWG recorded does not move), so only the labels tell."""
    client = make(standin)
    first = apply(client, desired("dawg-lab", description="DAWG's"), None, Policy(OWNER))
    assert first.saved is not None
    stored = standin.dashboard("dawg-lab")
    assert stored is not None
    stored.labels = {**stored.labels, ownership.LABEL_OWNER: "k8s-mallory"}
    before, sent = dict(stored.json), writes(standin)
    result = apply(
        client, desired("dawg-lab", description="new"), Recorded(first.saved.version, None), Policy(OWNER)
    )
    assert result.plan.action is Action.REFUSE and result.saved is None
    assert "its tags name DAWG owner 'k8s-labels' but its labels name 'k8s-mallory'" in result.plan.reason
    assert writes(standin) == sent and stored.json == before  # nothing touched
    live = client.get_dashboard("dawg-lab")
    assert live is not None and not ownership.owned_by(live.dashboard, OWNER, live.labels)  # prune's test
    assert not ownership.owned_by(live.dashboard, "k8s-mallory", live.labels)


def test_tags_copied_into_a_dashboard_without_labels_are_not_ownership(standin: GrafanaStandIn) -> None:
    """Hostile: DAWG's tags pasted into someone's dashboard (the legacy save, as the JSON model
    editor or an old tool would, keeps no labels). Without a record of DAWG's own write at that
    version it is refused, and prune's test says not ours."""
    client = make(standin)
    theirs = ownership.mark({"uid": "dawg-copied", "title": "Theirs", "description": "keep me"}, OWNER)
    requests_before = writes(standin)
    answer = requests.post(
        f"{standin.url}/api/dashboards/db",
        json={"dashboard": theirs, "overwrite": False},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert answer.status_code == 200
    stored = standin.dashboard("dawg-copied")
    assert stored is not None and not stored.labels
    result = apply(client, desired("dawg-copied", description="DAWG's now"), None, Policy(OWNER))
    assert result.plan.action is Action.REFUSE
    assert "carries none of DAWG's labels" in result.plan.reason and "adopt" in result.plan.reason
    assert writes(standin) == requests_before + 1 and stored.json["description"] == "keep me"
    live = client.get_dashboard("dawg-copied")
    assert live is not None and not ownership.owned_by(live.dashboard, OWNER, live.labels)
    # adopting it is the explicit way in: both marks written, agreeing
    taken = apply(client, desired("dawg-copied", description="DAWG's now"), None, Policy(OWNER, adopt=True))
    assert taken.plan.action is Action.ADOPT
    assert ownership.label_owner(stored.labels) == OWNER


def test_labels_claiming_dawg_with_the_tags_removed_in_the_ui_are_refused(standin: GrafanaStandIn) -> None:
    """The UI's /apis save keeps the labels it read (v1.ts `saveDashboard`): removing DAWG's tags
    in the UI leaves labels that claim DAWG and tags that do not."""
    client = make(standin)
    first = apply(client, desired("dawg-untag"), None, Policy(OWNER))
    assert first.saved is not None
    standin.ui_edit("dawg-untag", {"tags": ["mine-now"]})
    sent = writes(standin)
    for drift in DriftPolicy:
        result = apply(
            client, desired("dawg-untag"), Recorded(first.saved.version, None), Policy(OWNER, drift=drift)
        )
        assert result.plan.action is Action.REFUSE and result.saved is None
        assert "its labels name DAWG owner 'k8s-labels' but its tags name no DAWG owner" in result.plan.reason
    assert writes(standin) == sent
    assert standin.dashboard("dawg-untag").json["tags"] == ["mine-now"]  # type: ignore[union-attr]


def test_own_last_write_without_labels_converges() -> None:
    """A Grafana whose /apis drops custom labels (legacy storage, grafana#116049), or a dashboard
    DAWG wrote through the legacy API before an upgrade: a dashboard DAWG has a record of is read
    by its tags. Pure: the planner decides."""
    from dawg_provider.grafana.planner import Observed, plan

    board = ownership.mark({"title": "Labels"}, OWNER)
    observed = Observed(board, 3, "", labels={})
    want = Desired("dawg-x", board, "")
    assert plan(want, observed, Recorded(3, None), Policy(OWNER)).action is Action.NOOP
    # recorded at another version: DAWG's by its tags, then drift by version (finding 5)
    moved = plan(want, observed, Recorded(2, None), Policy(OWNER))
    assert moved.action is Action.NOOP and "changed outside DAWG" in moved.warnings[0]
    assert (
        plan(want, observed, Recorded(2, None), Policy(OWNER, drift=DriftPolicy.FAIL)).action
        is Action.DRIFTED
    )
    assert plan(want, observed, None, Policy(OWNER)).action is Action.REFUSE  # no record: tags may be pasted
    assert (
        plan(want, observed, Recorded(None, None), Policy(OWNER)).action is Action.REFUSE
    )  # a CR with no status yet
    other = Observed(board, 3, "", labels={ownership.LABEL_MANAGED: "true", ownership.LABEL_OWNER: "x"})
    assert plan(want, other, Recorded(3, None), Policy(OWNER)).action is Action.REFUSE  # named: read
    legacy = Observed(board, 3, "", labels=None)  # the legacy API has no labels: tags decide
    assert plan(want, legacy, None, Policy(OWNER)).action is Action.NOOP


def test_prune_deletes_its_own_and_never_one_whose_labels_name_another_owner(
    standin: GrafanaStandIn,
) -> None:
    """Through the job's prune itself: tags claiming DAWG's owner are not enough on /apis."""
    from dataclasses import dataclass

    from dawg_provider.cluster.prune import prune

    @dataclass(frozen=True)
    class Options:
        dry_run: bool = False
        force_prune: bool = True

    client = make(standin)
    for uid in ("dawg-gone", "dawg-relabelled"):
        apply(client, desired(uid), None, Policy(OWNER))
    stored = standin.dashboard("dawg-relabelled")
    assert stored is not None
    stored.labels = {**stored.labels, ownership.LABEL_OWNER: "k8s-mallory"}
    standin.catch_up_index(standin.orgs[1])  # 13.0's search index lags writes
    result = prune(make(standin), OWNER, set(), 0, Options())
    assert result.pruned == ["dawg-gone"] and standin.dashboard("dawg-gone") is None
    assert standin.dashboard("dawg-relabelled") is not None  # kept: no one owns it for sure


def test_a_ui_restore_without_labels_is_drift_not_a_refusal(standin: GrafanaStandIn) -> None:
    """Review finding 5b: the 13.x UI's "Restore version" saves with `metadata: {name}` only
    (public/app/features/dashboard/api/v2.ts `restoreDashboardVersion`), dropping DAWG's labels.
    That is a UI edit of DAWG's dashboard: `drift: fail` -> DRIFTED (nothing written),
    `drift: overwrite` -> UPDATE with the warning, labels written again."""
    client = make(standin)
    first = apply(client, desired("dawg-restored", description="DAWG's"), None, Policy(OWNER))
    assert first.saved is not None
    url = f"{standin.url}/apis/dashboard.grafana.app/v1beta1/namespaces/default/dashboards/dawg-restored"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    obj = requests.get(url, headers=headers, timeout=5).json()
    ui = {**obj, "metadata": {"name": "dawg-restored"}, "spec": {**obj["spec"], "description": "restored"}}
    assert requests.put(url, headers=headers, json=ui, timeout=5).status_code == 200
    stored = standin.dashboard("dawg-restored")
    assert stored is not None and ownership.label_owner(stored.labels) is None
    sent = writes(standin)
    recorded = Recorded(first.saved.version, None)
    strict = apply(
        client,
        desired("dawg-restored", description="DAWG's"),
        recorded,
        Policy(OWNER, drift=DriftPolicy.FAIL),
    )
    assert strict.plan.action is Action.DRIFTED and "changed outside DAWG" in strict.plan.reason
    assert writes(standin) == sent and stored.json["description"] == "restored"  # nothing touched
    loose = apply(client, desired("dawg-restored", description="DAWG's"), recorded, Policy(OWNER))
    assert loose.plan.action is Action.UPDATE and "changed outside DAWG" in loose.plan.warnings[0]
    assert stored.json["description"] == "DAWG's" and ownership.label_owner(stored.labels) == OWNER


def test_prune_deletes_its_own_legacy_written_dashboard_and_reports_what_it_keeps(
    standin: GrafanaStandIn,
) -> None:
    """Review finding 5a: a dashboard DAWG wrote through the legacy API has no labels; once its CR
    is gone prune deletes it (tags decide). One whose labels name another owner is kept, and the
    skip is reported, never silent."""
    from dataclasses import dataclass

    from dawg_provider.cluster.prune import prune
    from dawg_provider.grafana import Dialect

    @dataclass(frozen=True)
    class Options:
        dry_run: bool = False
        force_prune: bool = True

    legacy = GrafanaClient(
        GrafanaConnection(standin.url, token=TOKEN, retry=FAST, timeout=(2.0, 2.0), dialect=Dialect.LEGACY)
    )
    apply(legacy, desired("dawg-old"), None, Policy(OWNER))
    apply(make(standin), desired("dawg-claimed"), None, Policy(OWNER))
    claimed = standin.dashboard("dawg-claimed")
    assert claimed is not None
    claimed.labels = {**claimed.labels, ownership.LABEL_OWNER: "k8s-mallory"}
    old = standin.dashboard("dawg-old")
    assert old is not None and ownership.label_owner(old.labels) is None
    standin.catch_up_index(standin.orgs[1])  # 13.0's search index lags writes
    result = prune(make(standin), OWNER, set(), 0, Options())
    assert result.pruned == ["dawg-old"] and standin.dashboard("dawg-old") is None
    assert standin.dashboard("dawg-claimed") is not None
    assert (
        len(result.errors) == 1 and "dawg-claimed" in result.errors[0] and "k8s-mallory" in result.errors[0]
    )
