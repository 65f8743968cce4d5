"""Checking what a generator wrote on stdout before anyone trusts it as a dashboard.

Contract v1 says stdout is one UTF-8 JSON object with a non-empty `title`, or a
schema v2 dashboard object (`apiVersion`/`kind` at the top, output_v2.py). Each way
to miss that gets its own sentence, naming the generator, because the person
reading it is usually the generator's author.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidOutput
from .output_v2 import is_v2, v2_dashboard

# Real dashboards nest about ten levels (panels -> targets -> ...). A limit well
# above that still stops nesting bombs long before Python's recursion limit would.
MAX_DEPTH = 64
MAX_NODES = 250_000
"""JSON values one output may hold. Parsed, each costs ~90 bytes (canonical hashing
doubles it): 8 MiB of `[{},{},...]` would be 2.8 M values and ~450 MiB of RSS per run,
so a hostile output could OOM the sync job. A large real dashboard has ~20 000."""


def parse_dashboard(generator: str, raw: bytes) -> dict[str, Any]:
    """Decode `raw` as contract-v1 output and return the dashboard object."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidOutput(
            generator,
            f"stdout is not valid UTF-8 (byte {error.start} is {raw[error.start]:#04x})",
            "write the dashboard as UTF-8 JSON",
        ) from None
    if not text.strip():
        raise InvalidOutput(generator, "wrote nothing to stdout", "print the dashboard JSON to stdout")
    too_deep = f"stdout JSON nests more than {MAX_DEPTH} levels deep"
    if node_bound(text) > MAX_NODES:
        raise InvalidOutput(
            generator,
            f"stdout JSON holds more than {MAX_NODES} values; refused before parsing",
            "a dashboard needs far fewer: check the generator for a runaway loop",
        )
    try:
        # The C decoder stops a nesting bomb itself, with RecursionError.
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise InvalidOutput(generator, too_deep) from None
    except ValueError as error:
        raise InvalidOutput(
            generator,
            f"stdout is not valid JSON: {_json_problem(error)}; it starts with {_first_bytes(raw)}",
            "stdout must hold only the dashboard JSON: write logs and debug prints to stderr, "
            "which DAWG shows when the generator fails",
        ) from None
    if not isinstance(value, dict):
        raise InvalidOutput(
            generator,
            f"stdout is a JSON {_json_type(value)}, not an object",
            "print one JSON object: the dashboard, as /api/dashboards/db takes it",
        )
    if nesting_depth(value) > MAX_DEPTH:
        raise InvalidOutput(generator, too_deep)
    if is_v2(value):  # `apiVersion`/`kind` at the top: a schema v2 dashboard (output_v2.py)
        return v2_dashboard(generator, value)
    title = value.get("title")
    if not isinstance(title, str) or not title.strip():
        problem = (
            "the dashboard has no title" if title is None else "the dashboard title is empty or not a string"
        )
        raise InvalidOutput(generator, problem, "Grafana refuses dashboards without a title")
    return value


IDENTITY_FIELDS = ("uid", "id")


def without_identity(generator: str, dashboard: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The dashboard without `uid` and `id`, and a warning for each one the generator set. Pure.

    The uid belongs to whoever deploys the dashboard (a Pulumi resource, a Dashboard
    custom resource), and the numeric id to one Grafana database: a generator that
    sets either would make two users of it overwrite each other.
    """
    found = [name for name in IDENTITY_FIELDS if name in dashboard]
    if not found:
        return dashboard, ()
    warnings = tuple(
        f"generator {generator}: the dashboard sets {name!r} "
        f"({_first_bytes(json.dumps(dashboard[name]).encode(), 40)}); DAWG dropped it: "
        "the uid comes from whoever deploys the dashboard (docs/generator-contract.md)"
        for name in found
    )
    return {key: value for key, value in dashboard.items() if key not in IDENTITY_FIELDS}, warnings


def _first_bytes(raw: bytes, most: int = 80) -> str:
    """The first bytes of `raw`, quoted as text with escapes, for an error message."""
    head = raw[:most].decode("utf-8", errors="backslashreplace")
    shown = json.dumps(head, ensure_ascii=True)
    return shown + (f" ... ({len(raw)} bytes)" if len(raw) > most else "")


def node_bound(text: str) -> int:
    """An upper bound on the JSON values in `text`, counted in C without parsing.

    Every value but the first follows a `,` or `:` or opens a container; separators
    inside strings count too, so this only over-counts.
    """
    return 1 + text.count(",") + text.count("[") + text.count("{")


def nesting_depth(value: Any) -> int:
    """How many containers deep `value` goes, level by level, stopping past MAX_DEPTH.

    Breadth-first with exact type checks: ~20 us for a real dashboard, no recursion.
    """
    depth = 0
    level = [value] if type(value) in (dict, list) else []
    while level and depth <= MAX_DEPTH:
        depth += 1
        below = []
        for item in level:
            for child in item.values() if type(item) is dict else item:
                if type(child) is dict or type(child) is list:
                    below.append(child)
        level = below
    return depth


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _json_problem(error: ValueError) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno}, column {error.colno}"
    return str(error)


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"
