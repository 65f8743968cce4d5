"""The stand-in's legacy folder API: /api/folders (list, get, create, delete, counts).
Each behaviour cites grafana-api.md or Grafana's source. Tests only."""

from __future__ import annotations

import json
from typing import Any

from tests.grafana_standin_store import MAX_FOLDER_DEPTH, UID_RE, Org, StandInBase, StoredFolder, slugify


class LegacyFolders(StandInBase):
    """`/api/folders`."""

    def _folder_dto(self, org: Org, folder: StoredFolder) -> dict[str, Any]:
        dto: dict[str, Any] = {
            "id": folder.id,
            "uid": folder.uid,
            "title": folder.title,
            "url": f"{self.sub_path}/dashboards/f/{folder.uid}/{slugify(folder.title)}",
            "hasAcl": False,
            "canSave": True,
            "canEdit": True,
            "canAdmin": True,
            "canDelete": True,
            "createdBy": folder.created_by,
            "created": "2026-01-01T00:00:00Z",
            "updatedBy": folder.created_by,
            "updated": "2026-01-01T00:00:00Z",
            "version": folder.version,
        }
        if folder.parent_uid and self.profile.nested_folders:
            dto["parentUid"] = folder.parent_uid
            dto["parents"] = [{"uid": p.uid, "title": p.title} for p in self._ancestors(org, folder)]
        return dto

    def _list_folders(self, org: Org, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        parent = query.get("parentUid", [""])[0]
        limit = int(query.get("limit", ["1000"])[0])
        page = int(query.get("page", ["1"])[0])
        nested = self.profile.nested_folders  # off: every folder, flat, parentUid ignored
        children = sorted(
            (f for f in org.folders.values() if not nested or f.parent_uid == parent),
            key=lambda f: f.title.lower(),
        )
        rows = []
        for folder in children[(page - 1) * limit : page * limit]:
            row: dict[str, Any] = {"id": folder.id, "uid": folder.uid, "title": folder.title}
            if folder.parent_uid:
                row["parentUid"] = folder.parent_uid
            rows.append(row)
        return 200, rows, {}

    def _get_folder(self, org: Org, uid: str) -> tuple[int, Any, dict[str, str]]:
        folder = org.folders.get(uid)
        if folder is None:
            return 404, {"status": "not-found", "message": "folder not found"}, {}
        return 200, self._folder_dto(org, folder), {}

    def _create_folder(self, org: Org, body: bytes, login: str) -> tuple[int, Any, dict[str, str]]:
        try:
            command = json.loads(body)
        except ValueError:
            return 400, {"message": "bad request data"}, {}
        title = str(command.get("title") or "").strip()
        uid = str(command.get("uid") or "").strip()
        parent = str(command.get("parentUid") or "")
        if not title:
            return 400, {"message": "folder title cannot be empty"}, {}
        if uid == "general":
            return 400, {"message": "invalid uid for folder provided"}, {}
        if not UID_RE.match(uid):
            return 400, {"message": "uid contains illegal characters"}, {}
        if len(uid) > 40:
            return 400, {"message": "uid too long, max 40 characters"}, {}
        if uid and (uid in org.folders or uid in org.dashboards):
            if self.profile.folder_uid_412:
                return (
                    412,
                    {"status": "version-mismatch", "message": "the folder has been changed by someone else"},
                    {},
                )
            return 409, {"message": "a folder/dashboard with the same uid already exists"}, {}
        if not self.profile.nested_folders:
            parent = ""  # folder service `Create` ignores ParentUID with nestedFolders off
        if parent and parent not in org.folders:
            return 404, {"status": "not-found", "message": "folder not found"}, {}
        if parent and len(self._ancestors(org, org.folders[parent])) + 2 > MAX_FOLDER_DEPTH:
            return (
                400,
                {
                    "messageId": "folder.maximum-depth-reached",
                    "message": "Maximum nested folder depth reached",
                },
                {},
            )
        if self.profile.unique_titles and any(
            f.parent_uid == parent and f.title.lower() == title.lower() for f in org.folders.values()
        ):
            return 409, {"message": "a folder with the same name already exists in the current location"}, {}
        folder = StoredFolder(
            next(self._ids), uid or f"f{next(self._uids):08x}", title, parent, created_by=login
        )
        org.folders[folder.uid] = folder
        return 200, self._folder_dto(org, folder), {}

    def _folder_counts(self, org: Org, uid: str) -> tuple[int, Any, dict[str, str]]:
        """GET /api/folders/:uid/counts: descendants by kind, subfolders included
        (pkg/api/folder.go `GetFolderDescendantCounts`): from the database before 12, from the
        lagging search index on unified storage (`Profile.lagging_counts`)."""
        if uid not in org.folders:
            return 404, {"status": "not-found", "message": "folder not found"}, {}
        inside = self._descendants(org, uid)
        source = org.index if self.profile.lagging_counts else org.dashboards
        dashboards = sum(1 for d in source.values() if d.folder_uid in inside | {uid})
        if self.profile.lagging_counts:
            self.catch_up_index(org)
        return 200, {"folder": len(inside), "dashboard": dashboards, "librarypanel": 0, "alertrule": 0}, {}

    def _descendants(self, org: Org, uid: str) -> set[str]:
        found: set[str] = set()
        frontier = {uid}
        while frontier:
            frontier = {f.uid for f in org.folders.values() if f.parent_uid in frontier} - found
            found |= frontier
        return found

    def _frontend_settings(self) -> tuple[int, Any, dict[str, str]]:
        """The slice of FrontendSettingsDTO DAWG reads (pkg/api/dtos/frontend_settings.go):
        `minRefreshInterval`, `featureToggles` (enabled ones only) and `buildInfo.version`.
        `nestedFolders` is listed only where it is on AND still a toggle: it was removed in
        12.2 (PR #109212; packages/grafana-data/src/types/featureToggles.gen.ts @0030a961 has
        no such key, and its header says only enabled toggles are returned)."""
        if not self.frontend_settings:
            return 404, {"message": "Not found"}, {}
        listed = self.profile.nested_folders and self.profile.release < (12, 2)
        toggles = {"nestedFolders": True} if listed else {}
        return (
            200,
            {
                "minRefreshInterval": self.min_refresh,
                "featureToggles": toggles,
                "buildInfo": {"version": self.profile.version, "commit": "standin"},
            },
            {},
        )

    def _delete_folder(self, org: Org, uid: str) -> tuple[int, Any, dict[str, str]]:
        folder = org.folders.get(uid)
        if folder is None:
            return 404, {"status": "not-found", "message": "folder not found"}, {}
        doomed = {uid}
        changed = True
        while changed:  # the real API cascades to subfolders and their dashboards
            more = {f.uid for f in org.folders.values() if f.parent_uid in doomed} - doomed
            changed = bool(more)
            doomed |= more
        for dash_uid in [d.uid for d in org.dashboards.values() if d.folder_uid in doomed]:
            del org.dashboards[dash_uid]
        for folder_uid in doomed:
            del org.folders[folder_uid]
        return 200, {"message": "Folder deleted"}, {}
