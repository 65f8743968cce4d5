"""A Grafana HTTP API stand-in for the tests: NOT Grafana, and never shipped.

No Grafana server can be installed on our machines, so this serves the slice of the
legacy HTTP API that DAWG uses, reproducing `../shared/grafana-api.md`: the check
order of `POST /api/dashboards/db`, the status codes and bodies (412/409 conflicts,
`name-exists` up to 11.2, folder-not-found, uid rules), `GET/DELETE` by uid, search
with AND tags, query, type, folder and uid filters and paging (422 above 5000),
nested folders (depth limit, cascading delete), version history (array up to 11.5,
`{continueToken, versions}` from 11.6), health, and auth (Bearer tokens bound to an
org, basic auth, `X-Grafana-Org-Id`, 401 and 403 bodies).

What Grafana really does, from its source (grafana-api.md errata; each cited where
modelled): `refresh` under `min_refresh_interval` raised on save, titles trimmed and
limits counted in bytes, `/api/frontend/settings` (minimum, feature toggles), nested
folders off in 10.4 (`parentUid` ignored), folder counts, 412 on a taken folder uid
from 12.x, no `folderUid` in 10.x save answers, and 13.x's unified search (tags ORed,
an index one search behind the writes).

12.0 and 13.0 also serve `/apis` (`tests/grafana_standin_apis.py`, same store): the
dashboard versions of each (12.0: v1beta1, v2alpha1, v2beta1; 13.0: v1, v2 preferred),
folder.grafana.app, resourceVersion conflicts, generation, labels, v2-stored
dashboards (`ui_save_as_v2`: 406 on the 12.x legacy GET, a lossy 200 on 13.x,
`status.conversion` on /apis), and a legacy save resetting labels and annotations.

Behaviour profiles switch between Grafana versions (10.4, 11.2, 11.5, 12.0, 13.0;
"newest" is 13.0), and faults can be injected per
request pattern: 5xx, 429 with Retry-After, latency, connection reset, and "the
write was applied but the response was lost". It has its own tests
(`test_grafana_standin.py`) that assert the spec's codes and bodies with plain
`requests`, so it cannot drift into agreeing with whatever the client does.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import dataclasses
import itertools
import json
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass(frozen=True)
class Profile:
    """The version-dependent behaviour of one Grafana release line."""

    version: str
    unique_titles: bool  # <= 11.2: name-exists / name-match
    delete_returns_id: bool  # <= 10.x
    versions_object: bool  # >= 11.6: {continueToken, versions}
    conflict_409: bool  # 13.x: 409 "Dashboard already exists..." instead of 412
    nested_folders: bool = True
    """Toggle `nestedFolders`, default on from 11.0 (PR #84631). Off: `parentUid` is ignored on
    create and list (pkg/api/folder.go `GetFolders`; folder service `Create`; grafana-api.md errata)."""
    save_folder_uid: bool = True
    """The save answer carries `folderUid`; the 10.x line answers without it (grafana-api.md errata)."""
    folder_uid_412: bool = False
    """12.x+: a folder create on a taken uid answers 412 version-mismatch, unified storage's
    AlreadyExists mapped (pkg/services/folder/folderimpl/folder_unifiedstorage.go; grafana-api.md §4)."""
    unified_search: bool = False
    apis: tuple[str, ...] = ()
    """dashboard.grafana.app versions served, preferred first (register.go `GetGroupVersions`,
    grafana-apis.md §0); empty before 12: no /apis for dashboards."""
    folder_apis: tuple[str, ...] = ()
    """13.x: search served by the unified index: repeated `tag` filters are ORed
    (pkg/storage/unified/search `anyRequirementValueQuery`) and the index lags writes."""


PROFILES = {
    "10.4": Profile("10.4.3", True, True, False, False, nested_folders=False, save_folder_uid=False),
    "11.2": Profile("11.2.0", True, False, False, False),
    "11.5": Profile("11.5.1", False, False, False, False),
    "12.0": Profile(
        "12.0.0",
        False,
        False,
        True,
        False,
        folder_uid_412=True,
        apis=("v1beta1", "v0alpha1", "v2alpha1", "v2beta1"),
        folder_apis=("v1beta1",),
    ),
    "13.0": Profile(
        "13.0.1",
        False,
        False,
        True,
        True,
        folder_uid_412=True,
        unified_search=True,
        apis=("v2", "v1", "v1beta1", "v0alpha1", "v2alpha1", "v2beta1"),
        folder_apis=("v1", "v1beta1"),
    ),
}
PROFILES["newest"] = PROFILES["13.0"]


class FaultKind(Enum):
    STATUS = "status"  # answer with `status` and `body` instead of handling
    RETRY_AFTER = "retry-after"  # 429 with a Retry-After header
    LATENCY = "latency"  # sleep `delay` seconds, then handle normally
    RESET = "reset"  # close the connection without answering
    APPLIED_LOST = "applied-lost"  # handle (the write lands), then close without answering
    APPLIED_500 = "applied-500"  # handle, then answer 500 "database is locked"


@dataclass
class Fault:
    kind: FaultKind
    method: str | None = None
    path: str = ".*"
    times: int = 1
    status: int = 500
    body: dict[str, Any] = field(default_factory=lambda: {"message": "Failed to save dashboard"})
    delay: float = 0.0
    retry_after: str = "1"
    probability: float = 1.0
    """Below 1: the fault strikes that share of matching requests (seeded, repeatable)."""
    seed: int = 7

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def matches(self, method: str, path: str) -> bool:
        if (self.method is not None and self.method != method) or re.search(self.path, path) is None:
            return False
        return self.probability >= 1.0 or self._random.random() < self.probability


@dataclass
class StoredDashboard:
    id: int
    uid: str
    json: dict[str, Any]
    version: int
    folder_uid: str
    created: str
    updated: str
    created_by: str
    updated_by: str
    provisioned: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    schema: str = "v1"
    """The version it is stored as: "v1" (classic JSON) or a v2 version after a UI save as v2."""
    resource_version: int = 0


@dataclass
class StoredFolder:
    id: int
    uid: str
    title: str
    parent_uid: str
    version: int = 1
    created_by: str = "admin"


@dataclass(frozen=True)
class Identity:
    org: int
    role: str
    login: str


@dataclass
class Org:
    dashboards: dict[str, StoredDashboard] = field(default_factory=dict)
    folders: dict[str, StoredFolder] = field(default_factory=dict)
    index: dict[str, StoredDashboard] = field(default_factory=dict)
    """The unified search index: a snapshot taken after each search, so it lags one search behind."""


_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w|M|y)$")
_UNIT_SECONDS = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
    "M": 2592000,
    "y": 31536000,
}


def duration(text: str) -> float | None:
    """gtime.ParseDuration's units (grafana-plugin-sdk-go backend/gtime), as seconds."""
    match = _DURATION.match(text)
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)] if match else None


def slugify(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower().replace("&", "and")).strip("-")
    return slug or base64.urlsafe_b64encode(title.encode()).decode().rstrip("=")


UNAUTHORIZED = {"statusCode": 401, "messageId": "auth.unauthorized", "message": "Unauthorized"}
INVALID_KEY = {"statusCode": 401, "messageId": "api-key.invalid", "message": "Invalid API key"}
ORG_MISMATCH = {
    "statusCode": 401,
    "messageId": "api-key.organization-mismatch",
    "message": "API key does not belong to the requested organization",
}
UID_RE = re.compile(r"^[a-zA-Z0-9\-_]*$")
MAX_FOLDER_DEPTH = 4


class GrafanaStandIn:
    """The stand-in server. Start it, point a client at `url`, inspect `requests`."""

    def __init__(
        self,
        profile: str = "12.0",
        tokens: dict[str, tuple[int, str]] | None = None,
        users: dict[tuple[str, str], dict[int, str]] | None = None,
        sub_path: str = "",
    ) -> None:
        self.profile = PROFILES[profile]
        self.min_refresh = "5s"  # [dashboards] min_refresh_interval, default 5s (conf/defaults.ini)
        self.frontend_settings = True
        self.hide_version = False
        """False: /api/frontend/settings answers 404 (e.g. blocked by a proxy), so a client must learn."""
        self.sub_path = sub_path.rstrip("/")
        self.tokens = tokens if tokens is not None else {"glsa_admin_token": (1, "Admin")}
        self.users = users if users is not None else {("admin", "admin"): {1: "Admin", 2: "Admin"}}
        self.orgs: dict[int, Org] = {1: Org(), 2: Org()}
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.RLock()
        self._ids = itertools.count(1)
        self._uids = itertools.count(1)
        self._clock = itertools.count(1)
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> GrafanaStandIn:
        standin = self

        class Handler(_Handler):
            owner = standin

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.sub_path}"

    # -- test controls ----------------------------------------------------------------

    def inject(self, fault: Fault) -> Fault:
        with self.lock:
            self.faults.append(fault)
        return fault

    def count(self, method: str | None = None, path: str = ".*") -> int:
        with self.lock:
            return sum(1 for m, p in self.requests if (method is None or m == method) and re.search(path, p))

    def reset_counts(self) -> None:
        with self.lock:
            self.requests.clear()

    def ui_edit(self, uid: str, change: dict[str, Any], user: str = "alice", org: int = 1) -> int:
        """Simulate an edit in the Grafana UI: merge `change`, bump the version, record who."""
        with self.lock:
            stored = self.orgs[org].dashboards[uid]
            stored.json = {**stored.json, **change}
            stored.version += 1
            stored.updated_by = user
            stored.updated = self._now()
            stored.history.append(self._history_row(stored, "edited in the UI"))
            stored.resource_version = self.next_rv()
            return stored.version

    def ui_save_as_v2(self, uid: str, user: str = "alice", org: int = 1) -> None:
        """Simulate the 13.x UI (dynamic dashboards on) saving a dashboard as schema v2."""
        with self.lock:
            stored = self.orgs[org].dashboards[uid]
            version = "v2" if "v2" in self.profile.apis else "v2beta1"
            old = stored.json
            stored.json = {
                "title": old.get("title", ""),
                "tags": old.get("tags", []),
                "elements": {"panel-1": {"kind": "Panel", "spec": {"title": "edited in the UI"}}},
                "layout": {"kind": "GridLayout", "spec": {"items": []}},
            }
            stored.schema = version
            stored.version += 1
            stored.updated_by = user
            stored.resource_version = self.next_rv()

    def next_rv(self) -> int:
        self._rv = getattr(self, "_rv", 1_700_000_000_000_000) + 1
        return self._rv

    def dashboard(self, uid: str, org: int = 1) -> StoredDashboard | None:
        with self.lock:
            return self.orgs[org].dashboards.get(uid)

    def _now(self) -> str:
        return f"2026-01-01T00:{next(self._clock) // 60 % 60:02d}:{next(self._clock) % 60:02d}Z"

    def _history_row(self, stored: StoredDashboard, message: str) -> dict[str, Any]:
        parent = stored.history[-1]["version"] if stored.history else 0
        if parent == 0:
            message = "Initial save"
        return {
            "id": len(stored.history) + 1,
            "dashboardId": stored.id,
            "uid": stored.uid,
            "parentVersion": parent,
            "restoredFrom": 0,
            "version": stored.version,
            "created": stored.updated,
            "createdBy": stored.updated_by,
            "message": message,
        }

    # -- the API -----------------------------------------------------------------------

    def handle(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        parsed = urlparse(url)
        path, query = parsed.path, parse_qs(parsed.query)
        if self.sub_path:  # Grafana served under a sub-path (root_url with serve_from_sub_path)
            if not path.startswith(self.sub_path + "/"):
                return 404, {"message": "Not found"}, {}
            path = path[len(self.sub_path) :]
        if path in ("/api/health", "/healthz"):
            if path == "/healthz":
                return 200, "Ok", {}
            if self.hide_version:  # [auth.anonymous] hide_version (pkg/api/health.go, grafana-apis.md §1)
                return 200, {"database": "ok"}, {}
            return 200, {"database": "ok", "version": self.profile.version, "commit": "standin"}, {}
        auth = self._authenticate(headers)
        if not isinstance(auth, Identity):
            return auth[0], auth[1], {}
        org_id, role, login = auth.org, auth.role, auth.login
        org = self.orgs.setdefault(org_id, Org())
        writes = method in ("POST", "PUT", "DELETE")
        if writes and role == "Viewer":
            permission = "dashboards:create" if "dashboards" in path else "folders:create"
            return (
                403,
                {
                    "title": "Access denied",
                    "message": f"You'll need additional permissions to perform this action. Permissions needed: {permission}",
                    "accessErrorId": "ACE0123456789",
                },
                {},
            )
        with self.lock:
            return self._route(method, path, query, body, org, login)

    def _authenticate(self, headers: dict[str, str]) -> Identity | tuple[int, dict[str, Any]]:
        header = headers.get("authorization", "")
        org_header = headers.get("x-grafana-org-id")
        if header.startswith("Bearer "):
            token = header[7:]
            if token not in self.tokens:
                return 401, INVALID_KEY
            org, role = self.tokens[token]
            if org_header is not None and org_header != str(org):
                return 401, ORG_MISMATCH
            return Identity(org, role, "sa-dawg")
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return 401, UNAUTHORIZED
            memberships = self.users.get((user, password))
            if memberships is None:
                return 401, UNAUTHORIZED
            org = int(org_header) if org_header and org_header.isdigit() else min(memberships)
            if org not in memberships:
                return 401, UNAUTHORIZED
            return Identity(org, memberships[org], user)
        return 401, UNAUTHORIZED

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes, org: Org, login: str
    ) -> tuple[int, Any, dict[str, str]]:
        if path == "/apis" or path.startswith("/apis/"):
            from tests.grafana_standin_apis import route

            caller = next(number for number, held in self.orgs.items() if held is org)
            return route(self, method, path, body, login, caller)
        if path == "/api/dashboards/db" and method == "POST":
            return self._save(body, org, login)
        if path == "/api/frontend/settings" and method == "GET":
            return self._frontend_settings()
        if path == "/api/org" and method == "GET":  # pkg/api/org.go `GetCurrentOrg`
            number = next(n for n, held in self.orgs.items() if held is org)
            return 200, {"id": number, "name": "Main Org." if number == 1 else f"Org {number}"}, {}
        match = re.fullmatch(r"/api/folders/([^/]+)/counts", path)
        if match and method == "GET":
            return self._folder_counts(org, match.group(1))
        match = re.fullmatch(r"/api/dashboards/uid/([^/]+)", path)
        if match and method == "GET":
            return self._get(org, match.group(1))
        if match and method == "DELETE":
            return self._delete(org, match.group(1))
        match = re.fullmatch(r"/api/dashboards/uid/([^/]+)/versions", path)
        if match and method == "GET":
            return self._versions(org, match.group(1))
        if path == "/api/search" and method == "GET":
            return self._search(org, query)
        if path == "/api/folders" and method == "GET":
            return self._list_folders(org, query)
        if path == "/api/folders" and method == "POST":
            return self._create_folder(org, body, login)
        match = re.fullmatch(r"/api/folders/([^/]+)", path)
        if match and method == "GET":
            return self._get_folder(org, match.group(1))
        if match and method == "DELETE":
            return self._delete_folder(org, match.group(1))
        return 404, {"message": "Not found"}, {}

    # dashboards

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
            if wanted is not None and floor is not None and wanted < floor:
                # raised to the minimum, not refused: pkg/services/dashboards/service/
                # dashboard_service.go `SaveDashboard` after `validateDashboardRefreshInterval`
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
            org.index = {uid: dataclasses.replace(d) for uid, d in org.dashboards.items()}
        start = (page - 1) * limit
        return 200, hits[start : start + limit], {}

    # folders

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

    def _ancestors(self, org: Org, folder: StoredFolder) -> list[StoredFolder]:
        chain: list[StoredFolder] = []
        parent = org.folders.get(folder.parent_uid)
        while parent is not None:
            chain.insert(0, parent)
            parent = org.folders.get(parent.parent_uid)
        return chain

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
        """GET /api/folders/:uid/counts: descendants by kind, subfolders included, read from the
        database, not the search index (pkg/api/folder.go `GetFolderDescendantCounts`)."""
        if uid not in org.folders:
            return 404, {"status": "not-found", "message": "folder not found"}, {}
        inside = self._descendants(org, uid)
        dashboards = sum(1 for d in org.dashboards.values() if d.folder_uid in inside | {uid})
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
        `minRefreshInterval`, `featureToggles` (enabled ones only) and `buildInfo.version`."""
        if not self.frontend_settings:
            return 404, {"message": "Not found"}, {}
        toggles = {"nestedFolders": True} if self.profile.nested_folders else {}
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


class _Handler(BaseHTTPRequestHandler):
    owner: GrafanaStandIn
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stalls

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlparse(self.path).path
        standin = self.owner
        with standin.lock:
            standin.requests.append((method, path))
            fault = next((f for f in standin.faults if f.times > 0 and f.matches(method, path)), None)
            if fault is not None:
                fault.times -= 1
        headers = {k.lower(): v for k, v in self.headers.items()}
        if fault is not None:
            if fault.kind is FaultKind.LATENCY:
                time.sleep(fault.delay)
            elif fault.kind is FaultKind.RESET:
                self._drop()
                return
            elif fault.kind is FaultKind.STATUS:
                self._answer(fault.status, fault.body, {})
                return
            elif fault.kind is FaultKind.RETRY_AFTER:
                self._answer(429, {"message": "Too many requests"}, {"Retry-After": fault.retry_after})
                return
        status, payload, extra = standin.handle(method, self.path, headers, body)
        if fault is not None and fault.kind is FaultKind.APPLIED_LOST:
            self._drop()
            return
        if fault is not None and fault.kind is FaultKind.APPLIED_500:
            self._answer(500, {"message": "Failed to save dashboard", "traceID": ""}, {})
            return
        self._answer(status, payload, extra)

    def _answer(self, status: int, payload: Any, extra: dict[str, str]) -> None:
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        try:
            self._send_head(status, payload, extra, len(data))
        except (BrokenPipeError, ConnectionResetError):
            return
        if self.command != "HEAD":
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                self.wfile.write(data)

    def _send_head(self, status: int, payload: Any, extra: dict[str, str], length: int) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if isinstance(payload, str) else "application/json")
        self.send_header("Content-Length", str(length))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")


def main() -> None:
    """Serve the stand-in in its own process (the benchmark does, to keep the GIL apart)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="Run the Grafana stand-in (tests only).")
    parser.add_argument("--profile", default="12.0", choices=sorted(PROFILES))
    parser.add_argument("--token", default="glsa_admin_token")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--hang-share", type=float, default=0.0, help="share of requests that hang")
    parser.add_argument("--hang", type=float, default=60.0, help="seconds a hanging request hangs")
    args = parser.parse_args()
    server = GrafanaStandIn(args.profile, tokens={args.token: (1, "Admin")}).start()
    if args.hang_share:  # first, so it is the fault that matches (one fault per request)
        server.inject(Fault(FaultKind.LATENCY, times=10**9, delay=args.hang, probability=args.hang_share))
    if args.latency:
        server.inject(Fault(FaultKind.LATENCY, times=10**9, delay=args.latency))
    print(server.url, flush=True)
    try:
        sys.stdin.read()  # serve until the parent closes our stdin
    finally:
        server.stop()


if __name__ == "__main__":
    main()
