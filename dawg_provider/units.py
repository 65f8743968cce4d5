"""Human-written sizes and durations (`256Mi`, `500ms`), parsed and printed.

Shared by every part that takes a budget from a person (generator limits, registry
blob caps, CLI flags, CR fields), so `256Mi` means the same bytes everywhere.
"""

from __future__ import annotations

import re

from .errors import InvalidLimit

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


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
