"""Hostile generators, built from source: each ends in a clear typed error, fast, host unharmed.

Where the sandbox must deny something, the hostile module prints a "LEAK" dashboard
when it succeeds, so a leaky sandbox makes these tests fail rather than pass.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dawg_provider import (
    Artifact,
    GeneratorCrashed,
    GeneratorError,
    GeneratorFailed,
    GeneratorTimeout,
    InvalidOutput,
    Limits,
    MemoryLimitExceeded,
    OutputTooLarge,
    RenderedDashboard,
    Runtime,
)

DEADLINE = 1.0
LIMITS = Limits(timeout=DEADLINE)


def run_timed(runtime: Runtime, artifact: Artifact, config: str, limits: Limits = LIMITS) -> float:
    """Run and return how long the failing run took; the run must fail."""
    runtime.compile(artifact)  # compilation is not part of the deadline
    started = time.monotonic()
    with pytest.raises(GeneratorError):
        runtime.run(artifact, config, limits)
    return time.monotonic() - started


def failure(runtime: Runtime, artifact: Artifact, config: str, limits: Limits = LIMITS) -> GeneratorError:
    runtime.compile(artifact)
    started = time.monotonic()
    try:
        result: RenderedDashboard = runtime.run(artifact, config, limits)
    except GeneratorError as error:
        elapsed = time.monotonic() - started
        assert elapsed < limits.timeout + 1.0, f"took {elapsed:.2f}s for a {limits.timeout}s deadline"
        assert "Traceback" not in str(error)
        return error
    raise AssertionError(f"the generator was not stopped; it printed {result.dashboard!r}")


@pytest.mark.parametrize("lang", ["c", "go"])
def test_cannot_read_a_host_file(
    runtime: Runtime, hostile: dict[str, Artifact], tmp_path: Path, lang: str
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("the host's secret")
    error = failure(runtime, hostile[lang], f"readfile {secret}")
    assert isinstance(error, GeneratorFailed) and error.exit_code == 3
    assert "denied" in error.stderr


def test_cannot_write_a_host_file(runtime: Runtime, hostile: dict[str, Artifact], tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    error = failure(runtime, hostile["c"], f"writefile {target}")
    assert isinstance(error, GeneratorFailed) and error.exit_code == 3
    assert not target.exists()


def test_cannot_list_the_host_root(runtime: Runtime, hostile: dict[str, Artifact]) -> None:
    error = failure(runtime, hostile["c"], "listdir /")
    assert isinstance(error, GeneratorFailed) and error.exit_code == 3


@pytest.mark.parametrize("lang", ["c", "go"])
def test_sees_no_environment(
    runtime: Runtime, hostile: dict[str, Artifact], lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAWG_TEST_SECRET", "hunter2")
    error = failure(runtime, hostile[lang], "env")
    assert isinstance(error, GeneratorFailed) and error.exit_code == 3


def test_argv_is_just_generator(runtime: Runtime, hostile: dict[str, Artifact]) -> None:
    assert runtime.run(hostile["c"], "argv", LIMITS).dashboard["title"] == "argc=1 argv0=generator"


@pytest.fixture
def listener() -> Iterator[tuple[str, list[socket.socket]]]:
    """A real loopback listener that records every connection it accepts."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    host, port = server.getsockname()
    yield f"{host}:{port}", accepted
    stop.set()
    thread.join()
    server.close()


def test_cannot_open_a_socket(
    runtime: Runtime, hostile: dict[str, Artifact], listener: tuple[str, list[socket.socket]]
) -> None:
    address, accepted = listener
    error = failure(runtime, hostile["go"], f"socket {address}")
    assert isinstance(error, GeneratorFailed) and error.exit_code == 3
    time.sleep(0.3)
    assert accepted == []


@pytest.mark.parametrize("lang", ["c", "zig"])
def test_infinite_loop_hits_the_deadline(runtime: Runtime, hostile: dict[str, Artifact], lang: str) -> None:
    started = time.monotonic()
    error = failure(runtime, hostile[lang], "loop")
    assert isinstance(error, GeneratorTimeout)
    assert time.monotonic() - started >= DEADLINE * 0.9
    assert "did not finish within 1 s" in str(error)


def test_sleeping_forever_cannot_outwait_the_deadline(runtime: Runtime, hostile: dict[str, Artifact]) -> None:
    error = failure(runtime, hostile["go"], "sleep")
    assert isinstance(error, GeneratorTimeout)
    assert "virtual clock" in str(error)


def test_one_long_sleep_passes_in_virtual_time(runtime: Runtime, hostile: dict[str, Artifact]) -> None:
    started = time.monotonic()
    result = runtime.run(hostile["go"], "sleeponce", LIMITS)
    assert result.dashboard["title"] == "slept 1h0m0s"
    assert time.monotonic() - started < DEADLINE


def test_deadlock_is_reported_by_the_guest(runtime: Runtime, hostile: dict[str, Artifact]) -> None:
    error = failure(runtime, hostile["go"], "deadlock")
    assert isinstance(error, GeneratorFailed)
    assert "all goroutines are asleep" in str(error)


@pytest.mark.parametrize("lang", ["c", "go"])
def test_allocating_forever_hits_the_memory_cap(
    runtime: Runtime, hostile: dict[str, Artifact], lang: str
) -> None:
    limits = Limits(timeout=5.0, memory=64 * 1024 * 1024)
    error = failure(runtime, hostile[lang], "alloc", limits)
    assert isinstance(error, MemoryLimitExceeded)
    assert "limit 64 MiB" in str(error)


def test_one_huge_allocation_is_refused_by_the_cap(runtime: Runtime, hostile: dict[str, Artifact]) -> None:
    error = failure(runtime, hostile["c"], "bigalloc")
    # malloc(1 GiB) returned NULL inside the guest, which gave up on its own.
    assert isinstance(error, GeneratorFailed) and error.exit_code == 4


def test_unbounded_stdout_is_cut_at_the_cap(runtime: Runtime, hostile: dict[str, Artifact]) -> None:
    limits = Limits(timeout=DEADLINE, max_output=1024 * 1024)
    error = failure(runtime, hostile["c"], "stdout", limits)
    assert isinstance(error, OutputTooLarge)
    assert "more than 1 MiB" in str(error)


def test_stderr_flood_is_bounded_and_stopped(runtime: Runtime, hostile: dict[str, Artifact]) -> None:
    error = failure(runtime, hostile["c"], "stderr")
    assert isinstance(error, GeneratorTimeout)


def test_stderr_keeps_head_and_tail_within_the_budget(runtime: Runtime, hostile: dict[str, Artifact]) -> None:
    error = failure(runtime, hostile["c"], "stderr-then-fail", Limits(timeout=5.0))
    assert isinstance(error, GeneratorFailed) and error.exit_code == 5
    assert error.stderr.startswith("noise line 0\n")
    assert error.stderr.rstrip().endswith("the real reason comes last")
    assert "bytes of stderr dropped" in error.stderr
    assert len(error.stderr.encode()) <= Limits().max_stderr + 200
    assert "the real reason comes last" in str(error)
    assert len(str(error)) < 3000


def test_go_panic_shows_the_panic_message(runtime: Runtime, hostile: dict[str, Artifact]) -> None:
    error = failure(runtime, hostile["go"], "panic")
    assert isinstance(error, GeneratorFailed) and error.exit_code == 2
    assert "panic: boom: the generator panicked on purpose" in str(error)
    assert "/work/" not in error.stderr and "/root/" not in error.stderr  # -trimpath: no build paths


@pytest.mark.parametrize(("lang", "mode"), [("c", "trap"), ("zig", "panic")])
def test_trap_is_a_crash(runtime: Runtime, hostile: dict[str, Artifact], lang: str, mode: str) -> None:
    error = failure(runtime, hostile[lang], mode)
    assert isinstance(error, GeneratorCrashed)
    assert "unreachable" in str(error)


def test_stack_overflow_is_a_crash(runtime: Runtime, hostile: dict[str, Artifact]) -> None:
    error = failure(runtime, hostile["c"], "stack")
    assert isinstance(error, GeneratorCrashed)
    assert "overflowed its stack" in str(error)


def test_non_zero_exit_shows_stderr(runtime: Runtime, hostile: dict[str, Artifact]) -> None:
    error = failure(runtime, hostile["c"], "exit7")
    assert isinstance(error, GeneratorFailed) and error.exit_code == 7
    assert str(error).endswith("exited with code 7: config: this generator always refuses")


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("silent", "wrote nothing to stdout"),
        ("badjson", "stdout is not valid JSON"),
        ("deep", "nests more than 64 levels deep"),
        ("deepobject", "nests more than 64 levels deep"),
        ("array", "stdout is a JSON array, not an object"),
        ("number", "stdout is a JSON number, not an object"),
        ("notitle", "the dashboard has no title"),
        ("emptytitle", "title is empty"),
        ("badutf8", "not valid UTF-8"),
        ("nan", "NaN is not valid JSON"),
    ],
)
def test_unusable_output_is_invalid_output(
    runtime: Runtime, hostile: dict[str, Artifact], mode: str, message: str
) -> None:
    error = failure(runtime, hostile["c"], mode)
    assert isinstance(error, InvalidOutput)
    assert message in str(error)
    assert hostile["c"].source in str(error)


def test_host_is_unharmed_after_the_hostile_suite(runtime: Runtime, examples: dict[str, Artifact]) -> None:
    # The same runtime still renders, and the process kept its environment and cwd.
    assert runtime.run(examples["simple"], "app_name: web").dashboard["title"] == "web"
    assert os.getcwd() == str(Path.cwd())
