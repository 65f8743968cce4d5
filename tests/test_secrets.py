"""Secrets echoed back by a server never reach a message, a status or the job's output.

The server here is an echo: it answers every request with an error whose text quotes
the request's `Authorization` header, as httpbin's `/headers` endpoint
(https://httpbin.org/#/Request_inspection) and many proxies' error pages do. For
Grafana the quote goes in the JSON `message` field its API errors carry
(pkg/api/response/response.go, `Error`); for a registry in the `errors[].message`
field of the OCI distribution error body (distribution-spec spec.md, "Error Codes";
distribution/registry/api/errcode/errors.go, `Error.Message`).
"""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from dawg_provider.cluster.report import report
from dawg_provider.cluster.sources import ClusterSource
from dawg_provider.cluster.sync import SyncJob, SyncOptions
from dawg_provider.errors import DawgError, GrafanaError, RegistryError, register_secret, scrub
from dawg_provider.grafana import GrafanaClient, GrafanaConnection, RetryPolicy
from dawg_provider.grafana.responses import grafana_message
from dawg_provider.render import Renderer
from dawg_provider.sources.reference import parse_reference
from dawg_provider.sources.registry import RegistryClient, RegistryOptions
from tests.k8s_standin import KubernetesStandIn, client_api
from tests.test_sync import condition, simple

SHAPELESS = "s3cr3t-Value-without-a-prefix"  # only caught because it is registered
GLSA = "glsa_unregistered_token_0123456789"  # caught by its shape alone
PASSWORD = "registry-pa55word-xyz"


class Echo(BaseHTTPRequestHandler):
    """Answers everything with an error quoting the Authorization header."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        header = self.headers.get("Authorization", "")
        text = f"invalid request; you sent Authorization: {header} (token {header.split(' ')[-1]})"
        body: dict[str, Any] = {"message": text, "traceID": ""}
        if self.path.startswith("/v2/"):
            body = {"errors": [{"code": "DENIED", "message": text, "detail": header}]}
        status = 400
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer()


@pytest.fixture
def echo() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_scrub_removes_registered_values_and_credential_shapes() -> None:
    register_secret(SHAPELESS)
    text = scrub(f"x {SHAPELESS} Authorization: Basic dXNlcjpwYXNz Bearer abcdefghijk {GLSA} ok")
    assert SHAPELESS not in text and "dXNlcjpwYXNz" not in text and "abcdefghijk" not in text
    assert GLSA not in text and text.startswith("x [redacted]") and text.endswith("ok")
    assert scrub("the authorization header is missing") == "the authorization header is missing"


@pytest.mark.parametrize("token", [SHAPELESS, GLSA])
def test_grafana_errors_never_carry_the_echoed_token(echo: str, token: str) -> None:
    register_secret(SHAPELESS)
    client = GrafanaClient(
        GrafanaConnection(f"http://{echo}", token=token, retry=RetryPolicy(attempts=1, base_delay=0.01))
    )
    with pytest.raises(GrafanaError) as caught:
        client.get_dashboard("x")
    error = caught.value
    assert "HTTP 400" in str(error) and "[redacted]" in str(error)
    assert token not in str(error) and token not in error.grafana_message and token not in repr(error.args)


def test_registry_errors_never_carry_the_echoed_password(echo: str) -> None:
    client = RegistryClient(RegistryOptions(username="robot", password=PASSWORD, timeout=5))
    ref = parse_reference(f"oci://{echo}/team/gen:v1")
    with pytest.raises(DawgError) as caught:  # a push: its error quotes the registry's errors[]
        client.put_manifest(ref, {"schemaVersion": 2})  # type: ignore[arg-type]
    text = str(caught.value)
    basic = base64.b64encode(f"robot:{PASSWORD}".encode()).decode()
    assert isinstance(caught.value, RegistryError) and "HTTP 400: invalid request" in text, text
    assert "[redacted]" in text and PASSWORD not in text and basic not in text


def test_the_sync_job_never_puts_an_echoed_token_in_status_or_output(
    echo: str, k8s: KubernetesStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    register_secret(SHAPELESS)
    k8s.add("team", "web", simple(example_wasm, "web"))
    connection = GrafanaConnection(
        f"http://{echo}", token=SHAPELESS, retry=RetryPolicy(attempts=1, base_delay=0.01)
    )
    summary = SyncJob(
        ClusterSource(client_api(k8s)), lambda: GrafanaClient(connection), renderer, SyncOptions()
    ).run()
    out = io.StringIO()
    report(summary, False, out)
    status = k8s.get("team", "web")["status"]
    assert condition(k8s.get("team", "web"), "Synced")["reason"] == "GrafanaError"
    assert "[redacted]" in json.dumps(status)
    assert SHAPELESS not in json.dumps(status) and SHAPELESS not in out.getvalue()


def test_pulumi_errors_and_check_failures_never_carry_a_known_secret(tmp_path: Path) -> None:
    from dawg_provider.pulumi.provider import ProviderError, WasmDashboardProvider

    register_secret(SHAPELESS)
    error = ProviderError(f"dashboard d: Grafana said Authorization: Bearer {SHAPELESS}")
    assert SHAPELESS not in str(error) and "dashboard d: Grafana said" in str(error)
    missing = tmp_path / f"{SHAPELESS}.wasm"  # a path that happens to contain the token
    grafana = {"url": "http://127.0.0.1:9", "token": "t"}  # check needs a connection (issue 12)
    failures = (
        WasmDashboardProvider()
        .check(
            {}, {"generator": str(missing), "config": "a: 1", "uid": "d", "owner": "o", "grafana": grafana}
        )
        .failures
    )
    assert [failure.property for failure in failures] == ["generator"]
    assert "[redacted]" in failures[0].reason and SHAPELESS not in failures[0].reason
    assert not missing.exists()


PADDED = "tok3n-with-padding-4"  # its base64 ends in "=", stripped by some echoes


def _response(text: str) -> requests.Response:
    response = requests.Response()
    response.status_code, response.reason = 502, "Bad Gateway"
    response._content = text.encode()
    return response


@pytest.mark.parametrize(
    "echoed",
    [
        "y" * 185 + " key=" + PADDED,  # straddles the 200-character cut
        "token " + quote(PADDED, safe=""),
        "X-Grafana-Token: " + base64.b64encode(PADDED.encode()).decode().rstrip("="),
        "Cookie: grafana_session=abcdef0123456789",
        '"Authorization": "Bearer abcdefghijklmnop"',
    ],
)
def test_encoded_or_cut_secrets_never_survive_a_grafana_error_body(echoed: str) -> None:
    register_secret(PADDED)
    message, _ = grafana_message(_response(echoed))
    assert len(message) <= 200
    for leak in (PADDED[:6], "abcdef0123456789", "abcdefghijklmnop", "dG9rM2"):
        assert leak not in message, message


def test_grafana_basic_auth_is_never_echoed(echo: str) -> None:
    connection = GrafanaConnection(
        f"http://{echo}", username="admin", password="grafana-pa55-word", retry=RetryPolicy(attempts=1)
    )
    with pytest.raises(GrafanaError) as caught:
        GrafanaClient(connection).get_dashboard("x")
    text = str(caught.value) + caught.value.grafana_message
    basic = base64.b64encode(b"admin:grafana-pa55-word").decode()
    assert "[redacted]" in text and "grafana-pa55-word" not in text
    assert basic not in text and basic.rstrip("=") not in text
