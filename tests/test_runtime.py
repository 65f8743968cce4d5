"""Runtime guarantees: determinism, the compiled-module cache, threads, module checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import wasmtime

from dawg_provider import (
    Artifact,
    CacheError,
    GeneratorFailed,
    InvalidModule,
    InvalidOutput,
    Limits,
    Runtime,
)
from dawg_provider.sources.cachedir import ensure_private_dir
from dawg_provider.wasm.failure import Outcome, failure
from dawg_provider.wasm.sandbox import FIXED_TIME_NS


def wat_artifact(name: str, text: str) -> Artifact:
    return Artifact.from_bytes(name, bytes(wasmtime.wat2wasm(text)))


# ---- determinism -------------------------------------------------------------------------


def test_go_map_order_time_and_random_repeat_exactly(runtime: Runtime, hostile: dict[str, Artifact]) -> None:
    outputs = {runtime.run(hostile["go"], "random").raw for _ in range(20)}
    assert len(outputs) == 1
    fields = json.loads(outputs.pop())
    assert fields["now"].startswith("2024-01-01T00:00:00")
    # The order is a real permutation, not something the host fixed by sorting.
    assert sorted(fields["order"].split(","), key=int) == [str(i) for i in range(64)]


def test_c_clock_and_rand_repeat(runtime: Runtime, hostile: dict[str, Artifact]) -> None:
    titles = {runtime.run(hostile["c"], "clock").dashboard["title"] for _ in range(10)}
    assert len(titles) == 1
    (title,) = titles
    assert title.startswith(f"t={FIXED_TIME_NS // 10**9}.000000000 r=")


def test_examples_repeat_across_runs(
    runtime: Runtime, examples: dict[str, Artifact], example_configs: dict[str, bytes]
) -> None:
    for name, artifact in examples.items():
        outputs = {runtime.run(artifact, example_configs[name]).raw for _ in range(25)}
        assert len(outputs) == 1, name


def test_outputs_repeat_across_processes(
    runtime: Runtime, hostile_wasm: dict[str, Path], example_wasm: dict[str, Path], session_cache: Path
) -> None:
    cases = [(hostile_wasm["go"], b"random"), (example_wasm["deployment"], b"namespace: a\nname: b\n")]
    for path, config in cases:
        expected = runtime.run(Artifact.from_bytes(str(path), path.read_bytes()), config).raw
        for seed in ("1", "2"):
            env = {**os.environ, "DAWG_CACHE_DIR": str(session_cache), "PYTHONHASHSEED": seed}
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "dawg_provider.cli",
                    "render",
                    str(path),
                    "--config",
                    "-",
                    "--compact",
                ],
                input=config,
                capture_output=True,
                env=env,
                check=False,
            )
            assert result.returncode == 0, result.stderr.decode()
            assert result.stdout == expected


def test_stdin_is_the_config_exactly(runtime: Runtime, hostile: dict[str, Artifact]) -> None:
    assert runtime.run(hostile["c"], "echo héllo wörld").dashboard["config"] == "héllo wörld"


# ---- compiled-module cache ---------------------------------------------------------------


def test_disk_cache_miss_then_hit_across_runtimes(fresh_cache: Path, examples: dict[str, Artifact]) -> None:
    artifact = examples["service"]
    first = Runtime(fresh_cache)
    first.run(artifact, "service: a\njob: b")
    assert (first.modules.stats.compiles, first.modules.stats.disk_hits) == (1, 0)
    first.run(artifact, "service: a\njob: b")
    assert first.modules.stats.memory_hits >= 1 and first.modules.stats.compiles == 1

    second = Runtime(fresh_cache)
    assert second.run(artifact, "service: a\njob: b").dashboard["title"] == "Service a"
    assert (second.modules.stats.compiles, second.modules.stats.disk_hits) == (0, 1)


def test_cache_directory_and_files_are_private(fresh_cache: Path, examples: dict[str, Artifact]) -> None:
    runtime = Runtime(fresh_cache)
    runtime.compile(examples["simple"])
    directory = fresh_cache / "modules"
    assert directory.stat().st_mode & 0o777 == 0o700
    files = list(directory.iterdir())
    assert {f.suffix for f in files} == {".cwasm", ".json"}
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in files)


def _entry(runtime: Runtime, artifact: Artifact) -> tuple[Path, Path]:
    paths = runtime.modules.paths(artifact.hexdigest)
    assert paths is not None
    return paths


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "record", "record-missing-code"])
def test_corrupt_entry_is_detected_and_rebuilt(
    fresh_cache: Path, examples: dict[str, Artifact], damage: str
) -> None:
    artifact = examples["service"]
    Runtime(fresh_cache).compile(artifact)
    code, record = _entry(Runtime(fresh_cache), artifact)
    data = code.read_bytes()
    if damage == "truncate":
        code.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        code.write_bytes(os.urandom(len(data)))
    elif damage == "empty":
        code.write_bytes(b"")
    elif damage == "record":
        record.write_text("{not json")
    else:
        code.unlink()

    runtime = Runtime(fresh_cache)
    assert runtime.run(artifact, "service: a\njob: b").dashboard["title"] == "Service a"
    stats = runtime.modules.stats
    assert stats.compiles == 1 and stats.disk_hits == 0
    assert stats.rejected == (0 if damage == "record-missing-code" else 1)
    # The rebuilt entry is whole again and loads directly next time.
    again = Runtime(fresh_cache)
    again.compile(artifact)
    assert (again.modules.stats.disk_hits, again.modules.stats.compiles) == (1, 0)


@pytest.mark.parametrize("attack", ["world-writable", "foreign-owner", "symlink", "directory-open"])
def test_an_entry_someone_else_could_have_written_is_never_loaded(
    fresh_cache: Path, examples: dict[str, Artifact], attack: str
) -> None:
    artifact = examples["simple"]
    Runtime(fresh_cache).compile(artifact)
    code, _ = _entry(Runtime(fresh_cache), artifact)
    if attack == "world-writable":
        code.chmod(0o666)
    elif attack == "foreign-owner":
        if os.getuid() != 0:
            raise AssertionError("this test chowns a file: run the suite as root (CI does)")
        os.chown(code, 65534, 65534)
    elif attack == "symlink":
        planted = fresh_cache / "planted.cwasm"
        planted.write_bytes(code.read_bytes())
        code.unlink()
        code.symlink_to(planted)
    else:
        code.parent.chmod(0o777)
    runtime = Runtime(fresh_cache)
    assert runtime.run(artifact, "app_name: x").dashboard["title"].startswith("x")
    assert (runtime.modules.stats.disk_hits, runtime.modules.stats.rejected) == (0, 1)
    assert runtime.modules.stats.compiles == 1


def test_touched_but_intact_entry_is_rehashed_and_kept(
    fresh_cache: Path, examples: dict[str, Artifact]
) -> None:
    artifact = examples["simple"]
    Runtime(fresh_cache).compile(artifact)
    code, _ = _entry(Runtime(fresh_cache), artifact)
    os.utime(code, ns=(1, 1))
    runtime = Runtime(fresh_cache)
    runtime.compile(artifact)
    assert (runtime.modules.stats.disk_hits, runtime.modules.stats.rejected) == (1, 0)


def test_cache_key_covers_wasmtime_version_and_settings(
    fresh_cache: Path, examples: dict[str, Artifact]
) -> None:
    runtime = Runtime(fresh_cache)
    digest = examples["simple"].hexdigest
    key = runtime.modules.entry_key(digest)
    assert key != runtime.modules.entry_key(examples["service"].hexdigest)
    from dawg_provider.wasm.modcache import ModuleCache

    other = ModuleCache(runtime.engine, fresh_cache, "other-settings")
    assert other.entry_key(digest) != key


def test_group_or_world_writable_cache_dir_is_made_private(tmp_path: Path) -> None:
    directory = tmp_path / "shared"
    directory.mkdir(mode=0o777)
    directory.chmod(0o777)
    ensure_private_dir(directory)
    assert directory.stat().st_mode & 0o777 == 0o700


def test_cache_dir_owned_by_someone_else_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "foreign"
    directory.mkdir()
    if os.getuid() != 0:
        pytest.fail("this test needs root to chown a directory to another user")
    os.chown(directory, 65534, 65534)
    with pytest.raises(CacheError, match="owned by uid 65534"):
        ensure_private_dir(directory)


def test_no_disk_cache_writes_nothing(tmp_path: Path, examples: dict[str, Artifact]) -> None:
    runtime = Runtime(tmp_path / "cache", disk_cache=False)
    runtime.run(examples["simple"], "app_name: a")
    assert not (tmp_path / "cache").exists()


# ---- threads -----------------------------------------------------------------------------


def test_concurrent_runs_from_threads_match_sequential(
    fresh_cache: Path,
    examples: dict[str, Artifact],
    hostile: dict[str, Artifact],
    example_configs: dict[str, bytes],
) -> None:
    runtime = Runtime(fresh_cache)
    jobs: list[tuple[Artifact, bytes]] = [(a, example_configs[n]) for n, a in examples.items()]
    jobs.append((hostile["go"], b"random"))
    jobs.append((hostile["c"], b"exit7"))
    expected = {}
    for artifact, config in jobs:
        try:
            expected[artifact.digest, config] = runtime.run(artifact, config).raw
        except GeneratorFailed as error:
            expected[artifact.digest, config] = str(error).encode()

    def one(index: int) -> tuple[tuple[str, bytes], bytes]:
        artifact, config = jobs[index % len(jobs)]
        try:
            return (artifact.digest, config), runtime.run(artifact, config).raw
        except GeneratorFailed as error:
            return (artifact.digest, config), str(error).encode()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(200)))
    assert all(expected[key] == raw for key, raw in results)


def test_concurrent_first_use_compiles_once(fresh_cache: Path, examples: dict[str, Artifact]) -> None:
    runtime = Runtime(fresh_cache)
    barrier = threading.Barrier(6)

    def one(_: int) -> str:
        barrier.wait()
        return str(runtime.run(examples["service"], "service: a\njob: b").dashboard["title"])

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert set(pool.map(one, range(6))) == {"Service a"}
    assert runtime.modules.stats.compiles == 1


def test_a_timeout_in_one_thread_does_not_disturb_others(
    runtime: Runtime, examples: dict[str, Artifact], hostile: dict[str, Artifact]
) -> None:
    runtime.compile(hostile["c"])
    with ThreadPoolExecutor(max_workers=2) as pool:
        looping = pool.submit(lambda: runtime.run(hostile["c"], "loop", Limits(timeout=1.0)))
        titles = [runtime.run(examples["simple"], f"app_name: a{i}").dashboard["title"] for i in range(50)]
        with pytest.raises(Exception, match="did not finish within 1 s"):
            looping.result()
    assert titles == [f"a{i}" for i in range(50)]


# ---- module checks -----------------------------------------------------------------------


def test_not_wasm_is_refused(runtime: Runtime) -> None:
    with pytest.raises(InvalidModule, match=r"not a WebAssembly binary"):
        runtime.run(Artifact.from_bytes("notes.txt", b"hello, world"), "")


def test_corrupt_wasm_is_refused(runtime: Runtime) -> None:
    with pytest.raises(InvalidModule, match="not a valid WebAssembly core module"):
        runtime.run(Artifact.from_bytes("bad.wasm", b"\0asm\x01\0\0\0\xff\xff"), "")


def test_an_empty_component_is_refused_with_a_clear_message(runtime: Runtime) -> None:
    with pytest.raises(InvalidModule, match="is a component that exports nothing"):
        runtime.run(Artifact.from_bytes("c.wasm", b"\0asm\x0d\0\x01\0"), "")


def test_foreign_imports_are_named(runtime: Runtime) -> None:
    module = wat_artifact(
        "env.wasm",
        '(module (import "env" "host_secret" (func)) (memory (export "memory") 1) (func (export "_start")))',
    )
    with pytest.raises(InvalidModule, match=r"imports env\.host_secret, which DAWG does not provide"):
        runtime.run(module, "")


def test_library_module_lists_its_exports(runtime: Runtime) -> None:
    module = wat_artifact(
        "lib.wasm",
        '(module (memory (export "memory") 1) (func (export "frobnicate") (result i64) i64.const 0))',
    )
    with pytest.raises(InvalidModule, match="not a WASI command module: it exports memory, frobnicate"):
        runtime.run(module, "")


def test_a_prototype_module_returning_nothing_is_invalid_output(runtime: Runtime) -> None:
    module = wat_artifact(
        "proto.wasm",
        '(module (memory (export "memory") 1) (func (export "generate") (result i64) i64.const 0))',
    )
    assert runtime.inspect(module).kind.value == "prototype-generate-abi"
    with pytest.raises(InvalidOutput, match="wrote nothing to stdout"):
        runtime.run(module, "")


def test_initial_memory_over_the_cap_is_memory_exceeded(runtime: Runtime) -> None:
    module = wat_artifact("big.wasm", '(module (memory (export "memory") 1000) (func (export "_start")))')
    with pytest.raises(Exception, match="needs more memory at start than its limit of 32 MiB"):
        runtime.run(module, "", Limits(memory=32 * 1024 * 1024))


# ---- the pure classification ------------------------------------------------------------


def test_failure_classification_is_pure_and_ordered() -> None:
    limits = Limits(timeout=2.0, memory=64 * 1024 * 1024)
    assert failure("g", Outcome(), limits) is None
    both = Outcome(exit_code=None, interrupted=True, stdout_overflow=True)
    assert type(failure("g", both, limits)).__name__ == "OutputTooLarge"
    assert (
        type(failure("g", Outcome(exit_code=None, interrupted=True), limits)).__name__ == "GeneratorTimeout"
    )
    near = Outcome(exit_code=2, memory_bytes=60 * 1024 * 1024)
    assert type(failure("g", near, limits)).__name__ == "MemoryLimitExceeded"
    said = Outcome(exit_code=2, stderr="fatal error: out of memory")
    assert type(failure("g", said, limits)).__name__ == "MemoryLimitExceeded"
    plain = failure("g", Outcome(exit_code=1, stderr="config: bad"), limits)
    assert (
        type(plain).__name__ == "GeneratorFailed"
        and str(plain) == "generator g: exited with code 1: config: bad"
    )
    crash = failure("g", Outcome(exit_code=None, trap="STACK_OVERFLOW"), limits)
    assert type(crash).__name__ == "GeneratorCrashed"
