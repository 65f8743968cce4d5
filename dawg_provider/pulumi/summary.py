"""`pulumi preview --json` -> a compact Markdown summary for a pull-request comment.

Why: `pulumi preview --diff` prints every input of each new dashboard and every
changed path with its whole context; with hundreds of dashboards that outgrows a PR
comment (GitHub caps one at 65,536 characters) and buries what changed. This reads
the engine's JSON digest and prints one line per changed dashboard and one per
changed panel, with short old -> new values, and only counts the unchanged ones.

The input is the digest printed by `pulumi preview --json`, read in pulumi/pulumi:
pkg/backend/display/json.go `ShowPreviewDigest` builds `display.PreviewDigest`
(`steps`, `changeSummary`, `diagnostics`); each step is a `display.PreviewStep`
with `op` (deploy.StepOp: same, create, update, replace, create-replacement,
delete-replaced, delete, ...), `urn`, `oldState`/`newState` (apitype.ResourceV3:
`type`, `inputs`, `outputs`; secrets shown as "[secret]"), `diffReasons`,
`replaceReasons` and `detailedDiff`: property path -> `{kind, inputDiff}`, the kind
one of plugin.DiffKind's strings (sdk/go/common/resource/plugin/provider.go
`DiffKind.String`: add, add-replace, delete, delete-replace, update,
update-replace). Paths are the engine's property paths
(`dashboard.panels[3].targets[0].expr`, `["key.with.dots"]`).

Same steps: the digest omits them unless `--show-sames` (json.go `ShowPreviewDigest`
adds a step only when `shouldShow(m, opts) || isRootStack(m)`), so the unchanged
count comes from the WasmDashboard same steps when there are any, else from
`changeSummary.same` (display.ResourceChanges of the SummaryEvent: every resource
type, the stack included), and says so.

Pure: text in, text out; untrusted input is treated as such (every field's shape
checked and named when wrong, nothing evaluated, Markdown in titles escaped, control
characters and line separators flattened, @mentions neutralised, code spans fenced
with more backticks than they contain).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import DawgError

TYPE_SUFFIX = "dawg:WasmDashboard"
COMMENT_LIMIT = 65_536
"""GitHub's limit on one issue or pull-request comment, in characters."""
_OPS = {"create": "create", "update": "update", "replace": "replace", "delete": "delete"}
_OP_ALIASES = {"create-replacement": "replace", "delete-replaced": "replace", "import": "create"}
_VALUE = 80
_CONTEXT = 20
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""Line terminators and control characters: in a comment they break out of code spans."""
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")
_PATH = re.compile(r'\.?([A-Za-z_$][\w$-]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


class PreviewJsonError(DawgError):
    """The text given to `dawg preview-summary` is not a `pulumi preview --json` digest."""


@dataclass
class DashboardChange:
    """What one WasmDashboard does in the preview."""

    name: str
    op: str
    panels: dict[str, list[str]] = field(default_factory=dict)
    settings: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    replace_reasons: list[str] = field(default_factory=list)


def too_deep(where: str) -> str:
    """The message for JSON nested deeper than Python can walk (no engine digest is)."""
    return f"{where}: JSON nested too deeply to be a `pulumi preview --json` digest"


def parse_path(path: str) -> list[str | int]:
    """`dashboard.panels[3]["a.b"]` -> ["dashboard", "panels", 3, "a.b"] (unparsable text stops it)."""
    parts: list[str | int] = []
    position = 0
    while position < len(path):
        match = _PATH.match(path, position)
        if match is None or match.end() == position:
            break
        name, index, quoted = match.groups()
        if index is not None:
            parts.append(int(index))
        else:
            parts.append(name if name is not None else re.sub(r"\\(.)", r"\1", quoted))
        position = match.end()
    return parts


def _get(value: Any, parts: list[str | int]) -> Any:
    for part in parts:
        if isinstance(part, int) and isinstance(value, list) and 0 <= part < len(value):
            value = value[part]
        elif isinstance(part, str) and isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return _CONTROL.sub(" ", text)


def _short(value: Any, start: int = 0) -> str:
    """At most _VALUE characters of the value, from `start` (where two values differ)."""
    text = _text(value)
    if len(text) <= _VALUE:
        return text
    start = min(start, max(0, len(text) - _VALUE + 1))
    head = "…" if start else ""
    window = text[start : start + _VALUE - len(head)]
    return head + (window if start + len(window) >= len(text) else window[:-1] + "…")


def _pair(before: Any, after: Any) -> tuple[str, str]:
    """Both values, each cut to show where they start to differ (long queries differ late)."""
    old, new = _text(before), _text(after)
    common = 0
    for a, b in zip(old, new, strict=False):
        if a != b:
            break
        common += 1
    start = max(0, common - _CONTEXT) if max(len(old), len(new)) > _VALUE else 0
    return _short(old, start), _short(new, start)


def _code(text: str) -> str:
    """A code span that holds `text` literally: fenced by more backticks than any run in it."""
    text = _CONTROL.sub(" ", text)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _escape(text: str) -> str:
    """Plain text for Markdown: one line, Markdown and HTML characters escaped, no @mention."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    escaped = re.sub(r"([\\`*_{}\[\]<>()#+!|~])", r"\\\1", flat)
    return _MENTION.sub("@\u200b", escaped)  # a zero-width space: shown as @team, pings nobody


def _inputs(state: Any) -> dict[str, Any]:
    inputs = state.get("inputs") if isinstance(state, dict) else None
    return inputs if isinstance(inputs, dict) else {}


def _panel_label(dashboard: Any, index: int) -> str:
    panel = _get(dashboard, ["panels", index])
    title = panel.get("title") if isinstance(panel, dict) else None
    return f"panel {index} '{_escape(str(title))}'" if title else f"panel {index}"


def _change_line(kind: str, parts: list[str | int], old: dict[str, Any], new: dict[str, Any]) -> str:
    shown = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")
    before, after = _get(old, parts), _get(new, parts)
    if kind.startswith("add"):
        return f"{_code(shown)} added: {_code(_short(after))}"
    if kind.startswith("delete"):
        return f"{_code(shown)} removed"
    old_text, new_text = _pair(before, after)
    return f"{_code(shown)}: {_code(old_text)} → {_code(new_text)}"


def _op(raw: Any) -> str | None:
    if not isinstance(raw, str):
        return None
    return _OPS.get(raw) or _OP_ALIASES.get(raw) or ("same" if raw in ("same", "read", "refresh") else None)


def _check_shape(where: str, step: dict[str, Any]) -> None:
    """Raise PreviewJsonError naming the first field of a step whose shape is not the engine's."""
    for key in ("diffReasons", "replaceReasons"):
        value = step.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise PreviewJsonError(f"{where}.{key}: expected a list of property names")
    detailed = step.get("detailedDiff")
    if detailed is not None and not isinstance(detailed, dict):
        raise PreviewJsonError(f"{where}.detailedDiff: expected an object of property path -> diff")
    for key in ("oldState", "newState"):
        state = step.get(key)
        if state is not None and not isinstance(state, dict):
            raise PreviewJsonError(f"{where}.{key}: expected a resource state object")
        if (
            isinstance(state, dict)
            and state.get("inputs") is not None
            and not isinstance(state["inputs"], dict)
        ):
            raise PreviewJsonError(f"{where}.{key}.inputs: expected an object")


def _summary_same(digest: dict[str, Any]) -> int | None:
    summary = digest.get("changeSummary")
    if summary is None:
        return None
    if not isinstance(summary, dict) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in summary.values()
    ):
        raise PreviewJsonError("changeSummary: expected an object of operation -> count")
    same = summary.get("same")
    return same if isinstance(same, int) else None


def changes(digest: Any) -> tuple[list[DashboardChange], int]:
    """The changed WasmDashboards (in the digest's order) and the number of unchanged ones
    (counted from same steps: only present with `--show-sames`)."""
    if not isinstance(digest, dict) or not isinstance(digest.get("steps", []), list):
        raise PreviewJsonError("expected the JSON object printed by `pulumi preview --json` (with `steps`)")
    by_urn: dict[str, DashboardChange] = {}
    unchanged: set[str] = set()
    for position, step in enumerate(digest.get("steps") or []):
        if not isinstance(step, dict) or not isinstance(step.get("urn"), str):
            continue
        _check_shape(f"steps[{position}]", step)
        urn: str = step["urn"]
        state = step.get("newState") or step.get("oldState") or {}
        kind = state.get("type") if isinstance(state, dict) else None
        if TYPE_SUFFIX not in urn and not (isinstance(kind, str) and kind.endswith(TYPE_SUFFIX)):
            continue
        op = _op(step.get("op"))
        if op is None:
            continue
        if op == "same":
            unchanged.add(urn)
            continue
        name = urn.rsplit("::", 1)[-1]
        change = by_urn.setdefault(urn, DashboardChange(name, op))
        if op == "replace" or change.op == "replace":
            change.op = "replace"
        reasons = step.get("replaceReasons") or []
        change.replace_reasons = sorted({*change.replace_reasons, *(str(r) for r in reasons)})
        if change.panels or change.settings or change.inputs:
            continue  # a replacement's other steps repeat the same diff
        _fill(change, step)
    return list(by_urn.values()), len(unchanged - set(by_urn))


def _fill(change: DashboardChange, step: dict[str, Any]) -> None:
    old, new = _inputs(step.get("oldState")), _inputs(step.get("newState"))
    if change.op == "create":
        panels = _get(new, ["dashboard", "panels"])
        titles = (
            [_panel_label(new.get("dashboard"), i) for i in range(len(panels))]
            if isinstance(panels, list)
            else []
        )
        change.settings.append(
            f"new dashboard, {len(titles)} panel(s)" + (": " + ", ".join(titles) if titles else "")
        )
        return
    if change.op == "delete":
        return
    detailed = step.get("detailedDiff")
    if not isinstance(detailed, dict) or not detailed:
        # The provider answered a whole-object diff: only the changed keys are known.
        change.inputs += [_code(str(key)) for key in step.get("diffReasons") or []]
        return
    for path in sorted(detailed, key=lambda p: [(isinstance(x, int), x) for x in parse_path(p)]):
        diff = detailed[path]
        kind = str(diff.get("kind", "update")) if isinstance(diff, dict) else "update"
        parts = parse_path(path)
        if not parts:
            continue
        if parts[0] != "dashboard":
            if parts[0] not in ("dashboardSha256", "generatorDigest", "generatorRef"):
                change.inputs.append(_change_line(kind, parts, old, new))
            continue
        if len(parts) >= 3 and parts[1] == "panels" and isinstance(parts[2], int):
            source = new if not kind.startswith("delete") else old
            label = _panel_label(source.get("dashboard"), parts[2])
            if len(parts) == 3:
                line = (
                    "added"
                    if kind.startswith("add")
                    else "removed"
                    if kind.startswith("delete")
                    else "replaced"
                )
                change.panels.setdefault(label, []).append(line)
            else:
                change.panels.setdefault(label, []).append(
                    _change_line(kind, parts[3:], _get(old, parts[:3]) or {}, _get(new, parts[:3]) or {})
                )
            continue
        change.settings.append(
            _change_line(kind, parts[1:], old.get("dashboard") or {}, new.get("dashboard") or {})
        )


def _section(change: DashboardChange, max_lines: int) -> list[str]:
    reasons = (
        f" (replaced: {', '.join(_code(r) for r in change.replace_reasons)})"
        if change.replace_reasons
        else ""
    )
    lines = [f"**{_escape(change.name)}** · {change.op}{reasons}"]
    body = [f"- {line}" for line in change.inputs] + [f"- {line}" for line in change.settings]
    for label, items in change.panels.items():
        body.append(f"- {label}: " + "; ".join(items))
    if len(body) > max_lines:
        body = [*body[:max_lines], f"- … and {len(body) - max_lines} more change(s)"]
    return lines + body + [""]


def summarize(digest: Any, limit: int = COMMENT_LIMIT) -> str:
    """The Markdown summary; fewer lines per dashboard until it fits `limit` characters."""
    changed, unchanged = changes(digest)
    summary_same = _summary_same(digest)
    counts: dict[str, int] = {}
    for change in changed:
        counts[change.op] = counts.get(change.op, 0) + 1
    head = ", ".join(f"{n} to {op}" for op, n in sorted(counts.items())) or "no changes"
    if unchanged == 0 and summary_same is not None:
        # Without --show-sames the digest lists no same steps; the engine's count covers
        # every resource type (the stack itself included).
        tail = f"{summary_same} resource(s) unchanged (all types)"
    else:
        tail = f"{unchanged} unchanged"
    header = [f"### DAWG dashboards: {head}, {tail}", ""]
    for max_lines in (40, 10, 3, 0):
        text = "\n".join(header + [line for change in changed for line in _section(change, max_lines)])
        if len(text) <= limit:
            return text
    # Last resort: as many names as fit, and how many more; never a name cut in half.
    lead = "\n".join([*header, "Too many changes to list; dashboards: "])
    names = [_escape(change.name) for change in changed]
    for shown in range(len(names), -1, -1):
        rest = f" … and {len(names) - shown} more" if shown < len(names) else ""
        text = lead + ", ".join(names[:shown]) + rest
        if len(text) <= limit:
            return text
    return lead[:limit]


def summarize_json(text: str, where: str, limit: int) -> str:
    """`summarize` of `pulumi preview --json` output as text; `where` names it in errors."""
    try:
        return summarize(json.loads(text), limit)
    except json.JSONDecodeError as error:
        raise PreviewJsonError(
            f"{where}: not JSON ({error.msg} at line {error.lineno}); "
            "save it with `pulumi preview --json > preview.json`"
        ) from None
    except RecursionError:
        raise PreviewJsonError(too_deep(where)) from None
