"""`dawg controller` against the Kubernetes and Grafana stand-ins: a change reaches
Grafana in seconds, a restart writes nothing, a 410 relists, two replicas never write
at once, failures become Events, metrics count what happened."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from dawg_provider.cluster.controller import Controller, needs_reconcile
from dawg_provider.cluster.crd import DashboardResource
from dawg_provider.cluster.kube import Kube
from dawg_provider.cluster.leader import LeaderElector, Step, decide
from dawg_provider.cluster.sources import ClusterSource, Source
from dawg_provider.cluster.sync import SyncJob, SyncOptions
from dawg_provider.cluster.tenancy import default_uid
from dawg_provider.grafana import GrafanaClient, GrafanaConnection
from dawg_provider.render import Renderer
from tests.grafana_standin import GrafanaStandIn
from tests.k8s_standin import KubernetesStandIn, api_client, client_api, write_kubeconfig
from tests.test_sync import OWNER, TOKEN, grafana, simple

__all__ = ["grafana"]


@pytest.fixture
def k8s() -> Iterator[KubernetesStandIn]:
    server = KubernetesStandIn(bookmark_interval=0.2).start()
    yield server
    server.stop()


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, "timed out"
        time.sleep(0.01)
    return time.monotonic() - started


def controller(
    k8s: KubernetesStandIn,
    grafana: GrafanaStandIn,
    renderer: Renderer,
    client: type[GrafanaClient] = GrafanaClient,
    elector: bool = False,
    identity: str = "a",
    lease: tuple[float, float, float] = (1.0, 0.6, 0.1),
    lease_api: Any = None,
) -> Controller:
    connection = GrafanaConnection(grafana.url, token=TOKEN)

    def make_job(source: Source, prune: bool) -> SyncJob:
        options = SyncOptions(owner=OWNER, prune=prune, instance="controller test")
        return SyncJob(source, lambda: client(connection), renderer, options)

    kube = Kube(api_client(k8s))
    lease_api = lease_api or kube
    elector_ = LeaderElector(lease_api, "dawg", "dawg-all", identity, *lease) if elector else None
    return Controller(
        kube,
        ClusterSource(client_api(k8s)),
        make_job,
        elector=elector_,
        resync=3600,
        watch_timeout=30,
        wind_down=connection.health.wind_down,  # as command.run_controller wires it
    )


def run(c: Controller) -> threading.Thread:
    c.start()
    thread = threading.Thread(target=c.run_forever, daemon=True)
    thread.start()
    return thread


def history(grafana: GrafanaStandIn, uid: str) -> int:
    """How many times the dashboard was written: its version (the /apis dialect the client
    speaks since issue 12 keeps no legacy history rows in the stand-in; each write is +1)."""
    stored = grafana.orgs[1].dashboards.get(uid)
    return stored.version if stored else 0


def populate(k8s: KubernetesStandIn, example_wasm: dict[str, Path], n: int) -> list[str]:
    uids = []
    for i in range(n):
        obj = k8s.add("apps", f"d{i}", simple(example_wasm, f"app{i}"))
        uids.append(default_uid(DashboardResource("apps", f"d{i}", obj["spec"], uid=obj["metadata"]["uid"])))
    return uids


def test_a_change_reaches_grafana_in_seconds_and_a_restart_writes_nothing(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    uids = populate(k8s, example_wasm, 20)
    first = controller(k8s, grafana, renderer)
    run(first)
    try:
        wait_for(lambda: all(history(grafana, uid) == 1 for uid in uids))
        wait_for(lambda: first.passes >= 1 and all("status" in k8s.get("apps", f"d{i}") for i in range(20)))
        k8s.set_spec("apps", "d7", simple(example_wasm, "renamed"))
        took = wait_for(lambda: history(grafana, uids[7]) == 2, timeout=5)
        assert took < 2.0, took
        assert [history(grafana, uid) for uid in uids].count(1) == 19  # nothing else written
        wait_for(lambda: first.batches >= 1)  # a batch of one, not a full pass
        assert 'dawg_reconciles_total{outcome="updated"} 1.0' in first.metrics.text()
    finally:
        first.stop()
    before = {uid: history(grafana, uid) for uid in uids}
    second = controller(k8s, grafana, renderer)
    run(second)
    try:
        wait_for(lambda: second.passes >= 1)
        assert {uid: history(grafana, uid) for uid in uids} == before  # resumed, rewrote nothing
    finally:
        second.stop()


def test_a_watch_dropped_with_410_relists(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    uids = populate(k8s, example_wasm, 3)
    c = controller(k8s, grafana, renderer)
    run(c)
    try:
        wait_for(lambda: c.passes >= 1 and k8s.open_watches >= 1)
        k8s.drop_watches()
        wait_for(lambda: c.relists >= 1 and k8s.open_watches >= 1)
        assert "dawg_relists_total 1.0" in c.metrics.text()
        k8s.set_spec("apps", "d1", simple(example_wasm, "after-relist"))
        wait_for(lambda: history(grafana, uids[1]) == 2, timeout=5)
    finally:
        c.stop()


class Recording(GrafanaClient):
    """Records when each replica's Grafana write attempts start and end: every mutating
    exchange (dashboards, folders, deletes, the owner's lease mark), each retry apart.
    With `answer_delay`, the answer comes back that long after Grafana acted on it (a slow
    network): the change is visible in Grafana while the writer is still waiting."""

    writes: ClassVar[list[tuple[str, float, float]]] = []
    replica = ""
    answer_delay = 0.0

    def _send(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        if method == "GET":
            return super()._send(method, path, what, **kwargs)
        started = time.monotonic()
        try:
            answer = super()._send(method, path, what, **kwargs)
            time.sleep(self.answer_delay)
            return answer
        finally:
            Recording.writes.append((self.replica, started, time.monotonic()))


def recording(delay: float = 0.0) -> dict[str, type[Recording]]:
    Recording.writes = []
    attrs: dict[str, Any] = {"answer_delay": delay}
    return {name: type(f"Recording{name}", (Recording,), {**attrs, "replica": name}) for name in "ab"}


def assert_never_at_once(writes: list[tuple[str, float, float]]) -> None:
    for w1, s1, e1 in writes:
        for w2, s2, e2 in writes:
            assert w1 == w2 or e1 <= s2 or e2 <= s1, "two replicas wrote at the same time"


@pytest.mark.parametrize("delay", [0.0, 0.5], ids=["prompt-answers", "slow-answers"])
def test_two_replicas_never_write_at_once(
    k8s: KubernetesStandIn,
    grafana: GrafanaStandIn,
    renderer: Renderer,
    example_wasm: dict[str, Path],
    delay: float,
) -> None:
    """The leader goes away without a word (`stop`, as a crash: no release); b takes over
    once the Lease expires. The writes are read only after both replicas have ended: a
    write's record closes when its answer arrives, after Grafana already shows it (the
    slow-answers case failed, reading the record early, before `shutdown` waited)."""
    replicas = recording(delay)
    uids = populate(k8s, example_wasm, 10)
    a = controller(k8s, grafana, renderer, replicas["a"], elector=True, identity="a")
    run(a)
    wait_for(lambda: a.elector is not None and a.elector.is_leader())
    b = controller(k8s, grafana, renderer, replicas["b"], elector=True, identity="b")
    run(b)
    try:
        wait_for(lambda: all(history(grafana, uid) == 1 for uid in uids))
        k8s.set_spec("apps", "d2", simple(example_wasm, "by-a"))
        wait_for(lambda: history(grafana, uids[2]) == 2)
        a.stop()  # the leader goes away; b takes over once the Lease expires
        k8s.set_spec("apps", "d3", simple(example_wasm, "by-b"))
        wait_for(lambda: history(grafana, uids[3]) == 2)
    finally:
        b_ended, a_ended = b.shutdown(10), a.shutdown(10)
    assert b_ended and a_ended
    writers = [w for w, _, _ in Recording.writes]
    assert set(writers) == {"a", "b"} and writers[-1] == "b"
    assert_never_at_once(Recording.writes)
    lease = k8s.get("dawg", "dawg-all", "leases")
    assert lease["spec"]["holderIdentity"] == "" and lease["spec"]["leaseTransitions"] >= 1  # b released it


class LeaseSpy:
    """The elector's Lease calls, passed on, with the moment each holder was written."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.written: list[tuple[str, float]] = []

    def get_lease(self, namespace: str, name: str) -> Any:
        return self.api.get_lease(namespace, name)

    def create_lease(self, namespace: str, body: dict[str, Any]) -> None:
        self.api.create_lease(namespace, body)
        self.written.append((body["spec"]["holderIdentity"], time.monotonic()))

    def replace_lease(self, namespace: str, body: dict[str, Any]) -> None:
        self.api.replace_lease(namespace, body)
        self.written.append((body["spec"]["holderIdentity"], time.monotonic()))


def test_a_clean_shutdown_renews_until_its_slow_write_ends_then_hands_over(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    """SIGTERM in a rolling update, with a write whose answer takes longer than the Lease
    lasts (3 s vs 1 s): the leader keeps renewing while it waits, so b cannot lead beside
    it (controller-runtime pkg/manager/internal.go `engageStopProcedure` cancels leader
    election only after the runnables stopped); then it empties the Lease and b leads at
    once (client-go leaderelection.go `release`)."""
    replicas = recording(3.0)
    uids = populate(k8s, example_wasm, 3)
    spy = LeaseSpy(Kube(api_client(k8s)))
    a = controller(k8s, grafana, renderer, replicas["a"], True, "a", lease_api=spy)
    run(a)
    wait_for(lambda: a.elector is not None and a.elector.is_leader())
    b = controller(k8s, grafana, renderer, replicas["b"], True, "b")
    run(b)
    ended: list[bool] = []
    try:
        wait_for(lambda: all(history(grafana, uid) == 1 for uid in uids), timeout=60)
        wait_for(lambda: a.passes >= 1, timeout=30)  # every first write answered
        k8s.set_spec("apps", "d1", simple(example_wasm, "last-by-a"))
        wait_for(lambda: history(grafana, uids[1]) == 2)  # stored; a waits 3 s for the answer
        sigterm = threading.Thread(target=lambda: ended.append(a.shutdown(10)))
        sigterm.start()
        k8s.set_spec("apps", "d2", simple(example_wasm, "first-by-b"))
        wait_for(lambda: history(grafana, uids[2]) == 2, timeout=30)
        sigterm.join()
    finally:
        a.shutdown(10)
        b.shutdown(10)
    assert ended == [True]
    released = [at for holder, at in spy.written if holder == ""]
    assert len(released) == 1
    assert all(end <= released[0] for who, _, end in Recording.writes if who == "a")
    assert all(start >= released[0] for who, start, _ in Recording.writes if who == "b")
    assert any(who == "b" for who, _, _ in Recording.writes)
    assert_never_at_once(Recording.writes)


def test_a_shutdown_whose_write_does_not_end_keeps_renewing_the_lease(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    """A write still waiting at the end of the grace: releasing, or merely no longer
    renewing, would let b write beside it. The Lease stays a's and renewed (the process
    then exits, `stopsignal.run_until_stopped`, and the Lease expires); once the write has
    ended a later shutdown releases it."""
    replicas = recording(3.0)
    populate(k8s, example_wasm, 1)
    a = controller(k8s, grafana, renderer, replicas["a"], True, "a")
    run(a)
    wait_for(lambda: a.elector is not None and a.elector.is_leader())
    b = controller(k8s, grafana, renderer, replicas["b"], True, "b")
    run(b)
    try:
        wait_for(lambda: a.passes >= 1, timeout=30)
        k8s.set_spec("apps", "d0", simple(example_wasm, "slow"))
        wait_for(lambda: history(grafana, default_uid_of(k8s, "d0")) == 2)  # stored; answer 3 s away
        in_flight = len(Recording.writes)
        assert a.shutdown(0.5) is False
        renewed = k8s.get("dawg", "dawg-all", "leases")["spec"]["renewTime"]
        time.sleep(1.5)  # longer than the Lease lasts
        lease = k8s.get("dawg", "dawg-all", "leases")["spec"]
        assert lease["holderIdentity"] == "a" and lease["renewTime"] != renewed  # still renewed
        assert len(Recording.writes) == in_flight  # the write had indeed not ended
        ended = a.shutdown(10)  # the write ends: now the Lease goes
    finally:
        a.shutdown(10)
        b.shutdown(10)
    assert ended
    assert not [w for w in Recording.writes if w[0] == "b"] or Recording.writes[-1][0] == "b"
    assert_never_at_once(Recording.writes)


def default_uid_of(k8s: KubernetesStandIn, name: str) -> str:
    obj = k8s.get("apps", name)
    return default_uid(DashboardResource("apps", name, obj["spec"], uid=obj["metadata"]["uid"]))


def test_release_only_a_lease_this_replica_holds(k8s: KubernetesStandIn) -> None:
    kube = Kube(api_client(k8s))
    a = LeaderElector(kube, "dawg", "l", "a", 30.0, 20.0, 0.1)
    b = LeaderElector(kube, "dawg", "l", "b", 30.0, 20.0, 0.1)
    with pytest.raises(RuntimeError, match="stop"):
        a.release()  # while it may still write
    assert a.try_acquire_or_renew()
    b.stop()
    assert b.release() is False  # not b's
    assert k8s.get("dawg", "l", "leases")["spec"]["holderIdentity"] == "a"
    a.stop()
    assert a.try_acquire_or_renew() is False  # a stopped replica never renews again
    assert a.release() is True
    spec = k8s.get("dawg", "l", "leases")["spec"]
    assert spec["holderIdentity"] == "" and spec["leaseDurationSeconds"] == 1
    assert spec["leaseTransitions"] == 0  # a release is not a transition (client-go keeps the count)
    c = LeaderElector(kube, "dawg", "l", "c", 30.0, 20.0, 0.1)
    assert c.try_acquire_or_renew() and c.is_leader()  # taken at once, not after 30 s


def test_a_failure_becomes_a_warning_event(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    populate(k8s, example_wasm, 1)
    c = controller(k8s, grafana, renderer)
    run(c)
    try:
        wait_for(lambda: c.passes >= 1 and "status" in k8s.get("apps", "d0"))
        k8s.set_spec("apps", "d0", {**simple(example_wasm, "x"), "generator": "file:///nowhere/missing.wasm"})
        wait_for(lambda: bool(k8s.list_of("events")))
    finally:
        c.stop()
    (event,) = k8s.list_of("events")
    assert event["type"] == "Warning" and event["involvedObject"]["name"] == "d0"
    assert event["reason"] == "GeneratorFailed" or event["reason"] == "PolicyDenied"
    assert TOKEN not in str(event)


def test_lease_decisions() -> None:
    held = {"spec": {"holderIdentity": "b", "renewTime": "2026-01-01T00:00:00Z", "leaseDurationSeconds": 15}}
    assert decide(None, "a", 0.0) is Step.CREATE
    assert decide(held, "a", 5.0) is Step.WAIT
    assert decide(held, "a", 16.0) is Step.TAKE
    assert decide(held, "b", 0.0) is Step.RENEW


def test_only_spec_changes_are_queued() -> None:
    fresh = DashboardResource("ns", "a", {}, generation=2)
    assert needs_reconcile(fresh)
    synced = DashboardResource(
        "ns", "a", {}, generation=2, status={"observedGeneration": 2, "conditions": [{"type": "Synced"}]}
    )
    assert not needs_reconcile(synced)  # our own status write coming back


def test_dawg_controller_process_serves_metrics_and_reconciles(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, example_wasm: dict[str, Path], tmp_path: Path
) -> None:
    import os
    import socket
    import subprocess
    import sys

    import requests

    uids = populate(k8s, example_wasm, 2)
    kubeconfig = write_kubeconfig(k8s, tmp_path / "kubeconfig")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "GRAFANA_URL": grafana.url,
        "GRAFANA_TOKEN": TOKEN,
        "DAWG_CACHE_DIR": str(tmp_path / "c"),
    }
    root = str(example_wasm["simple"].parent)
    command = [sys.executable, "-m", "dawg_provider", "controller", "--kubeconfig", str(kubeconfig)]
    command += ["--allowed-file-root", root, "--metrics-port", str(port), "--lease-namespace", "dawg"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: all(history(grafana, uid) == 1 for uid in uids), timeout=60)

        def metrics() -> str:
            return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text

        wait_for(lambda: 'dawg_reconciles_total{outcome="created"} 2.0' in metrics())  # after the pass
        assert "dawg_leader 1.0" in metrics() and "dawg_generator_run_seconds_count 2.0" in metrics()
        assert 'dawg_grafana_requests_total{code="2xx"}' in metrics()
        assert k8s.get("dawg", "dawg-controller", "leases")["spec"]["holderIdentity"]
    finally:
        process.terminate()  # SIGTERM, as the kubelet sends it
        _, stderr = process.communicate(timeout=30)
    assert TOKEN not in stderr and "Traceback" not in stderr
    assert process.returncode == 0, stderr  # a clean stop, not killed by the signal
    assert k8s.get("dawg", "dawg-controller", "leases")["spec"]["holderIdentity"] == ""  # handed over


def test_metrics_count_grafana_and_registry_requests_and_errors(
    grafana: GrafanaStandIn, tmp_path: Path
) -> None:
    """The controller's wiring (`command.instrument`): every Grafana attempt and registry
    request counted by status class, errors (4xx/5xx, no answer) apart; the parts only
    call the observer they were given."""
    from dawg_provider import Runtime
    from dawg_provider.cluster.command import instrument
    from dawg_provider.cluster.metrics import Metrics
    from dawg_provider.errors import RegistryError
    from dawg_provider.sources.fetch import Fetcher
    from tests.registry import free_port
    from tests.registry_faults import Answer, body, fault_servers, manifest_for

    metrics = Metrics()
    renderer = Renderer(Runtime(tmp_path / "c"), Fetcher(tmp_path / "c"))
    client = instrument(metrics, GrafanaConnection(grafana.url, token=TOKEN), renderer)()
    client.health()
    assert client.get_dashboard("no-such-dashboard") is None  # a 404: an error answer, counted
    text = metrics.text()
    assert 'dawg_grafana_requests_total{code="2xx"}' in text
    assert 'dawg_grafana_requests_total{code="4xx"} 1.0' in text
    assert "dawg_grafana_request_errors_total 1.0" in text
    with fault_servers(1) as (server,):
        server.routes["/v2/team/gen/manifests/1"] = body(manifest_for(b"\0asm\1\0\0\0"))
        server.routes["/v2/team/gen/manifests/2"] = Answer(status=503)
        for tag in ("1", "2"):
            with pytest.raises(RegistryError):
                renderer.fetcher.fetch(f"oci://{server.host}/team/gen:{tag}")
    with pytest.raises(RegistryError):
        renderer.fetcher.fetch(f"oci://127.0.0.1:{free_port()}/team/gen:1")  # nobody listens
    text = metrics.text()
    assert 'dawg_registry_requests_total{code="2xx"} 1.0' in text  # the manifest
    assert 'dawg_registry_requests_total{code="4xx"} 1.0' in text  # its blob: 404
    assert 'dawg_registry_requests_total{code="5xx"} 1.0' in text
    assert 'dawg_registry_requests_total{code="none"} 1.0' in text
    assert "dawg_registry_request_errors_total 3.0" in text
    assert "dawg_grafana_request_errors_total 1.0" in text  # registry errors are not Grafana's


def test_a_failure_found_by_a_full_pass_becomes_an_event_once(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    """Review 14 finding 8: drift found at resync has no watch event behind it; it must still
    be a Warning Event, and only once (the next pass finds the same failure in status)."""
    from datetime import timedelta

    k8s.add("apps", "d0", simple(example_wasm, "app0", drift="fail"))
    connection = GrafanaConnection(grafana.url, token=TOKEN)

    def make_job(source: Source, prune: bool) -> SyncJob:
        options = SyncOptions(owner=OWNER, prune=prune, instance="t", verify_interval=timedelta(0))
        return SyncJob(source, lambda: GrafanaClient(connection), renderer, options)

    c = Controller(Kube(api_client(k8s)), ClusterSource(client_api(k8s)), make_job, resync=3600)
    c.start()
    try:
        while c.passes < 1:
            c.step()
        assert "status" in k8s.get("apps", "d0") and not k8s.list_of("events")
        uid = default_uid(DashboardResource("apps", "d0", {}, uid=k8s.get("apps", "d0")["metadata"]["uid"]))
        grafana.ui_edit(uid, {"title": "edited by hand"})
        for _ in range(2):  # two resyncs: one Event
            done = c.passes
            c.request_full_pass()
            while c.passes == done:  # full passes run on their own thread
                c.step()
    finally:
        c.stop()
    (event,) = k8s.list_of("events")
    assert (event["type"], event["reason"], event["involvedObject"]["name"]) == ("Warning", "Drifted", "d0")


def test_healthz_says_whether_the_controller_works_and_metrics_live_at_metrics_only(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer
) -> None:
    """Review 14 finding 9c: prometheus_client's server answers the metrics page on any path,
    so the liveness probe on /healthz passed for a wedged controller."""
    import requests

    from dawg_provider.cluster.metrics import Metrics
    from tests.registry import free_port

    c = controller(k8s, grafana, renderer)
    metrics, port = Metrics(), free_port()
    server = metrics.serve(port, c.health)
    base = f"http://127.0.0.1:{port}"
    try:
        assert requests.get(base + "/healthz", timeout=5).status_code == 200
        assert "dawg_queue_depth" in requests.get(base + "/metrics", timeout=5).text
        assert requests.get(base + "/", timeout=5).status_code == 404
        c.last_step -= c.stall_after + 1  # the worker is stuck
        stuck = requests.get(base + "/healthz", timeout=5)
        assert stuck.status_code == 503 and "no progress" in stuck.text
        c.last_step = time.monotonic()
        ended = threading.Thread(target=lambda: None)
        ended.start()
        ended.join()
        c.threads.append(ended)  # a watch thread that died
        dead = requests.get(base + "/healthz", timeout=5)
        assert dead.status_code == 503 and "thread has ended" in dead.text
        c.stopping.set()  # stopping on purpose is not a failure
        assert requests.get(base + "/healthz", timeout=5).status_code == 200
    finally:
        server.shutdown()
        server.server_close()
