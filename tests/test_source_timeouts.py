"""The cluster source's own calls (the listing and the status patch) against an API server
that takes a request and never answers (`KubernetesStandIn.stall`): each gives up after
its client-side timeout, a silent listing fails the pass before anything is written or
pruned, and a silent status patch is one counted status failure while the dashboard is
written and every other CR is synced. Each pass runs on a thread joined with a bound, so
a call that waits forever fails the test instead of hanging it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dawg_provider.cluster.command import exit_code
from dawg_provider.cluster.kube import REQUEST_TIMEOUT, KubeError
from dawg_provider.cluster.sources import ClusterSource
from dawg_provider.cluster.sync import Summary, SyncJob, SyncOptions
from dawg_provider.grafana import Dialect, GrafanaClient, GrafanaConnection, RetryPolicy, ownership
from dawg_provider.render import Renderer
from tests.grafana_standin import GrafanaStandIn
from tests.k8s_standin import KubernetesStandIn, client_api, write_kubeconfig

TOKEN = "glsa_source_timeouts_token"
OWNER = "k8s-test"
TIMEOUT = 0.5
DASHBOARDS = r"/apis/dawg\.urcloud\.cc/v1/dashboards"
NAMESPACED = r"/apis/dawg\.urcloud\.cc/v1/namespaces/{}/dashboards"


@pytest.fixture
def grafana() -> Iterator[GrafanaStandIn]:
    server = GrafanaStandIn("12.0", tokens={TOKEN: (1, "Admin")}).start()
    yield server
    server.stop()


def source(k8s: KubernetesStandIn, namespaces: list[str] | None = None) -> ClusterSource:
    return ClusterSource(client_api(k8s), namespaces, request_timeout=TIMEOUT, list_timeout=TIMEOUT)


def bounded(call: Any, limit: float = 20.0) -> tuple[float, Any]:
    """`call()` on a daemon thread: (seconds taken, its result); fails if it is still running
    after `limit` (the stalled requests are released by the fixture's `stop()`)."""
    outcome: list[Any] = []
    started = time.monotonic()
    thread = threading.Thread(target=lambda: outcome.append(call()), daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), f"still waiting after {limit} s: no client-side timeout"
    assert outcome, "the call raised (see the thread's traceback above)"
    return time.monotonic() - started, outcome[0]


def sync(k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, src: ClusterSource) -> Summary:
    connection = GrafanaConnection(
        grafana.url,
        token=TOKEN,
        retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02),
        dialect=Dialect.LEGACY,
    )
    options = SyncOptions(owner=OWNER, concurrency=4)
    return SyncJob(src, lambda: GrafanaClient(connection), renderer, options).run()


def add(k8s: KubernetesStandIn, example_wasm: dict[str, Path], namespace: str, name: str) -> str:
    spec = {"generator": f"file://{example_wasm['simple']}", "config": f"app_name: {name}\n"}
    k8s.add(namespace, name, spec)
    return ownership.derived_uid("k8s", namespace, name)


def test_a_silent_listing_fails_the_pass_and_nothing_is_written_or_pruned(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    uids = [add(k8s, example_wasm, "shop", name) for name in ("web", "api")]
    first = sync(k8s, grafana, renderer, source(k8s))
    assert not first.errors and all(grafana.dashboard(uid) for uid in uids)
    k8s.delete("shop", "api")  # pruning would delete its dashboard, on a complete listing
    k8s.set_spec("shop", "web", {**k8s.get("shop", "web")["spec"], "config": "app_name: changed\n"})
    status = k8s.get("shop", "web")["status"]
    grafana.reset_counts()
    k8s.requests.clear()
    k8s.stall("GET", DASHBOARDS)

    took, summary = bounded(lambda: sync(k8s, grafana, renderer, source(k8s)))

    # urllib3 retries an idempotent GET whose read timed out 3 times (Retry.DEFAULT), so the
    # listing ends after 4 silent reads of TIMEOUT each: bounded, as the docstring says.
    assert k8s.stalled == 4 and TIMEOUT * 4 <= took < TIMEOUT * 4 + 5
    assert summary.errors == [
        "listing Dashboard resources in all namespaces failed: no answer within 0.5 s "
        "(the API server, or a proxy on the way, took the request and did not respond)"
    ]
    assert summary.results == [] and summary.pruned == [] and exit_code(summary) == 1
    assert grafana.count("DELETE") == 0 and grafana.count("POST") == 0 and grafana.count("PUT") == 0
    assert all(grafana.dashboard(uid) for uid in uids)  # the deleted CR's dashboard too
    assert grafana.dashboard(uids[0]).json["title"] == "web"  # type: ignore[union-attr]
    assert [r for r in k8s.requests if r[0] != "GET"] == []
    assert k8s.get("shop", "web")["status"] == status


def test_a_silent_namespace_fails_the_whole_listing_and_names_that_namespace(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    shop = add(k8s, example_wasm, "shop", "web")
    team = add(k8s, example_wasm, "team", "board")
    k8s.stall("GET", NAMESPACED.format("team"))

    took, summary = bounded(lambda: sync(k8s, grafana, renderer, source(k8s, ["shop", "team"])))

    assert took < TIMEOUT * 4 + 5 and len(summary.errors) == 1
    assert summary.errors[0].startswith("listing Dashboard resources in namespace team failed: no answer")
    assert summary.results == [] and exit_code(summary) == 1
    assert grafana.dashboard(shop) is None and grafana.dashboard(team) is None  # shop listed, not synced
    assert "status" not in k8s.get("shop", "web")


def test_the_controller_listing_of_one_scope_gives_up_with_a_kube_error(k8s: KubernetesStandIn) -> None:
    """What the controller's watch thread calls before watching (`Controller.watch_scope`)."""
    k8s.stall("GET", NAMESPACED.format("team"))
    src = source(k8s, ["team"])

    def listed() -> KubeError:
        with pytest.raises(KubeError) as caught:
            src.list_scope("team")
        return caught.value

    took, error = bounded(listed)
    assert took < TIMEOUT * 4 + 5 and error.status == 0
    assert str(error).startswith(
        "listing Dashboard resources in namespace team failed: no answer within 0.5 s"
    )
    assert src.resource_version == ""  # nothing to watch from


def test_a_list_answered_late_but_within_the_timeout_is_listed(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    """The timeout bounds silence, not a slow but answering server."""
    uid = add(k8s, example_wasm, "shop", "web")
    k8s.stall("GET", DASHBOARDS, seconds=0.2)
    slow = ClusterSource(client_api(k8s), request_timeout=TIMEOUT, list_timeout=1.0)

    _, summary = bounded(lambda: sync(k8s, grafana, renderer, slow))

    assert k8s.stalled == 1 and not summary.errors and grafana.dashboard(uid) is not None
    assert k8s.get("shop", "web")["status"]["grafana"]["uid"] == uid


def test_a_silent_status_patch_is_one_status_failure_and_the_rest_is_done(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    uids = {name: add(k8s, example_wasm, "shop", name) for name in ("a", "b", "c")}
    k8s.stall("PATCH", NAMESPACED.format("shop") + "/b/status")

    took, summary = bounded(lambda: sync(k8s, grafana, renderer, source(k8s)))

    assert took < TIMEOUT + 5
    assert k8s.stalled == 1  # urllib3 does not retry a PATCH (not in Retry.DEFAULT_ALLOWED_METHODS)
    assert {r.key: r.outcome.value for r in summary.results} == {f"shop/{n}": "created" for n in uids}
    assert all(grafana.dashboard(uid) is not None for uid in uids.values())  # b's was written first
    for name in ("a", "c"):
        assert k8s.get("shop", name)["status"]["grafana"]["uid"] == uids[name]
    assert "status" not in k8s.get("shop", "b")  # synced again next pass
    assert summary.status_failures == 1 and exit_code(summary) == 1
    assert summary.errors == [
        "status of 1 resource(s) could not be written (first: shop/b: status update failed: no answer "
        "within 0.5 s (the API server, or a proxy on the way, took the request and did not respond)); "
        "they show an outdated status and are synced again next pass"
    ]
    assert summary.pruned == [] and grafana.count("DELETE") == 0


def test_the_sources_dawg_sync_and_the_controller_build_have_the_default_timeouts(
    k8s: KubernetesStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ClusterSource.connect` (what cluster/command.py `prepare` calls for both commands)
    keeps the defaults: connect and status 5 s as the Lease calls, a list page 65 s."""
    kubeconfig = write_kubeconfig(k8s, tmp_path / "kubeconfig")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    src = ClusterSource.connect(str(kubeconfig), ["shop"], None)
    assert (
        (src.request_timeout, src.list_timeout)
        == (REQUEST_TIMEOUT, ClusterSource.LIST_TIMEOUT)
        == (5.0, 65.0)
    )
    k8s.add("shop", "web", {"generator": "file:///x.wasm"})
    assert [r.key for r in src.list()] == ["shop/web"]
