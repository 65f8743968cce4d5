"""A half-open connection to the API server (NAT or conntrack expiry, a load balancer
failover) sends nothing and never closes. The controller's watch, Lease and Event calls
must give up on their own, and the controller must watch again."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dawg_provider.cluster.controller import Controller
from dawg_provider.cluster.kube import Kube, KubeError
from dawg_provider.cluster.sources import ClusterSource


class BlackHole:
    """Answers a Dashboard list (empty, resourceVersion 5); a watch gets its 200 and headers,
    then nothing; any other request gets nothing at all. Counts the watches."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.watches = 0
        hole = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if "watch=true" in self.path:
                    hole.watches += 1
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    self.wfile.flush()
                    hole.release.wait(60)
                elif "/dashboards" in self.path:
                    body = json.dumps(
                        {"kind": "DashboardList", "items": [], "metadata": {"resourceVersion": "5"}}
                    )
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body.encode())
                else:
                    hole.release.wait(60)

            def do_POST(self) -> None:
                self.do_GET()

            def do_PUT(self) -> None:
                self.do_GET()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def api_client(self) -> Any:
        from kubernetes import client

        configuration = client.Configuration()
        configuration.host = self.url
        return client.ApiClient(configuration)

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hole() -> Iterator[BlackHole]:
    server = BlackHole()
    yield server
    server.stop()


def timed(call: Any) -> tuple[float, KubeError]:
    started = time.monotonic()
    with pytest.raises(KubeError) as caught:
        call()
    return time.monotonic() - started, caught.value


def test_lease_and_event_calls_give_up(hole: BlackHole) -> None:
    kube = Kube(hole.api_client(), request_timeout=0.5)
    lease = {"metadata": {"name": "l", "namespace": "dawg"}, "spec": {}}
    for call in (
        lambda: kube.get_lease("dawg", "l"),
        lambda: kube.create_lease("dawg", lease),
        lambda: kube.replace_lease("dawg", lease),
        lambda: kube.create_event("apps", {"metadata": {"name": "e"}}),
    ):
        took, error = timed(call)
        assert took < 3.0 and error.status == 0


def test_a_silent_watch_ends_after_the_servers_deadline(hole: BlackHole) -> None:
    kube = Kube(hole.api_client(), watch_slack=0.5)
    took, error = timed(lambda: list(kube.watch(None, "", "5", timeout=1)))
    assert 1.0 <= took < 4.0 and error.status == 0 and hole.watches == 1


def test_the_controller_watches_again_after_a_silent_watch(hole: BlackHole) -> None:
    kube = Kube(hole.api_client(), watch_slack=0.5)
    from kubernetes import client

    source = ClusterSource(client.CustomObjectsApi(hole.api_client()))

    def no_jobs(*_: Any) -> Any:
        raise AssertionError("no reconcile in this test")

    controller = Controller(kube, source, no_jobs, resync=3600, watch_timeout=1)
    controller.start()  # the watch threads only; no worker
    try:
        started = time.monotonic()
        while hole.watches < 2:
            assert time.monotonic() - started < 10, "the watch never came back"
            time.sleep(0.05)
    finally:
        controller.stop()
