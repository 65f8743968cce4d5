"""The Go prototype's ABI, kept working: core modules exporting `generate() -> u64`.

Such a module reads its config from `/dawg/input` and returns `ptr << 32 | len` of its
output in linear memory; output starting with `e` is `{"err": "..."}`. DAWG gives it
a read-only preopened directory holding only `input` (a fresh temporary directory per
run), calls `_initialize` (or `_start`) and then `generate`, and reads the output.
Clock, random and sleeps are replaced as for contract v1 (see `sandbox`); stdout and
stderr go to memory files.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager

import wasmtime

from . import sandbox
from .components import MemoryFile
from .limits import Limits

U64 = (1 << 64) - 1


class PrototypeRun:
    def __init__(self) -> None:
        self.output = b""
        self.error_result: str | None = None
        self.exit_code: int | None = 0
        self.trap: str | None = None
        self.interrupted = False
        self.instantiation_error: str | None = None
        self.stderr = ""
        self.memory_bytes = 0
        self.sleep_attempts = 0


def error_message(output: bytes) -> str | None:
    """The message of an `e{"err": ...}` output, or None for a normal one. Pure."""
    if not output.startswith(b"e"):
        return None
    try:
        value = json.loads(output[1:])
    except ValueError:
        return output[1:].decode("utf-8", errors="replace")[:500] or "the generator reported an error"
    if isinstance(value, dict) and "err" in value:
        return str(value["err"])
    return json.dumps(value)[:500]


def execute(
    engine: wasmtime.Engine,
    linker: wasmtime.Linker,
    module: wasmtime.Module,
    config: bytes,
    limits: Limits,
    running: Callable[[], AbstractContextManager[None]],
) -> PrototypeRun:
    result = PrototypeRun()
    io = sandbox.RunIO(b"", limits.max_output, limits.max_stderr)
    stdout, stderr = MemoryFile("dawg-stdout"), MemoryFile("dawg-stderr")
    try:
        with tempfile.TemporaryDirectory(prefix="dawg-input-") as directory:
            path = os.path.join(directory, "input")
            with open(path, "wb") as handle:
                handle.write(config)
            os.chmod(path, 0o400)
            wasi = wasmtime.WasiConfig()
            wasi.preopen_dir(directory, "/dawg", False)
            wasi.stdout_file = stdout.path
            wasi.stderr_file = stderr.path
            store = sandbox.new_store(engine, wasi, limits.memory, limits.timeout)
            instance = None
            with running(), sandbox.bound(io):
                try:
                    instance = linker.instantiate(store, module)
                    exports = instance.exports(store)
                    init = exports.get("_initialize") or exports.get("_start")
                    if isinstance(init, wasmtime.Func):
                        try:
                            init(store)
                        except wasmtime.ExitTrap as exit_:
                            if exit_.code != 0:
                                raise
                    generate = exports.get("generate")
                    memory = exports.get("memory")
                    assert isinstance(generate, wasmtime.Func) and isinstance(memory, wasmtime.Memory)
                    packed = int(generate(store)) & U64
                    pointer, length = packed >> 32, packed & 0xFFFFFFFF
                    if length > limits.max_output:
                        result.output = b""
                        result.error_result = None
                        result.exit_code = None
                        result.trap = f"output of {length} bytes is over the limit"
                    elif pointer + length > memory.data_len(store):
                        result.exit_code = None
                        result.trap = "generate() returned a pointer outside its memory"
                    else:
                        result.output = bytes(memory.read(store, pointer, pointer + length))
                        result.error_result = error_message(result.output)
                    result.memory_bytes = memory.data_len(store)
                except wasmtime.ExitTrap as exit_:
                    result.exit_code = exit_.code
                except wasmtime.Trap as trap:
                    result.exit_code = None
                    result.interrupted = trap.trap_code is wasmtime.TrapCode.INTERRUPT
                    result.trap = trap.trap_code.name if trap.trap_code is not None else trap.message
                except wasmtime.WasmtimeError as error:
                    result.exit_code = None
                    if instance is None:
                        result.instantiation_error = str(error)
                    else:
                        result.trap = str(error).strip().splitlines()[0]
        result.stderr = stderr.tail(limits.max_stderr).decode("utf-8", errors="replace")
        result.sleep_attempts = io.sleep_attempts
    finally:
        stdout.close()
        stderr.close()
    return result
