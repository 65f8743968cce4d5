"""The stand-in's `/apis` (Kubernetes-style) side: dashboard.grafana.app and folder.grafana.app.

Same store as the legacy side (one Grafana, two APIs), after `../shared/grafana-apis.md`:
discovery (`APIGroup` with versions, preferred first: pkg/registry/apis/dashboard/
register.go `GetGroupVersions`); namespaces `default` for org 1, `org-<id>` otherwise,
another org's namespace 403 (pkg/services/apiserver/auth/authorizer/namespace.go);
create 201 / 409 AlreadyExists, PUT with a stale `metadata.resourceVersion` 409
Conflict "requested RV does not match current RV" (pkg/storage/unified/resource),
`metadata.generation` = the dashboard version, bumped only when spec or folder change
(pkg/storage/unified/apistore/prepare.go `prepareObjectForUpdate`), `spec.uid/id/version`
dropped (pkg/registry/apis/dashboard/mutate.go), labels and annotations kept, a v1 read
of a v2-stored dashboard carries `status.conversion.storedVersion` (dashboard v1
`dashboard_status_gen.go`; a `v2`-stored one reported as v2beta1, `_reported`), v2 specs
stored as Grafana's typed struct re-serialises them (`_typed_v2`), k8s `Status` error bodies; folders with the parent in the
`grafana.app/folder` annotation and the depth and parent checks of
pkg/registry/apis/folders/validate.go. Only what DAWG uses: no list paging, history,
trash or search.
"""

from __future__ import annotations

import copy
import json
import re
from typing import TYPE_CHECKING, Any

from tests.grafana_standin_store import duration

if TYPE_CHECKING:
    from tests.grafana_standin import GrafanaStandIn, Org, StoredDashboard

Answer = tuple[int, Any, dict[str, str]]
DASH = "dashboard.grafana.app"
FOLDER = "folder.grafana.app"


def status(
    code: int, reason: str, message: str, name: str = "", group: str = DASH, kind: str = "dashboards"
) -> Answer:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": {"name": name, "group": group, "kind": kind},
        "code": code,
    }
    return code, body, {}


def route(standin: GrafanaStandIn, method: str, path: str, body: bytes, login: str, caller: int) -> Answer:
    profile = standin.profile
    groups = {DASH: profile.apis, FOLDER: profile.folder_apis}
    if path == "/apis":
        listed = [_group(name, versions) for name, versions in groups.items() if versions]
        return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": listed}, {}
    match = re.fullmatch(r"/apis/([^/]+)", path)
    if match:
        versions = groups.get(match.group(1), ())
        if not versions:
            return 404, {"message": "Not found"}, {}
        return 200, {"kind": "APIGroup", "apiVersion": "v1", **_group(match.group(1), versions)}, {}
    match = re.fullmatch(
        r"/apis/([^/]+)/([^/]+)/namespaces/([^/]+)/(dashboards|folders)(?:/([^/]+))?(?:/([^/]+))?", path
    )
    if not match or match.group(2) not in groups.get(match.group(1), ()):
        return 404, {"message": "Not found"}, {}
    group, version, namespace, resource, name, sub = match.groups()
    org_id = (
        1 if namespace == "default" else int(namespace[4:]) if re.fullmatch(r"org-\d+", namespace) else None
    )
    if org_id is None or org_id != caller:
        return status(
            403, "Forbidden", f"{resource}.{group} is forbidden: invalid org", name or "", group, resource
        )
    org = standin.orgs.setdefault(org_id, type(standin.orgs[1])())
    if resource == "dashboards":
        return _dashboards(standin, org, version, namespace, method, name, body, login)
    return _folders(standin, org, version, namespace, method, name, sub, body)


def _group(name: str, versions: tuple[str, ...]) -> dict[str, Any]:
    return {
        "name": name,
        "versions": [{"groupVersion": f"{name}/{v}", "version": v} for v in versions],
        "preferredVersion": {"groupVersion": f"{name}/{versions[0]}", "version": versions[0]},
    }


def _object(standin: GrafanaStandIn, stored: StoredDashboard, version: str, namespace: str) -> dict[str, Any]:
    spec = {k: v for k, v in copy.deepcopy(stored.json).items() if k not in ("id", "uid", "version")}
    annotations = {**stored.annotations, "grafana.app/updatedBy": f"user:{stored.updated_by}"}
    if stored.folder_uid:
        annotations["grafana.app/folder"] = stored.folder_uid
    out: dict[str, Any] = {
        "kind": "Dashboard",
        "apiVersion": f"{DASH}/{version}",
        "metadata": {
            "name": stored.uid,
            "namespace": namespace,
            "resourceVersion": str(stored.resource_version),
            "generation": stored.version,
            "labels": {**stored.labels, "grafana.app/deprecatedInternalID": str(stored.id)},
            "annotations": annotations,
        },
        "spec": spec,
        "status": {},
    }
    if stored.schema.startswith("v2") and not version.startswith("v2"):
        # a lossy down-conversion, flagged (grafana-apis.md §4: status.conversion.storedVersion)
        out["spec"] = {"title": spec.get("title", ""), "tags": spec.get("tags", []), "panels": []}
        out["status"] = {"conversion": {"failed": False, "storedVersion": _reported(stored.schema)}}
    return out


def _reported(schema: str) -> str:
    """The `storedVersion` a v1 read reports for a v2-stored dashboard. 13.x converts `v2` to
    v1beta1 through a v2beta1 intermediate (apps/dashboard/pkg/migration/conversion/
    v2_to_v1beta1.go `Convert_V2_to_V1beta1`: Convert_V2_to_V2beta1 into `intermediate`, then the
    v2beta1 -> v1 conversion of `intermediate`), whose `setConversionStatus(in=intermediate)`
    reports `getStoredVersion(in)`: the object's own storedVersion if set, else its API version,
    "v2beta1" (conversion.go). So a `v2`-stored dashboard is reported as v2beta1."""
    return "v2beta1" if schema == "v2" else schema


V2_SPEC_ZERO: dict[str, Any] = {
    "annotations": [],
    "cursorSync": "",
    "elements": {},
    "links": [],
    "preload": False,
    "tags": [],
    "timeSettings": {},
    "title": "",
    "variables": [],
}
"""The non-`omitempty` fields of the typed v2 `DashboardSpec`, at their zero values
(apps/dashboard/pkg/apis/dashboard/v2beta1/dashboard_spec_gen.go, v2alpha1 the same set);
`description`, `editable`, `liveNow`, `revision` are `omitempty`. `timeSettings` stands in for
its struct's zero value, `{}`."""
V2_SPEC_FIELDS = frozenset({*V2_SPEC_ZERO, "description", "editable", "layout", "liveNow", "revision"})


def _typed_v2(spec: dict[str, Any], version: str) -> dict[str, Any]:
    """A v2 spec as Grafana stores and answers it: decoded into the typed `DashboardSpec` and
    serialised again (dashboard_spec_gen.go). Unknown top-level keys are dropped (the struct
    has no field for them), non-`omitempty` fields come back at their zero value, a Panel
    element's spec gets `description: ""` and `links: []` (`DashboardPanelSpec`), and a missing
    layout is an empty GridLayout (pkg/registry/apis/dashboard/mutate.go `Mutate`, as
    grafana-apis.md §4 reports it). `preferences` is a field of v2 only (v2 dashboard_spec.cue)."""
    known = V2_SPEC_FIELDS | ({"preferences"} if version == "v2" else set())
    out = {**copy.deepcopy(V2_SPEC_ZERO), **{k: v for k, v in copy.deepcopy(spec).items() if k in known}}
    out.setdefault("layout", {"kind": "GridLayout", "spec": {"items": []}})
    elements = out.get("elements")
    for element in elements.values() if isinstance(elements, dict) else ():
        if (
            isinstance(element, dict)
            and element.get("kind") == "Panel"
            and isinstance(element.get("spec"), dict)
        ):
            element["spec"] = {"description": "", "links": [], **element["spec"]}
    return out


def _dashboards(
    standin: GrafanaStandIn,
    org: Org,
    version: str,
    namespace: str,
    method: str,
    name: str | None,
    body: bytes,
    login: str,
) -> Answer:
    from tests.grafana_standin import StoredDashboard

    if method == "GET" and name:
        stored = org.dashboards.get(name)
        if stored is None:
            return status(404, "NotFound", f'dashboards.{DASH} "{name}" not found', name)
        return 200, _object(standin, stored, version, namespace), {}
    if method == "DELETE" and name:
        if org.dashboards.pop(name, None) is None:
            return status(404, "NotFound", f'dashboards.{DASH} "{name}" not found', name)
        return (
            200,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {"name": name, "group": DASH, "kind": "dashboards"},
            },
            {},
        )
    try:
        obj = json.loads(body)
    except ValueError:
        return status(400, "BadRequest", "the body is not JSON")
    meta, spec = obj.get("metadata") or {}, obj.get("spec")
    if not isinstance(spec, dict):
        return status(400, "BadRequest", "spec is required")
    if not version.startswith("v2") and ("elements" in spec or "layout" in spec):
        return status(400, "BadRequest", "dashboard appears to be in v2 format")  # grafana#118665
    title = str(spec.get("title") or "").strip()
    if not title:
        return status(400, "BadRequest", "Dashboard title cannot be empty")
    refresh = spec.get("refresh")
    if not version.startswith("v2") and isinstance(refresh, str) and refresh:
        # /apis REFUSES what the legacy save raises: pkg/registry/apis/dashboard/register.go
        # `validateCreate` -> ValidateDashboardRefreshInterval error -> apierrors.NewBadRequest;
        # the reason is dashboards.ErrDashboardRefreshIntervalTooShort (pkg/services/dashboards/errors.go)
        wanted, floor = duration(refresh), duration(standin.min_refresh)
        if wanted is None:
            return status(400, "BadRequest", f'parsing refresh duration "{refresh}" failed: invalid duration')
        if floor is not None and wanted < floor:
            return status(400, "BadRequest", "Dashboard refresh interval is too low")
    annotations = dict(meta.get("annotations") or {})
    folder_uid = annotations.pop("grafana.app/folder", "")
    annotations.pop("grafana.app/message", None)
    if folder_uid and folder_uid not in org.folders:
        return status(
            404, "NotFound", f'folders.{FOLDER} "{folder_uid}" not found', folder_uid, FOLDER, "folders"
        )
    clean = {k: v for k, v in spec.items() if k not in ("id", "uid", "version")}
    clean["title"] = title
    schema = "v1" if not version.startswith("v2") else version
    if schema != "v1":
        clean = _typed_v2(clean, version)
    if method == "POST":
        uid = str(meta.get("name") or "")
        if meta.get("resourceVersion"):
            return status(
                400, "BadRequest", "resourceVersion should not be set on objects to be created", uid
            )
        if uid in org.dashboards:
            return status(409, "AlreadyExists", f'dashboards.{DASH} "{uid}" already exists', uid)
        now = standin._now()
        stored = StoredDashboard(next(standin._ids), uid, clean, 1, folder_uid, now, now, login, login)
        stored.labels, stored.annotations, stored.schema = dict(meta.get("labels") or {}), annotations, schema
        stored.resource_version = standin.next_rv()
        org.dashboards[uid] = stored
        return 201, _object(standin, stored, version, namespace), {}
    if method == "PUT" and name:
        stored = org.dashboards.get(name)
        if stored is None:
            return status(404, "NotFound", f'dashboards.{DASH} "{name}" not found', name)
        sent_rv = str(meta.get("resourceVersion") or "")
        if sent_rv and sent_rv != str(stored.resource_version):
            return status(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on dashboards.{DASH} "{name}": requested RV does not match current RV',
                name,
            )
        changed = clean != {k: v for k, v in stored.json.items() if k not in ("id", "uid", "version")}
        if changed or folder_uid != stored.folder_uid or schema != stored.schema:
            stored.version += 1  # generation: spec or folder changes only
            stored.updated_by = login
        stored.json, stored.folder_uid, stored.schema = clean, folder_uid, schema
        stored.labels, stored.annotations = dict(meta.get("labels") or {}), annotations
        stored.resource_version = standin.next_rv()
        return 200, _object(standin, stored, version, namespace), {}
    return status(405, "MethodNotAllowed", "not supported by the stand-in")


def _folders(
    standin: GrafanaStandIn,
    org: Org,
    version: str,
    namespace: str,
    method: str,
    name: str | None,
    sub: str | None,
    body: bytes,
) -> Answer:
    from tests.grafana_standin import MAX_FOLDER_DEPTH, StoredFolder

    def obj(folder: StoredFolder) -> dict[str, Any]:
        annotations = {"grafana.app/folder": folder.parent_uid} if folder.parent_uid else {}
        return {
            "kind": "Folder",
            "apiVersion": f"{FOLDER}/{version}",
            "metadata": {
                "name": folder.uid,
                "namespace": namespace,
                "generation": folder.version,
                "annotations": annotations,
            },
            "spec": {"title": folder.title},
        }

    if method == "GET" and name and sub is None:
        folder = org.folders.get(name)
        if folder is None:
            return status(404, "NotFound", f'folders.{FOLDER} "{name}" not found', name, FOLDER, "folders")
        return 200, obj(folder), {}
    if method == "DELETE" and name:
        if name not in org.folders:
            return status(404, "NotFound", f'folders.{FOLDER} "{name}" not found', name, FOLDER, "folders")
        # the guard's dashboard count reads the lagging index on unified storage
        # (validate.go `validateOnDelete` -> searcher.GetStats; Profile.lagging_counts)
        source = org.index if standin.profile.lagging_counts else org.dashboards
        inside = any(d.folder_uid == name for d in source.values()) or any(
            f.parent_uid == name for f in org.folders.values()
        )
        if standin.profile.lagging_counts:
            standin.catch_up_index(org)
        if inside:  # /apis refuses a non-empty folder (pkg/registry/apis/folders/validate.go)
            return status(
                400, "BadRequest", "Folder cannot be deleted: folder is not empty", name, FOLDER, "folders"
            )
        del org.folders[name]
        return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}, {}
    if method == "POST" and not name:
        meta, spec = json.loads(body).get("metadata") or {}, json.loads(body).get("spec") or {}
        uid, title = str(meta.get("name") or ""), str(spec.get("title") or "").strip()
        parent = str((meta.get("annotations") or {}).get("grafana.app/folder") or "")
        if uid in ("general", "sharedwithme") or not title:
            return status(400, "BadRequest", "invalid folder", uid, FOLDER, "folders")
        if uid in org.folders:
            return status(
                409, "AlreadyExists", f'folders.{FOLDER} "{uid}" already exists', uid, FOLDER, "folders"
            )
        if parent and parent not in org.folders:
            return status(400, "BadRequest", "parent folder does not exist", uid, FOLDER, "folders")
        if parent and len(standin._ancestors(org, org.folders[parent])) + 2 > MAX_FOLDER_DEPTH:
            return status(400, "BadRequest", "maximum folder depth reached", uid, FOLDER, "folders")
        folder = StoredFolder(next(standin._ids), uid, title, parent)
        org.folders[uid] = folder
        return 201, obj(folder), {}
    return status(405, "MethodNotAllowed", "not supported by the stand-in", name or "", FOLDER, "folders")
