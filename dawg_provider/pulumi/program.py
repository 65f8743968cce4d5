"""Reading the stack config of the DAWG Pulumi program (`dawg:dashboards`), purely.

`__main__.py` stays a few lines: it calls `parse_entries`, reports every bad entry
(one clear line each, with its index and field), and creates one `WasmDashboard` per
good entry. Nothing is deployed while any entry is bad.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..spec import FieldError, parse_spec

ENTRY_KEYS = frozenset(
    {"name", "generator", "config", "folder", "uid", "adopt", "drift", "message", "timeout", "memory"}
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class Entry:
    """One dashboard of the stack: its resource name and WasmDashboard arguments."""

    name: str
    args: dict[str, Any]


def parse_entries(raw: Any, key: str = "dawg:dashboards") -> tuple[list[Entry], list[FieldError]]:
    """Validate the list of dashboards; every problem is reported, with its place."""
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [FieldError(key, "must be a list of {name, generator, config, folder, uid?}")]
    entries: list[Entry] = []
    errors: list[FieldError] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"{key}[{index}]"
        if not isinstance(item, dict):
            errors.append(FieldError(where, "must be a mapping with name, generator and config"))
            continue
        name = item.get("name")
        label = f"{where} ({name})" if isinstance(name, str) else where
        unknown = sorted(set(item) - ENTRY_KEYS)
        if unknown:
            errors.append(
                FieldError(
                    label, f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(ENTRY_KEYS))}"
                )
            )
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            errors.append(
                FieldError(f"{where}.name", "required: letters, digits, '.', '_' or '-', at most 100")
            )
        elif name in seen:
            errors.append(
                FieldError(f"{where}.name", f"{name!r} is used twice; resource names must be unique")
            )
        else:
            seen.add(name)
        _, problems = parse_spec(item, prefix=f"{label}.")
        errors += problems
        if isinstance(name, str) and not problems and not unknown:
            args = {k: v for k, v in item.items() if k in ENTRY_KEYS - {"name"} and v is not None}
            entries.append(Entry(name, args))
    return (entries if not errors else []), errors
