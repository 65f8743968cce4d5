#!/usr/bin/env bash
# Builds dist/{{name}}.wasm with `zig cc` (pinned in requirements-build.txt) and embeds schema.json.
set -euo pipefail
cd "$(dirname "$0")"
want={{version}} have="$("${PYTHON:-python3}" -m ziglang version)"
[ "$have" = "$want" ] || [ -n "${DAWG_ANY_TOOLCHAIN:-}" ] || {
    echo "build.sh: found $have, but this project is built and tested with $want:" >&2
    echo "  pip install -r requirements-build.txt   (or DAWG_ANY_TOOLCHAIN=1 bash build.sh to try anyway)" >&2
    exit 1
}
mkdir -p dist
"${PYTHON:-python3}" -m ziglang cc -target wasm32-wasi -O2 -s -Wall -Werror -o dist/{{name}}.wasm main.c
"${DAWG:-dawg}" embed-schema dist/{{name}}.wasm schema.json
