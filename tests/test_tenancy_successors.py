"""A CR deleted and recreated under its namespace/name takes its predecessor's dashboard over.

Each create gives a CR a fresh metadata.uid (k8s.io/apiserver pkg/registry/rest/create.go,
`FillObjectMetaSystemFields`), so Argo CD re-applying a deleted namespace recreates every
CR with new uids at once. The stand-in keeps uids fixed per namespace/name, so `recreate`
sets a new one, and a new object has no status. Never across namespaces: the hostile
tests below try it with the same name and with a literal uid, and compare the victim's
stored JSON before and after.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dawg_provider.cluster.tenancy import TenancyPolicy
from dawg_provider.grafana import ownership
from dawg_provider.render import Renderer
from tests.grafana_standin import GrafanaStandIn
from tests.k8s_standin import KubernetesStandIn
from tests.test_sync import condition, grafana, outcomes, simple
from tests.test_tenancy import HANDMADE, alpha_uid, snapshot, sync, teams, unchanged

__all__ = ["grafana", "teams"]


def recreate(k8s: KubernetesStandIn, namespace: str, name: str, spec: dict[str, Any], uid: str) -> None:
    """Delete (if it exists) and create again: a new metadata.uid, no status."""
    if (namespace, name) in k8s.objects:
        k8s.delete(namespace, name)
    k8s.add(namespace, name, spec)
    with k8s.lock:
        k8s.objects[(namespace, name)]["metadata"]["uid"] = uid


def test_a_recreated_resource_takes_over_its_predecessors_dashboard(
    teams: dict[str, Any],
    k8s: KubernetesStandIn,
    grafana: GrafanaStandIn,
    renderer: Renderer,
    example_wasm: dict[str, Path],
) -> None:
    before = snapshot(grafana)[alpha_uid()]
    recreate(k8s, "alpha", "web", simple(example_wasm, "alpha-web"), "uid-alpha-web-2")
    dry = sync(k8s, grafana, renderer, dry_run=True)  # a dry run says so and writes nothing
    (planned,) = [r for r in dry.results if r.key == "alpha/web"]
    assert "took over dashboard" in planned.message and snapshot(grafana)[alpha_uid()] == before
    summary = sync(k8s, grafana, renderer)
    assert not summary.failed and summary.pruned == []
    assert outcomes(summary) == {"alpha/web": ("updated", "Updated"), "beta/web": ("unchanged", "UpToDate")}
    message = condition(k8s.get("alpha", "web"), "Synced")["message"]
    assert "took over dashboard" in message and "metadata.uid uid-alpha-web-2" in message
    after = snapshot(grafana)[alpha_uid()]
    assert after[1] == before[1] + 1  # the same dashboard, one version on: its history is kept
    assert ownership.resource_uid_tag("uid-alpha-web-2") in after[0]["tags"]
    assert ownership.resource_uid_tag("uid-alpha-web") not in after[0]["tags"]
    assert k8s.get("alpha", "web")["status"]["grafana"]["uid"] == alpha_uid()
    again = sync(k8s, grafana, renderer)
    assert outcomes(again)["alpha/web"] == ("unchanged", "UpToDate")
    teams.pop(alpha_uid())
    unchanged(teams, grafana)


def test_a_whole_namespace_reapplied_at_once_keeps_its_dashboards(
    teams: dict[str, Any],
    k8s: KubernetesStandIn,
    grafana: GrafanaStandIn,
    renderer: Renderer,
    example_wasm: dict[str, Path],
) -> None:
    """Every CR of the job recreated in one go: 100 % would be "orphaned", past the prune guard."""
    for namespace in ("alpha", "beta"):
        recreate(k8s, namespace, "web", simple(example_wasm, f"{namespace}-web"), f"uid-{namespace}-web-2")
    summary = sync(k8s, grafana, renderer)
    assert not summary.failed, summary.errors
    assert summary.pruned == [] and not any("pruning refused" in e for e in summary.errors)
    assert outcomes(summary) == {"alpha/web": ("updated", "Updated"), "beta/web": ("updated", "Updated")}
    for namespace in ("alpha", "beta"):
        uid = ownership.derived_uid("k8s", namespace, "web")
        assert ownership.resource_uid_tag(f"uid-{namespace}-web-2") in snapshot(grafana)[uid][0]["tags"]
    assert snapshot(grafana)[HANDMADE] == teams[HANDMADE]


def test_the_same_name_in_another_namespace_never_takes_over(
    teams: dict[str, Any],
    k8s: KubernetesStandIn,
    grafana: GrafanaStandIn,
    renderer: Renderer,
    example_wasm: dict[str, Path],
) -> None:
    """alpha/web's dashboard has a literal uid; beta/web (same name, new uid) asks for it."""
    policy = TenancyPolicy(literal_uids=frozenset({"alpha", "beta"}), adopt=frozenset({"alpha", "beta"}))
    k8s.set_spec("alpha", "web", simple(example_wasm, "alpha-secret-title", uid="checkout"))
    assert outcomes(sync(k8s, grafana, renderer, policy=policy))["alpha/web"] == ("created", "Created")
    victim = snapshot(grafana)["checkout"]
    spec = simple(example_wasm, "stolen", uid="checkout", adopt=True)
    recreate(k8s, "beta", "web", spec, "uid-beta-web-2")
    summary = sync(k8s, grafana, renderer, policy=policy)
    assert outcomes(summary)["beta/web"] == ("failed", "UidConflict")
    assert outcomes(summary)["alpha/web"] == ("unchanged", "UpToDate")
    message = condition(k8s.get("beta", "web"), "Synced")["message"]
    assert "owned by another Dashboard resource" in message and "took over" not in message
    assert "alpha" not in message and "secret-title" not in message
    assert snapshot(grafana)["checkout"] == victim


def test_a_deleted_namespaces_dashboard_is_not_taken_over_from_another_namespace(
    teams: dict[str, Any],
    k8s: KubernetesStandIn,
    grafana: GrafanaStandIn,
    renderer: Renderer,
    example_wasm: dict[str, Path],
) -> None:
    """The predecessor is gone, but the claimant is in another namespace: refused, never re-tagged."""
    policy = TenancyPolicy(literal_uids=frozenset({"alpha", "beta"}), adopt=frozenset({"beta"}))
    k8s.add("alpha", "shop", simple(example_wasm, "alpha-shop", uid="checkout"))
    k8s.add("alpha", "extra", simple(example_wasm, "alpha-extra"))
    assert outcomes(sync(k8s, grafana, renderer, policy=policy))["alpha/shop"] == ("created", "Created")
    victim = snapshot(grafana)["checkout"]
    k8s.delete("alpha", "shop")
    recreate(
        k8s, "beta", "shop", simple(example_wasm, "stolen", uid="checkout", adopt=True), "uid-beta-shop-2"
    )
    summary = sync(k8s, grafana, renderer, policy=policy)
    assert outcomes(summary)["beta/shop"] == ("failed", "UidConflict")
    left = snapshot(grafana).get("checkout")
    # Its own resource is gone, so it may be pruned; it is never beta's.
    assert left is None or left == victim, left
    assert summary.pruned == ["checkout"]


def test_a_shortened_owner_tag_that_collides_across_namespaces_never_takes_over(
    teams: dict[str, Any],
    k8s: KubernetesStandIn,
    grafana: GrafanaStandIn,
    renderer: Renderer,
    example_wasm: dict[str, Path],
    monkeypatch: Any,
) -> None:
    """Two long namespaces sharing 31 characters, the 50-bit digest made to collide (as an
    offline search would): the second namespace's CR is refused, the victim's JSON untouched."""
    victim_ns, thief_ns = "team-payments-production-europe-1", "team-payments-production-europe-2"
    real = ownership._digest
    monkeypatch.setattr(ownership, "_digest", lambda *parts, length: real("same", length=length))
    assert ownership.resource_tag(victim_ns, "checkout-overview") == ownership.resource_tag(
        thief_ns, "checkout-overview-copy"
    )
    assert ownership.is_shortened(ownership.resource_tag(victim_ns, "checkout-overview"))
    policy = TenancyPolicy(literal_uids=frozenset({victim_ns, thief_ns}), adopt=frozenset({thief_ns}))
    k8s.add(victim_ns, "checkout-overview", simple(example_wasm, "victim-title", uid="checkout"))
    summary = sync(k8s, grafana, renderer, policy=policy)
    assert outcomes(summary)[f"{victim_ns}/checkout-overview"] == ("created", "Created")
    victim = snapshot(grafana)["checkout"]
    recreate(
        k8s,
        thief_ns,
        "checkout-overview-copy",
        simple(example_wasm, "stolen", uid="checkout", adopt=True),
        "uid-thief",
    )
    summary = sync(k8s, grafana, renderer, policy=policy)
    assert outcomes(summary)[f"{thief_ns}/checkout-overview-copy"] == ("failed", "UidConflict")
    assert outcomes(summary)[f"{victim_ns}/checkout-overview"] == ("unchanged", "UpToDate")
    message = condition(k8s.get(thief_ns, "checkout-overview-copy"), "Synced")["message"]
    assert "took over" not in message and "victim-title" not in message
    assert snapshot(grafana)["checkout"] == victim
