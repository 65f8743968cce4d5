"""Running WebAssembly components: `generate(config) -> result<string, string>` and
`wasi:cli/run` commands, with the same guarantees as core modules where wasmtime-py
allows them.

Same: a wall-clock deadline (epoch interruption), a linear-memory cap, an output cap,
no preopened files, no environment, no sockets (wasmtime-py denies p2 sockets), typed
errors, and a compiled-component disk cache (components take seconds to compile).
Different, and documented: stderr and a command's stdout go to memory files that are
read after the run (capped when read), and the guest sees the real clock and random
source, since wasmtime-py offers no way to replace WASI p2 interfaces. An `err`
result becomes a generator error carrying its message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from contextlib import AbstractContextManager

import wasmtime
from wasmtime import component

from . import sandbox
from .limits import Limits

GENERATE = "generate"
EXIT = re.compile(r"[Ee]xited with i32 exit status (\d+)")
CLI_RUN = "wasi:cli/run@"


def trap_reason(message: str) -> str:
    """The informative line of a component trap: the cause, not the backtrace header."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if line.startswith("Caused by") and index + 1 < len(lines):
            return lines[index + 1].lstrip("0123456789: ")
    return lines[-1] if lines else "trap"


def run_export(exports: list[str]) -> str | None:
    """The name of the `wasi:cli/run` instance export, if the component has one."""
    return next((name for name in exports if name.startswith(CLI_RUN)), None)


class MemoryFile:
    """An anonymous in-memory file that wasmtime can open by path."""

    def __init__(self, name: str, content: bytes = b"") -> None:
        self.fd = os.memfd_create(name)
        if content:
            os.write(self.fd, content)
            os.lseek(self.fd, 0, os.SEEK_SET)
        self.path = f"/proc/self/fd/{self.fd}"

    def tail(self, limit: int) -> bytes:
        size = os.fstat(self.fd).st_size
        return os.pread(self.fd, limit, max(0, size - limit))

    def head(self, limit: int) -> bytes:
        return os.pread(self.fd, limit, 0)

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def close(self) -> None:
        os.close(self.fd)


class ComponentRun:
    """The raw result of one component run, before classification."""

    def __init__(self) -> None:
        self.output = b""
        self.output_too_large = False
        self.error_result: str | None = None
        self.command_failed = False
        self.exit_code: int | None = None
        self.trap: str | None = None
        self.interrupted = False
        self.instantiation_error: str | None = None
        self.stderr = ""


def execute(
    engine: wasmtime.Engine,
    linker: component.Linker,
    compiled: component.Component,
    exports: list[str],
    config: bytes,
    limits: Limits,
    running: Callable[[], AbstractContextManager[None]],
) -> ComponentRun:
    """Instantiate and call the component's entry point under the limits."""
    result = ComponentRun()
    command = run_export(exports) if GENERATE not in exports else None
    stderr = MemoryFile("dawg-stderr")
    stdin = MemoryFile("dawg-stdin", config) if command else None
    stdout = MemoryFile("dawg-stdout") if command else None
    try:
        wasi = wasmtime.WasiConfig()
        wasi.stderr_file = stderr.path
        if stdin is not None and stdout is not None:
            wasi.stdin_file = stdin.path
            wasi.stdout_file = stdout.path
        store = sandbox.new_store(engine, wasi, limits.memory, limits.timeout)
        instance = None
        with running():
            try:
                instance = linker.instantiate(store, compiled)
                if command is None:
                    func = instance.get_func(store, GENERATE)
                    assert func is not None
                    value = func(store, config.decode("utf-8", errors="replace"))
                    func.post_return(store)
                    tag, payload = getattr(value, "tag", None), getattr(value, "payload", None)
                    if tag == "ok" and isinstance(payload, str):
                        result.output = payload.encode()
                    else:
                        result.error_result = (
                            str(payload) if payload is not None else "the generator returned an error"
                        )
                else:
                    index = compiled.get_export_index(command)
                    run = compiled.get_export_index("run", instance=index) if index is not None else None
                    func = instance.get_func(store, run) if run is not None else None
                    assert func is not None
                    value = func(store)
                    func.post_return(store)
                    result.command_failed = getattr(value, "tag", "ok") == "err"
            except wasmtime.WasmtimeError as error:
                message = str(error)
                if instance is None:
                    result.instantiation_error = message
                elif "interrupt" in message.lower():
                    result.interrupted = True
                elif (exited := EXIT.search(message)) is not None:
                    result.exit_code = int(exited.group(1))
                    result.command_failed = result.exit_code != 0
                else:
                    result.trap = trap_reason(message)
        if stdout is not None:
            if stdout.size() > limits.max_output:
                result.output_too_large = True
            else:
                result.output = stdout.head(limits.max_output)
        elif len(result.output) > limits.max_output:
            result.output_too_large = True
        result.stderr = stderr.tail(limits.max_stderr).decode("utf-8", errors="replace")
    finally:
        for file in (stderr, stdin, stdout):
            if file is not None:
                file.close()
    return result
