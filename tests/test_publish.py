"""Publishing every kind of generator through the CLI against a real registry, and its schema.

`dawg push`, `pull`, `inspect`, `docs` and `render oci://...` as a generator author
runs them (real processes), for each example (Go, Zig and C core modules, Python and
JavaScript components) and the prototype ABI, against Debian's docker-registry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import wasmtime

from dawg_provider.kit.publish import CONTRACT_ANNOTATION, SCHEMA_ANNOTATION
from generators.build import EXAMPLES
from tests.registry import RegistryProcess

CONTRACTS = {
    "deployment": "wasi-preview1-command",
    "simple": "wasi-preview1-command",
    "service": "wasi-preview1-command",
    "python-service": "component-generate",
    "js-network": "component-generate",
}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    server = RegistryProcess(tmp_path_factory.mktemp("publish-registry"))
    server.start()
    yield server
    server.stop()


def dawg(cache: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dawg_provider.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "DAWG_CACHE_DIR": str(cache), "SOURCE_DATE_EPOCH": "1700000000"},
        check=False,
    )


@pytest.mark.parametrize("name", [example.name for example in EXAMPLES])
def test_push_pull_inspect_render_every_example(
    name: str, registry: RegistryProcess, example_wasm: dict[str, Path], session_cache: Path, tmp_path: Path
) -> None:
    example = next(e for e in EXAMPLES if e.name == name)
    ref = registry.url(f"dawg/{name}", "v1")
    pushed = dawg(session_cache, "push", str(example_wasm[name]), ref)
    assert pushed.returncode == 0, pushed.stderr
    assert f"({CONTRACTS[name]})" in pushed.stdout
    digest = pushed.stdout.split("digest: ")[1].strip()

    facts = json.loads(dawg(session_cache, "inspect", ref, "--json").stdout)
    annotations = facts["manifest"]["annotations"]
    assert facts["contract"] == annotations[CONTRACT_ANNOTATION] == CONTRACTS[name]
    assert json.loads(annotations[SCHEMA_ANNOTATION]) == facts["configSchema"]
    assert facts["configSchema"] == json.loads(example.schema.read_text())

    text = dawg(session_cache, "inspect", ref).stdout
    imports = next(line for line in text.splitlines() if line.startswith("imports:"))
    if CONTRACTS[name].startswith("component"):
        assert "wasi:cli/stdout@0.2" in imports and "wasi_snapshot_preview1" not in imports
    else:
        assert "fd_write" in imports and imports.endswith("(wasi_snapshot_preview1)")
    assert "config schema:  (custom section dawg.config-schema" in text

    out = tmp_path / "pulled.wasm"
    pulled = dawg(session_cache, "pull", ref, "-o", str(out))
    assert pulled.returncode == 0, pulled.stderr
    assert out.read_bytes() == example_wasm[name].read_bytes()

    rendered = dawg(session_cache, "render", f"{ref}@{digest}", "--config", str(example.example_config))
    assert rendered.returncode == 0, rendered.stderr
    assert json.loads(rendered.stdout)["title"]

    docs = dawg(session_cache, "docs", f"{ref}@{digest}")
    assert docs.returncode == 0 and "| field | type | required | default | description |" in docs.stdout


def test_the_prototype_abi_publishes_too(
    registry: RegistryProcess, hostile_wasm: dict[str, Path], session_cache: Path
) -> None:
    ref = registry.url("dawg/prototype", "v1")
    pushed = dawg(session_cache, "push", str(hostile_wasm["prototype"]), ref)
    assert pushed.returncode == 0, pushed.stderr
    facts = json.loads(dawg(session_cache, "inspect", ref, "--json").stdout)
    assert facts["contract"] == "prototype-generate-abi" and facts["configSchema"] is None
    assert SCHEMA_ANNOTATION not in facts["manifest"]["annotations"]
    docs = dawg(session_cache, "docs", ref)
    assert "declares no config schema" in docs.stdout


def test_push_refuses_what_the_runtime_would_refuse_and_uploads_nothing(
    registry: RegistryProcess, session_cache: Path, tmp_path: Path
) -> None:
    foreign = tmp_path / "foreign.wasm"
    foreign.write_bytes(
        wasmtime.wat2wasm(
            '(module (import "env" "steal" (func)) (memory (export "memory") 1) (func (export "_start")))'
        )
    )
    result = dawg(session_cache, "push", str(foreign), registry.url("dawg/foreign", "v1"))
    assert result.returncode == 1
    assert "imports env.steal, which DAWG does not provide" in result.stderr
    assert "Traceback" not in result.stderr
    tags = requests.get(f"http://{registry.host}/v2/dawg/foreign/tags/list", timeout=5)
    assert tags.status_code == 404  # nothing reached the registry


def test_schema_errors_through_the_cli_name_each_field(
    example_wasm: dict[str, Path], session_cache: Path
) -> None:
    result = dawg(
        session_cache,
        "render",
        str(example_wasm["deployment"]),
        "--config",
        "-",
        stdin="namespace: 3\nnamspace: shop\n",
    )
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines()[1:4] == [
        '  - config: unknown field "namspace" (known fields: datasource, name, namespace, title)',
        '  - config: field "name" is required',
        '  - config: field "namespace" must be a string, got number 3 (quote it if you meant the text)',
    ]
    assert "Traceback" not in result.stderr
