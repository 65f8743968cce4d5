"""A change made while a full (verifying) pass runs is applied in seconds, beside the
pass, and never by two jobs at once nor reverted by the pass's older listing."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from dawg_provider.cluster.controller import Controller
from dawg_provider.cluster.crd import DashboardResource
from dawg_provider.cluster.keygate import KeyGate
from dawg_provider.cluster.kube import Kube
from dawg_provider.cluster.sources import ClusterSource, Source
from dawg_provider.cluster.sync import SyncJob, SyncOptions
from dawg_provider.grafana import GrafanaClient, GrafanaConnection
from dawg_provider.render import Renderer
from tests.grafana_standin import GrafanaStandIn
from tests.k8s_standin import KubernetesStandIn, api_client, client_api
from tests.test_controller import history, k8s, populate, wait_for
from tests.test_sync import OWNER, TOKEN, grafana, simple

__all__ = ["grafana", "k8s"]


def test_a_change_during_a_verifying_pass_is_applied_beside_it(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    uids = populate(k8s, example_wasm, 40)
    saves: list[tuple[str, float, float]] = []
    slow = threading.Event()

    class Client(GrafanaClient):
        def get_dashboard(self, uid: str, at: str | None = None) -> Any:
            if slow.is_set():
                time.sleep(0.1)  # a slow Grafana: the verifying pass takes 4 s or more
            return super().get_dashboard(uid, at)

        def save_dashboard(self, dashboard: dict[str, Any], **kwargs: Any) -> Any:
            started = time.monotonic()
            try:
                return super().save_dashboard(dashboard, **kwargs)
            finally:
                saves.append((str(dashboard.get("uid")), started, time.monotonic()))

    connection = GrafanaConnection(grafana.url, token=TOKEN)

    def make_job(source: Source, prune: bool) -> SyncJob:
        options = SyncOptions(
            owner=OWNER, prune=prune, instance="t", concurrency=1, verify_interval=timedelta(0)
        )
        return SyncJob(source, lambda: Client(connection), renderer, options)

    c = Controller(
        Kube(api_client(k8s)), ClusterSource(client_api(k8s)), make_job, resync=3600, watch_timeout=30
    )
    c.start()
    threading.Thread(target=c.run_forever, daemon=True).start()
    try:
        wait_for(lambda: c.passes >= 1 and all(history(grafana, uid) == 1 for uid in uids), timeout=60)
        slow.set()
        c.request_full_pass()
        wait_for(lambda: c._pass is not None)
        time.sleep(0.5)
        k8s.set_spec("apps", "d30", simple(example_wasm, "renamed"))  # the pass reaches d30 late
        took = wait_for(lambda: history(grafana, uids[30]) == 2, timeout=10)
        assert took < 2.0, took
        assert c.passes == 1 and c._pass is not None, "the change waited for the pass to end"
        wait_for(lambda: c.passes >= 2, timeout=60)
    finally:
        c.stop()
    assert history(grafana, uids[30]) == 2  # the pass did not write its older listing over it
    assert "renamed" in str(grafana.orgs[1].dashboards[uids[30]].json)
    assert all(history(grafana, uid) == 1 for i, uid in enumerate(uids) if i != 30)
    for i, (u1, s1, e1) in enumerate(saves):
        for u2, s2, e2 in saves[i + 1 :]:
            assert u1 != u2 or e1 <= s2 or e2 <= s1, f"two writes of {u1} at once"


def test_the_gate_gives_a_cr_one_writer_and_leaves_a_newer_version_to_the_batch() -> None:
    gate = KeyGate()
    listed = DashboardResource("ns", "a", {"generator": "g"})
    new_cr = DashboardResource("ns", "new", {"generator": "g"})
    moved = DashboardResource("ns", "a", {"generator": "g", "uid": "other"})
    assert gate.may_batch(new_cr)  # no pass: anything
    gate.start_pass()
    assert not gate.may_batch(listed)  # the pass has not listed yet
    gate.record_listing([listed])
    assert gate.may_batch(listed) and not gate.may_batch(new_cr) and not gate.may_batch(moved)
    order: list[str] = []
    with gate.claim("ns/a", by_pass=False) as why:
        assert why is None

        def pass_worker() -> None:
            with gate.claim("ns/a", by_pass=True) as skip:
                order.append(f"pass:{skip}")

        worker = threading.Thread(target=pass_worker)
        worker.start()
        time.sleep(0.2)
        assert order == []  # waits while the batch holds it
        order.append("batch done")
    worker.join(5)
    assert order == ["batch done", "pass:reconciled on its own: a newer version came in during this pass"]
    gate.end_pass()
    with gate.claim("ns/a", by_pass=True) as skip:
        assert skip is None  # a new pass takes it again
