"""The sync job as a good Kubernetes citizen: truthful Ready, status-write failures and
expired continue tokens handled, exit codes that say whether the JOB failed, the
standard Condition schema."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from dawg_provider.cluster.command import EXIT_CR_ERRORS, EXIT_JOB_FAILED, exit_code
from dawg_provider.cluster.crd import DashboardResource, Reason, crd_manifest, status_for
from dawg_provider.cluster.results import CrResult, Outcome, Summary
from dawg_provider.cluster.schema import check_keywords, crd_schema, validate_object
from dawg_provider.cluster.sources import ClusterSource
from dawg_provider.render import Renderer
from tests.grafana_standin import GrafanaStandIn
from tests.k8s_standin import KubernetesStandIn, client_api
from tests.test_sync import condition, grafana, run, simple

__all__ = ["grafana"]


def test_a_failed_new_generation_is_not_ready(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    k8s.add("apps", "web", simple(example_wasm, "web"))
    run(k8s, grafana, renderer)
    assert condition(k8s.get("apps", "web"), "Ready")["status"] == "True"
    stored = copy.deepcopy(grafana.orgs[1].dashboards)
    k8s.set_spec("apps", "web", {**simple(example_wasm, "web"), "generator": "file:///nowhere/missing.wasm"})
    run(k8s, grafana, renderer)
    obj = k8s.get("apps", "web")
    ready = condition(obj, "Ready")
    assert (ready["status"], ready["observedGeneration"], obj["status"]["observedGeneration"]) == (
        "False",
        2,
        2,
    )
    assert ready["reason"] == condition(obj, "Synced")["reason"] != "UpToDate"
    assert grafana.orgs[1].dashboards.keys() == stored.keys()  # the old dashboard is left alone
    assert all(grafana.orgs[1].dashboards[uid].history == stored[uid].history for uid in stored)


def test_grafana_unreachable_at_the_applied_generation_keeps_ready() -> None:
    now = "2026-01-01T00:00:00Z"
    ok = status_for(DashboardResource("ns", "a", {}, generation=3), Reason.UPDATED, "ok", now)
    applied = DashboardResource("ns", "a", {}, generation=3, status=ok)
    kept = status_for(applied, Reason.GRAFANA_ERROR, "HTTP 503", now)
    assert next(c for c in kept["conditions"] if c["type"] == "Ready")["status"] == "True"
    drifted = status_for(applied, Reason.DRIFTED, "edited in the UI", now)
    assert next(c for c in drifted["conditions"] if c["type"] == "Ready")["status"] == "False"
    newer = status_for(
        DashboardResource("ns", "a", {}, generation=4, status=ok), Reason.GRAFANA_ERROR, "x", now
    )
    assert next(c for c in newer["conditions"] if c["type"] == "Ready")["status"] == "False"
    assert not [e for e in validate_object(_obj(kept)) if e.startswith("status")]


def _obj(status: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "dawg.urcloud.cc/v1",
        "kind": "Dashboard",
        "metadata": {"name": "a", "namespace": "ns"},
        "spec": {"generator": "file:///g.wasm"},
        "status": status,
    }


def test_status_write_failures_fail_the_job_not_the_dashboards(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    k8s.add("apps", "web", simple(example_wasm, "web"))
    k8s.rbac = {("list", "dashboards", "*")}  # no patch on dashboards/status
    summary = run(k8s, grafana, renderer)
    assert summary.status_failures == 1 and summary.job_failed
    assert "could not be written" in summary.errors[0] and "HTTP 403" in summary.errors[0]
    assert exit_code(summary) == EXIT_JOB_FAILED
    assert "status" not in k8s.get("apps", "web")  # nothing was half-written
    assert [r.outcome for r in summary.results] == [Outcome.CREATED]  # Grafana got the dashboard


class CompactingStandIn(KubernetesStandIn):
    """Compacts once, right after serving the first page of a paged listing."""

    compactions = 0

    def _list(self, namespace: str | None, query: dict[str, list[str]]) -> tuple[int, Any]:
        answer = super()._list(namespace, query)
        if answer[0] == 200 and answer[1]["metadata"].get("continue") and not self.compactions:
            self.compactions += 1
            self.delete("ns", "d0003")  # between the pages, then etcd compacts
            self.compact()
        return answer


def test_expired_continue_token_relists_instead_of_losing_the_pass() -> None:
    k8s = CompactingStandIn().start()
    try:
        for i in range(1203):
            k8s.add("ns", f"d{i:04}", {"generator": "file:///g.wasm"})
        source = ClusterSource(client_api(k8s))
        names = [r.name for r in source.list()]
        assert source.relists == 1
        assert len(names) == 1202 == len(set(names)) and "d0003" not in names  # one consistent listing
    finally:
        k8s.stop()


def test_exclude_namespace(k8s: KubernetesStandIn) -> None:
    for namespace in ("team-a", "team-b", "kube-system"):
        k8s.add(namespace, "d", {"generator": "file:///g.wasm"})
    source = ClusterSource(client_api(k8s), exclude_namespaces=["team-a", "kube-system"])
    assert [r.namespace for r in source.list()] == ["team-b"]


@pytest.mark.parametrize(
    ("failed", "errors", "flag", "code"),
    [
        (False, [], False, 0),
        (True, [], False, 0),
        (True, [], True, EXIT_CR_ERRORS),
        (False, ["listing failed"], False, EXIT_JOB_FAILED),
        (True, ["listing failed"], True, EXIT_JOB_FAILED),
    ],
)
def test_exit_codes(failed: bool, errors: list[str], flag: bool, code: int) -> None:
    outcome = Outcome.FAILED if failed else Outcome.CREATED
    summary = Summary(results=[CrResult("ns/a", "u", outcome, Reason.CREATED, "")], errors=errors)
    assert exit_code(summary, flag) == code


def test_crd_uses_the_standard_condition_schema_and_list_map() -> None:
    version = crd_manifest()["spec"]["versions"][0]
    conditions = crd_schema()["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map" and conditions["x-kubernetes-list-map-keys"] == [
        "type"
    ]
    assert set(conditions["items"]["required"]) == {
        "type",
        "status",
        "lastTransitionTime",
        "reason",
        "message",
    }
    spec = crd_schema()["properties"]["spec"]
    assert "oldSelf" in spec["x-kubernetes-validations"][0]["rule"]
    assert version["additionalPrinterColumns"][0]["name"] == "Ready"
    assert "dawg" in crd_manifest()["spec"]["names"]["categories"]
    assert check_keywords(crd_schema()) == []
    twice = {"type": "Ready", "status": "True", "reason": "Created", "message": "", "lastTransitionTime": "x"}
    assert any("duplicate entries" in e for e in validate_object(_obj({"conditions": [twice, twice]})))


def test_standin_refuses_duplicate_condition_types(k8s: KubernetesStandIn) -> None:
    import requests

    k8s.add("ns", "a", {"generator": "g"})
    c = {"type": "Ready", "status": "True", "reason": "Created", "message": "", "lastTransitionTime": "x"}
    answer = requests.patch(
        k8s.url + "/apis/dawg.urcloud.cc/v1/namespaces/ns/dashboards/a/status",
        json={"status": {"conditions": [c, c]}},
        headers={"Authorization": f"Bearer {k8s.token}", "Content-Type": "application/merge-patch+json"},
        timeout=5,
    )
    assert answer.status_code == 422 and "status" not in k8s.get("ns", "a")


# -- the CEL rule: uid immutable once set ---------------------------------------------------
#
# Kubernetes docs, "Validation rules" / "Transition rules" (tasks/extend-kubernetes/
# custom-resources/custom-resource-definitions): a rule referencing `oldSelf` is a
# transition rule, evaluated on UPDATE only; it may only sit where the schema is
# correlatable (no array ancestor other than a list-type=map); a rule's message must
# not contain line breaks (apiextensions v1 ValidationRule, `message`).


def test_the_uid_rule_is_a_valid_transition_rule() -> None:
    from dawg_provider.cluster.crd import UID_IMMUTABLE
    from tests.k8s_cel import evaluate, is_transition_rule

    spec = crd_schema()["properties"]["spec"]
    (rule,) = spec["x-kubernetes-validations"]
    assert rule == UID_IMMUTABLE and is_transition_rule(rule["rule"])
    assert "optionalOldSelf" not in rule  # skipped on create: a new CR may set any uid
    assert crd_schema()["type"] == "object" and spec["type"] == "object"  # no array above it
    message = str(rule["message"])
    assert "\n" not in message and message.strip() == message
    assert "uid" in spec["properties"]  # the field the rule names exists
    assert "oldSelf" in rule["rule"]
    table = [
        ({"generator": "g"}, {"generator": "g", "uid": "a"}, True),  # setting it the first time
        ({"uid": "a"}, {"uid": "a"}, True),
        ({"uid": "a"}, {"uid": "b"}, False),  # changed
        ({"uid": "a"}, {}, False),  # removed
        ({}, {}, True),
    ]
    for old, new, allowed in table:
        assert bool(evaluate(rule["rule"], {"generator": "g", **new}, {"generator": "g", **old})) is allowed


def test_standin_enforces_the_uid_rule_through_the_real_client(k8s: KubernetesStandIn) -> None:
    from kubernetes.client.exceptions import ApiException

    api = client_api(k8s)
    k8s.add("team", "web", {"generator": "g"})

    def patch(body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = api.patch_namespaced_custom_object(
            "dawg.urcloud.cc", "v1", "team", "dashboards", "web", body
        )
        return result

    first = patch({"spec": {"uid": "team-web"}})  # unset -> set: allowed on update too
    assert first["spec"]["uid"] == "team-web" and first["metadata"]["generation"] == 2
    before = k8s.get("team", "web")
    for change in ({"spec": {"uid": "other"}}, {"spec": {"uid": None}}):
        with pytest.raises(ApiException) as refused:
            patch(change)
        assert refused.value.status == 422
        assert "spec: Invalid value: spec.uid is immutable once set" in str(refused.value.body)
        assert k8s.get("team", "web") == before  # nothing stored, no generation, no revision
    kept = patch({"spec": {"folder": "Ops", "uid": "team-web"}, "status": {"observedGeneration": 9}})
    assert kept["metadata"]["generation"] == 3 and kept["spec"]["folder"] == "Ops"
    assert "observedGeneration" not in (kept.get("status") or {})  # status only through /status


def test_a_lost_status_write_is_not_drift_on_the_next_pass(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    """An update lands in Grafana but its status write fails: the status still records the
    version before it. The next pass must see DAWG's own write (its dawg-sha mark intact),
    not "changed outside DAWG": no Drifted under drift: fail, no write, and the status is
    written then. A real UI edit afterwards still fails drift: fail."""
    k8s.add("apps", "web", simple(example_wasm, "web", drift="fail"))
    assert [r.outcome for r in run(k8s, grafana, renderer).results] == [Outcome.CREATED]
    k8s.set_spec("apps", "web", simple(example_wasm, "web-v2", drift="fail"))
    k8s.rbac = {("list", "dashboards", "*")}  # the status write of the update fails
    lost = run(k8s, grafana, renderer)
    assert [r.outcome for r in lost.results] == [Outcome.UPDATED] and lost.status_failures == 1
    uid = lost.results[0].uid
    stored = grafana.dashboard(uid)
    assert stored is not None and k8s.get("apps", "web")["status"]["grafana"]["version"] != stored.version
    k8s.rbac = None
    writes = grafana.count("POST", "/api/dashboards/db")
    after = run(k8s, grafana, renderer)
    (result,) = after.results
    assert result.outcome is Outcome.UNCHANGED and not after.job_failed, result.message
    assert grafana.count("POST", "/api/dashboards/db") == writes  # no rewrite
    status = k8s.get("apps", "web")["status"]
    assert status["grafana"]["version"] == stored.version  # recorded now
    assert condition(k8s.get("apps", "web"), "Ready")["status"] == "True"
    grafana.ui_edit(uid, {"title": "edited by hand"})
    k8s.set_spec("apps", "web", simple(example_wasm, "web-v3", drift="fail"))
    (edited,) = run(k8s, grafana, renderer).results
    assert edited.outcome is Outcome.FAILED and edited.reason is Reason.DRIFTED


def test_a_deferred_new_generation_is_not_observed_and_is_queued_again() -> None:
    """Review 14 finding 5: a deferral (namespace budget, pass deadline, lost lease) acted on
    nothing of the new generation; kstatus (cli-utils status/generic.go
    `checkGenericProperties`: observedGeneration vs generation first, then Ready) must not
    call it Current, and the controller must queue it again."""
    from dawg_provider.cluster.controller import needs_reconcile

    now = "2026-01-01T00:00:00Z"
    applied = status_for(DashboardResource("ns", "a", {}, generation=1), Reason.CREATED, "ok", now)
    changed = DashboardResource("ns", "a", {}, generation=2, status=applied)
    deferred = status_for(changed, Reason.DEFERRED, "deferred to the next pass", now)
    assert deferred["observedGeneration"] == 1
    ready = next(c for c in deferred["conditions"] if c["type"] == "Ready")
    assert ready["observedGeneration"] == 1  # the old Ready, about the old generation
    synced = next(c for c in deferred["conditions"] if c["type"] == "Synced")
    assert (synced["status"], synced["reason"], synced["observedGeneration"]) == ("False", "Deferred", 2)
    assert needs_reconcile(DashboardResource("ns", "a", {}, generation=2, status=deferred))
    assert validate_object(_obj(deferred)) == []
    never = status_for(DashboardResource("ns", "b", {}), Reason.DEFERRED, "deferred", now)
    assert "observedGeneration" not in never  # never acted on: none to report
    suspended = status_for(changed, Reason.SUSPENDED, "spec.suspend is true", now)
    assert suspended["observedGeneration"] == 2  # suspend IS the new spec, acted on


def test_a_cr_relabelled_to_another_shard_keeps_its_dashboard(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    """Review 14 finding 6: shard A prunes the dashboard of a CR relabelled away (its owner
    tag), and shard B must not skip that CR as "verified recently" from A's status."""
    from dawg_provider.cluster.controller import needs_reconcile

    for name in ("a0", "a1", "a2"):
        k8s.add("apps", name, simple(example_wasm, name), labels={"shard": "a"})
    shard_a = {"owner": "k8s-c-a", "selector": "shard=a", "prune": True}
    shard_b = {"owner": "k8s-c-b", "selector": "shard=b", "prune": True}
    created = run(k8s, grafana, renderer, **shard_a)
    uid = next(r.uid for r in created.results if r.key == "apps/a2")
    k8s.set_labels("apps", "a2", {"shard": "b"})
    moved = DashboardResource.from_object(k8s.get("apps", "a2"))
    assert needs_reconcile(moved, "k8s-c-b") and not needs_reconcile(moved, "k8s-c-a")
    assert uid in run(k8s, grafana, renderer, **shard_a).pruned
    assert grafana.dashboard(uid) is None
    (result,) = run(k8s, grafana, renderer, **shard_b).results
    assert result.outcome is Outcome.CREATED, result.message
    stored = grafana.dashboard(uid)
    assert stored is not None and "dawg-owner:k8s-c-b" in stored.json["tags"]
    assert k8s.get("apps", "a2")["status"]["grafana"]["owner"] == "k8s-c-b"
