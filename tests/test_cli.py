"""`dawg` as a person uses it: real processes, exit codes, stdout and stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from generators.build import EXAMPLES


def dawg(*args: str, stdin: bytes = b"", cache: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    if cache is not None:
        env["DAWG_CACHE_DIR"] = str(cache)
    return subprocess.run(
        [sys.executable, "-m", "dawg_provider.cli", *args],
        input=stdin.decode(),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_render_each_example_prints_its_dashboard(example_wasm: dict[str, Path], session_cache: Path) -> None:
    for example in EXAMPLES:
        result = dawg(
            "render",
            str(example_wasm[example.name]),
            "--config",
            str(example.example_config),
            cache=session_cache,
        )
        assert result.returncode == 0, result.stderr
        dashboard = json.loads(result.stdout)
        assert dashboard["title"] and dashboard["panels"]
        assert result.stdout.startswith("{\n  ")  # pretty-printed for people


def test_render_reads_config_from_stdin_and_file_references(
    example_wasm: dict[str, Path], session_cache: Path
) -> None:
    result = dawg(
        "render",
        f"file://{example_wasm['simple']}",
        "--config",
        "-",
        stdin=b"app_name: piped",
        cache=session_cache,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["title"] == "piped"


def test_bad_config_exits_1_with_one_clear_message(
    example_wasm: dict[str, Path], session_cache: Path
) -> None:
    result = dawg(
        "render", str(example_wasm["simple"]), "--config", "-", stdin=b"app: x", cache=session_cache
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"dawg: error: generator {example_wasm['simple']} (sha256:")
    assert 'unknown field "app"' in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_generator_and_missing_config(tmp_path: Path, example_wasm: dict[str, Path]) -> None:
    result = dawg("render", str(tmp_path / "nope.wasm"))
    assert (result.returncode, "Traceback" in result.stderr) == (1, False)
    assert "no such file" in result.stderr
    result = dawg("render", str(example_wasm["simple"]), "--config", str(tmp_path / "nope.yaml"))
    assert result.returncode == 1
    assert f"config file {tmp_path / 'nope.yaml'}: cannot read it" in result.stderr


def test_bad_limits_are_usage_errors_not_tracebacks(example_wasm: dict[str, Path]) -> None:
    result = dawg("render", str(example_wasm["simple"]), "--timeout", "forever")
    assert result.returncode == 1
    assert "--timeout: cannot read 'forever'" in result.stderr and "Traceback" not in result.stderr
    result = dawg("render", str(example_wasm["simple"]), "--memory", "1Mi")
    assert result.returncode == 1 and "at least 32 MiB" in result.stderr


def test_timeout_flag_is_applied(hostile_wasm: dict[str, Path], session_cache: Path) -> None:
    result = dawg(
        "render",
        str(hostile_wasm["c"]),
        "--config",
        "-",
        "--timeout",
        "300ms",
        stdin=b"loop",
        cache=session_cache,
    )
    assert result.returncode == 1
    assert "did not finish within 0.3 s" in result.stderr


def test_inspect_describes_a_generator(example_wasm: dict[str, Path], session_cache: Path) -> None:
    result = dawg("inspect", str(example_wasm["deployment"]), "--json", cache=session_cache)
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["contract"] == "wasi-preview1-command"
    assert facts["digest"].startswith("sha256:") and facts["size"] > 1_000_000
    assert "_start" in facts["exports"]


def test_help_explains_the_commands() -> None:
    result = dawg("--help")
    assert result.returncode == 0
    assert "render" in result.stdout and "inspect" in result.stdout
    result = dawg("render", "--help")
    assert result.returncode == 0
    for needle in ("--config", "--timeout", "--memory", "examples:", "docs/generator-contract.md"):
        assert needle in result.stdout


def test_stdout_logs_and_identity_fields_are_explained(
    hostile_wasm: dict[str, Path], session_cache: Path
) -> None:
    logged = dawg(
        "render", str(hostile_wasm["c"]), "--config", "-", stdin=b"log-to-stdout", cache=session_cache
    )
    assert logged.returncode == 1 and logged.stdout == ""
    assert 'it starts with "loading config...\\n{\\"title\\"' in logged.stderr
    assert "write logs and debug prints to stderr" in logged.stderr
    identity = dawg("render", str(hostile_wasm["c"]), "--config", "-", stdin=b"identity", cache=session_cache)
    assert identity.returncode == 0, identity.stderr
    assert json.loads(identity.stdout) == {"title": "mine"}
    warnings = [line for line in identity.stderr.splitlines() if "DAWG dropped it" in line]
    assert len(warnings) == 2 and "sets 'uid'" in warnings[0] and "sets 'id'" in warnings[1]
    assert "dashboard schemaVersion: missing" in identity.stderr  # the model check's warning too
