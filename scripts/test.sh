#!/usr/bin/env bash
# The whole test suite: lint, types, then the tests on the oldest and the newest
# supported Python. CI runs exactly this (.ci/run).
#
#   DAWG_TEST_PYTHONS="3.13"   run the tests on these Pythons only (default: "3.13 3.11")
#   extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

read -r -a pythons <<< "${DAWG_TEST_PYTHONS:-3.13 3.11}"

bash scripts/install.sh  # .venv: the newest supported Python, used for lint and types too
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy

newest="$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
for version in "${pythons[@]}"; do
    venv=.venv
    if [ "$version" != "$newest" ]; then
        venv=".venv-$version"
        PYTHON="python$version" DAWG_VENV="$venv" bash scripts/install.sh
    fi
    echo "== tests on Python $version ($venv)"
    "$venv/bin/python" -m pytest "$@"
done
