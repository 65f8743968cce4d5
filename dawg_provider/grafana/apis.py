"""The `/apis` dialect's shapes: DAWG's dashboards as Kubernetes-style objects and back.

Why separate: the legacy and `/apis` dialects differ in shape, not in what DAWG
decides, so the client's parts convert here and keep one control flow
(`../shared/grafana-apis.md` §3):

- `metadata.name` is the dashboard uid; `metadata.generation` is the version DAWG
  records (it moves only when spec or folder change); `metadata.resourceVersion` is
  the compare-and-swap token sent on update (a stale one is a 409 Conflict).
- The folder is the `grafana.app/folder` annotation; the version message the
  `grafana.app/message` annotation (500 bytes).
- `spec.uid`, `spec.id` and `spec.version` are never sent (the server drops them).
- DAWG's ownership goes in labels as well as in tags (`ownership.labels`), and is read
  back from both (`ownership.disagreement`: tags and labels naming different owners,
  or only one of them naming one, mean no one owns the dashboard for sure), and,
  when asked, the provenance annotations that make the 13.x UI show the dashboard as
  managed (`grafana.app/managedBy`, `managerId`, `managerAllowsEdits`).
- A v1 read of a dashboard stored as v2 carries `status.conversion`
  (`dialect.stored_schema`): DAWG treats it as a v2 dashboard, never as its spec, and
  the client reads it again at its stored version (grafana-apis.md §10.3). A v2
  dashboard is carried as its spec with its `apiVersion` at the top (`v2.py`), and
  written at that version.

All functions here are pure.
"""

from __future__ import annotations

import re
from typing import Any

from . import ownership, v2
from .dialect import stored_schema
from .models import LiveDashboard
from .server import clip_message

FOLDER_ANNOTATION = "grafana.app/folder"
MESSAGE_ANNOTATION = "grafana.app/message"
MANAGED_BY = "grafana.app/managedBy"
MANAGER_ID = "grafana.app/managerId"
MANAGER_ALLOWS_EDITS = "grafana.app/managerAllowsEdits"
MANAGER_KIND = "dawg"
"""Not a kind Grafana knows (manager.go lists repo, terraform, kubectl, plugin, grafana): the
13.x UI shows it as "Provisioned" and read-only; the server enforces nothing for unknown kinds."""


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}


def live(obj: dict[str, Any], uid: str) -> LiveDashboard:
    """A LiveDashboard from a dashboard object."""
    metadata = meta(obj)
    annotations: dict[str, Any] = metadata.get("annotations") or {}
    spec: dict[str, Any] = obj.get("spec") or {}
    labels: Any = metadata.get("labels")
    if not isinstance(annotations, dict):
        annotations = {}
    if not isinstance(spec, dict):
        spec = {}
    updated_by = str(
        annotations.get("grafana.app/updatedBy") or annotations.get("grafana.app/createdBy") or ""
    )
    name = str(metadata.get("name") or uid)
    # The legacy API's JSON carries its uid; the same here, so a caller that saves what it
    # read back (a lease renewal, a release) names the dashboard on either dialect.
    dashboard = {**spec, "uid": name}
    read_at = str(obj.get("apiVersion") or "").rpartition("/")[2]
    schema = stored_schema(obj)
    if read_at.startswith("v2"):  # read at a v2 version: carried as DAWG carries v2 (`v2.carried`)
        dashboard, schema = v2.carried(dashboard, read_at), read_at
    return LiveDashboard(
        uid=name,
        dashboard=dashboard,
        version=int(metadata.get("generation") or 0),
        folder_uid=str(annotations.get(FOLDER_ANNOTATION) or ""),
        url=dashboard_url(str(metadata.get("name") or uid), str(spec.get("title") or "")),
        updated_by=updated_by.split(":", 1)[-1],
        provisioned=False,
        schema=schema,
        resource_version=str(metadata.get("resourceVersion") or ""),
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
    )


def dashboard_url(uid: str, title: str) -> str:
    """`/d/<uid>/<slug>` as the legacy API answers it (ASCII slug; `/d/<uid>` alone also works)."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower().replace("&", "and")).strip("-")
    return f"/d/{uid}/{slug}" if slug else f"/d/{uid}"


def dashboard_object(
    dashboard: dict[str, Any],
    api_version: str,
    folder_uid: str,
    message: str,
    resource_version: str = "",
    managed: bool = False,
    allow_edits: bool = True,
) -> dict[str, Any]:
    """The object POSTed or PUT for `dashboard` (which carries its `uid`)."""
    uid = str(dashboard.get("uid") or "")
    annotations: dict[str, str] = {}
    if folder_uid:
        annotations[FOLDER_ANNOTATION] = folder_uid
    if message:
        annotations[MESSAGE_ANNOTATION] = clip_message(message)
    owner = ownership.owner_of(dashboard)
    if managed and owner:
        annotations[MANAGED_BY] = MANAGER_KIND
        annotations[MANAGER_ID] = ownership.label_value(owner)
        if allow_edits:
            annotations[MANAGER_ALLOWS_EDITS] = "true"
    metadata: dict[str, Any] = {
        "name": uid,
        "annotations": annotations,
        "labels": ownership.labels(dashboard),
    }
    if resource_version:
        metadata["resourceVersion"] = resource_version
    spec = {key: value for key, value in dashboard.items() if key not in ("id", "uid", "version", v2.MARK)}
    return {
        "apiVersion": f"dashboard.grafana.app/{api_version}",
        "kind": "Dashboard",
        "metadata": metadata,
        "spec": spec,
    }


def folder_object(uid: str, title: str, parent_uid: str, api_version: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": uid}
    if parent_uid:
        metadata["annotations"] = {FOLDER_ANNOTATION: parent_uid}
    return {
        "apiVersion": f"folder.grafana.app/{api_version}",
        "kind": "Folder",
        "metadata": metadata,
        "spec": {"title": title},
    }
