"""Resource limits for one generator run.

Limits live in one frozen value so that every adapter (CLI flags, Pulumi inputs,
Dashboard CR fields) builds the same thing and the runtime has one place to read.
The defaults are generous for real generators (the Go example needs ~5 ms and
~20 MiB) and tight enough that a hostile one cannot hurt a CI runner or a pod.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InvalidLimit
from ..units import GIB, KIB, MIB, format_size, parse_duration, parse_size

# WebAssembly modules built by Zig and C declare ~17 MiB of initial memory, so
# a cap below this breaks ordinary generators before they run.
MIN_MEMORY = 32 * MIB
MAX_TIMEOUT = 600.0

__all__ = [
    "MAX_TIMEOUT",
    "MIN_MEMORY",
    "InvalidLimit",
    "Limits",
    "format_size",
    "parse_duration",
    "parse_size",
]


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
