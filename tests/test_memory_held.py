"""What a long-lived process holds in memory (review 13, finding 14): compiled modules
are bounded (least recently used out), and a preview session keeps one build."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import wasmtime

from dawg_provider import Artifact
from dawg_provider.kit.preview import Session
from dawg_provider.wasm.modcache import MAX_IN_MEMORY, ModuleCache
from dawg_provider.wasm.runtime import Runtime


def test_compiled_modules_in_memory_are_bounded_least_recently_used_out() -> None:
    cache = ModuleCache(wasmtime.Engine(), None, "test", max_entries=3)
    compiled: list[str] = []

    def compile_as(name: str) -> Any:
        compiled.append(name)
        return object()

    first = cache.get("a", lambda: compile_as("a"))
    cache.get("b", lambda: compile_as("b"))
    cache.get("c", lambda: compile_as("c"))
    assert cache.get("a", lambda: compile_as("a!")) is first  # a hit: now the most recent
    cache.get("d", lambda: compile_as("d"))  # evicts b, the least recently used
    assert len(cache) == 3
    cache.get("a", lambda: compile_as("a!"))
    cache.get("b", lambda: compile_as("b again"))
    assert compiled == ["a", "b", "c", "d", "b again"]
    compiled.clear()
    for index in range(100):  # a controller seeing many upgrades
        cache.get(f"upgrade-{index}", lambda: compile_as("upgrade"))
    assert len(cache) == 3
    assert ModuleCache(wasmtime.Engine(), None, "test")._max_entries == MAX_IN_MEMORY


class FakeRuntime:
    def __init__(self) -> None:
        self.forgotten = 0

    def forget(self) -> None:
        self.forgotten += 1


def test_a_preview_session_keeps_one_runtime_and_drops_a_previous_build() -> None:
    session = Session()
    made: list[FakeRuntime] = []

    def make() -> Any:
        made.append(FakeRuntime())
        return made[-1]

    first = session.runtime_for("sha256:1", make)
    assert session.runtime_for("sha256:1", make) is first  # a config edit: the same compiled build
    assert made[0].forgotten == 0
    for build in range(2, 22):  # twenty rebuilds
        assert session.runtime_for(f"sha256:{build}", make) is first
    assert len(made) == 1 and made[0].forgotten == 20


def test_runtime_forget_empties_every_in_memory_cache(
    examples: dict[str, Artifact], tmp_path: Path, example_configs: dict[str, bytes]
) -> None:
    runtime = Runtime(tmp_path / "cache")
    artifact = examples["simple"]
    runtime.run(artifact, example_configs["simple"])
    assert len(runtime.modules) == 1 and runtime._infos and runtime._schemas
    runtime.forget()
    assert len(runtime.modules) == 0 and not runtime._infos and not runtime._schemas
    runtime.run(artifact, example_configs["simple"])  # still works
