"""The Grafana client against the stand-in: every profile, every fault, the folder rules."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from dawg_provider.errors import (
    DawgError,
    GrafanaConflict,
    GrafanaForbidden,
    GrafanaInvalidRequest,
    GrafanaServerError,
    GrafanaUnauthorized,
    GrafanaUnreachable,
    GrafanaUnsupported,
)
from dawg_provider.grafana import GrafanaClient, GrafanaConnection, RetryPolicy, ownership
from dawg_provider.grafana.dialect import Dialect
from tests.grafana_standin import Fault, FaultKind, GrafanaStandIn, StoredDashboard

PROFILE_NAMES = ["10.4", "11.2", "11.5", "12.0", "13.0"]

TOKEN = "glsa_admin_token"
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, total=30)


@pytest.fixture(params=PROFILE_NAMES)
def standin(request: pytest.FixtureRequest) -> Iterator[GrafanaStandIn]:
    server = GrafanaStandIn(request.param, tokens={TOKEN: (1, "Admin"), "glsa_viewer": (1, "Viewer")}).start()
    yield server
    server.stop()


@pytest.fixture
def grafana() -> Iterator[GrafanaStandIn]:
    """One profile (12.0) for the fault tests."""
    server = GrafanaStandIn("12.0", tokens={TOKEN: (1, "Admin")}).start()
    yield server
    server.stop()


Factory = Callable[..., GrafanaClient]


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def client_for(slept: list[float]) -> Factory:
    """Clients whose sleeps are recorded and advance a fake clock instead of waiting."""

    def sleep(seconds: float) -> None:
        slept.append(seconds)

    def clock() -> float:
        return sum(slept)

    def make(server: GrafanaStandIn, **overrides: object) -> GrafanaClient:
        options: dict[str, object] = {
            "token": TOKEN,
            "retry": FAST,
            "timeout": (2.0, 2.0),
            "dialect": Dialect.LEGACY,  # the legacy dialect on every profile; /apis: test_grafana_apis.py
            **overrides,
        }
        return GrafanaClient(GrafanaConnection(server.url, **options), sleep=sleep, clock=clock)  # type: ignore[arg-type]

    return make


def test_health_reports_the_version(standin: GrafanaStandIn, client_for: Factory) -> None:
    health = client_for(standin).health()
    assert (health.database, health.version) == ("ok", standin.profile.version)


def test_create_read_update_delete(standin: GrafanaStandIn, client_for: Factory) -> None:
    client = client_for(standin)
    created = client.save_dashboard({"uid": "crud", "title": "CRUD", "panels": []}, message="first")
    assert (created.uid, created.version, created.folder_uid) == ("crud", 1, "")
    assert created.url == "/d/crud/crud"
    live = client.get_dashboard("crud")
    assert live is not None
    assert (live.version, live.title, live.updated_by, live.provisioned) == (1, "CRUD", "sa-dawg", False)
    updated = client.save_dashboard({"uid": "crud", "title": "CRUD", "panels": [], "version": 1})
    assert updated.version == 2
    assert [row["version"] for row in client.dashboard_versions("crud")] == [2, 1]  # both response shapes
    assert client.delete_dashboard("crud") is True
    assert client.delete_dashboard("crud") is False  # 404 counts as done
    assert client.get_dashboard("crud") is None


def test_conflicts_carry_grafanas_word(standin: GrafanaStandIn, client_for: Factory) -> None:
    client = client_for(standin)
    client.save_dashboard({"uid": "c1", "title": "Conflict"})
    with pytest.raises(GrafanaConflict) as caught:
        client.save_dashboard({"uid": "c1", "title": "Conflict", "version": 0})
    error = caught.value
    if standin.profile.conflict_409:
        assert (error.status, error.word) == (409, None)
        assert "Dashboard already exists. Use overwrite flag to update." in str(error)
    else:
        assert (error.status, error.word) == (412, "version-mismatch")
    assert str(error).startswith("Grafana POST /api/dashboards/db (dashboard 'c1' ('Conflict')): HTTP ")
    assert TOKEN not in str(error)
    assert standin.count("POST", "/api/dashboards/db") == 2  # a conflict is never retried


def test_name_exists_only_up_to_11_2(standin: GrafanaStandIn, client_for: Factory) -> None:
    client = client_for(standin)
    client.save_dashboard({"uid": "n1", "title": "Same title"})
    if standin.profile.unique_titles:
        with pytest.raises(GrafanaConflict) as caught:
            client.save_dashboard({"uid": "n2", "title": "Same title"})
        assert caught.value.word == "name-exists"
    else:
        assert client.save_dashboard({"uid": "n2", "title": "Same title"}).uid == "n2"


def test_invalid_requests_keep_grafanas_message_and_are_not_retried(
    grafana: GrafanaStandIn, client_for: Factory
) -> None:
    client = client_for(grafana)
    with pytest.raises(GrafanaInvalidRequest, match="HTTP 400: uid contains illegal characters"):
        client.save_dashboard({"uid": "bad uid", "title": "x"})
    with pytest.raises(GrafanaInvalidRequest, match="HTTP 400: folder not found"):
        client.save_dashboard({"uid": "ok", "title": "x"}, folder_uid="missing")
    assert grafana.count("POST") == 2


def test_auth_errors_never_show_the_token(grafana: GrafanaStandIn, client_for: Factory) -> None:
    secret = "glsa_this_is_a_secret_token_value"
    with pytest.raises(GrafanaUnauthorized) as caught:
        client_for(grafana, token=secret).get_dashboard("x")
    assert caught.value.word == "api-key.invalid" and secret not in str(caught.value)
    assert secret not in repr(GrafanaConnection(grafana.url, token=secret))
    with pytest.raises(GrafanaUnauthorized, match="organization-mismatch"):
        client_for(grafana, org_id=2).get_dashboard("x")
    assert grafana.count("GET") == 2  # 401 is never retried


def test_viewer_is_forbidden_to_write(client_for: Factory) -> None:
    server = GrafanaStandIn("12.0", tokens={"glsa_viewer": (1, "Viewer")}).start()
    try:
        with pytest.raises(GrafanaForbidden, match="Permissions needed: dashboards:create"):
            client_for(server, token="glsa_viewer").save_dashboard({"uid": "v", "title": "V"})
    finally:
        server.stop()


def test_basic_auth_and_org_header(grafana: GrafanaStandIn, client_for: Factory) -> None:
    client = client_for(grafana, token=None, username="admin", password="admin", org_id=2)
    client.save_dashboard({"uid": "org2", "title": "In org 2"})
    assert grafana.dashboard("org2", org=2) is not None and grafana.dashboard("org2", org=1) is None


def test_sub_path_base_url(client_for: Factory) -> None:
    server = GrafanaStandIn("12.0", tokens={TOKEN: (1, "Admin")}, sub_path="/grafana").start()
    try:
        client = client_for(server)
        assert server.url.endswith("/grafana")
        assert client.save_dashboard({"uid": "sp", "title": "Sub"}).version == 1
    finally:
        server.stop()


def test_connection_refuses_urls_with_credentials() -> None:
    with pytest.raises(DawgError, match="must not contain credentials"):
        GrafanaConnection("https://admin:hunter2@grafana.example.com")
    with pytest.raises(DawgError, match="is not an http"):
        GrafanaConnection("grafana.example.com")


# ---- retries ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [502, 503, 504, 500])
def test_reads_retry_transient_errors(
    grafana: GrafanaStandIn, client_for: Factory, slept: list[float], status: int
) -> None:
    grafana.inject(Fault(FaultKind.STATUS, "GET", "/api/dashboards/uid/", times=2, status=status))
    assert client_for(grafana).get_dashboard("missing") is None
    assert grafana.count("GET") == 3 and len(slept) == 2
    assert all(0 <= delay <= FAST.max_delay for delay in slept)


def test_retry_after_is_honoured(grafana: GrafanaStandIn, client_for: Factory, slept: list[float]) -> None:
    grafana.inject(Fault(FaultKind.RETRY_AFTER, "GET", "/api/search", retry_after="2"))
    assert list(client_for(grafana).search()) == []
    assert slept == [2.0]


def test_persistent_failure_stops_after_the_attempt_cap(grafana: GrafanaStandIn, client_for: Factory) -> None:
    grafana.inject(
        Fault(
            FaultKind.STATUS,
            "GET",
            "/api/dashboards/uid/",
            times=100,
            status=503,
            body={"message": "unavailable"},
        )
    )
    with pytest.raises(GrafanaServerError, match="HTTP 503: unavailable"):
        client_for(grafana).get_dashboard("x")
    assert grafana.count("GET") == FAST.attempts


def test_total_time_cap(grafana: GrafanaStandIn, client_for: Factory, slept: list[float]) -> None:
    grafana.inject(Fault(FaultKind.RETRY_AFTER, "GET", "/api/search", times=100, retry_after="20"))
    client = client_for(grafana, retry=RetryPolicy(attempts=10, total=30))
    with pytest.raises(GrafanaServerError, match="HTTP 429"):
        list(client.search())
    assert sum(slept) <= 30


def test_connection_reset_and_timeouts_on_reads(grafana: GrafanaStandIn, client_for: Factory) -> None:
    grafana.inject(Fault(FaultKind.RESET, "GET", "/api/health"))
    assert client_for(grafana).health().database == "ok"
    grafana.inject(Fault(FaultKind.LATENCY, "GET", "/api/health", times=10, delay=0.5))
    with pytest.raises(GrafanaUnreachable, match=r"timed out \(after 4 attempts\)"):
        client_for(grafana, timeout=(0.2, 0.2)).health()


def test_unreachable_grafana(client_for: Factory) -> None:
    server = GrafanaStandIn().start()
    server.stop()
    with pytest.raises(GrafanaUnreachable, match="connection refused"):
        client_for(server).get_dashboard("x")


def test_400_is_never_retried(grafana: GrafanaStandIn, client_for: Factory, slept: list[float]) -> None:
    with pytest.raises(GrafanaInvalidRequest, match="empty-name: Dashboard title cannot be empty"):
        client_for(grafana).save_dashboard({"title": ""})
    assert slept == [] and grafana.count("POST") == 1


# ---- writes that may have landed ---------------------------------------------------


def test_lost_response_after_an_applied_write_is_recovered_by_reading(
    grafana: GrafanaStandIn, client_for: Factory
) -> None:
    grafana.inject(Fault(FaultKind.APPLIED_LOST, "POST", "/api/dashboards/db"))
    result = client_for(grafana).save_dashboard(
        {"uid": "lost", "title": "Lost answer", "panels": [{"id": 1}]}
    )
    assert result.recovered and result.version == 1
    assert grafana.count("POST") == 1  # no blind second write
    assert grafana.dashboard("lost") is not None and grafana.dashboard("lost").version == 1  # type: ignore[union-attr]


def test_database_locked_500_that_landed_is_not_written_twice(
    grafana: GrafanaStandIn, client_for: Factory
) -> None:
    grafana.inject(Fault(FaultKind.APPLIED_500, "POST", "/api/dashboards/db"))
    result = client_for(grafana).save_dashboard({"uid": "locked", "title": "Locked"})
    assert result.recovered and grafana.count("POST") == 1
    assert len(grafana.dashboard("locked").history) == 1  # type: ignore[union-attr]


def test_500_that_did_not_land_is_retried_after_reading(grafana: GrafanaStandIn, client_for: Factory) -> None:
    grafana.inject(Fault(FaultKind.STATUS, "POST", "/api/dashboards/db", status=500))
    result = client_for(grafana).save_dashboard({"uid": "retry", "title": "Retry"})
    assert not result.recovered and result.version == 1
    assert grafana.count("POST") == 2 and grafana.count("GET", "/api/dashboards/uid/retry") == 1


def test_429_on_a_write_is_retried_without_reading(
    grafana: GrafanaStandIn, client_for: Factory, slept: list[float]
) -> None:
    grafana.inject(Fault(FaultKind.RETRY_AFTER, "POST", "/api/dashboards/db", retry_after="1"))
    assert client_for(grafana).save_dashboard({"uid": "rl", "title": "Rate limited"}).version == 1
    assert grafana.count("GET") == 0 and slept == [1.0]


def test_a_lost_write_that_did_not_land_is_sent_again(grafana: GrafanaStandIn, client_for: Factory) -> None:
    grafana.inject(Fault(FaultKind.RESET, "POST", "/api/dashboards/db"))
    result = client_for(grafana).save_dashboard({"uid": "again", "title": "Again"})
    assert not result.recovered and grafana.count("POST") == 2


# ---- search and folders ------------------------------------------------------------


def test_search_pages_over_5000(grafana: GrafanaStandIn, client_for: Factory) -> None:
    org = grafana.orgs[1]
    for i in range(5500):
        uid = f"d{i:05d}"
        org.dashboards[uid] = StoredDashboard(
            i + 1, uid, {"title": f"Dash {i:05d}", "tags": ["bulk"]}, 1, "", "", "", "a", "a"
        )
    client = client_for(grafana)
    uids = [hit.uid for hit in client.search(tags=("bulk",), page_size=100_000)]
    assert len(uids) == 5500 == len(set(uids))
    assert grafana.count("GET", "/api/search") == 2  # capped at 5000 per page, never a 422


def test_managed_dashboards_by_owner_tags(grafana: GrafanaStandIn, client_for: Factory) -> None:
    client = client_for(grafana)
    client.save_dashboard(ownership.mark({"uid": "m1", "title": "Mine"}, "pulumi-dawg-dev"))
    client.save_dashboard(ownership.mark({"uid": "m2", "title": "Other stack"}, "pulumi-dawg-prod"))
    client.save_dashboard({"uid": "m3", "title": "Hand made", "tags": ["dawg-owner:pulumi-dawg-dev"]})
    assert [hit.uid for hit in client.managed_dashboards("pulumi-dawg-dev")] == ["m1"]


def test_ensure_folder_path_creates_once_and_reuses(standin: GrafanaStandIn, client_for: Factory) -> None:
    client = client_for(standin)
    if not standin.profile.nested_folders:
        with pytest.raises(GrafanaUnsupported, match="has nested folders off"):
            client.ensure_folder_path(["Team A", "Services", "Payments"])
        assert standin.count("POST") == 0 and standin.orgs[1].folders == {}  # nothing half-made
        return
    leaf = client.ensure_folder_path(["Team A", "Services", "Payments"])
    assert leaf is not None and leaf.title == "Payments"
    assert ownership.is_dawg_folder(leaf.uid)
    posts = standin.count("POST", "/api/folders")
    assert posts == 3
    again = client.ensure_folder_path(["Team A", "Services", "Payments"])
    assert again == leaf and standin.count("POST", "/api/folders") == posts
    assert client.ensure_folder_path([]) is None


def test_existing_foreign_folders_are_reused_by_title(grafana: GrafanaStandIn, client_for: Factory) -> None:
    client = client_for(grafana)
    client.create_folder("Platform", uid="hand-made")
    leaf = client.ensure_folder_path(["Platform", "Dashboards"])
    assert leaf is not None and leaf.parent_uid == "hand-made"


def test_concurrent_folder_creation_returns_the_existing_one(
    standin: GrafanaStandIn, client_for: Factory
) -> None:
    """409 on a taken folder uid, 412 on 12.x+: both mean "it exists", read and used."""
    client = client_for(standin)
    uid = ownership.folder_uid("", "Race")
    first = client.create_folder("Race", uid=uid)
    assert client.create_folder("Race", uid=uid) == first
    assert standin.count("POST", "/api/folders") == 2 and len(standin.orgs[1].folders) == 1


def test_folders_are_deleted_only_when_dawgs_and_empty(grafana: GrafanaStandIn, client_for: Factory) -> None:
    client = client_for(grafana)
    foreign = client.create_folder("Theirs", uid="theirs")
    assert client.delete_folder_if_owned_and_empty(foreign.uid) is False
    ours = client.ensure_folder_path(["Ours"])
    assert ours is not None
    client.save_dashboard({"uid": "inside", "title": "Inside"}, folder_uid=ours.uid)
    pruner = client_for(grafana)  # a later pass: a folder written this pass is never deleted by it
    assert pruner.delete_folder_if_owned_and_empty(ours.uid) is False  # holds a dashboard
    child = client.ensure_folder_path(["Ours", "Child"])
    client.delete_dashboard("inside")
    assert pruner.delete_folder_if_owned_and_empty(ours.uid) is False  # holds a folder
    assert child is not None and pruner.delete_folder_if_owned_and_empty(child.uid) is True
    assert pruner.delete_folder_if_owned_and_empty(ours.uid) is True
    assert client.get_folder("theirs") is not None
    assert grafana.count("DELETE", "/api/folders/theirs") == 0
