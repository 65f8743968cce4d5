"""Hostile-review attacks on the sync job (issue 10's review): each one fails with a clear
condition, the victims' stored JSON is unchanged and the rest of the pass syncs.

Shares the two-team set-up of `test_tenancy` (namespaces `alpha` and `beta` and a
dashboard made by hand).
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from dawg_provider.cluster import lease
from dawg_provider.cluster.crd import DashboardResource
from dawg_provider.cluster.fairness import admission_problem, interleave
from dawg_provider.cluster.manifests import shard_owner
from dawg_provider.cluster.schema import go_pattern, validate_object
from dawg_provider.cluster.shards import Shard
from dawg_provider.cluster.sources import ClusterSource, ManifestSource
from dawg_provider.cluster.sync import SyncJob, SyncOptions
from dawg_provider.cluster.tenancy import TenancyPolicy
from dawg_provider.grafana import GrafanaClient, GrafanaConnection, ownership
from dawg_provider.render import Renderer
from dawg_provider.wasm.output import parse_dashboard
from tests.grafana_standin import GrafanaStandIn
from tests.k8s_standin import KubernetesStandIn, client_api
from tests.peak_rss import CHILD_PEAK
from tests.test_sync import OWNER, TOKEN, condition, grafana, outcomes, simple
from tests.test_tenancy import manifest, snapshot, sync, teams, unchanged

__all__ = ["grafana", "teams"]  # fixtures shared with test_sync, test_tenancy


def test_an_unloadable_manifest_value_fails_only_its_file(
    grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path], tmp_path: Path
) -> None:
    """SafeLoader raises ValueError (not YAMLError) for a bad date or an int past 4300 digits."""
    (tmp_path / "good.yaml").write_text(yaml.safe_dump(manifest("good", simple(example_wasm, "good"))))
    connection = GrafanaConnection(grafana.url, token=TOKEN)
    options = SyncOptions(owner="k8s-files", instance="files")
    first = SyncJob(ManifestSource(tmp_path), lambda: GrafanaClient(connection), renderer, options).run()
    assert outcomes(first) == {"files/good": ("created", "Created")}
    before = snapshot(grafana)
    head = "apiVersion: dawg.urcloud.cc/v1\nkind: Dashboard\nmetadata: {name: evil, namespace: files}\n"
    spec = f"spec:\n  generator: file://{example_wasm['simple']}\n"
    (tmp_path / "baddate.yaml").write_text(head + spec + "  config: {d: 2024-13-45}\n")
    (tmp_path / "bigint.yaml").write_text(head + spec + "  config: {n: " + "9" * 5000 + "}\n")
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(manifest("other", simple(example_wasm, "other"))))
    summary = SyncJob(ManifestSource(tmp_path), lambda: GrafanaClient(connection), renderer, options).run()
    assert outcomes(summary) == {
        "files/good": ("unchanged", "UpToDate"),
        "files/other": ("created", "Created"),
    }
    errors = "\n".join(summary.errors)
    assert "baddate.yaml: a value cannot be loaded (ValueError); file not read" in errors
    assert "bigint.yaml: a value cannot be loaded (ValueError); file not read" in errors
    assert "pruning skipped: the listing was incomplete" in errors
    unchanged(before, grafana)


def test_a_literal_uid_cannot_name_the_lease_or_squat_derived_uids(
    teams: dict[str, Any],
    k8s: KubernetesStandIn,
    grafana: GrafanaStandIn,
    renderer: Renderer,
    example_wasm: dict[str, Path],
) -> None:
    """With literal uids and adopt allowed, beta asks for the job's lease and for alpha's future uid."""
    lease_uid = lease.lease_uid(OWNER)
    lease_before = snapshot(grafana)[lease_uid]
    later = ownership.derived_uid("k8s", "alpha", "later")
    k8s.add("beta", "lease", simple(example_wasm, "forged", uid=lease_uid, adopt=True))
    k8s.add("beta", "squat", simple(example_wasm, "squat", uid=later))
    k8s.add("beta", "shout", simple(example_wasm, "shout", uid="DAWG-x"))
    k8s.add("beta", "fine", simple(example_wasm, "fine", uid="beta-fine"))
    policy = TenancyPolicy(literal_uids=frozenset({"beta"}), adopt=frozenset({"beta"}))
    summary = sync(k8s, grafana, renderer, policy=policy)
    result = outcomes(summary)
    assert result["beta/lease"] == result["beta/squat"] == result["beta/shout"] == ("failed", "PolicyDenied")
    assert result["beta/fine"] == ("created", "Created") and result["alpha/web"] == ("unchanged", "UpToDate")
    message = condition(k8s.get("beta", "squat"), "Synced")["message"]
    assert f"spec.uid {later!r}: uids starting with 'dawg' are reserved" in message
    assert snapshot(grafana)[lease_uid] == lease_before and later not in snapshot(grafana)
    unchanged(teams, grafana)
    k8s.add("alpha", "later", simple(example_wasm, "later"))
    assert outcomes(sync(k8s, grafana, renderer, policy=policy))["alpha/later"] == ("created", "Created")


@pytest.mark.parametrize("renewed", ["2999-01-01T00:00:00+00:00", "2026-01-01T00:00:00", 12])
def test_a_forged_lease_neither_blocks_nor_breaks_the_pass(
    teams: dict[str, Any], k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, renewed: Any
) -> None:
    """A lease renewed in the future (or with no zone, or not a time) is no lease: the job takes it."""
    client = GrafanaClient(GrafanaConnection(grafana.url, token=TOKEN))
    uid = lease.lease_uid(OWNER)
    live = client.get_dashboard(uid)
    assert live is not None
    forged = {
        **live.dashboard,
        "uid": uid,
        "dawgLease": {"owner": OWNER, "holder": "mallory", "renewed": renewed},
    }
    client.save_dashboard({**forged, "version": live.version}, folder_uid=live.folder_uid)
    summary = sync(k8s, grafana, renderer)
    assert not summary.failed, summary.errors
    assert outcomes(summary) == {
        "alpha/web": ("unchanged", "UpToDate"),
        "beta/web": ("unchanged", "UpToDate"),
    }
    assert snapshot(grafana)[uid][0]["dawgLease"]["holder"] == "job-1"  # taken back
    teams.pop(uid)
    unchanged(teams, grafana)


@pytest.mark.parametrize(
    "owner",
    [
        shard_owner("production-eu-west", Shard("shard-number-0001")),
        "k" * 39,
        "k" * 40,
        "k" * 200,
        "ünïcödé-" * 10,
    ],
)
def test_owner_tags_fit_grafanas_tag_column(owner: str) -> None:
    """`dashboard_tag.term` is VARCHAR(50) (pkg/services/sqlstore/migrations/dashboard_mig.go)."""
    tag = ownership.owner_tag(owner)
    assert len(tag) <= ownership.MAX_TAG and tag.startswith(ownership.OWNER_TAG_PREFIX)
    assert ownership.owned_by(ownership.mark({"title": "t"}, owner), owner)
    assert ownership.owner_tag(owner + "x") != tag


def test_an_owner_without_a_readable_tag_is_refused() -> None:
    assert ownership.owner_problem("k8s-prod") is None
    assert "cannot name a writer" in (ownership.owner_problem("!!! ???") or "")


def stepping_timer(step: float) -> Callable[[], float]:
    """A monotonic clock that moves `step` seconds at each reading: every run takes a while."""
    readings = itertools.count()
    return lambda: step * next(readings)


def test_one_namespace_cannot_use_the_whole_pass(
    teams: dict[str, Any],
    k8s: KubernetesStandIn,
    grafana: GrafanaStandIn,
    renderer: Renderer,
    example_wasm: dict[str, Path],
) -> None:
    """gamma's generators each take their whole timeout; beyond its budget they wait a pass."""
    for index in range(4):
        k8s.add("gamma", f"slow-{index}", simple(example_wasm, f"slow-{index}", timeout="2s"))
    k8s.add("beta", "new", simple(example_wasm, "new", timeout="2s"))
    connection = GrafanaConnection(grafana.url, token=TOKEN)
    options = SyncOptions(owner=OWNER, instance="job-1", concurrency=1, namespace_budget=5.0)
    job = SyncJob(
        ClusterSource(client_api(k8s)),
        lambda: GrafanaClient(connection),
        renderer,
        options,
        timer=stepping_timer(3),
    )
    summary = job.run()
    result = outcomes(summary)
    assert [result[f"gamma/slow-{i}"] for i in range(4)] == [("created", "Created")] * 2 + [
        ("deferred", "Deferred")
    ] * 2
    assert result["beta/new"] == ("created", "Created") and result["alpha/web"] == ("unchanged", "UpToDate")
    deferred = condition(k8s.get("gamma", "slow-2"), "Synced")
    assert (
        deferred["status"] == "False"
        and "namespace gamma used its 5s of generator time" in deferred["message"]
    )
    assert not summary.failed and summary.pruned == []
    unchanged(teams, grafana)
    again = sync(k8s, grafana, renderer, namespace_budget=5.0)  # real time: fast runs fit
    assert outcomes(again)["gamma/slow-3"] == ("created", "Created")


def test_the_pass_deadline_and_the_round_robin_order() -> None:
    assert admission_problem("a", 10, elapsed=5, deadline=20, used=0, namespace_budget=None) is None
    late = admission_problem("a", 10, elapsed=15, deadline=20, used=0, namespace_budget=None) or ""
    assert "the pass's deadline (20s, --deadline) would pass before this generator's timeout (10s)" in late
    first = admission_problem("a", 30, elapsed=0, deadline=None, used=0, namespace_budget=5)
    assert first is None  # a namespace's first run always starts
    objects = [("a", "1"), ("a", "2"), ("a", "3"), ("b", "1"), ("c", "1"), ("b", "2")]
    resources = [
        DashboardResource.from_object({"metadata": {"namespace": n, "name": m}}, ()) for n, m in objects
    ]
    order = [r.key for r in interleave(resources)]
    assert order == ["a/1", "b/1", "c/1", "a/2", "b/2", "a/3"]


def test_a_long_pass_renews_the_owners_lease(
    teams: dict[str, Any], k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer
) -> None:
    start = datetime.now(UTC)
    readings = itertools.count()

    def clock() -> datetime:
        return start + timedelta(minutes=11) * next(readings)

    connection = GrafanaConnection(grafana.url, token=TOKEN)
    options = SyncOptions(owner=OWNER, instance="job-1", concurrency=1)
    summary = SyncJob(
        ClusterSource(client_api(k8s)), lambda: GrafanaClient(connection), renderer, options, clock=clock
    ).run()
    assert not summary.failed
    renewed = snapshot(grafana)[lease.lease_uid(OWNER)][0]["dawgLease"]["renewed"]
    assert datetime.fromisoformat(renewed) >= start + timedelta(minutes=11)


@pytest.mark.parametrize("field", ["name", "namespace"])
def test_a_trailing_newline_does_not_pass_the_schema(field: str) -> None:
    """The API server's patterns are Go RE2: `$` is the end of the text, not "before a final \\n"."""
    obj = {
        "apiVersion": "dawg.urcloud.cc/v1",
        "kind": "Dashboard",
        "metadata": {"name": "web", "namespace": "beta", field: "web\n"},
        "spec": {"generator": "file://g.wasm", "uid": "beta-x\n"},
    }
    problems = "\n".join(validate_object(obj))
    assert f"metadata.{field}" in problems and "spec.uid" in problems
    assert not ownership.valid_uid("beta-x\n") and ownership.valid_uid("beta-x")
    assert go_pattern(r"^[a$]\$x$") == r"^[a$]\$x\Z"


MEASURE = (
    CHILD_PEAK
    + """
from dawg_provider.errors import InvalidOutput
from dawg_provider.wasm.output import parse_dashboard
text = '{"title":"x","panels":[' + "{}," * (8 * 1024 * 1024 // 3) + "{}]}"
before = peak_kib()
try:
    parse_dashboard("bomb", text.encode())
except InvalidOutput as error:
    print(str(error).replace("\\n", " "))
print((peak_kib() - before) // 1024)
"""
)


def test_an_output_of_millions_of_values_is_refused_before_parsing() -> None:
    """8 MiB of `[{},{},...]` parses into ~250 MiB; refused, the process grows by less than 32 MiB."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE], capture_output=True, text=True, timeout=120, check=True
    )
    message, grown = done.stdout.strip().splitlines()
    assert "holds more than 250000 values; refused before parsing" in message
    assert int(grown) < 32, f"grew {grown} MiB"
    panels = [{"id": i, "type": "timeseries", "targets": [{"expr": f"up{{job='{i}'}}"}]} for i in range(2000)]
    assert (
        len(parse_dashboard("big", json.dumps({"title": "big", "panels": panels}).encode())["panels"]) == 2000
    )
