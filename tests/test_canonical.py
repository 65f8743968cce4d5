"""Canonical dashboards: idempotent, blind to volatile fields, never blind to real changes."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from dawg_provider.grafana.canonical import canonical, content_hash, diff, path_changes

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text(max_size=8)
)
values = st.recursive(
    scalars,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=12,
)
dashboards = st.dictionaries(
    st.text(max_size=6).filter(lambda k: k not in ("id", "uid", "version", "iteration")), values, max_size=5
).map(lambda d: {**d, "title": "t"})


@given(dashboards)
def test_canonicalization_is_idempotent(dashboard: dict[str, Any]) -> None:
    once = canonical(dashboard)
    assert canonical(once) == once
    assert content_hash(once) == content_hash(dashboard)


@given(dashboards, st.integers(1, 10**6), st.integers(1, 10**6), st.text(max_size=10), st.integers(0, 99))
def test_volatile_fields_do_not_change_the_hash(
    dashboard: dict[str, Any], id_: int, version: int, uid: str, iteration: int
) -> None:
    volatile = {**dashboard, "id": id_, "version": version, "uid": uid, "iteration": iteration}
    assert content_hash(volatile) == content_hash(dashboard)


@given(dashboards)
def test_key_order_and_integral_floats_do_not_change_the_hash(dashboard: dict[str, Any]) -> None:
    reordered = dict(reversed(list(dashboard.items())))
    assert content_hash(reordered) == content_hash(dashboard)
    as_floats = {**dashboard, "schemaVersion": 39.0, "gridPos": {"h": 8.0}}
    as_ints = {**dashboard, "schemaVersion": 39, "gridPos": {"h": 8}}
    assert content_hash(as_floats) == content_hash(as_ints)


@given(dashboards, st.text(min_size=1, max_size=6), values)
def test_real_changes_never_hash_equal(dashboard: dict[str, Any], key: str, value: Any) -> None:
    assume(key not in ("id", "uid", "version", "iteration"))
    changed = copy.deepcopy(dashboard)
    changed[key] = value
    assume(canonical(changed) != canonical(dashboard))
    assert content_hash(changed) != content_hash(dashboard)


@given(dashboards, dashboards)
def test_no_path_changes_iff_equal_canonical_forms(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert (path_changes(canonical(a), canonical(b)) == []) == (canonical(a) == canonical(b))


def test_null_and_missing_differ() -> None:
    assert content_hash({"title": "t", "x": None}) != content_hash({"title": "t"})


def panel(id_: int, title: str, expr: str, y: int = 0) -> dict[str, Any]:
    return {
        "id": id_,
        "type": "timeseries",
        "title": title,
        "gridPos": {"x": 0, "y": y, "w": 12, "h": 8},
        "targets": [{"expr": expr}],
    }


def test_diff_names_panels_then_paths() -> None:
    before = {
        "title": "Shop",
        "refresh": "1m",
        "panels": [panel(1, "CPU", "a"), panel(2, "Memory", "b"), panel(3, "Old", "c")],
    }
    after = {
        "title": "Shop",
        "refresh": "5m",
        "panels": [panel(1, "CPU", "a2"), panel(2, "Memory", "b"), panel(4, "New", "d", y=8)],
    }
    change = diff(before, after)
    assert change.added_panels == ('"New" (timeseries at x=0,y=8)',)
    assert change.removed_panels == ('"Old" (timeseries at x=0,y=0)',)
    (cpu,) = change.changed_panels
    assert cpu.label == '"CPU" (timeseries at x=0,y=0)'
    assert [c.describe() for c in cpu.changes] == ["~ targets[0].expr: 'a' -> 'a2'"]
    assert [c.describe() for c in change.changes] == ["~ refresh: '1m' -> '5m'"]
    assert change.summary() == "1 panel changed, 1 added, 1 removed; 1 other change"
    assert change.lines()[0] == '+ panel "New" (timeseries at x=0,y=8)'


def test_panels_in_collapsed_rows_are_compared_too() -> None:
    row = {"id": 10, "type": "row", "title": "Row", "collapsed": True}
    before = {"title": "t", "panels": [{**row, "panels": [panel(11, "Inner", "x")]}]}
    after = {"title": "t", "panels": [{**row, "panels": [panel(11, "Inner", "y")]}]}
    (inner,) = diff(before, after).changed_panels
    assert inner.label.startswith('"Inner"')


def test_no_diff_for_volatile_only_changes() -> None:
    assert diff({"title": "t", "version": 3, "id": 9}, {"title": "t", "version": 4}).empty
