"""`dawg preview-summary`: a `pulumi preview --json` digest -> a Markdown PR comment.

The digests here are built in the engine's shape (pkg/backend/display/json.go
`ShowPreviewDigest`: `steps[]` with `op`, `urn`, `oldState`/`newState` carrying
`inputs`, `diffReasons`, `replaceReasons`, `detailedDiff` path -> {kind, inputDiff};
a replacement shows as create-replacement, replace and delete-replaced steps of one
URN; kinds are plugin.DiffKind strings), with the detailed diff computed the way the
engine does for `changes=None`: old inputs against new inputs, path by path.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from dawg_provider.cli import main
from dawg_provider.grafana.canonical import path_changes
from dawg_provider.pulumi.summary import COMMENT_LIMIT, PreviewJsonError, changes, parse_path, summarize

TYPE = "pulumi-python:dynamic/dawg:WasmDashboard"
KIND = {"added": "add", "removed": "delete", "changed": "update"}


def urn(name: str) -> str:
    return f"urn:pulumi:prod::dashboards::{TYPE}::{name}"


def dashboard(name: str, panels: int = 12) -> dict[str, Any]:
    """A realistic generated dashboard: a dozen panels with queries, field config, layout."""
    return {
        "title": name,
        "uid": f"dawg-{name}",
        "tags": ["dawg-managed", "dawg-owner:pulumi-dashboards-prod"],
        "schemaVersion": 39,
        "templating": {
            "list": [{"name": "namespace", "type": "query", "query": "label_values(up, namespace)"}]
        },
        "panels": [
            {
                "id": i + 1,
                "title": f"{name} panel {i}",
                "type": "timeseries",
                "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)},
                "targets": [
                    {
                        "refId": "A",
                        "expr": f'sum(rate(http_requests_total{{namespace="$namespace",app="{name}",code=~"5.."}}[5m])) by (route) / {i + 1}',
                    }
                ],
                "fieldConfig": {"defaults": {"unit": "reqps", "thresholds": {"steps": [{"color": "green"}]}}},
            }
            for i in range(panels)
        ],
    }


def inputs(name: str, board: dict[str, Any]) -> dict[str, Any]:
    return {
        "generator": "oci://registry.example.com/dashboards/service:v1.2.0",
        "config": {"service": name},
        "folder": "Shop/Services",
        "uid": f"dawg-{name}",
        "owner": "pulumi-dashboards-prod",
        "grafanaTarget": {"url": "https://grafana.example.com"},
        "dashboard": board,
        "dashboardSha256": "sha256:" + str(abs(hash(json.dumps(board, sort_keys=True)))),
    }


def engine_detailed_diff(old: dict[str, Any], new: dict[str, Any], replace_keys: set[str]) -> dict[str, Any]:
    """Old inputs vs new inputs, path by path, as the engine's DIFF_UNKNOWN fallback does."""
    detailed = {}
    for change in path_changes(old, new):
        kind = KIND.get(change.kind, "update")
        if change.path.split(".")[0].split("[")[0] in replace_keys:
            kind += "-replace"
        detailed[change.path] = {"kind": kind, "inputDiff": True}
    return detailed


def step(
    op: str, name: str, old: dict[str, Any] | None, new: dict[str, Any] | None, **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"op": op, "urn": urn(name), "provider": "urn:pulumi:prod::dashboards::default"}
    if old is not None:
        out["oldState"] = {"type": TYPE, "urn": urn(name), "inputs": old, "outputs": {}}
    if new is not None:
        out["newState"] = {"type": TYPE, "urn": urn(name), "inputs": new, "outputs": {}}
    return {**out, **extra}


def realistic_digest(
    changed: int = 10, new: int = 1, unchanged: int = 500, show_sames: bool = False
) -> dict[str, Any]:
    """Same steps are listed only with `--show-sames`; the root stack always is
    (pkg/backend/display/json.go `ShowPreviewDigest`: `shouldShow(m, opts) || isRootStack(m)`)."""
    steps = [{"op": "same", "urn": "urn:pulumi:prod::dashboards::pulumi:pulumi:Stack::dashboards-prod"}]
    for i in range(unchanged if show_sames else 0):
        board = inputs(f"svc-{i}", dashboard(f"svc-{i}"))
        steps.append(step("same", f"svc-{i}", board, board))
    for i in range(changed):
        name = f"changed-{i}"
        old = inputs(name, dashboard(name))
        after = copy.deepcopy(old)
        after["dashboard"]["panels"][3]["targets"][0]["expr"] = (
            "histogram_quantile(0.99, sum(rate(x[5m])) by (le))"
        )
        after["dashboard"]["panels"][7]["title"] = "Latency p99"
        after["dashboard"]["panels"][7]["fieldConfig"]["defaults"]["unit"] = "s"
        after["dashboardSha256"] = "sha256:new"
        detailed = engine_detailed_diff(old, after, set())
        steps.append(
            step(
                "update",
                name,
                old,
                after,
                diffReasons=["dashboard", "dashboardSha256"],
                detailedDiff=detailed,
            )
        )
    for i in range(new):
        name = f"new-{i}"
        steps.append(step("create", name, None, inputs(name, dashboard(name))))
    return {"steps": steps, "changeSummary": {"same": unchanged + 1, "update": changed, "create": new}}


def test_each_changed_panel_is_named_with_its_old_and_new_values() -> None:
    text = summarize(realistic_digest(changed=1, new=1, unchanged=2, show_sames=True))
    assert text.startswith("### DAWG dashboards: 1 to create, 1 to update, 2 unchanged\n")
    lines = text.splitlines()
    assert "**changed-0** · update" in lines
    panel3 = next(line for line in lines if line.startswith("- panel 3 "))
    assert panel3.startswith(
        "- panel 3 'changed-0 panel 3': `targets[0].expr`: `sum(rate(http_requests_total{"
    )
    assert panel3.endswith("` → `histogram_quantile(0.99, sum(rate(x[5m])) by (le))`")
    panel7 = next(line for line in lines if line.startswith("- panel 7 "))
    assert "'Latency p99'" in panel7 and "`fieldConfig.defaults.unit`: `reqps` → `s`" in panel7
    assert "`title`: `changed-0 panel 7` → `Latency p99`" in panel7
    assert not any("dashboardSha256" in line for line in lines)  # bookkeeping, not news
    assert "**new-0** · create" in lines
    assert any(line.startswith("- new dashboard, 12 panel(s): panel 0 'new-0 panel 0'") for line in lines)
    assert not any("svc-" in line for line in lines)  # unchanged dashboards are only counted


def test_a_realistic_pr_preview_fits_a_github_comment(capsys: pytest.CaptureFixture[str]) -> None:
    digest = realistic_digest(changed=10, new=1, unchanged=500)
    text = summarize(digest)
    with capsys.disabled():
        print(
            f"\npreview-summary: 10 changed + 1 new + 500 unchanged: {len(text):,} chars "
            f"(limit {COMMENT_LIMIT:,}); the --json digest itself: {len(json.dumps(digest)):,} chars"
        )
    assert len(text) < COMMENT_LIMIT
    assert all(f"**changed-{i}** · update" in text for i in range(10)) and "**new-0** · create" in text
    assert "501 resource(s) unchanged (all types)" in text and text.count("- panel 3 ") == 10


def test_without_show_sames_the_unchanged_count_comes_from_the_change_summary() -> None:
    """`pulumi preview --json` omits same steps unless --show-sames: counting steps said 0."""
    default = realistic_digest(changed=1, new=0, unchanged=7)
    assert [s["op"] for s in default["steps"]] == ["same", "update"]  # only the root stack is same
    assert summarize(default).startswith(
        "### DAWG dashboards: 1 to update, 8 resource(s) unchanged (all types)"
    )
    shown = realistic_digest(changed=1, new=0, unchanged=7, show_sames=True)
    assert summarize(shown).startswith("### DAWG dashboards: 1 to update, 7 unchanged\n")
    with pytest.raises(PreviewJsonError, match="changeSummary"):
        summarize({**default, "changeSummary": {"same": "many"}})


def test_a_long_value_that_differs_at_its_end_shows_the_difference() -> None:
    old = inputs("tail", dashboard("tail", panels=1))
    new = copy.deepcopy(old)
    new["dashboard"]["panels"][0]["targets"][0]["expr"] = old["dashboard"]["panels"][0]["targets"][0][
        "expr"
    ].replace("[5m])) by (route) / 1", "[1m])) by (route) / 1")
    digest = {"steps": [step("update", "tail", old, new, detailedDiff=engine_detailed_diff(old, new, set()))]}
    line = next(line for line in summarize(digest).splitlines() if line.startswith("- panel 0"))
    assert "[5m])) by (route) / 1`" in line and "[1m])) by (route) / 1`" in line and "`…" in line


def test_a_replacement_is_one_entry_with_its_reason_and_path_diff() -> None:
    old = inputs("moved", dashboard("moved", panels=2))
    new = {**copy.deepcopy(old), "grafanaTarget": {"url": "https://grafana-new.example.com"}}
    detailed = engine_detailed_diff(old, new, {"grafanaTarget"})
    extra = {"replaceReasons": ["grafanaTarget"], "detailedDiff": detailed}
    digest = {
        "steps": [
            step("create-replacement", "moved", old, new, **extra),
            step("replace", "moved", old, new, **extra),
            step("delete-replaced", "moved", old, None),
        ]
    }
    found, unchanged = changes(digest)
    assert unchanged == 0 and [(c.name, c.op) for c in found] == [("moved", "replace")]
    text = summarize(digest)
    assert "**moved** · replace (replaced: `grafanaTarget`)" in text
    assert "- `grafanaTarget.url`: `https://grafana.example.com` → `https://grafana-new.example.com`" in text
    assert text.count("grafanaTarget.url") == 1  # the three steps are one dashboard


def test_a_whole_object_diff_falls_back_to_the_changed_keys() -> None:
    old = inputs("legacy", dashboard("legacy", panels=1))
    digest = {"steps": [step("update", "legacy", old, old, diffReasons=["dashboard", "folder"])]}
    assert "- `dashboard`\n- `folder`" in summarize(digest)


def test_when_too_long_each_dashboard_lists_fewer_lines_but_all_are_named() -> None:
    digest = realistic_digest(changed=30, new=0, unchanged=0)
    full = summarize(digest)
    short = summarize(digest, limit=len(full) // 2)
    assert len(short) <= len(full) // 2
    assert all(f"**changed-{i}**" in short for i in range(30))
    assert "… and " in short and "more change(s)" in short


def test_hostile_titles_and_shapes_are_escaped_or_skipped() -> None:
    board = dashboard("x", panels=1)
    board["panels"][0]["title"] = "<img src=x onerror=alert(1)> `code` [link](http://evil) | pipe\nnewline"
    old = inputs("x", dashboard("x", panels=1))
    new = inputs("x", board)
    digest = {
        "steps": [
            "not a step",
            {"op": 7, "urn": urn("bad-op")},
            {"op": "update"},  # no urn
            {"op": "update", "urn": "urn:pulumi:prod::p::aws:s3/bucket:Bucket::other"},  # not ours
            step("update", "x", old, new, detailedDiff={**engine_detailed_diff(old, new, set()), "%%%": 5}),
            step(
                "update",
                "y`](http://evil)",
                old,
                new,
                detailedDiff={"dashboard.panels[999].title": {"kind": "update"}},
            ),
        ]
    }
    text = summarize(digest)
    # Code spans render literally; a span is closed by a backtick run of its opening length.
    outside_code = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", text)
    assert not re.search(r"(?<!\\)<", outside_code) and not re.search(r"(?<!\\)\]\(", outside_code)
    assert "\nnewline" not in text
    assert "\\<img src=x onerror=alert\\(1\\)\\>" in text
    assert "aws" not in text and "bad-op" not in text
    assert (
        "- panel 999: `title`: `null` → `null`" in text
    )  # an index that is not there is shown, not crashed on
    bad: Any
    for bad in ([], "text", {"steps": "many"}, None):
        with pytest.raises(PreviewJsonError, match="pulumi preview --json"):
            summarize(bad)


def test_engine_property_paths_parse() -> None:
    assert parse_path("dashboard.panels[3].targets[0].expr") == [
        "dashboard",
        "panels",
        3,
        "targets",
        0,
        "expr",
    ]
    assert parse_path('config["app.kubernetes.io/name"]') == ["config", "app.kubernetes.io/name"]
    assert parse_path('a["q\\"uote"]') == ["a", 'q"uote']


def test_the_cli_prints_the_summary_and_reports_bad_input_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "preview.json"
    saved.write_text(json.dumps(realistic_digest(changed=2, new=1, unchanged=3)))
    assert main(["preview-summary", str(saved)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "### DAWG dashboards: 1 to create, 2 to update, 4 resource(s) unchanged (all types)"
    )
    broken = tmp_path / "broken.json"
    broken.write_text("Previewing update (prod):\n{")
    assert main(["preview-summary", str(broken)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"dawg: error: {broken}: not JSON (Expecting value at line 1)" in captured.err
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("breaker", ["\r", "\u2028", "\u2029", "\x0b", "\x0c", "\x85", "\n"])
def test_line_terminators_mentions_and_backticks_cannot_break_out(breaker: str) -> None:
    """Review finding 5: values and titles are attacker-controlled (a generator's output)."""
    board = dashboard("x", panels=1)
    evil = f"a{breaker}# Approved by @acme/security{breaker}```{breaker}<script>"
    board["panels"][0]["title"] = evil
    board["panels"][0]["targets"][0]["expr"] = "x`` @acme/ops ```y"
    old = inputs("x", dashboard("x", panels=1))
    new = inputs("x", board)
    digest = {"steps": [step("update", "x", old, new, detailedDiff=engine_detailed_diff(old, new, set()))]}
    text = summarize(digest)
    assert not any(c in text for c in "\r\x0b\x0c\x85\u2028\u2029")
    assert not any(line.startswith("#") and not line.startswith("### DAWG") for line in text.splitlines())
    # Outside code spans an @mention is broken by a zero-width space; inside it renders literally.
    label = next(line for line in text.splitlines() if line.startswith("- panel 0"))
    assert "@acme" not in label.split(":", 1)[0] and "@\u200bacme/security" in label
    # A value holding backtick runs is fenced by a longer run, so it stays one code span.
    assert "```` x`` @acme/ops ```y ````" in text or "````x`` @acme/ops ```y````" in text


def test_hostile_json_is_one_clear_error_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Review finding 6: deep nesting and wrong field types: exit 1, no traceback, nothing printed."""
    deep = tmp_path / "deep.json"
    deep.write_text('{"steps": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert main(["preview-summary", str(deep)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert "nested too deeply" in captured.err and str(deep) in captured.err
    old = inputs("x", dashboard("x", panels=1))
    for field, value in [
        ("diffReasons", 5),
        ("replaceReasons", "uid"),
        ("detailedDiff", [1]),
        ("oldState", 3),
    ]:
        bad = tmp_path / f"{field}.json"
        bad.write_text(json.dumps({"steps": [step("update", "x", old, old, **{field: value})]}))
        assert main(["preview-summary", str(bad)]) == 1
        captured = capsys.readouterr()
        assert captured.out == "" and "Traceback" not in captured.err
        assert f"steps[0].{field}: expected" in captured.err


def test_the_last_resort_names_what_fits_and_counts_the_rest() -> None:
    """Review finding 9: the last resort cut the list mid-name without saying how many were left."""
    digest = realistic_digest(changed=200, new=0, unchanged=0)
    text = summarize(digest, limit=2_000)
    assert len(text) <= 2_000 and "Too many changes to list" in text
    shown = re.findall(r"changed-\d+", text)
    more = re.search(r"… and (\d+) more$", text)
    assert more is not None and len(shown) + int(more.group(1)) == 200
    assert all(
        re.fullmatch(r"changed-\d+", name) for name in text.rsplit(": ", 1)[1].split(" … ")[0].split(", ")
    )
