"""Leader election under faults: a leader whose Lease renewals fail stops writing in the
middle of a pass (fencing), and clock skew between replicas never makes two leaders."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dawg_provider.cluster.controller import Controller
from dawg_provider.cluster.crd import DashboardResource
from dawg_provider.cluster.kube import Kube, KubeError
from dawg_provider.cluster.leader import LeaderElector, Step, decide
from dawg_provider.cluster.sources import ClusterSource, Source
from dawg_provider.cluster.sync import SyncJob, SyncOptions
from dawg_provider.grafana import GrafanaClient, GrafanaConnection
from dawg_provider.render import Renderer
from tests.grafana_standin import GrafanaStandIn
from tests.k8s_standin import KubernetesStandIn, api_client, client_api
from tests.test_controller import history, k8s, populate, wait_for
from tests.test_sync import OWNER, TOKEN, grafana

__all__ = ["grafana", "k8s"]

Write = tuple[str, str, float, float]
"""(replica, what, started, ended) on the monotonic clock."""


class PartitionableLeases:
    """The Lease calls of one replica, through the real client, that fail (HTTP 500) while
    `partitioned` is set: the apiserver is unreachable for this replica's renewals only."""

    def __init__(self, kube: Kube) -> None:
        self.kube, self.partitioned = kube, threading.Event()

    def _check(self) -> None:
        if self.partitioned.is_set():
            raise KubeError("updating Lease: HTTP 500 partitioned", 500)

    def get_lease(self, namespace: str, name: str) -> dict[str, Any] | None:
        self._check()
        return self.kube.get_lease(namespace, name)

    def create_lease(self, namespace: str, body: dict[str, Any]) -> None:
        self._check()
        self.kube.create_lease(namespace, body)

    def replace_lease(self, namespace: str, body: dict[str, Any]) -> None:
        self._check()
        self.kube.replace_lease(namespace, body)


def replica(
    name: str,
    k8s: KubernetesStandIn,
    grafana: GrafanaStandIn,
    renderer: Renderer,
    writes: list[Write],
    save_delay: float = 0.0,
) -> tuple[Controller, PartitionableLeases]:
    """A controller replica whose Grafana saves and status patches are recorded."""
    lock = threading.Lock()

    def record(what: str, started: float) -> None:
        with lock:
            writes.append((name, what, started, time.monotonic()))

    class Client(GrafanaClient):
        def save_dashboard(self, *args: Any, **kwargs: Any) -> Any:
            started = time.monotonic()
            time.sleep(save_delay)
            try:
                return super().save_dashboard(*args, **kwargs)
            finally:
                record("save", started)

    class Statuses(ClusterSource):
        def patch_status(self, resource: DashboardResource, status: dict[str, Any]) -> None:
            started = time.monotonic()
            try:
                super().patch_status(resource, status)
            finally:
                record("status", started)

    connection = GrafanaConnection(grafana.url, token=TOKEN)

    def make_job(source: Source, prune: bool) -> SyncJob:
        options = SyncOptions(owner=OWNER, prune=prune, instance="controller shard all", concurrency=1)
        return SyncJob(source, lambda: Client(connection), renderer, options)

    kube = Kube(api_client(k8s))
    leases = PartitionableLeases(kube)
    elector = LeaderElector(leases, "dawg", "dawg-all", name, 2.0, 1.0, 0.2)
    source = Statuses(client_api(k8s))
    return Controller(kube, source, make_job, elector=elector, resync=3600, watch_timeout=30), leases


def start(c: Controller) -> None:
    c.start()
    threading.Thread(target=c.run_forever, daemon=True).start()


def test_a_leader_whose_renewals_fail_stops_writing_mid_pass(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    writes: list[Write] = []
    uids = populate(k8s, example_wasm, 30)
    a, a_leases = replica("a", k8s, grafana, renderer, writes, save_delay=0.15)
    b, _ = replica("b", k8s, grafana, renderer, writes)
    start(a)
    try:
        wait_for(lambda: sum(1 for w in writes if w[:2] == ("a", "save")) >= 3)
        a_leases.partitioned.set()  # a's renewals fail from now on; its Grafana still answers
        lost_at = time.monotonic() + 1.0  # its last renewal started before: its renew deadline
        start(b)
        a_elector, b_elector = a.elector, b.elector
        assert a_elector is not None and b_elector is not None
        wait_for(lambda: not a_elector.is_leader())
        wait_for(b_elector.is_leader, timeout=10)
        wait_for(lambda: all(history(grafana, uid) >= 1 for uid in uids), timeout=40)
        wait_for(lambda: b.passes >= 1, timeout=40)
    finally:
        a.stop()
        b.stop()
    by_a = [w for w in writes if w[0] == "a"]
    assert by_a and all(started < lost_at for _, _, started, _ in by_a), "a wrote after losing the Lease"
    assert sum(1 for w in by_a if w[1] == "save") < len(uids), "a's pass was not stopped"
    for w1, what1, s1, e1 in writes:
        for w2, what2, s2, e2 in writes:
            assert w1 == w2 or e1 <= s2 or e2 <= s1, f"{w1} {what1} and {w2} {what2} overlapped"
    assert all(history(grafana, uid) == 1 for uid in uids)  # nothing written twice


def test_expiry_is_measured_from_the_observed_change_not_the_holders_clock() -> None:
    # b's clock runs 6 s ahead of a's: the renewTime a wrote looks 15.01 s old to b 9 s after
    # a renewed. What counts is how long b itself has seen the record unchanged.
    lease = {"spec": {"holderIdentity": "a", "renewTime": "2026-01-01T00:00:00Z", "leaseDurationSeconds": 15}}
    assert decide(lease, "b", 9.0) is Step.WAIT
    assert decide(lease, "b", 15.0) is Step.TAKE
    ancient = {"spec": {**lease["spec"], "renewTime": "1970-01-01T00:00:00Z"}}
    assert decide(ancient, "b", 0.0) is Step.WAIT  # just seen changing: a is alive
    hostile = {"spec": {"holderIdentity": "a", "leaseDurationSeconds": "many"}}
    assert decide(hostile, "b", 0.0) is Step.TAKE  # an unreadable duration does not hold it forever
    assert decide({"spec": {"holderIdentity": ""}}, "b", 0.0) is Step.TAKE


def test_clock_skew_never_makes_two_leaders(k8s: KubernetesStandIn) -> None:
    kube = Kube(api_client(k8s))
    a = LeaderElector(kube, "dawg", "skew", "a", 1.0, 0.6, 0.1)
    ahead = LeaderElector(
        kube, "dawg", "skew", "b", 1.0, 0.6, 0.1, clock=lambda: datetime.now(UTC) + timedelta(seconds=30)
    )
    behind = LeaderElector(
        kube, "dawg", "skew", "c", 1.0, 0.6, 0.1, clock=lambda: datetime.now(UTC) - timedelta(seconds=30)
    )
    threads = [threading.Thread(target=a.run, daemon=True)]
    threads[0].start()
    wait_for(a.is_leader)
    for elector in (ahead, behind):
        threads.append(threading.Thread(target=elector.run, daemon=True))
        threads[-1].start()
    both = 0
    try:
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            both += sum((a.is_leader(), ahead.is_leader(), behind.is_leader())) > 1
            time.sleep(0.005)
        assert a.is_leader() and not ahead.is_leader() and not behind.is_leader()
        lease = k8s.get("dawg", "skew", "leases")
        assert lease["spec"]["holderIdentity"] == "a" and lease["spec"].get("leaseTransitions", 0) == 0
        a.stop()  # a goes silent: one of the others takes over after one lease duration
        wait_for(lambda: ahead.is_leader() or behind.is_leader(), timeout=5)
    finally:
        for elector in (a, ahead, behind):
            elector.stop()
    assert both == 0, "two replicas held the Lease at once"


def test_a_renewal_in_flight_when_stopped_does_not_lead_again() -> None:
    """stop() zeroes leadership; a renewal that was on the wire must not restore it (the
    replica would write after stopping, beside the next leader)."""
    on_wire, answer = threading.Event(), threading.Event()

    class SlowLeases:
        lease: dict[str, Any] | None = None

        def get_lease(self, namespace: str, name: str) -> dict[str, Any] | None:
            return self.lease

        def create_lease(self, namespace: str, body: dict[str, Any]) -> None:
            self.lease = {**body, "metadata": {**body["metadata"], "resourceVersion": "1"}}

        def replace_lease(self, namespace: str, body: dict[str, Any]) -> None:
            on_wire.set()
            answer.wait(5)
            self.lease = body

    elector = LeaderElector(SlowLeases(), "dawg", "l", "a", 1.0, 0.6, 0.1)
    assert elector.try_acquire_or_renew() and elector.is_leader()
    renewal = threading.Thread(target=elector.try_acquire_or_renew)
    renewal.start()
    assert on_wire.wait(5)
    elector.stop()
    answer.set()
    renewal.join(5)
    assert not elector.is_leader()
