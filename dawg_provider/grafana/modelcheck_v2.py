"""Is this a schema v2 dashboard Grafana will load as intended? The v2 model check. Pure.

Why a check of its own: a v2 dashboard is not a list of panels with a `gridPos` but a map
of `elements` (name -> Panel | LibraryPanel) placed by a `layout` that refers to them by
name, nested through rows and tabs. Grafana decodes the spec into its typed struct, so a
wrong type is refused only at the write, and a layout item naming an element that does
not exist, or a GridLayoutItem without its size, is stored and breaks only when someone
opens the dashboard. The rules are restated (not vendored) from grafana/grafana
apps/dashboard/pkg/apis/dashboard/v2beta1/dashboard_spec.cue and v2alpha1/dashboard_spec.cue:
`DashboardSpec` (`elements`, `layout`), `Element`, `PanelKind`/`PanelSpec` (`id`, `data`,
`vizConfig`), `LibraryPanelKind`/`LibraryPanelRef`, `VizConfigKind` (v2alpha1: `kind` is the
plugin id; v2beta1: `kind: "VizConfig"` and the plugin id in `group`; v2 is taken as
v2beta1), `QueryGroupKind`/`QueryGroupSpec`, `GridLayoutKind`/`GridLayoutItemKind`/
`GridLayoutItemSpec` (`x`, `y`, `width`, `height`: int; `element`: `ElementReference`),
`RowsLayoutKind`/`RowsLayoutRowKind`, `TabsLayoutKind`/`TabsLayoutTabKind`,
`AutoGridLayoutKind`/`AutoGridLayoutItemKind`, `ElementReference`. The policy is the
classic check's (grafana/modelcheck.py; docs/generator-contract.md "Output validation"):

- **error**: what Grafana refuses to decode or its frontend cannot build: `elements` not
  an object of objects, an element without a known `kind` or an object `spec`, a panel
  `id` that is not a number, `vizConfig`/`data` present but of the wrong shape, a library
  panel without `libraryPanel.uid`, a layout (at any depth) of unknown kind or without an
  object `spec`, its items/rows/tabs not a list of the kind the layout holds, a
  GridLayoutItem whose x/y/width/height are missing or not integers, an element reference
  without a string `name` or naming no element, a row or tab without a layout;
- **warning**: what Grafana repairs (zero values for a missing `vizConfig` or `data`, as
  dashboard_spec_gen.go's non-`omitempty` fields) or a plugin may explain: a grid item off
  the 24-column grid, a vizConfig plugin id that is no core panel, an element never
  placed in the layout, duplicate panel ids.

A missing `elements` or `layout` is no finding: the schema defaults `elements` to `{}` and
Grafana fills an empty GridLayout (pkg/registry/apis/dashboard/mutate.go `Mutate`).
Findings name the JSON path (`spec.layout.spec.items[2].spec.element.name`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .modelcheck import CORE_PANEL_TYPES, Finding, Severity, is_int, kind_of, off_grid
from .v2 import GROUP, VERSIONS

LAYOUT_ITEMS = {
    "GridLayout": ("items", "GridLayoutItem"),
    "AutoGridLayout": ("items", "AutoGridLayoutItem"),
    "RowsLayout": ("rows", "RowsLayoutRow"),
    "TabsLayout": ("tabs", "TabsLayoutTab"),
}
"""Each layout kind: the list its spec holds, and the kind of that list's entries."""
ELEMENT_KINDS = ("Panel", "LibraryPanel")
MAX_LAYOUT_DEPTH = 16
"""Rows in tabs in rows ...: deeper than this is refused, not walked (a hostile file)."""

Report = Callable[[str, str], None]


def check_resource(value: dict[str, Any]) -> list[Finding]:
    """Every finding for a v2 dashboard resource file (`{apiVersion, kind, metadata?, spec}`)."""
    api_version = value.get("apiVersion")
    prefix = f"{GROUP}/"
    version = api_version[len(prefix) :] if isinstance(api_version, str) else ""
    if not (isinstance(api_version, str) and api_version.startswith(prefix) and version in VERSIONS):
        known = ", ".join(prefix + v for v in VERSIONS)
        return [Finding(Severity.ERROR, "apiVersion", f"{str(api_version)[:80]!r} is not one of {known}")]
    if value.get("kind") != "Dashboard":
        return [Finding(Severity.ERROR, "kind", f"{str(value.get('kind'))[:80]!r} is not 'Dashboard'")]
    spec = value.get("spec")
    if not isinstance(spec, dict):
        return [Finding(Severity.ERROR, "spec", f"must be an object, got {kind_of(spec)}")]
    return check_spec(spec, version)


def check_spec(spec: dict[str, Any], version: str) -> list[Finding]:
    """Every finding for a v2 `DashboardSpec` at `version`, errors first, in document order."""
    found: list[Finding] = []

    def error(path: str, message: str) -> None:
        found.append(Finding(Severity.ERROR, path, message))

    def warn(path: str, message: str) -> None:
        found.append(Finding(Severity.WARNING, path, message))

    elements = spec.get("elements", {})
    if not isinstance(elements, dict):
        error("spec.elements", f"must be an object (element name -> element), got {kind_of(elements)}")
        elements = {}
    ids: dict[Any, str] = {}
    for name, element in elements.items():
        _check_element(element, f"spec.elements[{name!r}]", version, ids, error, warn)
    placed: set[str] = set()
    layout = spec.get("layout")
    if layout is not None:
        _check_layout(layout, "spec.layout", elements, placed, 0, error, warn)
    for name in elements:
        if name not in placed:
            warn(f"spec.elements[{name!r}]", "not placed in the layout: Grafana does not show it")
    return sorted(found, key=lambda f: f.severity is not Severity.ERROR)


def _check_element(
    element: Any, where: str, version: str, ids: dict[Any, str], error: Report, warn: Report
) -> None:
    if not isinstance(element, dict):
        error(where, f"an element must be an object, got {kind_of(element)}")
        return
    kind, spec = element.get("kind"), element.get("spec")
    if kind not in ELEMENT_KINDS:
        error(f"{where}.kind", f"{_named(kind)} is not one of {', '.join(ELEMENT_KINDS)}")
        return
    if not isinstance(spec, dict):
        error(f"{where}.spec", f"must be an object, got {kind_of(spec)}")
        return
    identifier = spec.get("id")
    if identifier is not None:
        if not _is_number(identifier):
            error(f"{where}.spec.id", f"must be a number, got {kind_of(identifier)}")
        elif identifier in ids:
            warn(f"{where}.spec.id", f"{identifier!r} is also the id of {ids[identifier]}")
        else:
            ids[identifier] = where
    if kind == "LibraryPanel":
        ref = spec.get("libraryPanel")
        if not (isinstance(ref, dict) and isinstance(ref.get("uid"), str) and ref["uid"]):
            error(f"{where}.spec.libraryPanel.uid", "a library panel needs the uid of the library panel")
        return
    _check_viz(spec.get("vizConfig"), f"{where}.spec.vizConfig", version, error, warn)
    _check_data(spec.get("data"), f"{where}.spec.data", error, warn)


def _check_viz(viz: Any, where: str, version: str, error: Report, warn: Report) -> None:
    if viz is None:
        warn(where, "missing: Grafana stores an empty visualization, the panel shows nothing")
        return
    if not isinstance(viz, dict):
        error(where, f"must be an object (VizConfigKind), got {kind_of(viz)}")
        return
    if "spec" in viz and not isinstance(viz["spec"], dict):
        error(f"{where}.spec", f"must be an object (VizConfigSpec), got {kind_of(viz['spec'])}")
    if version == "v2alpha1":
        plugin, at = viz.get("kind"), f"{where}.kind"
    else:
        if viz.get("kind") != "VizConfig":
            error(
                f"{where}.kind",
                f"{_named(viz.get('kind'))} is not 'VizConfig' at {version} "
                "(the panel plugin id goes in `group`; `kind: <plugin id>` is v2alpha1's shape)",
            )
            return
        plugin, at = viz.get("group"), f"{where}.group"
    if not isinstance(plugin, str) or not plugin:
        error(at, f"must be the panel plugin id (a string), got {kind_of(plugin)}")
    elif plugin not in CORE_PANEL_TYPES:
        warn(at, f"{plugin[:80]!r} is not a core panel type (fine if that plugin is installed)")


def _check_data(data: Any, where: str, error: Report, warn: Report) -> None:
    if data is None:
        warn(where, "missing: Grafana stores an empty query group, the panel has no queries")
        return
    if not isinstance(data, dict) or data.get("kind") != "QueryGroup":
        error(where, "must be a QueryGroupKind: {kind: 'QueryGroup', spec: {queries, ...}}")
        return
    spec = data.get("spec", {})
    if not isinstance(spec, dict):
        error(f"{where}.spec", f"must be an object (QueryGroupSpec), got {kind_of(spec)}")
        return
    for field in ("queries", "transformations"):
        entries = spec.get(field, [])
        if not isinstance(entries, list):
            error(f"{where}.spec.{field}", f"must be a list, got {kind_of(entries)}")
            continue
        for index, entry in enumerate(entries):
            if not (isinstance(entry, dict) and isinstance(entry.get("spec", {}), dict)):
                error(f"{where}.spec.{field}[{index}]", "must be an object {kind, spec}")


def _check_layout(
    layout: Any,
    where: str,
    elements: dict[str, Any],
    placed: set[str],
    depth: int,
    error: Report,
    warn: Report,
) -> None:
    if depth > MAX_LAYOUT_DEPTH:
        error(where, f"layouts nested deeper than {MAX_LAYOUT_DEPTH}")
        return
    kind = layout.get("kind") if isinstance(layout, dict) else None
    if kind not in LAYOUT_ITEMS:
        error(f"{where}.kind", f"{_named(kind)} is not one of {', '.join(LAYOUT_ITEMS)}")
        return
    spec = layout.get("spec")
    if not isinstance(spec, dict):
        error(f"{where}.spec", f"must be an object, got {kind_of(spec)}")
        return
    field, item_kind = LAYOUT_ITEMS[kind]
    entries = spec.get(field, [])
    if not isinstance(entries, list):
        error(f"{where}.spec.{field}", f"must be a list, got {kind_of(entries)}")
        return
    for index, entry in enumerate(entries):
        at = f"{where}.spec.{field}[{index}]"
        if not isinstance(entry, dict) or entry.get("kind") != item_kind:
            error(f"{at}.kind", f"a {kind} holds {item_kind} objects")
            continue
        inner = entry.get("spec")
        if not isinstance(inner, dict):
            error(f"{at}.spec", f"must be an object, got {kind_of(inner)}")
        elif kind in ("RowsLayout", "TabsLayout"):
            if "layout" not in inner:
                error(f"{at}.spec.layout", f"a {item_kind} needs a layout")
            else:
                _check_layout(inner["layout"], f"{at}.spec.layout", elements, placed, depth + 1, error, warn)
        else:
            if kind == "GridLayout":
                _check_grid_item(inner, f"{at}.spec", error, warn)
            _check_reference(inner.get("element"), f"{at}.spec.element", elements, placed, error)


def _check_grid_item(spec: dict[str, Any], where: str, error: Report, warn: Report) -> None:
    bad = [key for key in ("x", "y", "width", "height") if not is_int(spec.get(key))]
    if bad:
        error(where, f"{', '.join(bad)} must be integer{'s' if len(bad) > 1 else ''} (GridLayoutItemSpec)")
        return
    # Off the grid is a warning, as in the classic check: Grafana's grid layout moves the item.
    off_grid(where, (spec["x"], spec["width"], spec["height"]), ("x", "width", "height"), warn)
    y = spec["y"]
    if y < 0:
        warn(f"{where}.y", f"{y} must not be negative")


def _check_reference(ref: Any, where: str, elements: dict[str, Any], placed: set[str], error: Report) -> None:
    name = ref.get("name") if isinstance(ref, dict) else None
    if not isinstance(name, str):
        error(f"{where}.name", "an element reference needs the name of an element (ElementReference)")
    elif name not in elements:
        error(f"{where}.name", f"{name[:80]!r} is not the name of an element in spec.elements")
    else:
        placed.add(name)


def _named(value: Any) -> str:
    return "(missing)" if value is None else repr(str(value)[:80])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
