"""The example generators: they render the dashboards they promise and reject bad config."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dawg_provider import Artifact, ConfigInvalid, GeneratorFailed, Runtime
from dawg_provider.wasm.config_schema import SECTION
from dawg_provider.wasm.sections import without_custom_section


@pytest.fixture(scope="module")
def unchecked(examples: dict[str, Artifact]) -> dict[str, Artifact]:
    """The examples without their config schema: the generators' own checks, reached directly."""
    return {
        name: Artifact.from_bytes(artifact.source, without_custom_section(artifact.wasm, SECTION))
        for name, artifact in examples.items()
        if name in ("deployment", "simple", "service")
    }


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return list(dashboard["panels"])


def exprs(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in panels(dashboard) for target in panel.get("targets", [])]


def test_deployment_renders_replica_resource_and_network_panels(
    runtime: Runtime, examples: dict[str, Artifact]
) -> None:
    result = runtime.run(examples["deployment"], "namespace: shop\nname: checkout-api\n")
    dashboard = result.dashboard
    assert dashboard["title"] == "Deployment shop/checkout-api"
    titles = [panel["title"] for panel in panels(dashboard)]
    for expected in (
        "Desired replicas",
        "Available replicas",
        "Unavailable replicas",
        "Restarts (1h)",
        "CPU usage",
        "Memory usage",
        "Network received",
        "Network transmitted",
    ):
        assert expected in titles
    queries = exprs(dashboard)
    assert any("kube_deployment_spec_replicas" in q and 'deployment="checkout-api"' in q for q in queries)
    assert all('namespace="shop"' in q for q in queries)
    assert any("container_cpu_usage_seconds_total" in q for q in queries)
    assert any('resource="memory"' in q and "limits" in q for q in queries)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert "checkout-api" in variables["pod"]["query"]["query"]
    # No datasource uid configured: a datasource variable is offered instead.
    assert variables["datasource"]["type"] == "datasource"
    # Panel ids are unique and the generator leaves the Grafana uid to whoever deploys it.
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids))
    assert "uid" not in dashboard and "id" not in dashboard
    # The exact bytes are kept next to the parsed form.
    assert json.loads(result.raw) == dashboard


def test_deployment_takes_json_config_datasource_and_title(
    runtime: Runtime, examples: dict[str, Artifact]
) -> None:
    config = '{"namespace": "payments", "name": "ledger", "datasource": "prom-eu", "title": "Ledger"}'
    dashboard = runtime.run(examples["deployment"], config).dashboard
    assert dashboard["title"] == "Ledger"
    sources = {json.dumps(panel.get("datasource"), sort_keys=True) for panel in panels(dashboard)[1:]}
    assert sources - {"null"} == {'{"type": "prometheus", "uid": "prom-eu"}'}
    assert "datasource" not in {v["name"] for v in dashboard["templating"]["list"]}


def test_simple_renders_overview_row_and_network_panel(
    runtime: Runtime, examples: dict[str, Artifact]
) -> None:
    dashboard = runtime.run(examples["simple"], "app_name: web-frontend\n").dashboard
    assert dashboard["title"] == "web-frontend"
    row, network = panels(dashboard)
    assert (row["type"], row["title"]) == ("row", "Overview")
    assert (network["type"], network["title"]) == ("timeseries", "Network Received")
    assert network["fieldConfig"]["defaults"]["unit"] == "bps"
    (expr,) = exprs(dashboard)
    assert expr.startswith("rate(node_network_receive_bytes_total{")
    assert 'job="web-frontend"' in expr and expr.endswith("* 8")


def test_service_renders_red_panels(runtime: Runtime, examples: dict[str, Artifact]) -> None:
    dashboard = runtime.run(examples["service"], "service: checkout\njob: shop/checkout\n").dashboard
    assert dashboard["title"] == "Service checkout"
    titles = [panel["title"] for panel in panels(dashboard)]
    assert titles == ["RED", "Request rate", "Error ratio", "Latency"]
    queries = exprs(dashboard)
    assert all('job="shop/checkout", service="checkout"' in q for q in queries)
    assert any('code=~"5.."' in q for q in queries)
    latency = [q for q in queries if q.startswith("histogram_quantile")]
    assert [q.split(",")[0] for q in latency] == [
        "histogram_quantile(0.5",
        "histogram_quantile(0.9",
        "histogram_quantile(0.99",
    ]


def test_example_configs_render(
    runtime: Runtime, examples: dict[str, Artifact], example_configs: dict[str, bytes]
) -> None:
    for name, artifact in examples.items():
        assert runtime.run(artifact, example_configs[name]).dashboard["panels"]


BAD_CONFIGS = [
    ("deployment", "", 'field "namespace" is required'),
    ("deployment", "namespace: shop\n", 'field "name" is required'),
    ("deployment", "namespace: shop\nname: 42\n", 'field "name" must be a string, got number'),
    ("deployment", "namespace: shop\nname: api\nnamspace: x\n", 'unknown field "namspace"'),
    ("deployment", "namespace: Shop\nname: api\n", "must be a Kubernetes name"),
    ("deployment", "namespace:\n  nested: 1\n", "nested values are not supported"),
    ("deployment", '{"namespace": "a", "name": ["b"]}', "nested values are not supported"),
    ("simple", "", 'field "app_name" is required'),
    ("simple", "app_name: true\n", 'field "app_name" must be a string, got boolean'),
    ("simple", "app: web\n", 'unknown field "app"'),
    ("simple", 'app_name: "a b"\n', "may contain only letters"),
    ("simple", '{"app_name": "web"', "invalid JSON"),
    ("service", "service: web\n", 'field "job" is required'),
    ("service", "service: 1.5\njob: j\n", 'field "service" must be a string, got number'),
    ("service", "service: web\njob: j\nport: 80\n", 'unknown field "port"'),
    ("service", 'service: "web" extra\njob: j\n', "unexpected text after the closing quote"),
]


@pytest.mark.parametrize(("name", "config", "message"), BAD_CONFIGS)
def test_bad_config_is_rejected_with_one_clear_line(
    runtime: Runtime,
    examples: dict[str, Artifact],
    unchecked: dict[str, Artifact],
    name: str,
    config: str,
    message: str,
) -> None:
    # The generator's own check (it must keep one: an old DAWG or a bare wasmtime skips schemas).
    with pytest.raises(GeneratorFailed) as caught:
        runtime.run(unchecked[name], config)
    error = caught.value
    assert error.exit_code == 1
    assert message in error.stderr
    assert len(error.stderr.strip().splitlines()) == 1
    assert str(error).startswith(f"generator {unchecked[name].source} (sha256:")
    assert message in str(error)
    # With its schema, DAWG refuses most of these before the generator runs, in the same words.
    with pytest.raises(GeneratorFailed) as caught:
        runtime.run(examples[name], config)
    assert caught.value.exit_code == 1
    if isinstance(caught.value, ConfigInvalid):
        assert caught.value.stderr == ""
        if message.startswith(("field", "unknown field")):
            assert any(message in problem for problem in caught.value.problems)


def test_comments_quotes_and_document_markers_are_understood(
    runtime: Runtime, examples: dict[str, Artifact]
) -> None:
    config = "---\n# which deployment\nnamespace: 'shop'  # quoted\nname: \"api\"\ntitle: It's fine # yes\n"
    dashboard = runtime.run(examples["deployment"], config).dashboard
    assert dashboard["title"] == "It's fine"
    assert any('deployment="api"' in q for q in exprs(dashboard))
