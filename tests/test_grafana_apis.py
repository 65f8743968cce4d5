"""One client, two dialects: detection on every profile, and the /apis dialect on 12.x and 13.x."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dawg_provider.errors import (
    GrafanaConflict,
    GrafanaForbidden,
    GrafanaInvalidRequest,
    GrafanaUnauthorized,
    GrafanaUnsupported,
)
from dawg_provider.grafana import Dialect, GrafanaClient, GrafanaConnection, RetryPolicy, ownership
from dawg_provider.grafana.apply import apply
from dawg_provider.grafana.dialect import choose, namespace_for, stored_schema
from dawg_provider.grafana.planner import Action, Desired, DriftPolicy, Policy, Recorded
from tests.grafana_standin import Fault, FaultKind, GrafanaStandIn

TOKEN = "glsa_admin_token"
FAST = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.005, total=30)
OWNER = "k8s-apis"
APIS_PROFILES = ["12.0", "13.0"]


def make(server: GrafanaStandIn, **extra: object) -> GrafanaClient:
    connection = GrafanaConnection(server.url, token=TOKEN, retry=FAST, timeout=(2.0, 2.0), **extra)  # type: ignore[arg-type]
    return GrafanaClient(connection)


@pytest.fixture(params=["10.4", "11.2", "11.5", "12.0", "13.0"])
def any_profile(request: pytest.FixtureRequest) -> Iterator[GrafanaStandIn]:
    server = GrafanaStandIn(request.param, tokens={TOKEN: (1, "Admin")}).start()
    yield server
    server.stop()


@pytest.fixture(params=APIS_PROFILES)
def standin(request: pytest.FixtureRequest) -> Iterator[GrafanaStandIn]:
    server = GrafanaStandIn(request.param, tokens={TOKEN: (1, "Admin")}).start()
    yield server
    server.stop()


def desired(uid: str, folder: str = "", **extra: object) -> Desired:
    board = ownership.mark({"title": "Apis", "panels": [{"id": 1, "type": "stat"}], **extra}, OWNER)
    return Desired(uid, board, folder)


# ---- detection ------------------------------------------------------------------------------


def test_dialect_detected_once_per_client(any_profile: GrafanaStandIn) -> None:
    client = make(any_profile)
    found = client.apis()
    assert client.apis() is found and any_profile.count("GET", "^/apis/dashboard.grafana.app$") == 1
    if not any_profile.profile.apis:
        assert found is None
        return
    assert found is not None and found.namespace == "default"
    assert found.dashboard == (
        "v1" if "v1" in any_profile.profile.apis else "v1beta1"
    )  # never preferredVersion v2
    assert found.folder == any_profile.profile.folder_apis[0]


def test_forcing_a_dialect(any_profile: GrafanaStandIn) -> None:
    assert make(any_profile, dialect=Dialect.LEGACY).apis() is None
    assert any_profile.count("GET", "^/apis") == 0
    if any_profile.profile.apis:
        assert make(any_profile, dialect=Dialect.APIS).apis() is not None
    else:
        with pytest.raises(GrafanaUnsupported, match="the /apis dialect was forced"):
            make(any_profile, dialect=Dialect.APIS).apis()


def test_namespaces_from_the_org() -> None:
    assert namespace_for(1) == "default" and namespace_for(7) == "org-7"
    assert namespace_for(1, "stacks-123") == "stacks-123"
    assert choose(("v2", "v1beta1"), (), "default").dashboard == "v1beta1"  # type: ignore[union-attr]
    assert choose(("v2", "v2beta1", "v0alpha1"), (), "default") is None
    assert stored_schema({"status": {"conversion": {"storedVersion": "v2beta1"}}}) == "v2beta1"
    assert stored_schema({"status": {"conversion": {"failed": True}}}) == "v2"
    assert stored_schema({"status": "hostile"}) == "v1"


def test_namespace_of_another_org_is_refused_by_grafana(standin: GrafanaStandIn) -> None:
    client = make(standin, namespace="org-2")
    with pytest.raises(Exception, match="HTTP 403"):
        client.get_dashboard("x")


# ---- the /apis dialect ------------------------------------------------------------------------


def test_a_run_writes_only_through_apis_and_converges(standin: GrafanaStandIn) -> None:
    client = make(standin)
    folder = client.resolve_folder("", ["Team", "Apis"])
    want = desired("dawg-apis", folder, refresh="1s", title="  Trimmed ")
    first = apply(client, want, None, Policy(OWNER))
    assert first.plan.action is Action.CREATE and first.saved is not None and first.saved.version == 1
    second = apply(make(standin), want, Recorded(first.saved.version, want.hash), Policy(OWNER))
    assert second.plan.action is Action.NOOP
    writes = [(m, p) for m, p in standin.requests if m in ("POST", "PUT", "DELETE")]
    assert writes and all(p.startswith("/apis/") for _, p in writes)
    stored = standin.dashboard("dawg-apis")
    assert stored is not None and stored.folder_uid == folder and stored.version == 1
    assert stored.labels == {"dawg.urcloud.cc/managed": "true", "dawg.urcloud.cc/owner": OWNER}
    assert "grafana.app/managedBy" not in stored.annotations  # provenance is opt-in


def test_update_sends_the_resource_version_and_generation_is_the_version(standin: GrafanaStandIn) -> None:
    client = make(standin)
    first = apply(client, desired("dawg-up"), None, Policy(OWNER))
    assert first.saved is not None
    changed = desired("dawg-up", description="changed")
    second = apply(client, changed, Recorded(first.saved.version, None), Policy(OWNER))
    assert second.plan.action is Action.UPDATE and second.saved is not None and second.saved.version == 2
    assert standin.count("PUT") == 1


def test_a_stale_resource_version_is_a_conflict_not_a_silent_loss(standin: GrafanaStandIn) -> None:
    client = make(standin)
    client.save_dashboard(ownership.mark({"uid": "dawg-cas", "title": "CAS"}, OWNER))
    live = client.get_dashboard("dawg-cas")
    assert live is not None
    standin.ui_edit("dawg-cas", {"description": "Alice"})  # generation 2 now
    with pytest.raises(GrafanaConflict, match=r"HTTP 409 Conflict: .*requested RV does not match current RV"):
        client.save_dashboard({**live.dashboard, "uid": "dawg-cas", "version": live.version})
    assert standin.dashboard("dawg-cas").json["description"] == "Alice"  # type: ignore[union-attr]


def test_a_v2_dashboard_from_the_ui_is_drift_and_never_overwritten_under_fail(
    standin: GrafanaStandIn,
) -> None:
    client = make(standin)
    want = desired("dawg-v2")
    first = apply(client, want, None, Policy(OWNER))
    assert first.saved is not None
    standin.ui_save_as_v2("dawg-v2")
    posts = standin.count("PUT") + standin.count("POST")
    result = apply(
        client, want, Recorded(first.saved.version, want.hash), Policy(OWNER, drift=DriftPolicy.FAIL)
    )
    assert result.plan.action is Action.DRIFTED
    assert "converted to the v2 schema" in result.plan.reason and "nothing was written" in result.plan.reason
    assert standin.count("PUT") + standin.count("POST") == posts
    assert standin.dashboard("dawg-v2").schema.startswith("v2")  # type: ignore[union-attr]


def test_adopt_never_overwrites_a_foreign_v2_dashboard_under_fail(standin: GrafanaStandIn) -> None:
    """Review finding 7 (repro3) against the stand-in: someone's v2 dashboard, adopt + drift fail."""
    client = make(standin)
    client.save_dashboard({"uid": "theirs-v2", "title": "Theirs", "tags": ["team"]})
    standin.ui_save_as_v2("theirs-v2")
    before = standin.dashboard("theirs-v2")
    assert before is not None
    writes = standin.count("PUT") + standin.count("POST")
    result = apply(client, desired("theirs-v2"), None, Policy(OWNER, adopt=True, drift=DriftPolicy.FAIL))
    assert result.plan.action is Action.DRIFTED and result.saved is None
    assert standin.count("PUT") + standin.count("POST") == writes
    after = standin.dashboard("theirs-v2")
    assert after is not None and after.schema == before.schema and after.version == before.version
    assert after.json == before.json


def test_apis_refuses_a_short_refresh_so_dawg_raises_it_first(standin: GrafanaStandIn) -> None:
    """Review finding 3: /apis answers 400 where the legacy save raises; DAWG sends the minimum."""
    client = make(standin)
    want = desired("dawg-short", refresh="1s")
    first = apply(client, want, None, Policy(OWNER))
    assert first.saved is not None and standin.dashboard("dawg-short").json["refresh"] == "5s"  # type: ignore[union-attr]
    again = apply(make(standin), want, Recorded(first.saved.version, want.hash), Policy(OWNER))
    assert again.plan.action is Action.NOOP


def test_apis_short_refresh_with_the_minimum_unknown_fails_clearly(standin: GrafanaStandIn) -> None:
    standin.frontend_settings = False
    client = make(standin)
    with pytest.raises(
        GrafanaInvalidRequest, match=r"refused refresh '1s' \(Dashboard refresh interval is too low\)"
    ):
        apply(client, desired("dawg-short", refresh="1s"), None, Policy(OWNER))
    assert standin.dashboard("dawg-short") is None  # nothing half-written
    assert standin.count("POST", "^/api/dashboards/db") == 0  # and no fallback to the legacy raise


def test_a_v2_dashboard_on_the_12_legacy_api_is_drift_too() -> None:
    server = GrafanaStandIn("12.0", tokens={TOKEN: (1, "Admin")}).start()
    try:
        client = make(server, dialect=Dialect.LEGACY)
        want = desired("dawg-406")
        first = apply(client, want, None, Policy(OWNER))
        assert first.saved is not None
        server.ui_save_as_v2("dawg-406")
        live = client.get_dashboard("dawg-406")
        assert live is not None and live.schema == "v2alpha1"  # the 406 names the version
        result = apply(
            client, want, Recorded(first.saved.version, want.hash), Policy(OWNER, drift=DriftPolicy.FAIL)
        )
        assert result.plan.action is Action.DRIFTED and "schema v2alpha1" in result.plan.reason
        assert server.count("POST", "/api/dashboards/db") == 1
    finally:
        server.stop()


def test_provenance_annotations_when_asked(standin: GrafanaStandIn) -> None:
    client = make(standin, provenance=True, allow_ui_edits=False)
    client.save_dashboard(ownership.mark({"uid": "dawg-prov", "title": "Prov"}, OWNER))
    notes = standin.dashboard("dawg-prov").annotations  # type: ignore[union-attr]
    assert notes["grafana.app/managedBy"] == "dawg" and notes["grafana.app/managerId"] == OWNER
    assert "grafana.app/managerAllowsEdits" not in notes
    make(standin, provenance=True).save_dashboard(
        {**ownership.mark({"uid": "dawg-prov2", "title": "Prov"}, OWNER)}
    )
    assert standin.dashboard("dawg-prov2").annotations["grafana.app/managerAllowsEdits"] == "true"  # type: ignore[union-attr]


def test_a_lost_apis_create_is_recognised(standin: GrafanaStandIn) -> None:
    standin.inject(Fault(FaultKind.APPLIED_LOST, "POST", "/dashboards$"))
    standin.inject(Fault(FaultKind.STATUS, "GET", "/dashboards/dawg-lost$", times=FAST.attempts, status=503))
    saved = make(standin).save_dashboard(ownership.mark({"uid": "dawg-lost", "title": "Lost"}, OWNER))
    assert saved.recovered and saved.version == 1 and standin.count("POST", "/dashboards$") == 2


def test_apis_folder_create_that_landed_and_non_empty_delete(standin: GrafanaStandIn) -> None:
    standin.inject(Fault(FaultKind.APPLIED_500, "POST", "/folders$"))
    client = make(standin)
    folder = client.ensure_folder_path(["Landed"])
    assert folder is not None and standin.count("POST", "/folders$") == 1
    client.save_dashboard(ownership.mark({"uid": "dawg-inside", "title": "In"}, OWNER), folder_uid=folder.uid)
    assert client.delete_folder_if_owned_and_empty(folder.uid) is False
    client.delete_dashboard("dawg-inside")
    assert client.delete_folder_if_owned_and_empty(folder.uid) is False  # this pass wrote into it
    later = GrafanaClient(make(standin).connection, sleep=lambda _: None)  # the next pass
    assert later.delete_folder_if_owned_and_empty(folder.uid) is True
    assert standin.count("DELETE", "^/api/") == 0  # deletes went through /apis


@pytest.mark.parametrize("code", [401, 403])
def test_a_refused_api_discovery_fails_loudly_not_legacy(standin: GrafanaStandIn, code: int) -> None:
    """Review finding 9: 401/403 on /apis discovery is not "no /apis here" (grafana-apis.md §10.1)."""
    standin.inject(Fault(FaultKind.STATUS, "GET", "^/apis/dashboard.grafana.app$", times=10, status=code))
    client = make(standin)
    with pytest.raises((GrafanaUnauthorized, GrafanaForbidden), match=f"API discovery.*HTTP {code}"):
        apply(client, desired("dawg-loud"), None, Policy(OWNER))
    assert standin.dashboard("dawg-loud") is None
    assert standin.count("POST") + standin.count("PUT") == 0  # no silent legacy write either


def test_overwrite_replaces_an_existing_dashboard_on_every_dialect(any_profile: GrafanaStandIn) -> None:
    """`dawg preview` and naive pushers save with overwrite and no version: a second save must
    replace, not fail. On /apis a POST of an existing name is 409 AlreadyExists (the stand-in's
    create, after the apiserver's registry store Create), so the client PUTs what it just read."""
    client = make(any_profile)
    client.save_dashboard({"uid": "ow", "title": "first"}, overwrite=True)
    client.save_dashboard({"uid": "ow", "title": "second"}, overwrite=True)
    live = client.get_dashboard("ow")
    assert live is not None and live.dashboard["title"] == "second"
    others = [d for d in any_profile.orgs[1].dashboards.values() if d.uid != "ow"]
    assert others == []  # nothing else was created
