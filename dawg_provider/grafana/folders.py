"""Folders through the legacy `/api/folders` API: find, create safely, delete only when empty.

What Grafana really does, and what DAWG does about it (`../shared/grafana-api.md`):

- Before 11.0 nested folders are off by default: `parentUid` is then ignored on
  create (the folder lands at the root) and on list (every folder comes back, flat)
  (pkg/api/folder.go `GetFolders`, folder service `Create`). DAWG checks support
  once (`ServerInfo.nested_folders`) and refuses a path of more than one level
  before writing anything; it also drops listed folders whose parent is not the one
  asked for, and checks that a created folder came back under the parent it asked
  for.
- From 11.3 titles are not unique under one parent (PR #90687): among same-titled
  folders DAWG prefers the uid it derives itself (`ownership.folder_uid`), so it
  never wanders into another team's folder of the same name when its own exists.
- A create is as safe as a dashboard save: after a timeout, a lost answer or a 5xx
  the folder is re-read by its uid, and 409 (or the 412 of 12.x unified storage)
  on that uid means it exists: it is read and used, but only if it has the title and
  the parent DAWG asked for. Anyone can pre-create a folder under DAWG's derived uid
  with another title; adopting it would put DAWG's dashboards in someone else's
  folder (and later delete it when empty), so a mismatch is refused.
- A folder is empty when `GET /api/folders/:uid/counts` says so (pkg/api/folder.go
  `GetFolderDescendantCounts`), never when search says so: a folder delete cascades
  to everything inside. On unified storage (12.x+) the counts come from the lagging
  search index too (folder_unifiedstorage.go `getDescendantCountsFromApiServer` ->
  `CountInFolders`), and so does the /apis delete guard (validate.go
  `validateOnDelete`); no non-lagging list by folder is known. So there DAWG keeps any
  folder this pass wrote into, and asks the counts twice, `FOLDER_SETTLE` seconds
  apart, deciding on the second (settled) answer: the first may miss a dashboard just
  moved in, or still show the one DAWG just deleted.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..errors import (
    DawgError,
    GrafanaConflict,
    GrafanaError,
    GrafanaInvalidRequest,
    GrafanaNotFound,
    GrafanaUnsupported,
)
from . import apis, ownership
from .models import Folder
from .responses import json_body
from .server import major_minor
from .transport import Attempt, Transport, log

FOLDERS_PATH = "/api/folders"
FOLDER_SETTLE = 2.0
"""Seconds between the two emptiness checks on unified storage (the index lag is UNCONFIRMED)."""


def pick(candidates: list[Folder], parent_uid: str, title: str) -> Folder | None:
    """The folder to use among same-titled children: DAWG's own uid first, else the first listed."""
    own = ownership.folder_uid(parent_uid, title)
    matching = [f for f in candidates if f.title.strip() == title and f.parent_uid == parent_uid]
    return next((f for f in matching if f.uid == own), matching[0] if matching else None)


class Folders(Transport):
    """The folder operations of the client."""

    def get_folder(self, uid: str) -> Folder | None:
        path = f"{FOLDERS_PATH}/{quote(uid, safe='')}"
        response = self._request("GET", path, f"folder {uid!r}", retry_500=True, allow=(404,))
        if response.status_code == 404:
            return None
        return Folder.from_row(json_body(response), uid=uid)

    def child_folders(self, parent_uid: str = "") -> list[Folder]:
        """Immediate children of `parent_uid` ("" = root), all pages, checked by their parent."""
        folders: list[Folder] = []
        page = 1
        while True:
            params: dict[str, str | int] = {"limit": 1000, "page": page}
            if parent_uid:
                params["parentUid"] = parent_uid
            what = f"folders under {parent_uid or 'root'!r}"
            rows = json_body(self._request("GET", FOLDERS_PATH, what, params=params, retry_500=True))
            for row in rows if isinstance(rows, list) else []:
                if not isinstance(row, dict) or row.get("uid") == "sharedwithme":  # 12.x's virtual entry
                    continue
                folder = Folder.from_row(row)
                if folder.parent_uid == parent_uid:  # with nested folders off, parentUid is ignored
                    folders.append(folder)
            if not isinstance(rows, list) or len(rows) < 1000:
                return folders
            page += 1

    def create_folder(self, title: str, *, uid: str = "", parent_uid: str = "") -> Folder:
        """Create a folder; when its uid already exists (or the create landed unseen), return that one."""
        body: dict[str, str] = {"title": title}
        if uid:
            body["uid"] = uid
        if parent_uid:
            body["parentUid"] = parent_uid
        what = f"folder {title!r}" + (f" ({uid})" if uid else "")
        self.health_state.wrote_into(uid)
        dialect = self.apis()
        path, payload = FOLDERS_PATH, body
        if dialect is not None and dialect.folder is not None and uid:  # folder.grafana.app
            path, payload = dialect.folders(), apis.folder_object(uid, title, parent_uid, dialect.folder)
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send("POST", path, what, json=payload)
                if response.status_code >= 500:
                    raise Attempt(f"HTTP {response.status_code}", response, None)
            except Attempt as failure:
                if uid and not failure.unsent:
                    landed = self._existing(uid)
                    if landed is not None:
                        log.info("Grafana create of folder %r: the answer was lost but it exists", uid)
                        return self._checked(landed, title, parent_uid, what)
                self._wait_or_give_up(failure, attempt, started, "POST", path, what)
                continue
            if response.status_code in (409, 412) and uid:
                # 409 "same uid already exists"; 412 on 12.x unified storage (grafana-api.md §4)
                existing = self._existing(uid)
                if existing is not None:
                    return self._checked(existing, title, parent_uid, what)
            if response.status_code not in (200, 201):
                raise self._error("POST", path, what, response)
            row = json_body(response)
            if path != FOLDERS_PATH:  # an /apis object: read it back as the legacy row shape
                metadata = apis.meta(row)
                notes = metadata.get("annotations") or {}
                row = {"uid": metadata.get("name"), "parentUid": notes.get(apis.FOLDER_ANNOTATION)}
            created = Folder.from_row(row, uid=uid, title=title)
            return self._checked(created, title, parent_uid, what)

    def _existing(self, uid: str) -> Folder | None:
        try:
            return self.get_folder(uid)
        except GrafanaError:
            return None

    def _checked(self, folder: Folder, title: str, parent_uid: str, what: str) -> Folder:
        """The folder, if it has `title` and sits under `parent_uid` (a Grafana without nested
        folders puts it at the root; someone else may hold the uid under another title)."""
        if folder.title.strip() != title.strip():
            raise GrafanaConflict(
                "POST",
                FOLDERS_PATH,
                what,
                None,
                f"folder uid {folder.uid!r} already exists with the title {folder.title!r}, not "
                f"{title!r}; DAWG will not put dashboards in a folder it did not create. "
                "Rename or delete that folder, or give the dashboard an explicit folder uid",
            )
        if folder.parent_uid != parent_uid:
            raise GrafanaUnsupported(
                "POST",
                FOLDERS_PATH,
                what,
                None,
                f"asked for it under folder {parent_uid!r} but Grafana put it under "
                f"{folder.parent_uid or 'the root'!r}: this Grafana has nested folders off "
                "(feature toggle nestedFolders, default on from 11.0)",
            )
        return folder

    def ensure_folder_path(self, titles: list[str], create: bool = True) -> Folder | None:
        """The folder at `titles` (e.g. ["Team A", "Services"]), creating missing levels.

        Existing folders are found by title under their parent (whoever made them,
        DAWG's own uid preferred); missing ones are created with DAWG's folder uid,
        which marks them as DAWG's. With `create=False` (dry runs) nothing is
        written: missing levels are returned with the uids DAWG would give them.
        Returns None for an empty path (the root). A path of more than one level on
        a Grafana without nested folders fails before anything is written.
        """
        path = "/".join(titles)
        clean = [title.strip() for title in titles]
        if any(not title for title in clean):
            raise DawgError(f"folder path {path!r} has an empty level")
        if len(clean) > 1:
            info = self.info()
            if info.nested_folders is False:
                raise GrafanaUnsupported(
                    "GET",
                    "/api/frontend/settings",
                    f"folder path {path!r}",
                    None,
                    f"the path has {len(clean)} levels but this Grafana ({info.version or 'version hidden'}) "
                    "has nested folders off (feature toggle nestedFolders, default on from 11.0); "
                    "use a single-level folder or turn nestedFolders on",
                )
        parent: Folder | None = None
        missing = False
        for title in clean:
            parent_uid = parent.uid if parent else ""
            found = None if missing else pick(self.child_folders(parent_uid), parent_uid, title)
            if found is None:
                uid = ownership.folder_uid(parent_uid, title)
                if create:
                    found = self.create_folder(title, uid=uid, parent_uid=parent_uid)
                else:
                    missing = True
                    found = Folder(uid, title, parent_uid)
            parent = found
        return parent

    def resolve_folder(self, uid: str, path: list[str], create: bool = True) -> str:
        """The folder uid for a spec's folder: an existing uid, or a title path ensured."""
        if uid:
            if self.get_folder(uid) is None:
                raise GrafanaNotFound(
                    "GET", f"{FOLDERS_PATH}/{uid}", f"folder {uid!r}", 404, "folder not found"
                )
            return uid
        folder = self.ensure_folder_path(path, create)
        return folder.uid if folder else ""

    def folder_counts(self, uid: str) -> dict[str, int] | None:
        """What a folder holds, by kind, subfolders included; None when Grafana cannot say."""
        path = f"{FOLDERS_PATH}/{quote(uid, safe='')}/counts"
        response = self._request("GET", path, f"contents of folder {uid!r}", retry_500=True, allow=(404,))
        body: Any = json_body(response)
        if response.status_code == 404 or not isinstance(body, dict):
            return None
        counts = body.get("counts") if isinstance(body.get("counts"), list) else None
        if counts is not None:  # the /apis DescendantCounts shape
            return {str(c.get("resource")): int(c.get("count") or 0) for c in counts if isinstance(c, dict)}
        return {str(key): int(value) for key, value in body.items() if isinstance(value, (int, float))}

    def delete_folder_if_owned_and_empty(self, uid: str) -> bool:
        """Delete a folder only if DAWG created it and its counts say it holds nothing at all.

        Grafana's folder delete cascades to everything inside; DAWG never relies on it.
        Returns True when deleted.
        """
        if not ownership.is_dawg_folder(uid):
            return False
        folder = self.get_folder(uid)
        if folder is None or ownership.folder_uid(folder.parent_uid, folder.title.strip()) != uid:
            return False  # the prefix alone proves nothing: someone may hold the uid under another title
        if self.health_state.written_into(uid):
            return False  # a dashboard went in during this pass; a lagging count may not show it yet
        empty = self._looks_empty(uid)
        if self._lagging_index():  # the first answer may miss a move-in or still show a delete
            self._sleep(FOLDER_SETTLE)
            empty = self._looks_empty(uid)  # decide on the later, settled answer
        if not empty:
            return False
        dialect = self.apis()
        path = f"{FOLDERS_PATH}/{quote(uid, safe='')}"
        if dialect is not None and dialect.folder is not None:
            path = f"{dialect.folders()}/{quote(uid, safe='')}"
        try:  # /apis refuses a folder that is not empty (400): one more guard against the cascade
            self._request("DELETE", path, f"folder {uid!r}", allow=(404,))
        except (GrafanaConflict, GrafanaInvalidRequest):
            return False
        return True

    def _looks_empty(self, uid: str) -> bool:
        counts = self.folder_counts(uid)
        return counts is not None and not any(counts.values())

    def _lagging_index(self) -> bool:
        """Unified storage (12.x+, or a version DAWG cannot see): counts read a lagging index."""
        release = major_minor(self.info().version)
        return release is None or release >= (12, 0)
