"""Resource limits for one generator run, and the parsing of human-written sizes/durations.

Limits live in one frozen value so that every adapter (CLI flags, Pulumi inputs,
Dashboard CR fields) builds the same thing and the runtime has one place to read.
The defaults are generous for real generators (the Go example needs ~5 ms and
~20 MiB) and tight enough that a hostile one cannot hurt a CI runner or a pod.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .errors import DawgError

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

# WebAssembly modules built by Zig and C declare ~17 MiB of initial memory, so
# a cap below this breaks ordinary generators before they run.
MIN_MEMORY = 32 * MIB
MAX_TIMEOUT = 600.0


class InvalidLimit(DawgError):
    """A limit (timeout, memory, output size) was given in a form DAWG cannot use."""


@dataclass(frozen=True)
class Limits:
    """What one run may use; every field has a default and may be overridden per call."""

    timeout: float = 5.0
    """Wall-clock seconds from instantiation to exit."""
    memory: int = 256 * MIB
    """Bytes of linear memory the guest may grow to."""
    max_output: int = 8 * MIB
    """Bytes the guest may write to stdout (the dashboard)."""
    max_stderr: int = 64 * KIB
    """Bytes of stderr kept (the tail); the rest is counted and dropped."""

    def __post_init__(self) -> None:
        if not (0 < self.timeout <= MAX_TIMEOUT) or math.isnan(self.timeout):
            raise InvalidLimit(f"timeout must be between 0 and {MAX_TIMEOUT:g} s, got {self.timeout}")
        if self.memory < MIN_MEMORY:
            raise InvalidLimit(
                f"memory limit must be at least {format_size(MIN_MEMORY)} "
                f"(WASI modules reserve ~17 MiB at start), got {format_size(self.memory)}"
            )
        if self.memory > 4 * GIB:
            raise InvalidLimit(f"memory limit must be at most 4 GiB (wasm32), got {format_size(self.memory)}")
        if self.max_output < KIB:
            raise InvalidLimit(f"output limit must be at least 1 KiB, got {self.max_output} bytes")
        if self.max_stderr < 0:
            raise InvalidLimit("stderr limit cannot be negative")


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgKMG]i?[bB]?|[bB])?\s*$")
_SIZE_UNITS = {"": 1, "b": 1, "k": KIB, "m": MIB, "g": GIB}


def parse_size(text: str | int, field: str = "size") -> int:
    """Parse `256Mi`, `256MiB`, `64k`, `1048576` into bytes (binary units; `M` = MiB)."""
    if isinstance(text, int):
        return text
    match = _SIZE.match(text)
    if not match:
        raise InvalidLimit(f"{field}: cannot read {text!r} as a size; use e.g. 256Mi, 64Ki, 8MiB or bytes")
    number, unit = match.groups()
    factor = _SIZE_UNITS[(unit or "")[:1].lower()]
    return int(float(number) * factor)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}


def parse_duration(text: str | float, field: str = "timeout") -> float:
    """Parse `5s`, `500ms`, `1m`, `2.5` (seconds) into seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    match = _DURATION.match(text)
    if not match:
        raise InvalidLimit(f"{field}: cannot read {text!r} as a duration; use e.g. 5s, 500ms or 1m")
    number, unit = match.groups()
    return float(number) * _DURATION_UNITS[unit]


def format_size(size: int) -> str:
    """Bytes as the largest binary unit that keeps the number readable (`256 MiB`)."""
    for unit, factor in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if size >= factor:
            value = size / factor
            return f"{value:g} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} B"
