#!/usr/bin/env bash
# Builds dist/{{name}}.wasm with componentize-py (pip install componentize-py) and embeds schema.json.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p dist
PYTHONDONTWRITEBYTECODE=1 PYTHONHASHSEED=0 "${COMPONENTIZE_PY:-componentize-py}" \
    -d wit -w generator componentize app -p . -o dist/{{name}}.wasm
"${DAWG:-dawg}" embed-schema dist/{{name}}.wasm schema.json
