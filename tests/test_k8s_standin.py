"""The Kubernetes API stand-in answers as kube-apiserver does (Status bodies, generation, merge patch)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.k8s_standin import KubernetesStandIn, matches

BASE = "/apis/dawg.urcloud.cc/v1"


@pytest.fixture
def k8s() -> Iterator[KubernetesStandIn]:
    server = KubernetesStandIn(token="t").start()
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
    assert patched["status"] == {"observedGeneration": 1} and patched["spec"] == {
        "generator": "g"
    }  # only .status
    assert (
        patched["metadata"]["generation"] == before["generation"]
        and patched["metadata"]["resourceVersion"] != before["resourceVersion"]
    )
    k8s.set_spec("ns", "a", {"generator": "h"})
    assert k8s.get("ns", "a")["metadata"]["generation"] == 2


def test_error_bodies_are_status_objects(k8s: KubernetesStandIn) -> None:
    k8s.add("ns", "a", {"generator": "g"})
    missing = call(k8s, "GET", f"{BASE}/namespaces/ns/dashboards/nope")
    assert (
        missing.status_code == 404
        and missing.json()["kind"] == "Status"
        and missing.json()["reason"] == "NotFound"
    )
    assert missing.json()["message"] == 'dashboards.dawg.urcloud.cc "nope" not found'
    stale = call(
        k8s,
        "PATCH",
        f"{BASE}/namespaces/ns/dashboards/a/status",
        b'{"metadata": {"resourceVersion": "1"}, "status": {}}',
    )
    assert (
        stale.status_code == 409
        and stale.json()["reason"] == "Conflict"
        and "the object has been modified" in stale.json()["message"]
    )
    invalid = call(k8s, "PATCH", f"{BASE}/namespaces/ns/dashboards/a/status", b'{"status": "broken"}')
    assert invalid.status_code == 422 and invalid.json()["reason"] == "Invalid"
    wrong_type = call(
        k8s,
        "PATCH",
        f"{BASE}/namespaces/ns/dashboards/a/status",
        b"{}",
        content_type="application/strategic-merge-patch+json",
    )
    assert wrong_type.status_code == 415
    assert call(k8s, "GET", f"{BASE}/dashboards", token="wrong").status_code == 401


def test_list_paging_and_selectors(k8s: KubernetesStandIn) -> None:
    for i in range(5):
        k8s.add(f"ns{i % 2}", f"d{i}", {"generator": "g"}, labels={"team": "a" if i < 3 else "b"})
    page = call(k8s, "GET", f"{BASE}/dashboards?limit=2").json()
    assert len(page["items"]) == 2 and page["metadata"]["continue"]
    rest = call(k8s, "GET", f"{BASE}/dashboards?limit=10&continue={page['metadata']['continue']}").json()
    assert len(rest["items"]) == 3 and "continue" not in rest["metadata"]
    assert len(call(k8s, "GET", f"{BASE}/namespaces/ns0/dashboards").json()["items"]) == 3
    assert len(call(k8s, "GET", f"{BASE}/dashboards?labelSelector=team%3Db").json()["items"]) == 2


@pytest.mark.parametrize(
    ("selector", "labels", "result"),
    [
        ("a=b", {"a": "b"}, True),
        ("a!=b", {"a": "b"}, False),
        ("a", {}, False),
        ("!a", {}, True),
        ("a in (x, y),c", {"a": "y", "c": ""}, True),
        ("a notin (x)", {"a": "x"}, False),
        ("", {"a": "b"}, True),
    ],
)
def test_label_selector_semantics(selector: str, labels: dict[str, str], result: bool) -> None:
    assert matches(labels, selector) is result
