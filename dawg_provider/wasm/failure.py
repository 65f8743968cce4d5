"""How a finished run is judged: the plain record of how it ended, and the pure
decision of which error (if any) that is. No wasmtime, no I/O, so every branch is
tested with plain values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import (
    GeneratorCrashed,
    GeneratorError,
    GeneratorFailed,
    GeneratorTimeout,
    InvalidModule,
    MemoryLimitExceeded,
    OutputTooLarge,
    stderr_excerpt,
)
from ..units import format_size
from .limits import Limits


@dataclass(frozen=True)
class Outcome:
    """How a run ended, as plain data: the input of `failure()`."""

    exit_code: int | None = 0
    trap: str | None = None
    interrupted: bool = False
    instantiation_error: str | None = None
    stdout_overflow: bool = False
    error_result: str | None = None
    """A component's `err` result or a prototype's `e{"err": ...}`: the generator said no."""
    sleep_attempts: int = 0
    memory_bytes: int = 0
    stderr: str = ""


_OUT_OF_MEMORY = re.compile(
    r"out of memory|outofmemory|cannot allocate|memory allocation failed|MemoryError", re.I
)
_TRAP_MEANINGS = {
    "unreachable": "hit an `unreachable` instruction (a Zig/Rust panic, C abort() or a failed assert)",
    "stack_overflow": "overflowed its stack (runaway recursion?)",
    "memory_out_of_bounds": "accessed memory out of bounds",
    "heap_misaligned": "made a misaligned atomic memory access",
    "table_out_of_bounds": "accessed a table out of bounds",
    "indirect_call_to_null": "called a null function pointer",
    "bad_signature": "called a function through a pointer of the wrong type",
    "integer_overflow": "overflowed an integer conversion",
    "integer_division_by_zero": "divided an integer by zero",
    "bad_conversion_to_integer": "converted NaN or an out-of-range float to an integer",
    "unreachable_code_reached": "hit an `unreachable` instruction",
}


def failure(generator: str, outcome: Outcome, limits: Limits) -> GeneratorError | None:
    """Decide which error, if any, a finished run is. Pure: no I/O, no wasmtime."""
    if outcome.stdout_overflow:
        return OutputTooLarge(
            generator,
            f"wrote more than {format_size(limits.max_output)} to stdout and was stopped",
            "dashboards are rarely over a few hundred KiB; raise the output limit if this one really is",
        )
    if outcome.interrupted:
        hint = "check it for endless loops; raise the timeout if it legitimately needs longer"
        if outcome.sleep_attempts > 1000:
            hint = (
                f"it slept or waited {outcome.sleep_attempts} times: generators run on a virtual "
                "clock and nothing outside ever wakes them, so waiting in a loop never ends"
            )
        return GeneratorTimeout(
            generator, f"did not finish within {limits.timeout:g} s and was stopped", hint
        )
    instantiation = outcome.instantiation_error
    if instantiation is not None:
        if "memory" in instantiation and ("limit" in instantiation or "exceed" in instantiation):
            return MemoryLimitExceeded(
                generator,
                f"needs more memory at start than its limit of {format_size(limits.memory)}",
                "raise the memory limit",
            )
        return InvalidModule(generator, f"cannot be instantiated: {first_line(instantiation)}")
    if outcome.error_result is not None and outcome.trap is None:
        return GeneratorFailed(generator, 1, outcome.error_result, what="returned an error")
    failed = outcome.trap is not None or outcome.exit_code != 0
    if not failed:
        return None
    near_cap = outcome.memory_bytes + 16 * 1024 * 1024 >= limits.memory
    if near_cap or _OUT_OF_MEMORY.search(outcome.stderr):
        used = f", used {format_size(outcome.memory_bytes)}" if outcome.memory_bytes else ""
        return MemoryLimitExceeded(
            generator,
            f"ran out of memory (limit {format_size(limits.memory)}{used})",
            "raise the memory limit if the generator legitimately needs more",
        )
    if outcome.trap is not None:
        meaning = _TRAP_MEANINGS.get(outcome.trap.lower(), f"trapped ({outcome.trap})")
        problem = f"crashed: it {meaning}"
        excerpt = stderr_excerpt(outcome.stderr)
        if excerpt:
            problem += f"; stderr: {excerpt}"
        return GeneratorCrashed(generator, problem)
    return GeneratorFailed(generator, outcome.exit_code or 0, outcome.stderr)


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"
