"""A generator's schema v2 dashboard: the minimal structure checked, then carried as its spec.

Why only the structure: Grafana checks the v2 schema itself when DAWG writes it (strict
field validation on `/apis`, grafana-apis.md §3.1). What DAWG must know before that is
that the output IS a v2 dashboard and has what DAWG reads: `apiVersion`
`dashboard.grafana.app/v2alpha1|v2beta1|v2`, `kind: Dashboard`, a `spec` with a
non-empty `title`, `elements` (name -> `{kind: Panel|LibraryPanel, spec}`) and `layout`
(`{kind: GridLayout|RowsLayout|AutoGridLayout|TabsLayout, spec}`), `tags` a list of
strings when present. Source: grafana/grafana apps/dashboard/pkg/apis/dashboard/v2beta1/
dashboard_spec.cue (`DashboardSpec`, `Element`; v2alpha1 and v2 have the same top level).

The spec is carried with its `apiVersion` at the top (grafana/v2.py says why); the
generator's `metadata` is not: the uid, folder and labels are the deployer's. A
`metadata.name` is handed on as `uid`, so it is dropped with the same warning as a
classic dashboard's uid. Pure.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidOutput

GROUP = "dashboard.grafana.app"
VERSIONS = ("v2alpha1", "v2beta1", "v2")
ELEMENT_KINDS = ("Panel", "LibraryPanel")
LAYOUT_KINDS = ("GridLayout", "RowsLayout", "AutoGridLayout", "TabsLayout")
HINT = "a v2 dashboard is {apiVersion, kind: Dashboard, spec: {title, elements, layout, ...}}"


def is_v2(value: dict[str, Any]) -> bool:
    """Does the output say it is a Kubernetes-style dashboard object (the contract's v2 marker)?"""
    return "apiVersion" in value or "kind" in value


def v2_dashboard(generator: str, value: dict[str, Any]) -> dict[str, Any]:
    """The v2 dashboard as DAWG carries it; `InvalidOutput` naming the field that is wrong."""

    def refuse(problem: str) -> InvalidOutput:
        return InvalidOutput(generator, problem, HINT)

    api_version = value.get("apiVersion")
    known = ", ".join(f"{GROUP}/{v}" for v in VERSIONS)
    if not isinstance(api_version, str) or api_version not in {f"{GROUP}/{v}" for v in VERSIONS}:
        raise refuse(f"apiVersion {str(api_version)[:80]!r} is not a dashboard schema v2 version ({known})")
    if value.get("kind") != "Dashboard":
        raise refuse(f"kind {str(value.get('kind'))[:80]!r} is not 'Dashboard'")
    extra = sorted(set(value) - {"apiVersion", "kind", "metadata", "spec", "status"})
    if extra:
        raise refuse(f"unexpected top-level field(s) {', '.join(map(repr, extra[:5]))} beside the spec")
    spec = value.get("spec")
    if not isinstance(spec, dict):
        raise refuse("spec is missing or not an object")
    title = spec.get("title")
    if not isinstance(title, str) or not title.strip():
        raise refuse("spec.title is missing, empty or not a string")
    tags = spec.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise refuse("spec.tags is not a list of strings")
    elements = spec.get("elements")
    if not isinstance(elements, dict):
        raise refuse("spec.elements is missing or not an object (element name -> element)")
    for name, element in elements.items():
        if not isinstance(element, dict) or element.get("kind") not in ELEMENT_KINDS:
            raise refuse(f"spec.elements[{name!r}].kind is not one of {', '.join(ELEMENT_KINDS)}")
        if not isinstance(element.get("spec"), dict):
            raise refuse(f"spec.elements[{name!r}].spec is missing or not an object")
    layout = spec.get("layout")
    if not isinstance(layout, dict) or layout.get("kind") not in LAYOUT_KINDS:
        raise refuse(f"spec.layout.kind is not one of {', '.join(LAYOUT_KINDS)}")
    if not isinstance(layout.get("spec"), dict):
        raise refuse("spec.layout.spec is missing or not an object")
    carried = {**spec, "apiVersion": api_version}
    metadata = value.get("metadata")
    if isinstance(metadata, dict) and "name" in metadata:
        carried["uid"] = metadata["name"]  # dropped with the usual warning (output.without_identity)
    return carried
