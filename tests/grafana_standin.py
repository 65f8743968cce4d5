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
dashboard versions of each (12.0: v1beta1, v0alpha1, v2alpha1; 13.0: v2 preferred, v1, v2beta1, ...),
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
import itertools
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.grafana_standin_folders import LegacyFolders
from tests.grafana_standin_legacy import LegacyDashboards
from tests.grafana_standin_store import (
    INVALID_KEY,
    MAX_FOLDER_DEPTH,
    ORG_MISMATCH,
    PROFILES,
    UNAUTHORIZED,
    Fault,
    FaultKind,
    Identity,
    Org,
    Profile,
    StoredDashboard,
    StoredFolder,
    duration,
    slugify,
)

__all__ = [
    "MAX_FOLDER_DEPTH",
    "PROFILES",
    "Fault",
    "FaultKind",
    "GrafanaStandIn",
    "Org",
    "Profile",
    "StoredDashboard",
    "StoredFolder",
    "duration",
    "slugify",
]


class GrafanaStandIn(LegacyDashboards, LegacyFolders):
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
        """False: /api/frontend/settings answers 404 (e.g. blocked by a proxy), so a client must learn."""
        self.hide_version = False
        self.legacy_v2_marker = True
        """13.x legacy GET of a v2-stored dashboard: `meta.apiVersion` names the stored v2 version
        (True) or says nothing of it (False); which one 13.x does is UNCONFIRMED."""
        """True: /api/health without `version`, as with `[auth.anonymous] hide_version`."""
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
            version = next(v for v in ("v2", "v2beta1", "v2alpha1") if v in self.profile.apis)
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

    def dashboard(self, uid: str, org: int = 1) -> StoredDashboard | None:
        with self.lock:
            return self.orgs[org].dashboards.get(uid)

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
