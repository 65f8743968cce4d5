"""Reach: a CR cannot make the job fetch from a registry or a file the job does not allow.

Each attack's target counts what it received, so "refused" means no request was sent
and no file was opened, not merely that the CR failed.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from dawg_provider.cluster.reach import ReachPolicy, reach_problem
from dawg_provider.errors import InvalidModule
from dawg_provider.grafana import ownership
from dawg_provider.render import Renderer
from dawg_provider.sources.artifact import load_artifact
from dawg_provider.sources.fetch import Fetcher
from dawg_provider.sources.reference import FileRef
from dawg_provider.sources.registry import RegistryOptions
from tests.grafana_standin import GrafanaStandIn
from tests.k8s_standin import KubernetesStandIn
from tests.registry_faults import Answer, fault_servers
from tests.test_sync import condition, grafana, outcomes, simple
from tests.test_tenancy import snapshot, sync, teams, unchanged

__all__ = ["grafana", "teams"]


class Counting(BaseHTTPRequestHandler):
    """Any internal service: counts what reaches it."""

    hits: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        Counting.hits.append(self.path)
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def internal() -> Iterator[str]:
    Counting.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_registries_off_the_allow_list_are_never_contacted(
    teams: dict[str, Any],
    k8s: KubernetesStandIn,
    grafana: GrafanaStandIn,
    renderer: Renderer,
    internal: str,
    example_wasm: dict[str, Path],
) -> None:
    k8s.add("beta", "ssrf", {"generator": f"oci://{internal}/latest/meta-data:v1"})
    k8s.add("beta", "metadata", {"generator": "oci://169.254.169.254/latest/meta-data:v1"})
    reach = ReachPolicy.for_job(["registry.example.com"], [str(example_wasm["simple"].parent)], cluster=True)
    summary = sync(k8s, grafana, renderer, reach=reach)
    assert outcomes(summary)["beta/ssrf"] == ("failed", "PolicyDenied")
    assert outcomes(summary)["beta/metadata"] == ("failed", "PolicyDenied")
    assert outcomes(summary)["alpha/web"] == ("unchanged", "UpToDate")
    message = condition(k8s.get("beta", "ssrf"), "Synced")["message"]
    assert f"registry '{internal}' is not on the job's allow-list (registry.example.com)" in message
    assert Counting.hits == []  # loopback is not implicitly allowed: nothing was sent
    unchanged(teams, grafana)


def test_a_cluster_job_without_an_allow_list_reaches_no_registry(internal: str) -> None:
    assert reach_problem(f"oci://{internal}/x:v1", ReachPolicy.for_job([], [], cluster=True)) is not None
    assert reach_problem(f"oci://{internal}/x:v1", ReachPolicy.for_job([], [], cluster=False)) is None
    allowed = ReachPolicy.for_job([internal.upper()], [], cluster=True)
    assert reach_problem(f"oci://{internal}/x:v1", allowed) is None


def test_files_outside_the_roots_symlinks_out_and_special_files_are_refused(
    teams: dict[str, Any],
    k8s: KubernetesStandIn,
    grafana: GrafanaStandIn,
    renderer: Renderer,
    example_wasm: dict[str, Path],
    tmp_path: Path,
) -> None:
    root = tmp_path / "generators"
    root.mkdir()
    (root / "good.wasm").write_bytes(example_wasm["simple"].read_bytes())
    secret = tmp_path / "secret.txt"
    secret.write_text("the job's secret")
    (root / "escape.wasm").symlink_to(secret)
    os.mkfifo(root / "fifo.wasm")  # opening it would block the pass forever
    k8s.add("beta", "passwd", {"generator": "file:///etc/passwd"})
    k8s.add("beta", "escape", {"generator": f"file://{root}/escape.wasm"})
    k8s.add("beta", "dotdot", {"generator": f"file://{root}/../secret.txt"})
    k8s.add("beta", "fifo", {"generator": f"file://{root}/fifo.wasm"})
    k8s.add("beta", "dev", {"generator": "file:///dev/zero"})
    k8s.add("beta", "good", {**simple(example_wasm, "good"), "generator": f"file://{root}/good.wasm"})
    reach = ReachPolicy.for_job([], [str(root), str(example_wasm["simple"].parent)], cluster=True)
    started = time.monotonic()
    summary = sync(k8s, grafana, renderer, reach=reach)
    assert time.monotonic() - started < 60
    results = outcomes(summary)
    for name in ("passwd", "escape", "dotdot", "dev"):
        assert results[f"beta/{name}"] == ("failed", "PolicyDenied"), name
        assert (
            "outside the job's generator directories" in condition(k8s.get("beta", name), "Synced")["message"]
        )
    assert results["beta/fifo"] == ("failed", "PolicyDenied")
    assert "is not a regular file" in condition(k8s.get("beta", "fifo"), "Synced")["message"]
    assert results["beta/good"] == ("created", "Created")
    assert grafana.dashboard(ownership.derived_uid("k8s", "beta", "good")) is not None
    unchanged(teams, grafana)


def test_loading_a_special_file_is_refused_without_reading_it() -> None:
    started = time.monotonic()
    with pytest.raises(InvalidModule, match="not a regular file"):
        load_artifact(FileRef("file:///dev/zero", Path("/dev/zero")))
    assert time.monotonic() - started < 5


def test_a_registry_trickling_its_headers_fails_its_cr_at_the_fetch_deadline(
    teams: dict[str, Any],
    k8s: KubernetesStandIn,
    grafana: GrafanaStandIn,
    renderer: Renderer,
    example_wasm: dict[str, Path],
    tmp_path: Path,
) -> None:
    """Status line and headers 1 byte / 0.2 s: each read is quick, the fetch is not."""
    with fault_servers(1) as (registry,):
        path = "/v2/team/gen/manifests/v1"
        registry.routes[path] = Answer(chunks=lambda: iter([b"{}"]), length=2, header_pause=0.2)
        generator = f"oci://{registry.host}/team/gen:v1"
        k8s.add("beta", "slow", {"generator": generator})
        k8s.add("beta", "good", simple(example_wasm, "good"))
        reach = ReachPolicy.for_job([registry.host], [str(example_wasm["simple"].parent)], cluster=True)
        options = RegistryOptions(deadline=1.5, timeout=5.0, allowed_hosts=reach.registries)
        slow_renderer = Renderer(renderer.runtime, Fetcher(tmp_path / "cache", options))
        started = time.monotonic()
        summary = sync(k8s, grafana, slow_renderer, reach=reach)
        elapsed = time.monotonic() - started
    assert outcomes(summary)["beta/slow"][0] == "failed"
    message = condition(k8s.get("beta", "slow"), "Synced")["message"]
    assert generator in message and "fetch deadline (1.5 s)" in message
    assert elapsed < 15, elapsed  # the headers alone would take ~8 s, and the pass does more
    assert outcomes(summary)["beta/good"] == ("created", "Created")
    good_uid = ownership.derived_uid("k8s", "beta", "good")
    assert set(snapshot(grafana)) - set(teams) == {good_uid}  # nothing written for beta/slow
    unchanged(teams, grafana)
