#!/usr/bin/env bash
# Builds dist/{{name}}.wasm with `zig cc` (pip install ziglang) and embeds schema.json.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p dist
"${PYTHON:-python3}" -m ziglang cc -target wasm32-wasi -O2 -s -Wall -Werror -o dist/{{name}}.wasm main.c
"${DAWG:-dawg}" embed-schema dist/{{name}}.wasm schema.json
