#!/usr/bin/env bash
# Builds dist/{{name}}.wasm with componentize-js (npm, from package-lock.json) and embeds schema.json.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p dist
[ -x node_modules/.bin/componentize-js ] || npm ci --no-audit --no-fund --loglevel=error
node_modules/.bin/componentize-js generator.js --wit wit -n generator -o dist/{{name}}.wasm -d http -d fetch-event
"${DAWG:-dawg}" embed-schema dist/{{name}}.wasm schema.json
