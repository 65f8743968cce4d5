"""The Kubernetes API stand-in answers as kube-apiserver does (see tests/k8s_standin.py for
the source of each behaviour): Status bodies, generation, merge patch, consistent paging,
410/400/403/409/422, watch streams with bookmarks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.k8s_selectors import SelectorError
from tests.k8s_standin import KubernetesStandIn, matches

BASE = "/apis/dawg.urcloud.cc/v1"


@pytest.fixture
def k8s() -> Iterator[KubernetesStandIn]:
    server = KubernetesStandIn(token="t", bookmark_interval=0.1).start()
    yield server
    server.stop()


def call(
    k8s: KubernetesStandIn,
    method: str,
    path: str,
    body: bytes | None = None,
    content_type: str = "application/merge-patch+json",
    token: str = "t",
) -> requests.Response:
    return requests.request(
        method,
        k8s.url + path,
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
        timeout=5,
    )


def test_status_patch_moves_resource_version_not_generation(k8s: KubernetesStandIn) -> None:
    k8s.add("ns", "a", {"generator": "g"})
    before = k8s.get("ns", "a")["metadata"]
    patched = call(
        k8s,
        "PATCH",
        f"{BASE}/namespaces/ns/dashboards/a/status",
        b'{"status": {"observedGeneration": 1}, "spec": {"generator": "evil"}}',
    ).json()
    assert patched["status"] == {"observedGeneration": 1} and patched["spec"] == {"generator": "g"}
    assert patched["metadata"]["generation"] == before["generation"]
    assert int(patched["metadata"]["resourceVersion"]) > int(before["resourceVersion"])
    k8s.set_spec("ns", "a", {"generator": "h"})
    assert k8s.get("ns", "a")["metadata"]["generation"] == 2


def test_error_bodies_are_status_objects(k8s: KubernetesStandIn) -> None:
    k8s.add("ns", "a", {"generator": "g"})
    missing = call(k8s, "GET", f"{BASE}/namespaces/ns/dashboards/nope")
    assert missing.status_code == 404 and missing.json()["kind"] == "Status"
    assert missing.json()["message"] == 'dashboards.dawg.urcloud.cc "nope" not found'
    stale = call(
        k8s,
        "PATCH",
        f"{BASE}/namespaces/ns/dashboards/a/status",
        b'{"metadata": {"resourceVersion": "1"}, "status": {"observedGeneration": 5}}',
    )
    assert stale.status_code == 409 and stale.json()["reason"] == "Conflict"
    assert "the object has been modified" in stale.json()["message"]
    invalid = call(k8s, "PATCH", f"{BASE}/namespaces/ns/dashboards/a/status", b'{"status": "broken"}')
    assert invalid.status_code == 422 and invalid.json()["reason"] == "Invalid"
    wrong_type = call(
        k8s,
        "PATCH",
        f"{BASE}/namespaces/ns/dashboards/a/status",
        b"{}",
        "application/strategic-merge-patch+json",
    )
    assert wrong_type.status_code == 415
    assert call(k8s, "GET", f"{BASE}/dashboards", token="wrong").status_code == 401
    assert "status" not in k8s.get("ns", "a")  # nothing above was stored


def test_status_is_validated_against_the_crd_schema_and_unknown_fields_pruned(k8s: KubernetesStandIn) -> None:
    k8s.add("ns", "a", {"generator": "g"})
    before = k8s.get("ns", "a")
    bad = call(
        k8s,
        "PATCH",
        f"{BASE}/namespaces/ns/dashboards/a/status",
        json.dumps({"status": {"observedGeneration": "one", "conditions": [{"type": "Ready"}]}}).encode(),
    )
    assert bad.status_code == 422 and bad.json()["reason"] == "Invalid"
    fields = {cause["field"] for cause in bad.json()["details"]["causes"]}
    assert "status.observedGeneration" in fields and "status.conditions[0].status" in fields
    assert k8s.get("ns", "a") == before  # not touched: no status, same resourceVersion
    pruned = call(
        k8s,
        "PATCH",
        f"{BASE}/namespaces/ns/dashboards/a/status",
        b'{"status": {"observedGeneration": 1, "token": "leak"}}',
    )
    assert pruned.status_code == 200 and pruned.json()["status"] == {"observedGeneration": 1}


def test_paging_is_a_consistent_snapshot_with_opaque_tokens(k8s: KubernetesStandIn) -> None:
    for i in range(6):
        k8s.add("ns", f"d{i}", {"generator": "g"})
    first = call(k8s, "GET", f"{BASE}/dashboards?limit=2").json()
    token = first["metadata"]["continue"]
    assert not token.isdigit() and first["metadata"]["remainingItemCount"] == 4
    k8s.delete("ns", "d2")  # the next page's first object: an offset would skip d3
    k8s.add("ns", "d9", {"generator": "g"})
    names = [item["metadata"]["name"] for item in first["items"]]
    while token:
        page = call(k8s, "GET", f"{BASE}/dashboards?limit=2&continue={token}").json()
        assert page["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
        names += [item["metadata"]["name"] for item in page["items"]]
        token = page["metadata"].get("continue")
    assert names == ["d0", "d1", "d2", "d3", "d4", "d5"]  # as of the first page


def test_expired_and_garbled_continue_tokens(k8s: KubernetesStandIn) -> None:
    for i in range(3):
        k8s.add("ns", f"d{i}", {"generator": "g"})
    token = call(k8s, "GET", f"{BASE}/dashboards?limit=1").json()["metadata"]["continue"]
    k8s.compact()
    gone = call(k8s, "GET", f"{BASE}/dashboards?limit=1&continue={token}")
    assert gone.status_code == 410 and gone.json()["reason"] == "Expired"
    assert "too old to display a consistent list result" in gone.json()["message"]
    garbled = call(k8s, "GET", f"{BASE}/dashboards?limit=1&continue=%21%21notbase64")
    assert garbled.status_code == 400 and garbled.json()["reason"] == "BadRequest"


@pytest.mark.parametrize("selector", ["a=b=c", "a in (x", "=b", "a b", "a,,b", "-a=b", "a=" + "x" * 64])
def test_bad_label_selectors_are_400(k8s: KubernetesStandIn, selector: str) -> None:
    answer = requests.get(
        k8s.url + f"{BASE}/dashboards",
        params={"labelSelector": selector},
        headers={"Authorization": "Bearer t"},
        timeout=5,
    )
    assert answer.status_code == 400 and "unable to parse requirement" in answer.json()["message"]
    with pytest.raises(SelectorError):
        matches({}, selector)


def test_rbac_table_answers_403_with_the_api_servers_message(k8s: KubernetesStandIn) -> None:
    k8s.add("team-a", "a", {"generator": "g"})
    k8s.rbac = {("list", "dashboards", "team-a"), ("patch", "dashboards/status", "team-a")}
    assert call(k8s, "GET", f"{BASE}/namespaces/team-a/dashboards").status_code == 200
    cluster = call(k8s, "GET", f"{BASE}/dashboards")
    assert cluster.status_code == 403 and cluster.json()["reason"] == "Forbidden"
    assert cluster.json()["message"] == (
        'dashboards.dawg.urcloud.cc is forbidden: User "system:serviceaccount:dawg:dawg-sync" cannot list '
        'resource "dashboards" in API group "dawg.urcloud.cc" at the cluster scope'
    )
    get = call(k8s, "GET", f"{BASE}/namespaces/team-a/dashboards/a")
    assert get.status_code == 403 and 'in the namespace "team-a"' in get.json()["message"]
    ok = call(
        k8s,
        "PATCH",
        f"{BASE}/namespaces/team-a/dashboards/a/status",
        b'{"status": {"observedGeneration": 1}}',
    )
    assert ok.status_code == 200


def test_leases_conflict_on_stale_resource_version(k8s: KubernetesStandIn) -> None:
    path = "/apis/coordination.k8s.io/v1/namespaces/dawg/leases"
    lease = {"metadata": {"name": "l"}, "spec": {"holderIdentity": "a"}}
    created = call(k8s, "POST", path, json.dumps(lease).encode(), "application/json")
    assert created.status_code == 201
    again = call(k8s, "POST", path, json.dumps(lease).encode(), "application/json")
    assert again.status_code == 409 and again.json()["reason"] == "AlreadyExists"
    current = created.json()
    current["spec"]["holderIdentity"] = "b"
    assert call(k8s, "PUT", f"{path}/l", json.dumps(current).encode(), "application/json").status_code == 200
    stale = call(k8s, "PUT", f"{path}/l", json.dumps(current).encode(), "application/json")
    assert stale.status_code == 409 and stale.json()["reason"] == "Conflict"
    assert k8s.get("dawg", "l", "leases")["spec"]["holderIdentity"] == "b"


def watch_lines(k8s: KubernetesStandIn, query: str, out: list[dict[str, Any]]) -> None:
    with requests.get(
        k8s.url + f"{BASE}/dashboards?watch=true&{query}",
        headers={"Authorization": "Bearer t"},
        stream=True,
        timeout=10,
    ) as answer:
        for line in answer.iter_lines():
            if line:
                out.append(json.loads(line))


def test_watch_streams_changes_and_bookmarks(k8s: KubernetesStandIn) -> None:
    k8s.add("ns", "a", {"generator": "g"})
    since = k8s.revision
    events: list[dict[str, Any]] = []
    reader = threading.Thread(
        target=watch_lines,
        args=(k8s, f"resourceVersion={since}&allowWatchBookmarks=true&timeoutSeconds=1", events),
    )
    reader.start()
    k8s.set_spec("ns", "a", {"generator": "h"})
    k8s.add("ns", "b", {"generator": "g"})
    k8s.delete("ns", "b")
    reader.join(5)
    kinds = [e["type"] for e in events if e["type"] != "BOOKMARK"]
    assert kinds == ["MODIFIED", "ADDED", "DELETED"]
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert bookmarks and set(bookmarks[-1]["object"]["metadata"]) == {"resourceVersion"}
    assert int(bookmarks[-1]["object"]["metadata"]["resourceVersion"]) == k8s.revision


def test_watch_from_a_compacted_revision_is_410(k8s: KubernetesStandIn) -> None:
    k8s.add("ns", "a", {"generator": "g"})
    old = k8s.revision
    k8s.set_spec("ns", "a", {"generator": "h"})
    k8s.compact()
    events: list[dict[str, Any]] = []
    watch_lines(k8s, f"resourceVersion={old - 1}&timeoutSeconds=1", events)
    assert [e["type"] for e in events] == ["ERROR"]
    assert events[0]["object"]["code"] == 410 and "too old resource version" in events[0]["object"]["message"]


def test_drop_watches_ends_open_streams_with_410(k8s: KubernetesStandIn) -> None:
    events: list[dict[str, Any]] = []
    reader = threading.Thread(
        target=watch_lines, args=(k8s, f"resourceVersion={k8s.revision}&timeoutSeconds=5", events)
    )
    reader.start()
    for _ in range(100):
        if k8s.open_watches:
            break
        threading.Event().wait(0.01)
    k8s.drop_watches()
    reader.join(5)
    assert not reader.is_alive() and events[-1]["type"] == "ERROR" and events[-1]["object"]["code"] == 410


@pytest.mark.parametrize(
    ("selector", "labels", "result"),
    [
        ("a=b", {"a": "b"}, True),
        ("a==b", {"a": "b"}, True),
        ("a!=b", {"a": "b"}, False),
        ("a", {}, False),
        ("!a", {}, True),
        ("a in (x, y),c", {"a": "y", "c": ""}, True),
        ("a notin (x)", {"a": "x"}, False),
        ("example.com/team=x", {"example.com/team": "x"}, True),
        ("", {"a": "b"}, True),
    ],
)
def test_label_selector_semantics(selector: str, labels: dict[str, str], result: bool) -> None:
    assert matches(labels, selector) is result


def test_a_watch_sees_objects_enter_and_leave_its_selector(k8s: KubernetesStandIn) -> None:
    """Review 14 finding 7: by the old and the new labels (cacher/cache_watcher.go
    `convertToWatchEvent`): leaving the selector is DELETED with the old object at the
    event's resourceVersion, entering it ADDED; a change outside it, nothing."""
    k8s.add("ns", "a", {"generator": "g"}, labels={"shard": "a"})
    k8s.add("ns", "b", {"generator": "g"}, labels={"shard": "b"})
    since = k8s.revision
    events: list[dict[str, Any]] = []
    query = f"resourceVersion={since}&labelSelector=shard%3Da&timeoutSeconds=1"
    reader = threading.Thread(target=watch_lines, args=(k8s, query, events))
    reader.start()
    k8s.set_labels("ns", "a", {"shard": "b"})  # leaves
    left = k8s.revision
    k8s.set_spec("ns", "b", {"generator": "h"})  # never in it
    k8s.set_labels("ns", "b", {"shard": "a"})  # enters
    k8s.set_spec("ns", "b", {"generator": "i"})  # inside
    reader.join(5)
    seen = [(e["type"], e["object"]["metadata"]["name"]) for e in events if e["type"] != "BOOKMARK"]
    assert seen == [("DELETED", "a"), ("ADDED", "b"), ("MODIFIED", "b")]
    gone = events[[e["type"] for e in events].index("DELETED")]["object"]
    assert gone["metadata"]["labels"] == {"shard": "a"}  # the old object
    assert gone["metadata"]["resourceVersion"] == str(left)  # at the event's revision
    assert k8s.get("ns", "a")["metadata"]["generation"] == 1  # labels do not move generation
