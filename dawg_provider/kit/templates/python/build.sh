#!/usr/bin/env bash
# Builds dist/{{name}}.wasm with componentize-py (pinned in requirements-build.txt) and embeds schema.json.
set -euo pipefail
cd "$(dirname "$0")"
want="componentize-py {{version}}" have="$("${COMPONENTIZE_PY:-componentize-py}" --version)"
[ "$have" = "$want" ] || [ -n "${DAWG_ANY_TOOLCHAIN:-}" ] || {
    echo "build.sh: found $have, but this project is built and tested with $want:" >&2
    echo "  pip install -r requirements-build.txt   (or DAWG_ANY_TOOLCHAIN=1 bash build.sh to try anyway)" >&2
    exit 1
}
mkdir -p dist
PYTHONDONTWRITEBYTECODE=1 PYTHONHASHSEED=0 "${COMPONENTIZE_PY:-componentize-py}" \
    -d wit -w generator componentize app -p . -o dist/{{name}}.wasm
"${DAWG:-dawg}" embed-schema dist/{{name}}.wasm schema.json
