"""Output validation: the classic dashboard model's rules and their error/warning policy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dawg_provider import InvalidOutput
from dawg_provider.grafana.modelcheck import Severity, check_dashboard
from dawg_provider.render import check_model

GOOD = {
    "title": "t",
    "schemaVersion": 39,
    "templating": {"list": [{"name": "ds", "type": "datasource"}]},
    "annotations": {"list": []},
    "panels": [
        {"id": 1, "type": "row", "panels": [], "gridPos": {"h": 1, "w": 24, "x": 0, "y": 0}},
        {
            "id": 2,
            "type": "timeseries",
            "gridPos": {"h": 8, "w": 12, "x": 12, "y": 1},
            "datasource": {"type": "prometheus", "uid": "${ds}"},
            "targets": [{"refId": "A", "expr": "up"}],
        },
    ],
}


def findings(dashboard: dict[str, object]) -> list[tuple[str, str]]:
    return [(f.severity.value, str(f)) for f in check_dashboard(dashboard)]


def test_a_sound_dashboard_has_no_findings() -> None:
    assert findings(GOOD) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"panels": {"a": 1}}, ("error", "panels: must be a list, got an object")),
        ({"panels": [7]}, ("error", "panels[0]: a panel must be an object, got a number")),
        ({"schemaVersion": "39"}, ("error", "schemaVersion: must be an integer, got a string")),
        ({"templating": {"list": {}}}, ("error", "templating.list: must be a list")),
        (
            {"templating": {"list": [{"type": "query"}]}},
            ("error", "templating.list[0]: a variable needs a string `name`"),
        ),
        (
            {"panels": [{"type": "stat", "gridPos": {"h": 4, "w": 6, "x": 0}}]},
            ("error", "panels[0].gridPos: y must be an integer"),
        ),
        (
            {"panels": [{"type": "stat", "gridPos": {"h": 4.5, "w": True, "x": 0, "y": 0}}]},
            ("error", "panels[0].gridPos: h, w must be integers"),
        ),
        (
            {"schemaVersion": None},
            (
                "warning",
                "schemaVersion: missing: Grafana does not migrate a dashboard without it (the examples use 39)",
            ),
        ),
        (
            {"panels": [{"type": "stat", "gridPos": {"h": 4, "w": 25, "x": 0, "y": 0}}]},
            ("warning", "panels[0].gridPos.w: 25 is off the grid: 1 to 24 columns"),
        ),
        (
            {"panels": [{"type": "stat", "gridPos": {"h": 4, "w": 12, "x": 18, "y": 0}}]},
            ("warning", "panels[0].gridPos: x + w = 30, past the 24-column grid"),
        ),
        (
            {"panels": [{"type": "my-plugin-panel"}]},
            (
                "warning",
                "panels[0].type: 'my-plugin-panel' is not a core panel type (fine if that plugin is installed)",
            ),
        ),
        (
            {"panels": [{"type": "stat", "targets": [{"expr": "up"}]}]},
            (
                "warning",
                "panels[0].datasource: queries without a data source: Grafana will use its default one",
            ),
        ),
        (
            {"templating": {"list": [{"name": "x", "type": "dropdown"}]}},
            ("warning", "templating.list[0].type: 'dropdown' is not a Grafana variable type"),
        ),
        (
            {"panels": [{"id": 3, "type": "text"}, {"id": 3, "type": "text"}]},
            ("warning", "panels[1].id: 3 is also the id of panels[0]"),
        ),
    ],
)
def test_each_rule_and_its_severity(change: dict[str, object], expected: tuple[str, str]) -> None:
    dashboard = {**GOOD, **change}
    if change.get("schemaVersion", 0) is None:
        del dashboard["schemaVersion"]
    assert findings(dashboard) == [expected]


def test_panels_inside_collapsed_rows_are_checked_too() -> None:
    row = {
        "id": 1,
        "type": "row",
        "collapsed": True,
        "panels": [{"type": "stat", "gridPos": {"h": 0, "w": 6, "x": 0, "y": 0}}],
    }
    assert findings({**GOOD, "panels": [row]}) == [
        ("warning", "panels[0].panels[0].gridPos.h: 0 must be at least 1")
    ]


def test_errors_refuse_the_dashboard_and_warnings_name_the_generator() -> None:
    with pytest.raises(InvalidOutput, match=r"not one Grafana can load: panels: must be a list"):
        check_model("gen", {**GOOD, "panels": "none"})
    warnings = check_model("gen", {**GOOD, "panels": [{"type": "weird"}]})
    assert warnings == (
        "generator gen: dashboard panels[0].type: 'weird' is not a core panel type (fine if that plugin is installed)",
    )


def test_dawg_validate_reads_files_and_export_envelopes(tmp_path: Path) -> None:
    (tmp_path / "good.json").write_text(json.dumps({"dashboard": GOOD, "overwrite": True}))
    (tmp_path / "bad.json").write_text(json.dumps({**GOOD, "panels": [{"type": "stat", "gridPos": "top"}]}))
    (tmp_path / "notjson.json").write_text("{")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dawg_provider.cli",
            "validate",
            *(str(tmp_path / n) for n in ("good.json", "bad.json", "notjson.json")),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].endswith("good.json: ok")
    assert lines[1].endswith(
        "bad.json: error: panels[0].gridPos: must be an object with h, w, x, y, got a string"
    )
    assert "notjson.json: error: cannot read it as JSON" in lines[2]
    assert Severity.ERROR.value == "error"


def test_core_panel_types_are_grafana_plugin_ids_not_sdk_file_names() -> None:
    # grafana/grafana public/app/plugins/panel/state-timeline/plugin.json: "id": "state-timeline"
    for kind in ("state-timeline", "status-history", "nodeGraph", "xychart", "traces", "flamegraph"):
        panel = {"type": kind, "gridPos": {"h": 1, "w": 1, "x": 0, "y": 0}}
        assert findings({"title": "t", "schemaVersion": 39, "panels": [panel]}) == [], kind
    for typo in ("statetimeline", "statushistory"):  # Grafana: "Panel plugin not found"
        panel = {"type": typo, "gridPos": {"h": 1, "w": 1, "x": 0, "y": 0}}
        assert findings({"title": "t", "schemaVersion": 39, "panels": [panel]}) == [
            (
                "warning",
                f"panels[0].type: {typo!r} is not a core panel type (fine if that plugin is installed)",
            )
        ]


def test_whole_floats_are_integers_as_in_the_cited_schema() -> None:
    # Python generators: json.dumps({"w": 24 / 2}) writes 12.0; JSON Schema's integer accepts it.
    grid = {"h": 8.0, "w": 12.0, "x": 0, "y": 0.0}
    dashboard = {"title": "t", "schemaVersion": 39.0, "panels": [{"type": "text", "gridPos": grid}]}
    assert findings(dashboard) == []
    half = {"title": "t", "schemaVersion": 39, "panels": [{"type": "text", "gridPos": {**grid, "w": 12.5}}]}
    assert findings(half) == [("error", "panels[0].gridPos: w must be an integer")]
    flag = {"title": "t", "schemaVersion": 39, "panels": [{"type": "text", "gridPos": {**grid, "h": True}}]}
    assert findings(flag) == [("error", "panels[0].gridPos: h must be an integer")]
    wide = {"title": "t", "schemaVersion": 39, "panels": [{"type": "text", "gridPos": {**grid, "w": 25.0}}]}
    assert [severity for severity, _ in findings(wide)] == ["warning"]
