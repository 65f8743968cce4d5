#!/usr/bin/env bash
# Builds dist/{{name}}.wasm reproducibly with Go (pinned in requirements-build.txt) and embeds schema.json.
set -euo pipefail
cd "$(dirname "$0")"
want=go{{version}} have="$("${GO:-go}" env GOVERSION)"
[ "$have" = "$want" ] || [ -n "${DAWG_ANY_TOOLCHAIN:-}" ] || {
    echo "build.sh: found $have, but this project is built and tested with $want:" >&2
    echo "  pip install -r requirements-build.txt   (or DAWG_ANY_TOOLCHAIN=1 bash build.sh to try anyway)" >&2
    exit 1
}
mkdir -p dist
GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-trimpath GOPROXY=off \
    "${GO:-go}" build -buildvcs=false -ldflags="-s -w -buildid=" -o dist/{{name}}.wasm .
"${DAWG:-dawg}" embed-schema dist/{{name}}.wasm schema.json
