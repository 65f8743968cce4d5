"""The deployment generator's dashboard, built natively in Python with grafana-foundation-sdk.

Only for the benchmark: it answers "is running the wasm generator slower than just
building the same dashboard in Python?" Same panels, queries and variables as
generators/deployment/main.go.
"""

from __future__ import annotations

import json

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as models


def build_deployment_dashboard(namespace: str, name: str) -> str:
    """Build the dashboard and serialize it to JSON text, as a generator would."""
    ds = models.DataSourceRef(type_val="prometheus", uid="${datasource}")
    deploy = f'namespace="{namespace}", deployment="{name}"'
    pods = f'namespace="{namespace}", pod=~"$pod"'
    containers = pods + ', container!="", container!="POD"'

    def query(expr: str, legend: str = "", ref: str = "A") -> prometheus.Dataquery:
        return prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(ds)

    def stat_panel(title: str, expr: str) -> stat.Panel:
        return (
            stat.Panel().title(title).datasource(ds).unit("none").height(4).span(6).with_target(query(expr))
        )

    def series(title: str, unit: str, targets: list[tuple[str, str]]) -> timeseries.Panel:
        panel = timeseries.Panel().title(title).datasource(ds).unit(unit).height(8).span(12)
        for index, (expr, legend) in enumerate(targets):
            panel = panel.with_target(query(expr, legend, chr(ord("A") + index)))
        return panel

    builder = (
        gd.Dashboard(f"Deployment {namespace}/{name}")
        .description(f"Deployment {name} in namespace {namespace}")
        .tags(["kubernetes", "deployment"])
        .timezone("browser")
        .editable()
        .refresh("1m")
        .time("now-6h", "now")
        .with_variable(gd.DatasourceVariable("datasource").label("Data source").type("prometheus"))
        .with_variable(
            gd.QueryVariable("pod")
            .label("Pod")
            .datasource(ds)
            .query(
                f'label_values(kube_pod_owner{{namespace="{namespace}", owner_kind="ReplicaSet", '
                f'owner_name=~"{name}-[a-z0-9]+"}}, pod)'
            )
            .include_all(True)
            .multi(True)
            .all_value(f"{name}-.*")
        )
        .with_row(gd.Row("Overview"))
        .with_panel(stat_panel("Desired replicas", f"kube_deployment_spec_replicas{{{deploy}}}"))
        .with_panel(
            stat_panel("Available replicas", f"kube_deployment_status_replicas_available{{{deploy}}}")
        )
        .with_panel(
            stat_panel("Unavailable replicas", f"kube_deployment_status_replicas_unavailable{{{deploy}}}")
        )
        .with_panel(
            stat_panel(
                "Restarts (1h)", f"sum(increase(kube_pod_container_status_restarts_total{{{pods}}}[1h]))"
            )
        )
        .with_row(gd.Row("CPU and memory"))
        .with_panel(
            series(
                "CPU usage",
                "none",
                [
                    (
                        f"sum by (pod) (rate(container_cpu_usage_seconds_total{{{containers}}}[$__rate_interval]))",
                        "{{pod}} usage",
                    ),
                    (
                        f'sum by (pod) (kube_pod_container_resource_requests{{{pods}, resource="cpu"}})',
                        "request",
                    ),
                    (f'sum by (pod) (kube_pod_container_resource_limits{{{pods}, resource="cpu"}})', "limit"),
                ],
            )
        )
        .with_panel(
            series(
                "Memory usage",
                "bytes",
                [
                    (
                        f"sum by (pod) (container_memory_working_set_bytes{{{containers}}})",
                        "{{pod}} working set",
                    ),
                    (
                        f'sum by (pod) (kube_pod_container_resource_requests{{{pods}, resource="memory"}})',
                        "request",
                    ),
                    (
                        f'sum by (pod) (kube_pod_container_resource_limits{{{pods}, resource="memory"}})',
                        "limit",
                    ),
                ],
            )
        )
        .with_row(gd.Row("Network"))
        .with_panel(
            series(
                "Network received",
                "bps",
                [
                    (
                        f"sum by (pod) (rate(container_network_receive_bytes_total{{{pods}}}[$__rate_interval])) * 8",
                        "",
                    )
                ],
            )
        )
        .with_panel(
            series(
                "Network transmitted",
                "bps",
                [
                    (
                        f"sum by (pod) (rate(container_network_transmit_bytes_total{{{pods}}}[$__rate_interval])) * 8",
                        "",
                    )
                ],
            )
        )
    )
    return json.dumps(builder.build(), cls=JSONEncoder, sort_keys=True)


if __name__ == "__main__":
    print(build_deployment_dashboard("shop", "checkout-api"))
