"""Is this a dashboard Grafana will load as intended? A check of the classic model. Pure.

Grafana's save API stores any JSON object with a title; a wrong `gridPos` or a
`panels` that is not a list only shows up when someone opens the dashboard. This
checks the generated dashboard against the classic dashboard model as published in
grafana-foundation-sdk's JSON schema (jsonschema/dashboard.jsonschema.json, commit
5e6b0fa2c4d22d59fac8ce22753e509c62d206a0: `Dashboard`, `GridPos`, `RowPanel`,
`VariableModel`, `VariableType`), restated here as rules rather than vendored, under
one documented policy (docs/generator-contract.md, "Output validation"):

- **error** (the dashboard is refused, nothing is written): the structure is wrong
  where Grafana's frontend expects it: `panels`, `templating.list`,
  `annotations.list` not lists, a panel that is not an object, a `gridPos` whose
  h/w/x/y are missing or not integers (12.0 is an integer, as in JSON Schema), a
  variable without a string `name`,
  `schemaVersion` not an integer;
- **warning** (written, reported): what Grafana repairs or a plugin may explain:
  no `schemaVersion`, a `gridPos` off the 24-column grid (w not 1..24, x not 0..23,
  x+w > 24, h < 1), a panel type that is no core panel (perhaps a plugin), a panel
  with queries but no data source (Grafana uses its default), a variable type that is
  not one of Grafana's, duplicate panel ids.

Findings name the JSON path (`panels[2].gridPos.w`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

# Core panel plugins by the id a panel's `type` holds: the `"id"` of each
# grafana/grafana public/app/plugins/panel/<dir>/plugin.json (the panels
# grafana-foundation-sdk has schemas for, plus those it has none for). Not the SDK's
# file names: its jsonschema/statetimeline.jsonschema.json is the plugin
# `state-timeline` (panel/state-timeline/plugin.json), statushistory is
# `status-history` (panel/status-history/plugin.json); `nodeGraph`, `xychart`,
# `traces`, `flamegraph` checked the same way.
CORE_PANEL_TYPES = frozenset(
    {
        "row", "timeseries", "stat", "gauge", "bargauge", "barchart", "table", "text", "heatmap",
        "histogram", "logs", "piechart", "state-timeline", "status-history", "trend", "xychart",
        "candlestick", "canvas", "dashlist", "datagrid", "debug", "geomap", "news", "nodeGraph",
        "annolist", "alertlist", "traces", "flamegraph", "graph", "welcome", "gettingstarted",
    }
)  # fmt: skip
# `VariableType` in the same schema.
VARIABLE_TYPES = frozenset(
    {"query", "adhoc", "constant", "datasource", "interval", "textbox", "custom", "system"}
)
GRID_COLUMNS = 24


class Severity(Enum):
    """What a finding does to the dashboard: refuse it, or report it."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem, where it is, and how bad."""

    severity: Severity
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def check_dashboard(dashboard: dict[str, Any]) -> list[Finding]:
    """Every finding for a classic-model dashboard, errors first, in document order."""
    found: list[Finding] = []

    def error(path: str, message: str) -> None:
        found.append(Finding(Severity.ERROR, path, message))

    def warn(path: str, message: str) -> None:
        found.append(Finding(Severity.WARNING, path, message))

    version = dashboard.get("schemaVersion")
    if version is None:
        warn(
            "schemaVersion", "missing: Grafana does not migrate a dashboard without it (the examples use 39)"
        )
    elif not is_int(version):
        error("schemaVersion", f"must be an integer, got {kind_of(version)}")
    for name in ("templating", "annotations"):
        section = dashboard.get(name)
        if section is not None and not (
            isinstance(section, dict) and isinstance(section.get("list", []), list)
        ):
            error(f"{name}.list", "must be a list")
    variables = (
        (dashboard.get("templating") or {}).get("list")
        if isinstance(dashboard.get("templating"), dict)
        else []
    )
    for index, variable in enumerate(variables if isinstance(variables, list) else []):
        where = f"templating.list[{index}]"
        if not isinstance(variable, dict) or not isinstance(variable.get("name"), str):
            error(where, "a variable needs a string `name`")
        elif variable.get("type") not in VARIABLE_TYPES:
            warn(f"{where}.type", f"{variable.get('type')!r} is not a Grafana variable type")
    panels = dashboard.get("panels", [])
    if not isinstance(panels, list):
        error("panels", f"must be a list, got {kind_of(panels)}")
        panels = []
    seen: dict[Any, str] = {}
    for index, panel in enumerate(panels):
        _check_panel(panel, f"panels[{index}]", seen, error, warn)
        nested = panel.get("panels") if isinstance(panel, dict) and panel.get("type") == "row" else None
        for inner, child in enumerate(nested if isinstance(nested, list) else []):
            _check_panel(child, f"panels[{index}].panels[{inner}]", seen, error, warn)
    return sorted(found, key=lambda f: f.severity is not Severity.ERROR)


def _check_panel(panel: Any, where: str, seen: dict[Any, str], error: Any, warn: Any) -> None:
    if not isinstance(panel, dict):
        error(where, f"a panel must be an object, got {kind_of(panel)}")
        return
    kind = panel.get("type")
    if kind not in CORE_PANEL_TYPES:
        warn(f"{where}.type", f"{kind!r} is not a core panel type (fine if that plugin is installed)")
    identifier = panel.get("id")
    if identifier is not None:
        if identifier in seen:
            warn(f"{where}.id", f"{identifier!r} is also the id of {seen[identifier]}")
        seen.setdefault(identifier, where)
    grid = panel.get("gridPos")
    if grid is not None:
        _check_grid(grid, f"{where}.gridPos", error, warn)
    targets = panel.get("targets")
    unsourced = (
        [t for t in targets if not (isinstance(t, dict) and t.get("datasource"))]
        if isinstance(targets, list)
        else []
    )
    if unsourced and not panel.get("datasource"):
        warn(f"{where}.datasource", "queries without a data source: Grafana will use its default one")


def _check_grid(grid: Any, where: str, error: Any, warn: Any) -> None:
    if not isinstance(grid, dict):
        error(where, f"must be an object with h, w, x, y, got {kind_of(grid)}")
        return
    bad = [key for key in ("h", "w", "x", "y") if not is_int(grid.get(key))]
    if bad:
        error(
            where, f"{bad[0]} must be an integer" if len(bad) == 1 else f"{', '.join(bad)} must be integers"
        )
        return
    off_grid(where, (grid["x"], grid["w"], grid["h"]), ("x", "w", "h"), warn)


def off_grid(where: str, place: tuple[Any, Any, Any], names: tuple[str, str, str], warn: Any) -> None:
    """Warn where an item at (x, width, height), under the schema's `names`, leaves the grid."""
    x, w, h = place
    if not 1 <= w <= GRID_COLUMNS:
        warn(f"{where}.{names[1]}", f"{w} is off the grid: 1 to {GRID_COLUMNS} columns")
    if not 0 <= x < GRID_COLUMNS:
        warn(f"{where}.{names[0]}", f"{x} is off the grid: 0 to {GRID_COLUMNS - 1}")
    elif x + w > GRID_COLUMNS and w <= GRID_COLUMNS:
        warn(where, f"{names[0]} + {names[1]} = {x + w}, past the {GRID_COLUMNS}-column grid")
    if h < 1:
        warn(f"{where}.{names[2]}", f"{h} must be at least 1")


def is_int(value: Any) -> bool:
    """An integer as JSON Schema means it (2020-12 Validation 6.1.1): 12.0 is one, true is not.

    Python generators write `24 / 2` as 12.0; the cited schema's `"type": "integer"`
    accepts it, and Grafana's frontend sees the same JavaScript number.
    """
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int) and not isinstance(value, bool)


def kind_of(value: Any) -> str:
    """What a JSON value is, for a finding's message ("got a string")."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a list" if isinstance(value, list) else "an object"
