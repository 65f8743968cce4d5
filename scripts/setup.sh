#!/usr/bin/env bash
# One command for a fresh machine: install, build the example generators from
# source, and render every example dashboard into build/dashboards/.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install.sh
.venv/bin/python generators/build.py

mkdir -p build/dashboards
for config in generators/*/example.yaml; do
    name="$(basename "$(dirname "$config")")"
    .venv/bin/dawg render "generators/dist/$name.wasm" --config "$config" > "build/dashboards/$name.json"
    echo "rendered build/dashboards/$name.json: $(.venv/bin/python -c 'import json,sys; d=json.load(open(sys.argv[1])); print(repr(d["title"]), len(d.get("panels", [])), "panels")' "build/dashboards/$name.json")"
done

# With a Grafana to talk to, apply the example dashboards (the same path the cluster job takes).
if [ -n "${GRAFANA_URL:-}" ] && [ -n "${GRAFANA_TOKEN:-}" ]; then
    .venv/bin/dawg sync --manifests deploy/examples --owner "dawg-examples"
else
    echo "set GRAFANA_URL and GRAFANA_TOKEN to also apply them: dawg sync --manifests deploy/examples"
fi
