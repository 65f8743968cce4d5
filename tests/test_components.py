"""Generators as WebAssembly components (Python via componentize-py) and in the prototype's ABI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dawg_provider import (
    Artifact,
    GeneratorFailed,
    GeneratorTimeout,
    InvalidModule,
    Limits,
    MemoryLimitExceeded,
    ModuleKind,
    Runtime,
)
from dawg_provider.sources.fetch import Fetcher
from dawg_provider.sources.reference import OciRef, parse_reference
from dawg_provider.sources.registry import RegistryClient, RegistryOptions
from tests.registry import RegistryProcess

DEADLINE = Limits(timeout=2.0)


def test_python_service_renders_a_red_dashboard(runtime: Runtime, examples: dict[str, Artifact]) -> None:
    artifact = examples["python-service"]
    assert runtime.inspect(artifact).kind is ModuleKind.COMPONENT_GENERATE
    dashboard = runtime.run(artifact, "service: checkout\njob: shop/checkout\n").dashboard
    assert dashboard["title"] == "Service checkout"
    assert [p["title"] for p in dashboard["panels"]] == ["RED", "Request rate", "Error ratio", "Latency"]
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert all('job="shop/checkout", service="checkout"' in e for e in exprs)
    assert (
        dashboard["schemaVersion"] == 36
    )  # grafana-foundation-sdk's classic model, bundled in the component


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("", 'field "service" is required'),
        ("service: 1\njob: j", 'field "service" must be a string, got number 1'),
        ("service: s\njob: j\ncolour: blue", 'unknown field "colour"'),
        ("[1, 2", "is not valid YAML or JSON"),
        ('service: "a{b"\njob: j', 'field "service": "a{b" does not match'),
    ],
)
def test_python_service_rejects_bad_config(
    runtime: Runtime, examples: dict[str, Artifact], config: str, message: str
) -> None:
    # Refused by the schema in the component's bytes, before the component is instantiated;
    # the component's own `err` path is tested with tests/hostile/pycomponent.
    with pytest.raises(GeneratorFailed) as caught:
        runtime.run(examples["python-service"], config)
    assert caught.value.exit_code == 1  # the sync job reports ConfigInvalid
    assert f"config: {message}" in str(caught.value)


def test_components_repeat_across_runs_and_processes(
    runtime: Runtime, examples: dict[str, Artifact], example_wasm: dict[str, Path], session_cache: Path
) -> None:
    artifact = examples["python-service"]
    outputs = {runtime.run(artifact, "service: a\njob: b").raw for _ in range(5)}
    assert len(outputs) == 1
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dawg_provider.cli",
            "render",
            str(example_wasm["python-service"]),
            "--config",
            "-",
            "--compact",
        ],
        input=b"service: a\njob: b",
        capture_output=True,
        env={**os.environ, "DAWG_CACHE_DIR": str(session_cache)},
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == outputs.pop()


def test_components_are_denied_files_env_and_sockets(
    runtime: Runtime, hostile: dict[str, Artifact], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("host secret")
    monkeypatch.setenv("DAWG_TEST_SECRET", "hunter2")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    for config, denial in (
        (f"readfile {secret}", "No such file"),
        ("env", "no environment"),
        (f"socket 127.0.0.1:{server.getsockname()[1]}", "Permission denied"),
    ):
        with pytest.raises(GeneratorFailed) as caught:
            runtime.run(hostile["python"], config, DEADLINE)
        assert "denied" in str(caught.value) and denial in str(caught.value)
    with pytest.raises(TimeoutError):
        server.accept()
    server.close()


def test_component_infinite_loop_and_memory_bomb_end_in_clear_errors(
    runtime: Runtime, hostile: dict[str, Artifact]
) -> None:
    runtime.compile(hostile["python"])
    started = time.monotonic()
    with pytest.raises(GeneratorTimeout, match="did not finish within 2 s"):
        runtime.run(hostile["python"], "loop", DEADLINE)
    assert time.monotonic() - started < DEADLINE.timeout + 1
    started = time.monotonic()
    with pytest.raises(MemoryLimitExceeded, match="ran out of memory"):
        runtime.run(hostile["python"], "alloc", Limits(timeout=5.0, memory=64 * 1024 * 1024))
    assert time.monotonic() - started < 6


def test_compiled_components_are_cached_on_disk(
    examples: dict[str, Artifact], session_cache: Path, tmp_path: Path
) -> None:
    artifact = examples["python-service"]
    first = Runtime(tmp_path / "cache")
    first.compile(artifact)
    second = Runtime(tmp_path / "cache")
    started = time.perf_counter()
    second.compile(artifact)
    assert second.components.stats.disk_hits == 1 and second.components.stats.compiles == 0
    assert time.perf_counter() - started < 1.0  # the compile takes seconds
    assert (tmp_path / "cache" / "components").stat().st_mode & 0o777 == 0o700


def test_prototype_abi_module_renders(runtime: Runtime, hostile: dict[str, Artifact]) -> None:
    artifact = hostile["prototype"]
    assert runtime.inspect(artifact).kind is ModuleKind.PROTOTYPE_ABI
    assert runtime.run(artifact, "web").dashboard == {"panels": [], "title": "prototype web"}
    with pytest.raises(GeneratorFailed, match="returned an error: config: app_name is required"):
        runtime.run(artifact, "")
    # Only /dawg/input is visible, read-only: no host file, no write to the input.
    with pytest.raises(GeneratorFailed, match="returned an error: denied"):
        runtime.run(artifact, "escape")


def test_unsupported_component_lists_its_exports(runtime: Runtime) -> None:
    import wasmtime

    component = wasmtime.wat2wasm('(component (core module $m) (export "frobnicate" (core module $m)))')
    with pytest.raises(InvalidModule, match="is a component that exports frobnicate"):
        runtime.run(Artifact.from_bytes("odd.wasm", bytes(component)), "")


def test_push_pull_and_render_a_component_through_the_registry(
    tmp_path: Path, example_wasm: dict[str, Path], runtime: Runtime
) -> None:
    server = RegistryProcess(tmp_path / "registry")
    server.start()
    try:
        ref = parse_reference(server.url("dawg/python-service", "v1"))
        assert isinstance(ref, OciRef)
        wasm = example_wasm["python-service"].read_bytes()
        RegistryClient(RegistryOptions()).push(ref, wasm, {}, "python-service.wasm")
        fetched = Fetcher(tmp_path / "cache").fetch(ref.text)
        assert fetched.artifact.wasm == wasm
        dashboard = runtime.run(fetched.artifact, json.dumps({"service": "s", "job": "j"})).dashboard
        assert dashboard["title"] == "Service s"
    finally:
        server.stop()


def test_js_network_renders_and_rejects_bad_config(runtime: Runtime, examples: dict[str, Artifact]) -> None:
    artifact = examples["js-network"]
    assert runtime.inspect(artifact).kind is ModuleKind.COMPONENT_GENERATE
    dashboard = runtime.run(artifact, "app_name: web\ninterface: eth0\n").dashboard
    assert dashboard["title"] == "web network"
    assert [p["title"] for p in dashboard["panels"]] == [
        "Overview",
        "Network Received",
        "Network Transmitted",
    ]
    assert (
        dashboard["panels"][1]["targets"][0]["expr"]
        == 'rate(node_network_receive_bytes_total{job="web", device="eth0"}[$__rate_interval]) * 8'
    )
    assert runtime.run(artifact, '{"app_name": "json-config"}').dashboard["title"] == "json-config network"
    for config, message in (
        ("", 'field "app_name" is required'),
        ("app_name: 3", 'field "app_name" must be a string'),
        ("colour: x", 'unknown field "colour"'),
    ):
        with pytest.raises(GeneratorFailed, match=f"config: {message}"):  # the schema's words
            runtime.run(artifact, config)


def test_wasi_cli_run_command_components_speak_contract_v1(
    runtime: Runtime, hostile: dict[str, Artifact]
) -> None:
    artifact = hostile["command"]
    assert runtime.inspect(artifact).kind is ModuleKind.COMPONENT_COMMAND
    assert runtime.run(artifact, "web").dashboard == {"title": "command web"}
    with pytest.raises(GeneratorFailed) as caught:
        runtime.run(artifact, "")
    assert caught.value.exit_code == 1 and "config: app_name is required" in str(caught.value)
    from dawg_provider import OutputTooLarge

    with pytest.raises((OutputTooLarge, GeneratorTimeout)):
        runtime.run(artifact, "flood", Limits(timeout=2.0, max_output=1024 * 1024))


def test_inspect_shows_the_contract(
    example_wasm: dict[str, Path], hostile_wasm: dict[str, Path], session_cache: Path
) -> None:
    env = {**os.environ, "DAWG_CACHE_DIR": str(session_cache)}
    for path, contract in (
        (example_wasm["python-service"], "component-generate"),
        (hostile_wasm["prototype"], "prototype-generate-abi"),
        (hostile_wasm["command"], "component-wasi-cli-run"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "dawg_provider.cli", "inspect", str(path), "--json"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["contract"] == contract
