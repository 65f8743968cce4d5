"""python-service: a DAWG generator written in Python, compiled to a WebAssembly component.

Config (YAML or JSON): `service` and `job` (required), `title` and `datasource` (the uid
of a Prometheus data source) optional. Builds a RED dashboard for an HTTP service with
grafana-foundation-sdk, bundled into the component.

Every panel and query names its data source, as Grafana itself saves them: without a
configured uid, a dashboard variable of type "datasource" whose query is the plugin id
(grafana/grafana public/app/features/dashboard-scene/serialization/
sceneVariablesSetToVariables.ts, the DataSourceVariable branch; docs/sources/dashboards/
variables/add-template-variables, "Add a data source variable"), referred to as
{"type": "prometheus", "uid": "${datasource}"} (public/app/features/plugins/datasource_srv.ts:
getInstanceSettings and getList resolve a `$`-uid through the variable). A configured uid
must be one Grafana accepts (pkg/util/shortid_generator.go, ValidateUID).
"""

import json
import re

import wit_world
import yaml
from componentize_py_types import Err
from grafana_foundation_sdk.builders import dashboard, prometheus, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

FIELDS = {"service": True, "job": True, "title": False, "datasource": False}
UID = re.compile(r"[A-Za-z0-9_-]{1,40}")  # Grafana's ValidateUID


def parse(config: str) -> dict:
    try:
        values = yaml.safe_load(config) if config.strip() else {}
    except yaml.YAMLError as error:
        raise Err(f"config: not valid YAML: {str(error).splitlines()[0]}") from None
    if not isinstance(values, dict):
        raise Err("config: must be a mapping with service and job")
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise Err(f"config: unknown field {unknown[0]!r} (known fields: {', '.join(FIELDS)})")
    for name, required in FIELDS.items():
        value = values.get(name)
        if value is None:
            if required:
                raise Err(f"config: field {name!r} is required")
            continue
        if not isinstance(value, str) or not value:
            raise Err(f"config: field {name!r} must be a non-empty string, got {type(value).__name__}")
        if name in ("service", "job") and any(c in value for c in '"\\{}'):
            raise Err(f"config: field {name!r} may not contain quotes, backslashes or braces")
        if name == "datasource" and not UID.fullmatch(value):
            raise Err(f"config: field {name!r} must be a Grafana uid: 1 to 40 letters, digits, '-' and '_'")
    return values


def query(expr: str, legend: str, ref: str, source: DataSourceRef) -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(source)


class WitWorld(wit_world.WitWorld):
    def generate(self, config: str) -> str:
        values = parse(config)
        service, job = values["service"], values["job"]
        selector = f'job="{job}", service="{service}"'
        rate = f"sum(rate(http_requests_total{{{selector}}}[$__rate_interval]))"
        errors = f'sum(rate(http_requests_total{{{selector}, code=~"5.."}}[$__rate_interval]))'
        bucket = f"rate(http_request_duration_seconds_bucket{{{selector}}}[$__rate_interval])"

        def latency(quantile: str) -> str:
            return f"histogram_quantile({quantile}, sum by (le) ({bucket}))"

        uid = values.get("datasource")
        source = DataSourceRef(type_val="prometheus", uid=uid or "${datasource}")
        board = (
            dashboard.Dashboard(values.get("title") or f"Service {service}")
            .tags(["service", "red", "python"])
            .refresh("1m")
            .time("now-3h", "now")
            .with_row(dashboard.Row("RED"))
            .with_panel(
                timeseries.Panel()
                .title("Request rate")
                .unit("reqps")
                .span(12)
                .datasource(source)
                .with_target(query(rate, "requests/s", "A", source))
            )
            .with_panel(
                timeseries.Panel()
                .title("Error ratio")
                .unit("percentunit")
                .span(12)
                .datasource(source)
                .with_target(query(f"{errors} / {rate}", "5xx ratio", "A", source))
            )
            .with_panel(
                timeseries.Panel()
                .title("Latency")
                .unit("s")
                .span(24)
                .datasource(source)
                .with_target(query(latency("0.5"), "p50", "A", source))
                .with_target(query(latency("0.9"), "p90", "B", source))
                .with_target(query(latency("0.99"), "p99", "C", source))
            )
        )
        if not uid:
            board = board.with_variable(
                dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus")
            )
        return json.dumps(board.build(), cls=JSONEncoder, sort_keys=True)
