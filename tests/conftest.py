"""Shared fixtures: generators built from source once per session, and runtimes.

Nothing here is skipped when a toolchain is missing: the build raises, and every
test that needs it errors loudly with the build's message.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dawg_provider import Artifact, Runtime, load_artifact
from dawg_provider.render import Renderer
from dawg_provider.sources.fetch import Fetcher
from dawg_provider.sources.reference import FileRef
from generators.build import EXAMPLES, Language, build, build_examples, build_python
from tests.k8s_standin import KubernetesStandIn

HOSTILE = Path(__file__).parent / "hostile"


@pytest.fixture(scope="session")
def example_wasm(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The example generators, freshly built from source by the reproducible build."""
    return build_examples(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def hostile_wasm(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The hostile generators (C, Go, Zig), built from tests/hostile/."""
    out = tmp_path_factory.mktemp("hostile")
    return {
        "c": build(Language.C, HOSTILE / "hostile.c", out / "hostile_c.wasm"),
        "go": build(Language.GO, HOSTILE / "gohostile", out / "hostile_go.wasm"),
        "zig": build(Language.ZIG, HOSTILE / "trap.zig", out / "hostile_zig.wasm"),
        "python": build(Language.PYTHON, HOSTILE / "pycomponent", out / "hostile_python.wasm"),
        "prototype": build(Language.GO_PROTOTYPE, HOSTILE / "goproto", out / "prototype.wasm"),
        "command": build_python(
            HOSTILE / "pycommand", out / "command.wasm", HOSTILE / "pycommand" / "wit", "command"
        ),
    }


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def runtime(session_cache: Path) -> Runtime:
    """One runtime for the session, so each module compiles once."""
    return Runtime(session_cache)


def artifact(path: Path) -> Artifact:
    return load_artifact(FileRef(str(path), path))


@pytest.fixture(scope="session")
def examples(example_wasm: dict[str, Path]) -> dict[str, Artifact]:
    return {name: artifact(path) for name, path in example_wasm.items()}


@pytest.fixture(scope="session")
def hostile(hostile_wasm: dict[str, Path]) -> dict[str, Artifact]:
    return {name: artifact(path) for name, path in hostile_wasm.items()}


@pytest.fixture(scope="session")
def example_configs() -> dict[str, bytes]:
    return {example.name: example.example_config.read_bytes() for example in EXAMPLES}


@pytest.fixture
def fresh_cache(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "cache"


@pytest.fixture
def k8s() -> Iterator[KubernetesStandIn]:
    """A Kubernetes API stand-in (tests/k8s_standin.py) per test; files needing other
    settings (bookmark interval, a token) define their own."""
    server = KubernetesStandIn().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    """A renderer with its own module and artifact cache, per test module."""
    cache = tmp_path_factory.mktemp("renderer-cache")
    return Renderer(Runtime(cache), Fetcher(cache))
