// {{name}}: a DAWG generator in JavaScript, compiled to a WebAssembly component
// (componentize-js, from npm).
//
// Config: flat YAML `key: value` lines, or a flat JSON object: title, job. Returns the
// dashboard JSON; throws "config: ..." naming a bad field.

const KNOWN = ["title", "job"];
const VALID = /^[A-Za-z0-9 ._:/-]{1,100}$/;

// The part to edit: the panels your users get.
function dashboard(config) {
  const query = `sum(rate(http_requests_total{job="${config.job}"}[$__rate_interval]))`;
  return {
    title: config.title,
    schemaVersion: 39,
    editable: true,
    time: { from: "now-6h", to: "now" },
    templating: { list: [{ name: "datasource", label: "Data source", type: "datasource", query: "prometheus" }] },
    panels: [
      {
        id: 1,
        type: "timeseries",
        title: "Requests per second",
        gridPos: { h: 8, w: 24, x: 0, y: 0 },
        datasource: { type: "prometheus", uid: "${datasource}" },
        fieldConfig: { defaults: { unit: "reqps" }, overrides: [] },
        targets: [{ refId: "A", expr: query }],
      },
    ],
  };
}

function clean(text) {
  let value = text.split(" #")[0].trim();
  if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) {
    value = value.slice(1, -1);
  }
  return value;
}

function parse(input) {
  const text = input.trim();
  const items = text.startsWith("{") && text.endsWith("}") ? text.slice(1, -1).split(",") : text.split("\n");
  const config = {};
  for (const raw of items) {
    const item = raw.trim();
    if (!item || item === "---" || item.startsWith("#")) continue;
    const colon = item.indexOf(":");
    if (colon < 0) throw `config: expected "key: value", got ${JSON.stringify(item)}`;
    const key = clean(item.slice(0, colon));
    if (!KNOWN.includes(key)) throw `config: unknown field "${key}" (known fields: ${KNOWN.join(", ")})`;
    if (key in config) throw `config: field "${key}" is given twice`;
    const value = clean(item.slice(colon + 1));
    if (!VALID.test(value)) throw `config: field "${key}" must be 1 to 100 letters, digits, spaces or ._:/-`;
    config[key] = value;
  }
  for (const key of KNOWN) {
    if (!(key in config)) throw `config: field "${key}" is required`;
  }
  return config;
}

export function generate(config) {
  return JSON.stringify(dashboard(parse(config)));
}
