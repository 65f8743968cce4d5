"""The stand-in's legacy dashboard API: POST /api/dashboards/db, GET/DELETE by uid, versions,
search, frontend settings. Each behaviour cites grafana-api.md or Grafana's source. Tests only."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.grafana_standin_store import (
    UID_RE,
    Org,
    StandInBase,
    StoredDashboard,
    duration,
    slugify,
)


class LegacyDashboards(StandInBase):
    """`/api/dashboards`, `/api/search` and `/api/frontend/settings`."""

    def _save(self, body: bytes, org: Org, login: str) -> tuple[int, Any, dict[str, str]]:
        try:
            command = json.loads(body)
        except ValueError:
            return 400, {"message": "bad request data"}, {}
        if not isinstance(command, dict) or not isinstance(command.get("dashboard"), dict):
            return 400, {"message": "bad request data"}, {}
        if command.get("isFolder"):
            return 400, {"message": "Use folders endpoint for saving folders."}, {}
        dashboard = copy.deepcopy(command["dashboard"])
        overwrite = bool(command.get("overwrite"))
        title = str(dashboard.get("title") or "").strip()
        uid = str(dashboard.get("uid") or "").strip()
        if not title:
            return 400, {"status": "empty-name", "message": "Dashboard title cannot be empty"}, {}
        if len(title.encode()) > 5000:  # Go len(): bytes (ValidateBasicDashboardProperties)
            return (
                400,
                {
                    "status": "title-too-long",
                    "message": "Dashboard title cannot contain more than 5 000 characters",
                },
                {},
            )
        if len(str(command.get("message") or "").encode()) > 500:
            return 400, {"message": "message too long, max 500 characters"}, {}
        if not UID_RE.match(uid):
            return 400, {"message": "uid contains illegal characters"}, {}
        if len(uid) > 40:
            return 400, {"message": "uid too long, max 40 characters"}, {}
        folder_uid = command.get("folderUid")
        folder_uid = "" if folder_uid is None else str(folder_uid)
        if folder_uid and folder_uid not in org.folders:
            return 400, {"message": "folder not found"}, {}
        dash_id = dashboard.get("id")
        existing: StoredDashboard | None = None
        if isinstance(dash_id, (int, float)) and dash_id > 0:
            by_id = next((d for d in org.dashboards.values() if d.id == dash_id), None)
            if by_id is None:
                return 404, {"status": "not-found", "message": "Dashboard not found"}, {}
            if uid and uid in org.dashboards and org.dashboards[uid].id != by_id.id:
                return 400, {"message": "A dashboard with the same uid already exists"}, {}
            existing = by_id
        elif uid and uid in org.dashboards:
            existing = org.dashboards[uid]
        if existing is not None and not overwrite:
            sent_version = dashboard.get("version") or 0
            if sent_version != existing.version:
                if self.profile.conflict_409:
                    return 409, {"message": "Dashboard already exists. Use overwrite flag to update."}, {}
                return (
                    412,
                    {
                        "status": "version-mismatch",
                        "message": "The dashboard has been changed by someone else",
                    },
                    {},
                )
        if self.profile.unique_titles:
            same = next(
                (
                    d
                    for d in org.dashboards.values()
                    if d.folder_uid == folder_uid
                    and d.json.get("title", "").lower() == title.lower()
                    and d is not existing
                ),
                None,
            )
            if same is not None:
                if not overwrite:
                    return (
                        412,
                        {
                            "status": "name-exists",
                            "message": "A dashboard with the same name in the folder already exists",
                        },
                        {},
                    )
                existing = same  # overwrite takes over THAT dashboard
                uid = same.uid
            if any(
                f.parent_uid == folder_uid and f.title.lower() == title.lower() for f in org.folders.values()
            ):
                return (
                    400,
                    {"status": "name-match", "message": "Dashboard name cannot be the same as folder"},
                    {},
                )
        if existing is not None and existing.provisioned:
            return 400, {"message": "Cannot save provisioned dashboard"}, {}
        refresh = dashboard.get("refresh")
        if isinstance(refresh, str) and refresh:
            wanted, floor = duration(refresh), duration(self.min_refresh)
            if floor is not None and (wanted is None or wanted < floor):
                # raised to the minimum, not refused, and so is an unparseable one (any error of
                # the check): pkg/services/dashboards/service/dashboard_service.go `SaveDashboard`
                # after `ValidateDashboardRefreshInterval`
                dashboard["refresh"] = self.min_refresh
        now = self._now()
        if existing is None:
            uid = uid or f"s{next(self._uids):08x}tand1n"
            stored = StoredDashboard(next(self._ids), uid, {}, 1, folder_uid, now, now, login, login)
            org.dashboards[uid] = stored
        else:
            stored = existing
            stored.version += 1
            stored.updated, stored.updated_by = now, login
            if stored.uid != uid and uid and existing.id == dash_id:
                del org.dashboards[stored.uid]
                stored.uid = uid
                org.dashboards[uid] = stored
        stored.folder_uid = folder_uid
        dashboard["id"], dashboard["uid"], dashboard["version"] = stored.id, stored.uid, stored.version
        dashboard["title"] = title
        stored.json = dashboard
        stored.schema = "v1"
        stored.resource_version = self.next_rv()
        if self.profile.apis:  # 12.x+ writes through the k8s client: labels and annotations reset
            stored.labels, stored.annotations = {}, {}  # (pkg/api/dashboard.go `saveDashboardViaK8s`)
        stored.history.append(self._history_row(stored, str(command.get("message") or "")))
        slug = slugify(title)
        return (
            200,
            {
                "id": stored.id,
                "uid": stored.uid,
                "url": f"{self.sub_path}/d/{stored.uid}/{slug}",
                "status": "success",
                "version": stored.version,
                "slug": slug,
                **({"folderUid": folder_uid} if self.profile.save_folder_uid else {}),
            },
            {},
        )

    def _get(self, org: Org, uid: str) -> tuple[int, Any, dict[str, str]]:
        stored = org.dashboards.get(uid)
        if stored is None:
            return 404, {"message": "Dashboard not found", "traceID": ""}, {}
        if stored.schema.startswith("v2") and not self.profile.conflict_409:
            # 12.x: a v2-stored dashboard is refused on the legacy GET (pkg/api/dashboard.go (12.x),
            # grafana-apis.md §9); 13.x answers a lossy down-conversion instead (below)
            ns = "default" if org is self.orgs.get(1) else "org-2"
            return (
                406,
                {
                    "message": "dashboard api version not supported, use "
                    f"/apis/dashboard.grafana.app/{stored.schema}/namespaces/{ns}/dashboards/{uid} instead"
                },
                {},
            )
        folder = org.folders.get(stored.folder_uid)
        slug = slugify(stored.json.get("title", ""))
        meta = {
            "type": "db",
            "canSave": True,
            "canEdit": True,
            "canAdmin": True,
            "canStar": True,
            "canDelete": True,
            "slug": slug,
            "url": f"{self.sub_path}/d/{uid}/{slug}",
            "expires": "0001-01-01T00:00:00Z",
            "created": stored.created,
            "updated": stored.updated,
            "updatedBy": stored.updated_by,
            "createdBy": stored.created_by,
            "version": stored.version,
            "hasAcl": False,
            "isFolder": False,
            "folderId": folder.id if folder else 0,
            "folderUid": stored.folder_uid,
            "folderTitle": folder.title if folder else "General",
            "folderUrl": f"{self.sub_path}/dashboards/f/{folder.uid}/{slugify(folder.title)}"
            if folder
            else "",
            "provisioned": stored.provisioned,
            "provisionedExternalId": "",
        }
        dashboard = {**copy.deepcopy(stored.json), "id": stored.id, "version": stored.version}
        if stored.schema.startswith("v2") and self.legacy_v2_marker:
            # 13.x GetDashboard copies the dashboard's APIVersion into meta (pkg/api/dashboard.go
            # `GetDashboard`: `APIVersion: dash.APIVersion`), the field 12.x's 406 branch tests for
            # "v2"; that 13.x still fills it with the stored version is UNCONFIRMED (switchable)
            meta["apiVersion"] = stored.schema
        if stored.schema.startswith("v2"):  # 13.x: a lossy v1 down-conversion (grafana-apis.md §9)
            dashboard = {
                "title": stored.json.get("title", ""),
                "tags": stored.json.get("tags", []),
                "panels": [],
            }
            dashboard.update({"uid": uid, "id": stored.id, "version": stored.version})
        return 200, {"dashboard": dashboard, "meta": meta}, {}

    def _delete(self, org: Org, uid: str) -> tuple[int, Any, dict[str, str]]:
        if uid in org.folders:
            return 400, {"message": "Use folders endpoint for deleting folders."}, {}
        stored = org.dashboards.get(uid)
        if stored is None:
            return 404, {"message": "Dashboard not found"}, {}
        if stored.provisioned:
            return 400, {"message": "provisioned dashboard cannot be deleted"}, {}
        del org.dashboards[uid]
        title = stored.json.get("title", "")
        body: dict[str, Any] = {"title": title, "message": f"Dashboard {title} deleted"}
        body.update({"id": stored.id} if self.profile.delete_returns_id else {"uid": uid})
        return 200, body, {}

    def _versions(self, org: Org, uid: str) -> tuple[int, Any, dict[str, str]]:
        stored = org.dashboards.get(uid)
        if stored is None:
            return 404, {"message": "Dashboard not found"}, {}
        rows = list(reversed(stored.history))
        if self.profile.versions_object:
            return 200, {"continueToken": "", "versions": rows}, {}
        return 200, rows, {}

    def _search(self, org: Org, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        try:
            limit = int(query.get("limit", ["1000"])[0])
            page = int(query.get("page", ["1"])[0])
        except ValueError:
            return 400, {"message": "bad request data"}, {}
        if limit > 5000:
            return (
                422,
                {
                    "message": "Limit is above maximum allowed (5000), use page parameter to access hits beyond limit"
                },
                {},
            )
        text = query.get("query", [""])[0].lower()
        tags = query.get("tag", [])
        kind = query.get("type", [None])[0]
        uids = set(query.get("dashboardUIDs", []) + query.get("dashboardUID", []))
        folders = set(query.get("folderUIDs", []))
        hits: list[dict[str, Any]] = []
        if kind in (None, "dash-folder") and not tags:
            for folder in org.folders.values():
                if (
                    text in folder.title.lower()
                    and (not folders or (folder.parent_uid or "general") in folders)
                    and not uids
                ):
                    hits.append(
                        {
                            "id": folder.id,
                            "uid": folder.uid,
                            "orgId": 1,
                            "title": folder.title,
                            "uri": f"db/{slugify(folder.title)}",
                            "url": f"{self.sub_path}/dashboards/f/{folder.uid}/{slugify(folder.title)}",
                            "slug": "",
                            "type": "dash-folder",
                            "tags": [],
                            "isStarred": False,
                            "sortMeta": 0,
                            "isDeleted": False,
                        }
                    )
        unified = self.profile.unified_search
        if kind in (None, "dash-db"):
            for stored in (org.index if unified else org.dashboards).values():
                title = stored.json.get("title", "")
                dash_tags = sorted(t for t in stored.json.get("tags") or [] if isinstance(t, str))
                tagged = any if unified else all  # unified: `tag` is an "in" requirement, ORed
                if text not in title.lower() or (tags and not tagged(t in dash_tags for t in tags)):
                    continue
                if uids and stored.uid not in uids:
                    continue
                if folders and (stored.folder_uid or "general") not in folders:
                    continue
                hit: dict[str, Any] = {
                    "id": stored.id,
                    "uid": stored.uid,
                    "orgId": 1,
                    "title": title,
                    "uri": f"db/{slugify(title)}",
                    "url": f"{self.sub_path}/d/{stored.uid}/{slugify(title)}",
                    "slug": "",
                    "type": "dash-db",
                    "tags": dash_tags,
                    "isStarred": False,
                    "sortMeta": 0,
                    "isDeleted": False,
                }
                holder = org.folders.get(stored.folder_uid)
                if holder is not None:
                    hit.update(
                        {
                            "folderId": holder.id,
                            "folderUid": holder.uid,
                            "folderTitle": holder.title,
                            "folderUrl": f"{self.sub_path}/dashboards/f/{holder.uid}/{slugify(holder.title)}",
                        }
                    )
                hits.append(hit)
        hits.sort(key=lambda h: (h["type"] != "dash-folder", h["title"].lower()))
        if unified:  # the index catches up after answering: no search-after-write guarantee
            self.catch_up_index(org)
        start = (page - 1) * limit
        return 200, hits[start : start + limit], {}
