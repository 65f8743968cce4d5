// js-network: a DAWG generator written in JavaScript, compiled to a WebAssembly component
// with componentize-js (no AOT: that mode downloads at build time).
//
// Config: flat YAML `key: value` lines or a JSON object; `app_name` (required),
// `interface` (optional, a network device name), `datasource` (optional, the uid of a
// Prometheus data source). Dashboard: a row "Overview" and "Network Received" /
// "Network Transmitted" timeseries in bits per second.
//
// Every panel and query names its data source, as Grafana itself saves them: without a
// configured uid, a dashboard variable of type "datasource" whose query is the plugin id
// (grafana/grafana public/app/features/dashboard-scene/serialization/
// sceneVariablesSetToVariables.ts, the DataSourceVariable branch; docs/sources/dashboards/
// variables/add-template-variables, "Add a data source variable"), referred to as
// {"type": "prometheus", "uid": "${datasource}"} (public/app/features/plugins/datasource_srv.ts:
// getInstanceSettings and getList resolve a `$`-uid through the variable). A configured uid
// must be one Grafana accepts (pkg/util/shortid_generator.go, ValidateUID).

const FIELDS = ["app_name", "interface", "datasource"];
const NAME = /^[A-Za-z0-9._:-]{1,128}$/;
const UID = /^[A-Za-z0-9_-]{1,40}$/;

function parse(config) {
  const text = config.trim();
  if (text.startsWith("{")) {
    let value;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw `config: invalid JSON: ${error.message}`;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw "config: must be a mapping";
    return value;
  }
  const fields = {};
  for (const raw of config.split("\n")) {
    const line = raw.replace(/\s+#.*$/, "").trim();
    if (!line || line.startsWith("#") || line === "---") continue;
    if (/^\s/.test(raw) && raw.trim()) throw "config: nested values are not supported; use flat `key: value` lines";
    const match = line.match(/^([A-Za-z_][A-Za-z0-9_]*):\s*(.*)$/);
    if (!match) throw `config: expected "key: value", got ${JSON.stringify(line)}`;
    let value = match[2];
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    else if (/^-?\d+(\.\d+)?$/.test(value)) value = Number(value);
    else if (/^(true|false)$/.test(value)) value = value === "true";
    fields[match[1]] = value;
  }
  return fields;
}

function check(fields) {
  for (const key of Object.keys(fields)) {
    if (!FIELDS.includes(key)) throw `config: unknown field "${key}" (known fields: ${FIELDS.join(", ")})`;
  }
  if (fields.app_name === undefined || fields.app_name === "") throw 'config: field "app_name" is required';
  for (const key of FIELDS) {
    const value = fields[key];
    if (value === undefined) continue;
    if (typeof value !== "string") throw `config: field "${key}" must be a string, got ${typeof value}`;
    if (key === "datasource") {
      if (!UID.test(value)) throw `config: field "datasource" must be a Grafana uid: 1 to 40 letters, digits, '-' and '_'`;
    } else if (!NAME.test(value)) throw `config: field "${key}" may contain only letters, digits, '.', '_', ':' and '-'`;
  }
}

function panel(id, title, metric, fields, y, datasource) {
  const device = fields.interface ? `, device="${fields.interface}"` : "";
  return {
    id,
    type: "timeseries",
    title,
    datasource,
    gridPos: { h: 8, w: 12, x: id % 2 === 0 ? 0 : 12, y },
    fieldConfig: { defaults: { unit: "bps" }, overrides: [] },
    targets: [{ refId: "A", datasource, expr: `rate(${metric}{job="${fields.app_name}"${device}}[$__rate_interval]) * 8`, legendFormat: "{{instance}} {{device}}" }],
  };
}

export function generate(config) {
  const fields = parse(config);
  check(fields);
  const datasource = { type: "prometheus", uid: fields.datasource || "${datasource}" };
  const variables = fields.datasource
    ? []
    : [{ name: "datasource", label: "Data source", type: "datasource", query: "prometheus", current: {}, hide: 0 }];
  const dashboard = {
    title: `${fields.app_name} network`,
    tags: ["app", "network", "javascript"],
    timezone: "browser",
    editable: true,
    schemaVersion: 39,
    refresh: "30s",
    time: { from: "now-1h", to: "now" },
    panels: [
      { id: 1, type: "row", title: "Overview", collapsed: false, panels: [], gridPos: { h: 1, w: 24, x: 0, y: 0 } },
      panel(2, "Network Received", "node_network_receive_bytes_total", fields, 1, datasource),
      panel(3, "Network Transmitted", "node_network_transmit_bytes_total", fields, 1, datasource),
    ],
    templating: { list: variables },
    annotations: { list: [] },
  };
  return JSON.stringify(dashboard);
}
