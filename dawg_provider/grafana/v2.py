"""Schema v2 dashboards DAWG writes: how one is carried inside DAWG, and where it may be written.

Why carried as its spec: a generator may print a v2 dashboard (`apiVersion`
`dashboard.grafana.app/v2alpha1|v2beta1|v2`, `kind: Dashboard`, `spec` with `title`,
`tags`, `elements` and `layout`: apps/dashboard/pkg/apis/dashboard/v2beta1/
dashboard_spec.cue `DashboardSpec`). Its `title` and `tags` sit at the top of the
spec, where the classic model has them, so DAWG carries the spec itself with the
`apiVersion` kept at its top: ownership marks, the canonical form, the content hash
and diffs work unchanged, and a switch between v2 versions is a change like any other.

Why written only at the version the generator printed: v2alpha1, v2beta1 and v2 are
not compatible with each other (grafana-foundation-sdk#1220; grafana-apis.md §4), so
DAWG never re-labels one as another. The Grafana must serve that version of
`dashboard.grafana.app` and be spoken to in the `/apis` dialect: the legacy save
refuses v2 bodies (pkg/api/dashboard.go, "dashboard appears to be in v2 format"), and
Grafana before 12 has no v2 at all. Anything else is refused before a write, naming the
dashboard, the Grafana version and what it serves.

All functions here are pure.
"""

from __future__ import annotations

from typing import Any

GROUP = "dashboard.grafana.app"
VERSIONS = ("v2alpha1", "v2beta1", "v2")
"""The v2 versions Grafana has published (12.0: v2alpha1; later 12.x: v2beta1; 13.x: v2)."""
MARK = "apiVersion"


def version_of(dashboard: dict[str, Any]) -> str | None:
    """The v2 version a dashboard DAWG carries is written at, None for a classic dashboard."""
    value = dashboard.get(MARK)
    if isinstance(value, str) and value.startswith(GROUP + "/"):
        version = value[len(GROUP) + 1 :]
        return version if version.startswith("v2") else None
    return None


def carried(spec: dict[str, Any], version: str) -> dict[str, Any]:
    """A v2 spec as DAWG carries it: the spec with its `apiVersion` at the top."""
    return {**spec, MARK: f"{GROUP}/{version}"}


def as_object(dashboard: dict[str, Any]) -> dict[str, Any]:
    """What `dawg render` prints: a carried v2 dashboard as the object a generator prints
    (`{apiVersion, kind, spec}`); a classic dashboard unchanged."""
    version = version_of(dashboard)
    if version is None:
        return dashboard
    spec = {key: value for key, value in dashboard.items() if key != MARK}
    return {MARK: f"{GROUP}/{version}", "kind": "Dashboard", "spec": spec}


def write_problem(
    dashboard: dict[str, Any], served: tuple[str, ...] | None, grafana_version: str | None
) -> str | None:
    """Why this Grafana cannot store this v2 dashboard, or None (also None for a classic one).

    `served` is what `dashboard.grafana.app` lists when DAWG speaks `/apis`, None when it
    speaks the legacy API."""
    version = version_of(dashboard)
    if version is None:
        return None
    grafana = f"Grafana {grafana_version}" if grafana_version else "this Grafana (its version is hidden)"
    if served is None:
        return (
            f"the dashboard is schema v2 ({GROUP}/{version}) and {grafana} is spoken to through the "
            "legacy /api, which cannot store v2 (Grafana before 12, or the legacy dialect forced): "
            "use a Grafana that serves it through /apis, or have the generator print the classic model"
        )
    if version not in served:
        v2 = [v for v in served if v.startswith("v2")]
        offered = ", ".join(v2) if v2 else "no v2 version"
        return (
            f"the dashboard is schema v2 ({GROUP}/{version}) and {grafana} serves {offered} of {GROUP}; "
            "DAWG writes v2 only at the version the generator printed"
        )
    return None


SPEC_FIELDS = frozenset(
    {
        "annotations",
        "cursorSync",
        "description",
        "editable",
        "elements",
        "layout",
        "links",
        "liveNow",
        "preferences",
        "preload",
        "revision",
        "tags",
        "timeSettings",
        "title",
        "variables",
    }
)
"""The top-level fields of Grafana's typed v2 `DashboardSpec` (apps/dashboard/pkg/apis/dashboard/
v2beta1/dashboard_spec_gen.go and v2alpha1; `preferences` from v2's dashboard_spec.cue). Grafana
decodes a v2 spec into that struct, so any other top-level key is not stored."""


def comparable(dashboard: dict[str, Any]) -> dict[str, Any]:
    """A carried v2 dashboard in the form DAWG compares, so Grafana's re-serialisation of what
    DAWG sent compares equal to it: Grafana stores the typed struct and answers with every
    non-`omitempty` field at its zero value (`description: ""`, `links: []`, `preload: false`
    ...) and unknown top-level keys dropped, and fills a missing layout with an empty
    GridLayout (pkg/registry/apis/dashboard/mutate.go `Mutate`, grafana-apis.md §4). So:
    top-level keys outside `SPEC_FIELDS` are left out, empty values (`""`, `[]`, `{}`, `false`,
    null) are the same as absent at every depth, and a missing layout is the default one.
    Lossy on purpose: it is only ever compared, never sent."""
    kept = {k: v for k, v in dashboard.items() if k in SPEC_FIELDS or k == MARK}
    out = _dropped_empty(kept)
    if not isinstance(out, dict):
        return {}
    out.setdefault("layout", {"kind": "GridLayout"})
    return out


def _empty(value: Any) -> bool:
    return value is None or value is False or (isinstance(value, (str, list, dict)) and not value)


def _dropped_empty(value: Any) -> Any:
    if isinstance(value, dict):
        items = {str(k): _dropped_empty(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if not _empty(v)}
    if isinstance(value, list):
        return [_dropped_empty(item) for item in value]
    return value
