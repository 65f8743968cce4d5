"""Running a generator: one wasmtime Engine per process, one Store per run.

The runtime turns (artifact, config text, limits) into a validated dashboard or a
typed `GeneratorError`. What it guarantees for every run, whoever wrote the module:

- no files, no environment, no sockets, argv `["generator"]` (see `sandbox`);
- a wall-clock deadline by epoch interruption, ticked by one shared thread that
  only runs while some generator is running;
- a linear-memory cap, a stdout cap and a bounded stderr tail;
- the same bytes for the same input (fixed clock, seeded random);
- compile once per digest per process, and once per machine with the disk cache.

The decision "which error is this" is a pure function of the run's `Outcome`, kept
apart from the code that drives wasmtime, so it can be tested on its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import wasmtime
import wasmtime.component

from ..errors import (
    InvalidModule,
)
from ..sources.artifact import Artifact, BinaryKind
from ..sources.cachedir import default_cache_root
from . import components, prototype, sandbox
from .config_schema import ConfigSchema, read_schema
from .failure import Outcome, failure, first_line
from .limits import Limits
from .modcache import Compiled, ModuleCache
from .output import parse_dashboard, without_identity

EPOCH_TICK_SECONDS = sandbox.EPOCH_TICK_SECONDS
ENGINE_SETTINGS = "epoch_interruption=1;cranelift_opt_level=speed;v1"


class ModuleKind(Enum):
    """Which generator contract a module speaks, told from its imports and exports."""

    WASI_COMMAND = "wasi-preview1-command"
    PROTOTYPE_ABI = "prototype-generate-abi"
    COMPONENT_GENERATE = "component-generate"
    COMPONENT_COMMAND = "component-wasi-cli-run"


@dataclass(frozen=True)
class ModuleInfo:
    """What a module is: its contract, and what it imports and exports (for `dawg inspect`)."""

    kind: ModuleKind
    imports: tuple[str, ...]
    exports: tuple[str, ...]


@dataclass(frozen=True)
class RenderedDashboard:
    """A generator's validated output: the exact bytes it wrote, and the parsed dashboard."""

    generator: str
    digest: str
    raw: bytes
    dashboard: dict[str, Any]
    stderr: str
    elapsed: float
    memory_bytes: int
    warnings: tuple[str, ...] = ()
    """What the author should fix but DAWG could repair (a `uid` or `id` it dropped)."""


def detect_kind(
    generator: str, binary: BinaryKind, imports: tuple[str, ...], exports: tuple[str, ...]
) -> ModuleKind:
    """Which contract a module speaks, from what it imports and exports. Pure."""
    if binary is BinaryKind.COMPONENT:
        if "generate" in exports:
            return ModuleKind.COMPONENT_GENERATE
        if components.run_export(list(exports)):
            return ModuleKind.COMPONENT_COMMAND
        raise InvalidModule(
            generator,
            f"is a component that exports {_listing(list(exports), 10) or 'nothing'}",
            "export `generate: func(config: string) -> result<string, string>` (wit/generator.wit) "
            "or wasi:cli/run; see docs/generator-contract.md",
        )
    foreign = [name for name in imports if not name.startswith(sandbox.WASI_MODULE + ".")]
    if foreign:
        raise InvalidModule(
            generator,
            f"imports {_listing(foreign)}, which DAWG does not provide",
            f"generators may import only {sandbox.WASI_MODULE} (WASI preview 1)",
        )
    if "generate" in exports and "memory" in exports:
        return ModuleKind.PROTOTYPE_ABI
    if "_start" in exports and "memory" in exports:
        return ModuleKind.WASI_COMMAND
    shown = ", ".join(exports[:10]) or "nothing"
    raise InvalidModule(
        generator,
        f"is not a WASI command module: it exports {shown}",
        "build it as a command (a `main` that reads stdin and prints JSON); see docs/generator-contract.md",
    )


def module_info(generator: str, compiled: Compiled, engine: wasmtime.Engine) -> ModuleInfo:
    """Tell which contract `compiled` speaks, or explain what it exports instead."""
    if isinstance(compiled, wasmtime.component.Component):
        kind_of = compiled.type
        imports = tuple(kind_of.imports(engine))
        exports = tuple(kind_of.exports(engine))
        return ModuleInfo(detect_kind(generator, BinaryKind.COMPONENT, imports, exports), imports, exports)
    imports = tuple(f"{item.module}.{item.name}" for item in compiled.imports)
    exports = tuple(item.name for item in compiled.exports)
    return ModuleInfo(detect_kind(generator, BinaryKind.CORE_MODULE, imports, exports), imports, exports)


class _EpochTicker:
    """Advances the engine's epoch every tick while at least one run is active."""

    def __init__(self, engine: wasmtime.Engine) -> None:
        self._engine = engine
        self._active = 0
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    @contextmanager
    def running(self) -> Iterator[None]:
        with self._wake:
            self._active += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="dawg-epoch", daemon=True)
                self._thread.start()
            self._wake.notify()
        try:
            yield
        finally:
            with self._wake:
                self._active -= 1

    def _loop(self) -> None:
        next_tick = time.monotonic()
        while True:
            with self._wake:
                while self._active == 0:
                    self._wake.wait()
                    next_tick = time.monotonic()
            next_tick += EPOCH_TICK_SECONDS
            delay = next_tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._engine.increment_epoch()


@dataclass(frozen=True)
class _Shared:
    """What every run in the process shares: the engine, the linkers, the ticker."""

    engine: wasmtime.Engine
    linker: wasmtime.Linker
    prototype_linker: wasmtime.Linker
    component_linker: wasmtime.component.Linker
    ticker: _EpochTicker


_shared: _Shared | None = None
_shared_lock = threading.Lock()


def _process_shared() -> _Shared:
    """The one Engine of this process (created on first use), with its linkers and ticker."""
    global _shared
    with _shared_lock:
        if _shared is None:
            config = wasmtime.Config()
            config.epoch_interruption = True
            config.cranelift_opt_level = "speed"
            engine = wasmtime.Engine(config)
            linker = wasmtime.Linker(engine)
            sandbox.define_sandbox(linker)
            prototype_linker = wasmtime.Linker(engine)
            sandbox.define_sandbox(prototype_linker, capture_stdio=False)
            component_linker = wasmtime.component.Linker(engine)
            component_linker.add_wasip2()
            _shared = _Shared(engine, linker, prototype_linker, component_linker, _EpochTicker(engine))
        return _shared


class Runtime:
    """Compiles, caches and runs generators; safe to share between threads.

    All runtimes of a process share one wasmtime Engine; each has its own caches of
    compiled modules and components (in memory, and on disk under `cache_dir`).
    """

    def __init__(self, cache_dir: Path | None = None, *, disk_cache: bool = True) -> None:
        shared = _process_shared()
        self._shared = shared
        self.engine = shared.engine
        self._linker = shared.linker
        self._ticker = shared.ticker
        root = cache_dir or default_cache_root()
        self.modules = ModuleCache(self.engine, root / "modules" if disk_cache else None, ENGINE_SETTINGS)
        self.components = ModuleCache(
            self.engine,
            root / "components" if disk_cache else None,
            ENGINE_SETTINGS,
            wasmtime.component.Component.deserialize_file,
        )
        self._infos: dict[str, ModuleInfo] = {}
        self._schemas: dict[str, ConfigSchema | InvalidModule | None] = {}

    def forget(self) -> None:
        """Drop what is held in memory (compiled code, module facts, schemas); the disk stays."""
        self.modules.forget()
        self.components.forget()
        self._infos.clear()
        self._schemas.clear()

    def compile(self, artifact: Artifact) -> Compiled:
        """The compiled module or component (cached by digest, in memory and on disk)."""
        kind = artifact.binary_kind()

        def compile_now() -> Compiled:
            try:
                if kind is BinaryKind.COMPONENT:
                    return wasmtime.component.Component(self.engine, artifact.wasm)
                return wasmtime.Module(self.engine, artifact.wasm)
            except wasmtime.WasmtimeError as error:
                raise InvalidModule(
                    artifact.label, f"is not a valid WebAssembly {kind.value}: {first_line(str(error))}"
                ) from None

        cache = self.components if kind is BinaryKind.COMPONENT else self.modules
        return cache.get(artifact.hexdigest, compile_now)

    def inspect(self, artifact: Artifact) -> ModuleInfo:
        """Which contract the generator speaks, and its imports and exports."""
        info = self._infos.get(artifact.digest)
        if info is None:
            info = module_info(artifact.label, self.compile(artifact), self.engine)
            self._infos[artifact.digest] = info
        return info

    def config_schema(self, artifact: Artifact) -> ConfigSchema | None:
        """The config schema the generator declares in its bytes (cached by digest), or None."""
        if artifact.digest not in self._schemas:
            with artifact.open() as stream:
                try:
                    self._schemas[artifact.digest] = read_schema(artifact.label, stream)
                except InvalidModule as error:  # the bytes will not change: refuse them once
                    self._schemas[artifact.digest] = error
        found = self._schemas[artifact.digest]
        if isinstance(found, InvalidModule):
            raise found.with_traceback(None)
        return found

    def run(self, artifact: Artifact, config: bytes | str, limits: Limits | None = None) -> RenderedDashboard:
        """Check `config` against the generator's schema, run it, and validate its dashboard."""
        limits = limits or Limits()
        stdin = config.encode() if isinstance(config, str) else bytes(config)
        try:
            schema = self.config_schema(artifact)  # before compiling: a typo never costs a compile
        except InvalidModule:
            self.compile(artifact)  # a binary wasmtime refuses is reported as that, first
            raise
        if schema is not None:
            schema.check(artifact.label, stdin)
        compiled = self.compile(artifact)
        info = self.inspect(artifact)
        started = time.perf_counter()
        if info.kind is ModuleKind.WASI_COMMAND:
            assert isinstance(compiled, wasmtime.Module)
            io = sandbox.RunIO(stdin, limits.max_output, limits.max_stderr)
            outcome = self._execute(compiled, io, limits)
            raw = bytes(io.stdout)
        elif info.kind is ModuleKind.PROTOTYPE_ABI:
            assert isinstance(compiled, wasmtime.Module)
            outcome, raw = self._execute_prototype(compiled, stdin, limits)
        else:
            assert isinstance(compiled, wasmtime.component.Component)
            outcome, raw = self._execute_component(compiled, list(info.exports), stdin, limits)
        elapsed = time.perf_counter() - started
        error = failure(artifact.label, outcome, limits)
        if error is not None:
            raise error
        dashboard, warnings = without_identity(artifact.label, parse_dashboard(artifact.label, raw))
        return RenderedDashboard(
            generator=artifact.source,
            digest=artifact.digest,
            raw=raw,
            dashboard=dashboard,
            stderr=outcome.stderr,
            elapsed=elapsed,
            memory_bytes=outcome.memory_bytes,
            warnings=warnings,
        )

    def _execute_prototype(
        self, module: wasmtime.Module, stdin: bytes, limits: Limits
    ) -> tuple[Outcome, bytes]:
        run = prototype.execute(
            self.engine, self._shared.prototype_linker, module, stdin, limits, self._ticker.running
        )
        outcome = Outcome(
            exit_code=run.exit_code,
            trap=run.trap,
            interrupted=run.interrupted,
            instantiation_error=run.instantiation_error,
            error_result=run.error_result,
            sleep_attempts=run.sleep_attempts,
            memory_bytes=run.memory_bytes,
            stderr=run.stderr,
        )
        return outcome, run.output

    def _execute_component(
        self, compiled: wasmtime.component.Component, exports: list[str], stdin: bytes, limits: Limits
    ) -> tuple[Outcome, bytes]:
        run = components.execute(
            self.engine, self._shared.component_linker, compiled, exports, stdin, limits, self._ticker.running
        )
        outcome = Outcome(
            exit_code=(run.exit_code or 1)
            if run.command_failed
            else (None if run.trap or run.interrupted else 0),
            trap=run.trap,
            interrupted=run.interrupted,
            instantiation_error=run.instantiation_error,
            stdout_overflow=run.output_too_large,
            error_result=run.error_result,
            stderr=run.stderr,
        )
        return outcome, run.output

    def _execute(self, module: wasmtime.Module, io: sandbox.RunIO, limits: Limits) -> Outcome:
        store = sandbox.new_store(self.engine, wasmtime.WasiConfig(), limits.memory, limits.timeout)
        exit_code: int | None = 0
        trap: str | None = None
        interrupted = False
        instantiation_error: str | None = None
        instance: wasmtime.Instance | None = None
        with self._ticker.running(), sandbox.bound(io):
            try:
                instance = self._linker.instantiate(store, module)
                start = instance.exports(store)["_start"]
                assert isinstance(start, wasmtime.Func)
                start(store)
            except wasmtime.ExitTrap as error:
                exit_code = error.code
            except wasmtime.Trap as error:
                exit_code = None
                code = error.trap_code
                interrupted = code is wasmtime.TrapCode.INTERRUPT
                trap = code.name if code is not None else first_line(error.message)
            except wasmtime.WasmtimeError as error:
                exit_code = None
                if instance is None:
                    instantiation_error = str(error)
                else:
                    trap = first_line(str(error))
        return Outcome(
            exit_code=exit_code,
            trap=trap,
            interrupted=interrupted,
            instantiation_error=instantiation_error,
            stdout_overflow=io.stdout_overflow,
            sleep_attempts=io.sleep_attempts,
            memory_bytes=_memory_bytes(store, instance),
            stderr=io.stderr_text(),
        )


def _memory_bytes(store: wasmtime.Store, instance: wasmtime.Instance | None) -> int:
    if instance is None:
        return 0
    memory = instance.exports(store).get("memory")
    return memory.data_len(store) if isinstance(memory, wasmtime.Memory) else 0


def _listing(names: list[str], most: int = 5) -> str:
    return ", ".join(names[:most]) + (" ..." if len(names) > most else "")


_default: Runtime | None = None
_default_lock = threading.Lock()


def default_runtime() -> Runtime:
    """The process-wide runtime, created on first use with the default disk cache."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Runtime()
        return _default
