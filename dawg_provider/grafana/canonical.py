"""The canonical form of a dashboard, its content hash, and readable diffs.

Peers show perpetual diffs and write a new Grafana version on every sync because
they compare what Grafana manages itself (`id`, `version`) or what a JSON round trip
changes (`1.0` vs `1`, key order). DAWG compares only canonical forms:

- server-managed and identity fields are dropped at the top level: `id`, `uid`,
  `version`, `iteration` (the uid is compared on its own, as identity);
- numbers are normalized: an integral float is an int (`1.0` -> `1`), as Grafana's
  own JSON handling and Pulumi's wire format both turn one into the other;
- keys are sorted when hashed;
- a schema v2 dashboard is compared as Grafana stores it (`v2.comparable`): Grafana
  answers its typed struct re-serialised, with empty defaults filled in and unknown
  top-level keys dropped, so byte equality with the generator's output never holds.

`canonical()` is idempotent; `content_hash()` is the sha256 of the canonical JSON, so
two dashboards that differ only in volatile fields hash equal. `diff()` describes a
change the way people review dashboards: panels added, removed and changed (by
title and grid position), then path-level changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from . import v2

VOLATILE_FIELDS = frozenset({"id", "uid", "version", "iteration"})


def canonical(dashboard: dict[str, Any]) -> dict[str, Any]:
    """The comparison form: volatile top-level fields dropped, numbers normalized; a schema v2
    dashboard compared as Grafana stores it (`v2.comparable`)."""
    if v2.version_of(dashboard) is not None:
        dashboard = v2.comparable(dashboard)
    return {key: _normalize(value) for key, value in dashboard.items() if key not in VOLATILE_FIELDS}


def _normalize(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _normalize(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalize(item) for item in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def canonical_json(dashboard: dict[str, Any]) -> bytes:
    """Canonical bytes: sorted keys, no whitespace, UTF-8."""
    return json.dumps(
        canonical(dashboard), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def content_hash(dashboard: dict[str, Any]) -> str:
    """`sha256:<hex>` of the canonical JSON."""
    return "sha256:" + hashlib.sha256(canonical_json(dashboard)).hexdigest()


# ---- diffs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One path-level difference."""

    path: str
    before: Any = None
    after: Any = None
    kind: str = "changed"  # added | removed | changed

    def describe(self) -> str:
        if self.kind == "added":
            return f"+ {self.path}: {_short(self.after)}"
        if self.kind == "removed":
            return f"- {self.path}: {_short(self.before)}"
        return f"~ {self.path}: {_short(self.before)} -> {_short(self.after)}"


@dataclass(frozen=True)
class PanelChange:
    """A panel that differs, named by title and grid position."""

    label: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class DashboardDiff:
    """What changed between two dashboards, panels first."""

    added_panels: tuple[str, ...] = ()
    removed_panels: tuple[str, ...] = ()
    changed_panels: tuple[PanelChange, ...] = ()
    changes: tuple[Change, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not (self.added_panels or self.removed_panels or self.changed_panels or self.changes)

    def summary(self) -> str:
        """One line: `2 panels changed, 1 added; 3 other changes`."""
        parts = []
        if self.changed_panels:
            parts.append(f"{len(self.changed_panels)} panel{'s' * (len(self.changed_panels) != 1)} changed")
        if self.added_panels:
            parts.append(f"{len(self.added_panels)} added")
        if self.removed_panels:
            parts.append(f"{len(self.removed_panels)} removed")
        text = ", ".join(parts)
        if self.changes:
            text += (
                "; " if text else ""
            ) + f"{len(self.changes)} other change{'s' * (len(self.changes) != 1)}"
        return text or "no changes"

    def lines(self, limit: int = 50) -> list[str]:
        """Readable lines for a terminal, a preview or a status message."""
        out = [f"+ panel {label}" for label in self.added_panels]
        out += [f"- panel {label}" for label in self.removed_panels]
        for panel in self.changed_panels:
            out.append(f"~ panel {panel.label}")
            out += [f"    {change.describe()}" for change in panel.changes]
        out += [change.describe() for change in self.changes]
        if len(out) > limit:
            out = [*out[:limit], f"... and {len(out) - limit} more lines"]
        return out


def diff(before: dict[str, Any], after: dict[str, Any]) -> DashboardDiff:
    """Compare two dashboards in canonical form."""
    old, new = canonical(before), canonical(after)
    old_panels, new_panels = _panels(old.pop("panels", [])), _panels(new.pop("panels", []))
    added, removed, changed = [], [], []
    for key, panel in new_panels.items():
        if key not in old_panels:
            added.append(_panel_label(panel))
        elif old_panels[key] != panel:
            changes = tuple(path_changes(old_panels[key], panel))
            changed.append(PanelChange(_panel_label(panel), changes))
    removed = [_panel_label(panel) for key, panel in old_panels.items() if key not in new_panels]
    return DashboardDiff(tuple(added), tuple(removed), tuple(changed), tuple(path_changes(old, new)))


def path_changes(before: Any, after: Any, path: str = "") -> list[Change]:
    """Every leaf-level difference between two JSON values, as paths like `targets[0].expr`."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes = []
        for key in sorted(set(before) | set(after)):
            child = f"{path}.{key}" if path else str(key)
            if key not in after:
                changes.append(Change(child, before[key], None, "removed"))
            elif key not in before:
                changes.append(Change(child, None, after[key], "added"))
            else:
                changes += path_changes(before[key], after[key], child)
        return changes
    if isinstance(before, list) and isinstance(after, list):
        changes = []
        for index in range(max(len(before), len(after))):
            child = f"{path}[{index}]"
            if index >= len(after):
                changes.append(Change(child, before[index], None, "removed"))
            elif index >= len(before):
                changes.append(Change(child, None, after[index], "added"))
            else:
                changes += path_changes(before[index], after[index], child)
        return changes
    if before != after or type(before) is not type(after):
        return [Change(path or "(root)", before, after)]
    return []


def _panels(panels: Any) -> dict[str, dict[str, Any]]:
    """Panels (and those nested in collapsed rows) keyed by id, else by title and position."""
    flat: list[dict[str, Any]] = []
    for panel in panels if isinstance(panels, list) else []:
        if not isinstance(panel, dict):
            continue
        nested = panel.get("panels")
        if panel.get("type") == "row" and isinstance(nested, list) and nested:
            flat.append({k: v for k, v in panel.items() if k != "panels"})
            flat += [p for p in nested if isinstance(p, dict)]
        else:
            flat.append(panel)
    keyed: dict[str, dict[str, Any]] = {}
    for index, panel in enumerate(flat):
        key = f"id:{panel['id']}" if "id" in panel else f"title:{panel.get('title', '')}#{index}"
        keyed.setdefault(key, panel)
    return keyed


def _panel_label(panel: dict[str, Any]) -> str:
    title = panel.get("title") or "(untitled)"
    pos = panel.get("gridPos") if isinstance(panel.get("gridPos"), dict) else {}
    where = f" at x={pos.get('x')},y={pos.get('y')}" if pos else ""
    kind = panel.get("type", "panel")
    return f'"{title}" ({kind}{where})'


def _short(value: Any, limit: int = 120) -> str:
    text = (
        json.dumps(value, ensure_ascii=False, sort_keys=True) if not isinstance(value, str) else repr(value)
    )
    return text if len(text) <= limit else text[: limit - 3] + "..."
