"""The example generators: they render the dashboards they promise and reject bad config."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dawg_provider import Artifact, ConfigInvalid, GeneratorFailed, Runtime
from dawg_provider.render import check_model
from dawg_provider.wasm.config_schema import SECTION
from dawg_provider.wasm.sections import without_custom_section


@pytest.fixture(scope="module")
def unchecked(examples: dict[str, Artifact]) -> dict[str, Artifact]:
    """The examples without their config schema: the generators' own checks, reached directly."""
    return {
        name: Artifact.from_bytes(artifact.source, without_custom_section(artifact.wasm, SECTION))
        for name, artifact in examples.items()
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


def sources(dashboard: dict[str, Any]) -> list[Any]:
    """Every data source reference of the panels with queries and of their queries."""
    found = []
    for panel in panels(dashboard):
        if panel.get("targets"):
            found.append(panel.get("datasource"))
            found += [target.get("datasource") for target in panel["targets"]]
    return found


def datasource_variables(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in dashboard.get("templating", {}).get("list", []) if v.get("type") == "datasource"]


def test_every_example_dashboard_is_clean_under_our_own_model_check(
    runtime: Runtime, examples: dict[str, Artifact], example_configs: dict[str, bytes]
) -> None:
    # Our examples are what people copy: no finding of the check every adapter applies
    # (render.check_model), and none of the runtime's own repairs either.
    assert set(examples) == {"deployment", "simple", "service", "python-service", "js-network"}
    for name, artifact in examples.items():
        result = runtime.run(artifact, example_configs[name])
        assert check_model(name, result.dashboard) == (), name
        assert result.warnings == (), name
        # Each names its data source the way Grafana saves a data source variable.
        (variable,) = datasource_variables(result.dashboard)
        assert (variable["name"], variable["query"]) == ("datasource", "prometheus"), name
        refs = sources(result.dashboard)
        assert refs and all(ref == {"type": "prometheus", "uid": "${datasource}"} for ref in refs), name


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("deployment", "namespace: shop\nname: api\n"),
        ("simple", "app_name: web\n"),
        ("service", "service: web\njob: shop/web\n"),
        ("python-service", "service: web\njob: shop/web\n"),
        ("js-network", "app_name: web\n"),
    ],
)
def test_a_configured_datasource_uid_replaces_the_variable(
    runtime: Runtime, examples: dict[str, Artifact], name: str, config: str
) -> None:
    dashboard = runtime.run(examples[name], config + "datasource: prom-EU_2\n").dashboard
    assert check_model(name, dashboard) == ()
    assert datasource_variables(dashboard) == []  # nothing left to pick
    refs = sources(dashboard)
    assert refs and all(ref == {"type": "prometheus", "uid": "prom-EU_2"} for ref in refs)
    # A JSON config names it too, and the longest uid Grafana accepts (40) is taken.
    fields = {**dict(line.split(": ") for line in config.splitlines()), "datasource": "u" * 40}
    dashboard = runtime.run(examples[name], json.dumps(fields)).dashboard
    assert {ref["uid"] for ref in sources(dashboard)} == {"u" * 40}


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
# A data source uid goes into the dashboard's JSON as it is: a hostile one must not break
# out of its string, and the generators take only what Grafana's ValidateUID accepts.
HOSTILE_UIDS = ['"x\\"}],\\"panels\\":[]"', '"a b"', "u" * 41, "'$datasource'"]
REQUIRED = {
    "simple": "app_name: web\n",
    "service": "service: web\njob: j\n",
    "python-service": "service: web\njob: j\n",
    "js-network": "app_name: web\n",
}


@pytest.mark.parametrize("uid", HOSTILE_UIDS)
@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_a_datasource_uid_grafana_would_refuse_is_refused(
    runtime: Runtime,
    examples: dict[str, Artifact],
    unchecked: dict[str, Artifact],
    name: str,
    uid: str,
) -> None:
    config = f"{REQUIRED[name]}datasource: {uid}\n"
    with pytest.raises(GeneratorFailed) as caught:
        runtime.run(unchecked[name], config)  # the generator's own check
    assert caught.value.exit_code == 1
    assert "datasource" in caught.value.stderr and "must be a Grafana uid" in caught.value.stderr
    with pytest.raises(ConfigInvalid) as refused:
        runtime.run(examples[name], config)  # the schema, before the generator runs
    assert any('field "datasource"' in problem for problem in refused.value.problems)


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
