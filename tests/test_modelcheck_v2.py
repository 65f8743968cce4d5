"""The schema v2 model check (grafana/modelcheck_v2.py): each rule with the smallest hostile
input that breaks it, the policy applied by `render.check_model` (refused, nothing written
through the sync job or a render) and by `dawg validate` on a v2 resource file.

Rules from grafana/grafana apps/dashboard/pkg/apis/dashboard/v2beta1/dashboard_spec.cue and
v2alpha1/dashboard_spec.cue (definitions named in the module's docstring)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dawg_provider import InvalidOutput
from dawg_provider.grafana import ownership
from dawg_provider.grafana.modelcheck_v2 import MAX_LAYOUT_DEPTH, check_resource, check_spec
from dawg_provider.render import check_model
from tests.grafana_standin import GrafanaStandIn
from tests.test_grafana_v2 import GEN, PLACED, TOKEN, carried, sync_v2, v2_generator, v2_output

__all__ = ["v2_generator"]  # the fixture, shared with tests/test_grafana_v2.py


def spec(**changes: Any) -> dict[str, Any]:
    """The placed, complete v2beta1 spec (no finding) with `changes` at the top."""
    return {**v2_output("v2beta1", **copy.deepcopy(PLACED))["spec"], **changes}


def panel(**changes: Any) -> dict[str, Any]:
    base = copy.deepcopy(PLACED["elements"]["panel-1"])
    base["spec"].update(changes)
    return {"panel-1": base}


def grid(*items: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "GridLayout", "spec": {"items": list(items)}}


def item(name: str = "panel-1", **place: Any) -> dict[str, Any]:
    at = {"x": 0, "y": 0, "width": 12, "height": 8, **place}
    return {"kind": "GridLayoutItem", "spec": {**at, "element": {"kind": "ElementReference", "name": name}}}


def found(value: dict[str, Any], version: str = "v2beta1") -> list[tuple[str, str]]:
    return [(f.severity.value, str(f)) for f in check_spec(value, version)]


def test_a_complete_dashboard_has_no_finding_at_each_version() -> None:
    assert found(spec()) == [] and found(spec(), "v2") == []
    alpha = panel(vizConfig={"kind": "timeseries", "spec": {"pluginVersion": "", "options": {}}})
    assert found(spec(elements=alpha), "v2alpha1") == []  # v2alpha1: the plugin id is the kind
    assert found({"title": "empty"}) == []  # elements default to {}, Grafana fills the layout


@pytest.mark.parametrize(
    ("changes", "want"),
    [
        ({"elements": ["panel-1"]}, "spec.elements: must be an object (element name -> element), got a list"),
        ({"elements": {"a": "x"}}, "spec.elements['a']: an element must be an object, got a string"),
        (
            {"elements": {"a": {"spec": {}}}},
            "spec.elements['a'].kind: (missing) is not one of Panel, LibraryPanel",
        ),
        ({"elements": {"a": {"kind": "Panel"}}}, "spec.elements['a'].spec: must be an object, got null"),
        ({"elements": panel(id="1")}, "spec.elements['panel-1'].spec.id: must be a number, got a string"),
        (
            {"elements": panel(vizConfig="timeseries")},
            "spec.elements['panel-1'].spec.vizConfig: must be an object (VizConfigKind), got a string",
        ),
        (
            {"elements": panel(vizConfig={"kind": "timeseries", "spec": {}})},
            "spec.elements['panel-1'].spec.vizConfig.kind: 'timeseries' is not 'VizConfig' at v2beta1",
        ),
        (
            {"elements": panel(vizConfig={"kind": "VizConfig", "spec": {}})},
            "spec.elements['panel-1'].spec.vizConfig.group: must be the panel plugin id (a string), got null",
        ),
        (
            {"elements": panel(vizConfig={"kind": "VizConfig", "group": "stat", "spec": []})},
            "spec.elements['panel-1'].spec.vizConfig.spec: must be an object (VizConfigSpec), got a list",
        ),
        ({"elements": panel(data=[])}, "spec.elements['panel-1'].spec.data: must be a QueryGroupKind"),
        (
            {"elements": panel(data={"kind": "QueryGroup", "spec": {"queries": {}}})},
            "spec.elements['panel-1'].spec.data.spec.queries: must be a list, got an object",
        ),
        (
            {"elements": {"lib": {"kind": "LibraryPanel", "spec": {"id": 2, "libraryPanel": {"name": "x"}}}}},
            "spec.elements['lib'].spec.libraryPanel.uid: a library panel needs",
        ),
        ({"layout": {"kind": "Masonry", "spec": {}}}, "spec.layout.kind: 'Masonry' is not one of GridLayout"),
        ({"layout": {"kind": "GridLayout", "spec": []}}, "spec.layout.spec: must be an object, got a list"),
        ({"layout": {"kind": "GridLayout", "spec": {"items": {}}}}, "spec.layout.spec.items: must be a list"),
        (
            {"layout": grid({"kind": "Panel"})},
            "spec.layout.spec.items[0].kind: a GridLayout holds GridLayoutItem",
        ),
        ({"layout": grid(item(height=None))}, "spec.layout.spec.items[0].spec: height must be integer"),
        (
            {"layout": grid(item(x="0", width=6.5))},
            "spec.layout.spec.items[0].spec: x, width must be integers",
        ),
        ({"layout": grid(item(name="nope"))}, "spec.layout.spec.items[0].spec.element.name: 'nope' is not"),
        (
            {"layout": grid({"kind": "GridLayoutItem", "spec": {"x": 0, "y": 0, "width": 1, "height": 1}})},
            "spec.layout.spec.items[0].spec.element.name: an element reference needs",
        ),
        (
            {"layout": {"kind": "RowsLayout", "spec": {"rows": [{"kind": "RowsLayoutRow", "spec": {}}]}}},
            "spec.layout.spec.rows[0].spec.layout: a RowsLayoutRow needs a layout",
        ),
        (
            {
                "layout": {
                    "kind": "TabsLayout",
                    "spec": {"tabs": [{"kind": "TabsLayoutTab", "spec": {"layout": grid(item("gone"))}}]},
                }
            },
            "spec.layout.spec.tabs[0].spec.layout.spec.items[0].spec.element.name: 'gone' is not",
        ),
        (
            {
                "layout": {
                    "kind": "AutoGridLayout",
                    "spec": {"items": [{"kind": "AutoGridLayoutItem", "spec": {}}]},
                }
            },
            "spec.layout.spec.items[0].spec.element.name: an element reference needs",
        ),
    ],
)
def test_each_error_rule_names_the_path(changes: dict[str, Any], want: str) -> None:
    findings = found(spec(**changes))
    assert findings and findings[0][0] == "error" and findings[0][1].startswith(want), findings


def test_the_path_names_the_layout_item() -> None:
    items = [item(), item(x=12), item("missing", y=8)]
    assert found(spec(layout=grid(*items)))[0] == (
        "error",
        "spec.layout.spec.items[2].spec.element.name: 'missing' is not the name of an element in spec.elements",
    )


@pytest.mark.parametrize(
    ("changes", "version", "want"),
    [
        (
            {"layout": grid(item(width=30))},
            "v2beta1",
            "spec.layout.spec.items[0].spec.width: 30 is off the grid",
        ),
        ({"layout": grid(item(x=20))}, "v2beta1", "spec.layout.spec.items[0].spec: x + width = 32, past"),
        ({"layout": grid(item(height=0))}, "v2beta1", "spec.layout.spec.items[0].spec.height: 0 must be"),
        (
            {"elements": panel(vizConfig={"kind": "VizConfig", "group": "my-plugin", "spec": {}})},
            "v2",
            "spec.elements['panel-1'].spec.vizConfig.group: 'my-plugin' is not a core panel type",
        ),
        (
            {"elements": panel(vizConfig={"kind": "statetimeline", "spec": {}})},
            "v2alpha1",
            "spec.elements['panel-1'].spec.vizConfig.kind: 'statetimeline' is not a core panel type",
        ),
        ({"layout": grid()}, "v2beta1", "spec.elements['panel-1']: not placed in the layout"),
        ({"elements": panel(vizConfig=None)}, "v2beta1", "spec.elements['panel-1'].spec.vizConfig: missing"),
        ({"elements": panel(data=None)}, "v2beta1", "spec.elements['panel-1'].spec.data: missing"),
    ],
)
def test_each_warning_rule(changes: dict[str, Any], version: str, want: str) -> None:
    value = spec(**changes)
    for element in value["elements"].values():  # None stands for "absent"
        element["spec"] = {k: v for k, v in element["spec"].items() if v is not None}
    findings = found(value, version)
    assert len(findings) == 1 and findings[0][0] == "warning" and findings[0][1].startswith(want), findings


def test_duplicate_panel_ids_are_a_warning() -> None:
    two = {**panel(), "panel-2": panel()["panel-1"]}
    findings = found(spec(elements=two, layout=grid(item(), item("panel-2", x=12))))
    assert findings == [
        ("warning", "spec.elements['panel-2'].spec.id: 1 is also the id of spec.elements['panel-1']")
    ]


def test_a_layout_nested_past_the_limit_is_refused_not_walked() -> None:
    layout: dict[str, Any] = grid(item())
    for _ in range(5000):  # past Python's recursion limit if it were walked
        layout = {
            "kind": "RowsLayout",
            "spec": {"rows": [{"kind": "RowsLayoutRow", "spec": {"layout": layout}}]},
        }
    findings = found(spec(layout=layout))
    assert findings[0][0] == "error" and f"nested deeper than {MAX_LAYOUT_DEPTH}" in findings[0][1]


def test_check_resource_checks_the_envelope() -> None:
    assert check_resource(v2_output("v2beta1", **copy.deepcopy(PLACED))) == []
    assert [
        str(f) for f in check_resource({**v2_output(), "apiVersion": "dashboard.grafana.app/v1beta1"})
    ] == [
        "apiVersion: 'dashboard.grafana.app/v1beta1' is not one of dashboard.grafana.app/v2alpha1, "
        "dashboard.grafana.app/v2beta1, dashboard.grafana.app/v2"
    ]
    assert [str(f) for f in check_resource({**v2_output(), "kind": "Folder"})] == [
        "kind: 'Folder' is not 'Dashboard'"
    ]
    assert [str(f) for f in check_resource({**v2_output(), "spec": []})] == [
        "spec: must be an object, got a list"
    ]


def test_check_model_refuses_a_v2_error_and_keeps_the_unknown_key_warning() -> None:
    with pytest.raises(InvalidOutput, match=r"not one Grafana can load: spec\.layout\.spec\.items\[0\]"):
        check_model(GEN, carried(**{**PLACED, "layout": grid(item("nope"))}))
    warned = check_model(GEN, {**carried(**PLACED), "mySetting": 1, "layout": grid()})
    assert len(warned) == 2 and "spec.mySetting" in warned[0] and "not placed in the layout" in warned[1]
    with pytest.raises(InvalidOutput) as caught:
        check_model(GEN, carried(**{**PLACED, "layout": grid(item("x" * 1_000_000))}))
    assert len(str(caught.value)) < 2000  # a hostile name is cut, not echoed


def test_dawg_render_refuses_a_broken_v2_dashboard_and_prints_nothing(v2_generator: Path) -> None:
    broken = v2_output("v2beta1", **{**copy.deepcopy(PLACED), "elements": panel(data="A")})
    result = subprocess.run(
        [sys.executable, "-m", "dawg_provider.cli", "render", str(v2_generator), "--config", "-"],
        input="raw " + json.dumps(broken, separators=(",", ":")),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1 and result.stdout == ""  # no dashboard printed
    assert "spec.elements['panel-1'].spec.data: must be a QueryGroupKind" in result.stderr
    assert "Output validation" in result.stderr and "Traceback" not in result.stderr


def test_the_sync_job_refuses_a_broken_v2_dashboard_and_writes_nothing(
    v2_generator: Path, tmp_path: Path
) -> None:
    from tests.k8s_standin import KubernetesStandIn

    broken = v2_output("v2beta1", **{**copy.deepcopy(PLACED), "layout": grid(item("nope"))})
    server = GrafanaStandIn("13.0", tokens={TOKEN: (1, "Admin")}).start()
    k8s = KubernetesStandIn().start()
    try:
        k8s.add("shop", "dyn", {"generator": f"file://{v2_generator}", "config": "raw " + json.dumps(broken)})
        k8s.add("shop", "fine", {"generator": f"file://{v2_generator}", "config": "v2 v2beta1\n"})
        summary = sync_v2(server, k8s, tmp_path)
        outcome = {r.key: (r.outcome.value, r.message) for r in summary.results}
        assert outcome["shop/fine"][0] == "created"  # hostile.c's v2 output: warnings only
        assert outcome["shop/dyn"][0] == "failed"
        assert "spec.layout.spec.items[0].spec.element.name: 'nope'" in outcome["shop/dyn"][1]
        assert server.dashboard(ownership.derived_uid("k8s", "shop", "dyn")) is None  # nothing written
        assert server.dashboard(ownership.derived_uid("k8s", "shop", "fine")) is not None
    finally:
        k8s.stop()
        server.stop()


def test_dawg_validate_checks_a_v2_resource_file(tmp_path: Path) -> None:
    good = v2_output("v2beta1", **copy.deepcopy(PLACED))
    bad = {**good, "metadata": {"name": "x"}, "spec": {**good["spec"], "layout": grid(item(width="12"))}}
    (tmp_path / "good.json").write_text(json.dumps(good))
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dawg_provider.cli",
            "validate",
            str(tmp_path / "good.json"),
            str(tmp_path / "bad.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("good.json: ok")
    assert lines[1].endswith(
        "bad.json: error: spec.layout.spec.items[0].spec: width must be integer (GridLayoutItemSpec)"
    )
