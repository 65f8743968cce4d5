#!/usr/bin/env bash
# Builds dist/{{name}}.wasm with Zig (pip install ziglang) and embeds schema.json.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p dist
"${PYTHON:-python3}" -m ziglang build-exe -target wasm32-wasi -OReleaseSmall -fstrip \
    --name {{name}} main.zig -femit-bin=dist/{{name}}.wasm
rm -f dist/{{name}}.wasm.o
"${DAWG:-dawg}" embed-schema dist/{{name}}.wasm schema.json
