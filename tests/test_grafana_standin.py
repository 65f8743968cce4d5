"""The Grafana stand-in against ../shared/grafana-api.md, with plain requests.

These tests pin the stand-in to the documented behaviour (codes and bodies), so it
cannot drift into agreeing with whatever DAWG's client does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.grafana_standin import GrafanaStandIn

TOKEN = {"Authorization": "Bearer glsa_admin_token"}


@pytest.fixture(params=["10.4", "11.2", "11.5", "12.0", "13.0"])
def standin(request: pytest.FixtureRequest) -> Iterator[GrafanaStandIn]:
    server = GrafanaStandIn(
        request.param, tokens={"glsa_admin_token": (1, "Admin"), "glsa_viewer": (1, "Viewer")}
    ).start()
    yield server
    server.stop()


def post(standin: GrafanaStandIn, path: str, body: Any, headers: dict[str, str] = TOKEN) -> requests.Response:
    return requests.post(standin.url + path, json=body, headers=headers, timeout=5)


def get(
    standin: GrafanaStandIn, path: str, headers: dict[str, str] = TOKEN, **params: Any
) -> requests.Response:
    return requests.get(standin.url + path, headers=headers, params=params, timeout=5)


def save(standin: GrafanaStandIn, dashboard: dict[str, Any], **extra: Any) -> requests.Response:
    return post(standin, "/api/dashboards/db", {"dashboard": dashboard, **extra})


def test_health_needs_no_auth(standin: GrafanaStandIn) -> None:
    response = requests.get(standin.url + "/api/health", timeout=5)
    assert response.status_code == 200
    assert response.json()["database"] == "ok" and response.json()["version"] == standin.profile.version


def test_auth_failures(standin: GrafanaStandIn) -> None:
    assert get(standin, "/api/search", headers={}).json() == {
        "statusCode": 401,
        "messageId": "auth.unauthorized",
        "message": "Unauthorized",
    }
    bad = get(standin, "/api/search", headers={"Authorization": "Bearer nope"})
    assert (bad.status_code, bad.json()["messageId"]) == (401, "api-key.invalid")
    mismatch = get(standin, "/api/search", headers={**TOKEN, "X-Grafana-Org-Id": "2"})
    assert (mismatch.status_code, mismatch.json()["messageId"]) == (401, "api-key.organization-mismatch")
    viewer = post(
        standin,
        "/api/dashboards/db",
        {"dashboard": {"title": "x"}},
        headers={"Authorization": "Bearer glsa_viewer"},
    )
    assert viewer.status_code == 403 and viewer.json()["title"] == "Access denied"
    assert "Permissions needed: dashboards:create" in viewer.json()["message"]
    basic = requests.get(
        standin.url + "/api/search", auth=("admin", "admin"), headers={"X-Grafana-Org-Id": "2"}, timeout=5
    )
    assert basic.status_code == 200


def test_create_then_update_versions(standin: GrafanaStandIn) -> None:
    created = save(standin, {"uid": "abc", "title": "Production Overview"})
    assert created.status_code == 200
    body = created.json()
    assert body["status"] == "success" and body["version"] == 1 and body["uid"] == "abc"
    assert body["url"] == "/d/abc/production-overview" and body["slug"] == "production-overview"
    assert body.get("folderUid", "absent") == ("" if standin.profile.save_folder_uid else "absent")
    stale = save(standin, {"uid": "abc", "title": "Production Overview", "version": 0})
    if standin.profile.conflict_409:
        assert (stale.status_code, stale.json()) == (
            409,
            {"message": "Dashboard already exists. Use overwrite flag to update."},
        )
    else:
        assert (stale.status_code, stale.json()) == (
            412,
            {"status": "version-mismatch", "message": "The dashboard has been changed by someone else"},
        )
    updated = save(standin, {"uid": "abc", "title": "Production Overview", "version": 1})
    assert updated.json()["version"] == 2
    forced = save(standin, {"uid": "abc", "title": "Production Overview"}, overwrite=True)
    assert forced.json()["version"] == 3
    live = get(standin, "/api/dashboards/uid/abc").json()
    assert live["dashboard"]["version"] == 3 and live["meta"]["version"] == 3
    assert live["meta"]["folderUid"] == "" and live["meta"]["folderTitle"] == "General"
    assert live["meta"]["updatedBy"] == "sa-dawg"


def test_save_validation_order(standin: GrafanaStandIn) -> None:
    assert save(standin, {"title": "  "}).json() == {
        "status": "empty-name",
        "message": "Dashboard title cannot be empty",
    }
    assert save(standin, {"title": "t", "uid": "a b"}).json() == {
        "message": "uid contains illegal characters"
    }
    assert save(standin, {"title": "t", "uid": "x" * 41}).json() == {
        "message": "uid too long, max 40 characters"
    }
    assert save(standin, {"title": "t"}, folderUid="nope").json() == {"message": "folder not found"}
    assert save(standin, {"title": "t", "id": 999}).status_code == 404
    assert save(standin, {"title": "t"}, isFolder=True).status_code == 400
    assert post(standin, "/api/dashboards/db", {"nope": 1}).json() == {"message": "bad request data"}


def test_update_without_folder_moves_to_root(standin: GrafanaStandIn) -> None:
    post(standin, "/api/folders", {"uid": "team", "title": "Team"})
    save(standin, {"uid": "d1", "title": "D"}, folderUid="team")
    save(standin, {"uid": "d1", "title": "D"}, overwrite=True)
    assert get(standin, "/api/dashboards/uid/d1").json()["meta"]["folderUid"] == ""


def test_title_uniqueness_depends_on_version(standin: GrafanaStandIn) -> None:
    save(standin, {"uid": "one", "title": "Same"})
    second = save(standin, {"uid": "two", "title": "Same"})
    if standin.profile.unique_titles:
        assert (second.status_code, second.json()["status"]) == (412, "name-exists")
        takeover = save(standin, {"uid": "two", "title": "Same"}, overwrite=True)
        assert takeover.json()["uid"] == "one"  # overwrite takes over THAT dashboard
    else:
        assert second.status_code == 200


def test_delete_bodies(standin: GrafanaStandIn) -> None:
    save(standin, {"uid": "gone", "title": "Prod"})
    deleted = requests.delete(standin.url + "/api/dashboards/uid/gone", headers=TOKEN, timeout=5)
    expected: dict[str, Any] = {"title": "Prod", "message": "Dashboard Prod deleted"}
    expected.update({"id": 1} if standin.profile.delete_returns_id else {"uid": "gone"})
    assert deleted.json() == expected
    again = requests.delete(standin.url + "/api/dashboards/uid/gone", headers=TOKEN, timeout=5)
    assert (again.status_code, again.json()) == (404, {"message": "Dashboard not found"})
    assert get(standin, "/api/dashboards/uid/gone").json()["message"] == "Dashboard not found"


def test_search(standin: GrafanaStandIn) -> None:
    post(standin, "/api/folders", {"uid": "fa", "title": "Alpha"})
    save(standin, {"uid": "b", "title": "beta", "tags": ["x", "a"]}, folderUid="fa")
    save(standin, {"uid": "c", "title": "Gamma", "tags": ["x"]})
    if standin.profile.unified_search:
        get(standin, "/api/search")  # the unified index catches up after a search
    hits = get(standin, "/api/search").json()
    assert [h["type"] for h in hits] == ["dash-folder", "dash-db", "dash-db"]  # folders first
    assert [h["title"] for h in hits[1:]] == ["beta", "Gamma"]  # by lower-cased title
    assert hits[1]["tags"] == ["a", "x"] and hits[1]["folderUid"] == "fa"
    assert "folderUid" not in hits[2]
    both = requests.get(
        standin.url + "/api/search", headers=TOKEN, params=[("tag", "x"), ("tag", "a")], timeout=5
    ).json()
    # SQL search ANDs the tags; unified search ORs them
    assert [h["uid"] for h in both] == (["b", "c"] if standin.profile.unified_search else ["b"])
    assert [h["uid"] for h in get(standin, "/api/search", query="gam").json()] == ["c"]
    assert [h["uid"] for h in get(standin, "/api/search", folderUIDs="general", type="dash-db").json()] == [
        "c"
    ]
    over = get(standin, "/api/search", limit=5001)
    assert (over.status_code, over.json()["message"]) == (
        422,
        "Limit is above maximum allowed (5000), use page parameter to access hits beyond limit",
    )
    assert [h["uid"] for h in get(standin, "/api/search", type="dash-db", limit=1, page=2).json()] == ["c"]


def test_folders(standin: GrafanaStandIn) -> None:
    if not standin.profile.nested_folders:
        pytest.skip("nestedFolders off: see test_nested_folders_off_ignores_parent_uid")
    root = post(standin, "/api/folders", {"uid": "l1", "title": "L1"}).json()
    assert root["uid"] == "l1" and "parentUid" not in root
    parent = "l1"
    for level in range(2, 5):
        child = post(standin, "/api/folders", {"uid": f"l{level}", "title": f"L{level}", "parentUid": parent})
        assert child.status_code == 200 and child.json()["parentUid"] == parent
        parent = f"l{level}"
    too_deep = post(standin, "/api/folders", {"uid": "l5", "title": "L5", "parentUid": "l4"})
    assert (too_deep.status_code, too_deep.json()["message"]) == (400, "Maximum nested folder depth reached")
    dup = post(standin, "/api/folders", {"uid": "l1", "title": "Other"})
    assert (dup.status_code, dup.json()) == (
        (412, {"status": "version-mismatch", "message": "the folder has been changed by someone else"})
        if standin.profile.folder_uid_412
        else (409, {"message": "a folder/dashboard with the same uid already exists"})
    )
    assert post(standin, "/api/folders", {"uid": "general", "title": "G"}).json() == {
        "message": "invalid uid for folder provided"
    }
    assert post(standin, "/api/folders", {"title": ""}).json() == {"message": "folder title cannot be empty"}
    assert get(standin, "/api/folders/nope").json() == {"status": "not-found", "message": "folder not found"}
    assert [f["uid"] for f in get(standin, "/api/folders", parentUid="l1").json()] == ["l2"]
    save(standin, {"uid": "inside", "title": "Inside"}, folderUid="l3")
    deleted = requests.delete(standin.url + "/api/folders/l2", headers=TOKEN, timeout=5)
    assert deleted.json() == {"message": "Folder deleted"}
    # The real API cascades: subfolders and their dashboards are gone too.
    assert get(standin, "/api/folders/l3").status_code == 404
    assert get(standin, "/api/dashboards/uid/inside").status_code == 404


def test_versions_shape(standin: GrafanaStandIn) -> None:
    save(standin, {"uid": "v", "title": "V"}, message="first")
    save(standin, {"uid": "v", "title": "V", "version": 1}, message="second")
    body = get(standin, "/api/dashboards/uid/v/versions").json()
    rows = body["versions"] if standin.profile.versions_object else body
    if standin.profile.versions_object:
        assert body["continueToken"] == ""
    assert [r["version"] for r in rows] == [2, 1]
    assert [r["message"] for r in rows] == ["second", "Initial save"]


# ---- what Grafana rewrites and what it ignores (grafana-api.md errata) -----------------------


def test_refresh_under_the_minimum_is_raised_not_refused(standin: GrafanaStandIn) -> None:
    assert save(standin, {"uid": "r", "title": "R", "refresh": "1s"}).status_code == 200
    assert get(standin, "/api/dashboards/uid/r").json()["dashboard"]["refresh"] == "5s"
    assert save(standin, {"uid": "r2", "title": "R2", "refresh": "1m"}).status_code == 200
    assert get(standin, "/api/dashboards/uid/r2").json()["dashboard"]["refresh"] == "1m"
    settings = get(standin, "/api/frontend/settings").json()
    assert settings["minRefreshInterval"] == "5s"
    listed = standin.profile.nested_folders and standin.profile.release < (12, 2)  # PR #109212
    assert settings["featureToggles"].get("nestedFolders", False) is listed


def test_titles_are_trimmed_and_limits_count_bytes(standin: GrafanaStandIn) -> None:
    assert save(standin, {"uid": "t", "title": "  Spaced  "}).status_code == 200
    assert get(standin, "/api/dashboards/uid/t").json()["dashboard"]["title"] == "Spaced"
    long = save(standin, {"uid": "l", "title": "é" * 2501})  # 2501 characters, 5002 bytes
    assert (long.status_code, long.json()["status"]) == (400, "title-too-long")
    message = save(standin, {"uid": "m", "title": "M"}, message="é" * 251)  # 502 bytes
    assert (message.status_code, message.json()["message"]) == (400, "message too long, max 500 characters")
    assert get(standin, "/api/dashboards/uid/l").status_code == 404


def test_nested_folders_off_ignores_parent_uid(standin: GrafanaStandIn) -> None:
    assert post(standin, "/api/folders", {"uid": "p", "title": "P"}).status_code == 200
    child = post(standin, "/api/folders", {"uid": "c", "title": "C", "parentUid": "p"})
    assert child.status_code == 200
    listed = get(standin, "/api/folders", parentUid="p").json()
    if standin.profile.nested_folders:
        assert child.json()["parentUid"] == "p" and [row["uid"] for row in listed] == ["c"]
    else:
        assert "parentUid" not in child.json()
        assert sorted(row["uid"] for row in listed) == ["c", "p"]  # flat, parentUid ignored


def test_taken_folder_uid_is_409_or_412_from_12(standin: GrafanaStandIn) -> None:
    assert post(standin, "/api/folders", {"uid": "dup", "title": "Dup"}).status_code == 200
    again = post(standin, "/api/folders", {"uid": "dup", "title": "Other"})
    assert again.status_code == (412 if standin.profile.folder_uid_412 else 409)
    assert get(standin, "/api/folders/dup").json()["title"] == "Dup"


def test_save_answer_has_folder_uid_except_on_10(standin: GrafanaStandIn) -> None:
    post(standin, "/api/folders", {"uid": "f", "title": "F"})
    answer = save(standin, {"uid": "d", "title": "D"}, folderUid="f").json()
    assert ("folderUid" in answer) is standin.profile.save_folder_uid


def test_unified_search_ors_tags_and_lags(standin: GrafanaStandIn) -> None:
    save(standin, {"uid": "a", "title": "A", "tags": ["x"]})
    save(standin, {"uid": "b", "title": "B", "tags": ["x", "y"]})
    first = [hit["uid"] for hit in get(standin, "/api/search", tag=["x", "y"]).json()]
    second = [hit["uid"] for hit in get(standin, "/api/search", tag=["x", "y"]).json()]
    if standin.profile.unified_search:
        assert first == [] and second == ["a", "b"]  # lags one search; ORs the tags
    else:
        assert first == second == ["b"]


def test_folder_counts_read_the_database_or_the_lagging_index(standin: GrafanaStandIn) -> None:
    post(standin, "/api/folders", {"uid": "top", "title": "Top"})
    post(standin, "/api/folders", {"uid": "sub", "title": "Sub", "parentUid": "top"})
    save(standin, {"uid": "in-sub", "title": "In"}, folderUid="sub")
    counts = get(standin, "/api/folders/top/counts").json()
    nested = standin.profile.nested_folders
    lagging = standin.profile.lagging_counts  # 12.x+: counted through the search index
    assert counts == {
        "folder": 1 if nested else 0,
        "dashboard": 1 if nested and not lagging else 0,
        "librarypanel": 0,
        "alertrule": 0,
    }
    assert get(standin, "/api/folders/sub/counts").json()["dashboard"] == 1
    assert get(standin, "/api/folders/nope/counts").status_code == 404


# ---- /apis (tests/grafana_standin_apis.py; grafana-apis.md) -------------------------------------


def test_apis_discovery_and_k8s_shapes(standin: GrafanaStandIn) -> None:
    group = get(standin, "/apis/dashboard.grafana.app")
    if not standin.profile.apis:
        assert group.status_code == 404
        return
    body = group.json()
    assert body["preferredVersion"]["version"] == standin.profile.apis[0]
    assert [v["version"] for v in body["versions"]] == list(standin.profile.apis)
    version = "v1" if "v1" in standin.profile.apis else "v1beta1"
    base = f"/apis/dashboard.grafana.app/{version}/namespaces/default/dashboards"
    obj = {"metadata": {"name": "k1", "labels": {"a": "b"}}, "spec": {"title": "K", "uid": "x", "version": 9}}
    created = post(standin, base, obj)
    assert created.status_code == 201
    meta = created.json()["metadata"]
    assert meta["generation"] == 1 and meta["labels"]["a"] == "b" and "uid" not in created.json()["spec"]
    again = post(standin, base, obj)
    assert (again.status_code, again.json()["reason"]) == (409, "AlreadyExists")
    stale = requests.put(
        standin.url + base + "/k1",
        json={"metadata": {"name": "k1", "resourceVersion": "1"}, "spec": {"title": "K2"}},
        headers=TOKEN,
        timeout=5,
    )
    assert (stale.status_code, stale.json()["reason"]) == (409, "Conflict")
    assert "requested RV does not match current RV" in stale.json()["message"]
    same = {
        "metadata": {"name": "k1", "resourceVersion": meta["resourceVersion"], "labels": {}},
        "spec": {"title": "K"},
    }
    unchanged = requests.put(standin.url + base + "/k1", json=same, headers=TOKEN, timeout=5).json()
    assert unchanged["metadata"]["generation"] == 1  # spec unchanged: generation kept
    assert unchanged["metadata"]["resourceVersion"] != meta["resourceVersion"]  # but a new RV
    other = get(standin, base.replace("/default/", "/org-2/") + "/k1")
    assert (other.status_code, other.json()["reason"]) == (403, "Forbidden")
    v2 = post(standin, base, {"metadata": {"name": "k2"}, "spec": {"title": "V", "elements": {}}})
    assert v2.status_code == 400 and "v2 format" in v2.json()["message"]


def test_a_v2_stored_dashboard_on_each_api(standin: GrafanaStandIn) -> None:
    if not standin.profile.apis:
        pytest.skip("no v2 before 12")
    save(standin, {"uid": "ui", "title": "UI"})
    standin.ui_save_as_v2("ui")
    version = "v1" if "v1" in standin.profile.apis else "v1beta1"
    read = get(standin, f"/apis/dashboard.grafana.app/{version}/namespaces/default/dashboards/ui").json()
    assert read["status"]["conversion"]["storedVersion"].startswith("v2")
    legacy = get(standin, "/api/dashboards/uid/ui")
    if standin.profile.conflict_409:  # 13.x: a lossy down-conversion
        assert legacy.status_code == 200
    else:  # 12.x: 406 naming the v2 API
        assert legacy.status_code == 406
        assert (
            "/apis/dashboard.grafana.app/v2alpha1/namespaces/default/dashboards/ui"
            in legacy.json()["message"]
        )


def test_which_v2_versions_each_release_serves() -> None:
    """12.0/12.1 serve v2alpha1 only (v2beta1 came with PR #108172, after the 12.1 branch);
    13.0 serves v2 (preferred), v2beta1 and v2alpha1 (grafana-apis.md §0)."""
    expected = {
        "12.0": ["v1beta1", "v0alpha1", "v2alpha1"],
        "13.0": ["v2", "v1", "v1beta1", "v0alpha1", "v2alpha1", "v2beta1"],
    }
    for profile, versions in expected.items():
        server = GrafanaStandIn(profile, tokens={"glsa_admin_token": (1, "Admin")}).start()
        try:
            group = get(server, "/apis/dashboard.grafana.app").json()
            assert [v["version"] for v in group["versions"]] == versions
            spec = {"title": "V", "elements": {}, "layout": {"kind": "GridLayout", "spec": {"items": []}}}
            base = "/apis/dashboard.grafana.app/{}/namespaces/default/dashboards"
            beta = post(server, base.format("v2beta1"), {"metadata": {"name": "b"}, "spec": spec})
            assert beta.status_code == (404 if profile == "12.0" else 201)
            alpha = post(server, base.format("v2alpha1"), {"metadata": {"name": "a"}, "spec": spec})
            assert alpha.status_code == 201
            classic = versions[0] if profile == "12.0" else "v1"
            read = get(server, base.format(classic) + "/a").json()
            assert read["status"]["conversion"]["storedVersion"] == "v2alpha1"
        finally:
            server.stop()
