"""A Grafana HTTP API client that survives real Grafanas (10.x to 12.x and newer).

One `requests.Session` per connection. What it does about Grafana's sharp edges
(`../shared/grafana-api.md`):

- Retries 429, 502, 503, 504 and connection errors with exponential backoff and
  full jitter, honouring `Retry-After` (seconds or HTTP date), within a cap on
  attempts and on total time. 400/401/403/404/422 are never retried.
- Never blindly retries a write: after a timeout, a lost connection or a 5xx on a
  save, it re-reads the dashboard first, because SQLite "database is locked" 500s
  and dropped responses often hide a write that landed; only if it did not land is
  the save sent again.
- 409 and 412 are conflicts, surfaced with Grafana's status word
  (`version-mismatch`, `name-exists`, ...), never retried.
- Always sends `folderUid` on save (omitting it moves a dashboard to the root).
- Search pages are never over 5000 (Grafana answers 422 above).
- Accepts both shapes of the versions list (array up to 11.5, object from 11.6).

Errors name the method, the path, the dashboard or folder, and Grafana's own
message; never the token. Pass `session=` to swap the transport in tests.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import requests

from ..errors import (
    DawgError,
    GrafanaConflict,
    GrafanaError,
    GrafanaForbidden,
    GrafanaInvalidRequest,
    GrafanaNotFound,
    GrafanaServerError,
    GrafanaUnauthorized,
    GrafanaUnreachable,
)
from . import ownership
from .canonical import content_hash
from .models import Folder, GrafanaConnection, Health, LiveDashboard, SaveResult, SearchHit
from .responses import connection_reason, grafana_message, json_body, retry_after

log = logging.getLogger("dawg.grafana")

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_SEARCH_PAGE = 5000


class _Attempt(Exception):
    """A retryable failure inside `_send`; carries the wait Grafana asked for."""

    def __init__(self, reason: str, response: requests.Response | None, retry_after: float | None) -> None:
        self.reason = reason
        self.response = response
        self.retry_after = retry_after
        super().__init__(reason)


class GrafanaClient:
    """Operations on one Grafana (and one org); thread-safe for concurrent calls."""

    def __init__(
        self,
        connection: GrafanaConnection,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connection = connection
        self.session = session or requests.Session()
        self.session.headers.update(self._headers())
        self.session.verify = connection.ca_bundle or connection.verify_tls
        self._sleep = sleep
        self._clock = clock
        self.requests = 0

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "dawg"}
        if self.connection.token:
            headers["Authorization"] = f"Bearer {self.connection.token}"
        if self.connection.org_id is not None:
            headers["X-Grafana-Org-Id"] = str(self.connection.org_id)
        return headers

    # -- the request loop ------------------------------------------------------------

    def _send(self, method: str, path: str, *, params: Any = None, json: Any = None) -> requests.Response:
        """One HTTP exchange; raises `_Attempt` for what may be retried."""
        auth = None
        if self.connection.username and not self.connection.token:
            auth = (self.connection.username, self.connection.password or "")
        self.requests += 1
        try:
            response = self.session.request(
                method,
                self.connection.base + path,
                params=params,
                json=json,
                auth=auth,
                timeout=self.connection.timeout,
            )
        except requests.Timeout:
            raise _Attempt("timed out", None, None) from None
        except requests.ConnectionError as error:
            raise _Attempt(connection_reason(error), None, None) from None
        if response.status_code in RETRY_STATUSES:
            raise _Attempt(f"HTTP {response.status_code}", response, retry_after(response))
        return response

    def _request(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Any = None,
        json: Any = None,
        retry_500: bool = False,
        ok: tuple[int, ...] = (200,),
        allow: tuple[int, ...] = (),
    ) -> requests.Response:
        """Send with retries for idempotent requests; translate failures into typed errors."""
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send(method, path, params=params, json=json)
                if retry_500 and response.status_code == 500:
                    raise _Attempt("HTTP 500", response, None)
            except _Attempt as failure:
                self._wait_or_give_up(failure, attempt, started, method, path, what)
                continue
            if response.status_code in ok or response.status_code in allow:
                return response
            raise self._error(method, path, what, response)

    def _wait_or_give_up(
        self, failure: _Attempt, attempt: int, started: float, method: str, path: str, what: str
    ) -> None:
        """Sleep before the next attempt, or raise when the attempts or the time budget are spent."""
        policy = self.connection.retry
        delay = self._backoff(attempt, failure.retry_after)
        if attempt >= policy.attempts or self._clock() - started + delay > policy.total:
            if failure.response is not None:
                raise self._error(method, path, what, failure.response) from None
            reason = f"{failure.reason} (after {attempt} attempts)"
            raise GrafanaUnreachable(method, path, what, None, reason) from None
        log.info("Grafana %s %s (%s): %s; retrying in %.1fs", method, path, what, failure.reason, delay)
        self._sleep(delay)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        policy = self.connection.retry
        if retry_after is not None:  # Grafana's (or its proxy's) word; the total cap still applies
            return max(retry_after, 0.0)
        ceiling = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)

    def _error(self, method: str, path: str, what: str, response: requests.Response) -> GrafanaError:
        status = response.status_code
        message, word = grafana_message(response)
        kind: type[GrafanaError]
        if status == 401:
            kind = GrafanaUnauthorized
        elif status == 403:
            kind = GrafanaForbidden
        elif status == 404:
            kind = GrafanaNotFound
        elif status in (409, 412):
            kind = GrafanaConflict
        elif status in (400, 422):
            kind = GrafanaInvalidRequest
        elif status >= 500 or status in RETRY_STATUSES:
            kind = GrafanaServerError
        else:
            kind = GrafanaError
        return kind(method, path, what, status, message, word)

    # -- health ------------------------------------------------------------------------

    def health(self) -> Health:
        response = self._request("GET", "/api/health", "health check", retry_500=True, allow=(503,))
        body = json_body(response)
        return Health(str(body.get("database", "unknown")), body.get("version"), body.get("commit"))

    # -- dashboards --------------------------------------------------------------------

    def get_dashboard(self, uid: str) -> LiveDashboard | None:
        """The dashboard with `uid`, or None when Grafana has none."""
        path = f"/api/dashboards/uid/{quote(uid, safe='')}"
        response = self._request("GET", path, f"dashboard {uid!r}", retry_500=True, allow=(404,))
        if response.status_code == 404:
            return None
        body = json_body(response)
        meta = body.get("meta") or {}
        dashboard = body.get("dashboard") or {}
        return LiveDashboard(
            uid=uid,
            dashboard=dashboard,
            version=int(meta.get("version", dashboard.get("version", 0)) or 0),
            folder_uid=str(meta.get("folderUid") or ""),
            url=str(meta.get("url") or f"/d/{uid}"),
            updated_by=str(meta.get("updatedBy") or ""),
            provisioned=bool(meta.get("provisioned")),
        )

    def save_dashboard(
        self,
        dashboard: dict[str, Any],
        *,
        folder_uid: str = "",
        message: str = "",
        overwrite: bool = False,
    ) -> SaveResult:
        """Create or update `dashboard` (its `uid` decides which) in `folder_uid` ("" = root).

        A timeout, a dropped connection or a 5xx is followed by a re-read: when the
        dashboard is there with this content, the save landed and is reported as such.
        """
        uid = str(dashboard.get("uid") or "")
        what = (
            f"dashboard {uid!r} ({dashboard.get('title', '')!r})"
            if uid
            else f"dashboard {dashboard.get('title')!r}"
        )
        body = {
            "dashboard": dashboard,
            "folderUid": folder_uid,
            "message": message[:500],
            "overwrite": overwrite,
        }
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send("POST", "/api/dashboards/db", json=body)
                if response.status_code >= 500:
                    raise _Attempt(f"HTTP {response.status_code}", response, None)
            except _Attempt as failure:
                unsent = failure.response is not None and failure.response.status_code == 429
                if not unsent and uid:
                    landed = self._landed(uid, dashboard, folder_uid)
                    if landed is not None:
                        return landed
                self._wait_or_give_up(failure, attempt, started, "POST", "/api/dashboards/db", what)
                continue
            if response.status_code != 200:
                raise self._error("POST", "/api/dashboards/db", what, response)
            result = json_body(response)
            return SaveResult(
                uid=str(result.get("uid", uid)),
                url=str(result.get("url", "")),
                version=int(result.get("version", 0)),
                folder_uid=str(result.get("folderUid", folder_uid) or ""),
            )

    def _landed(self, uid: str, dashboard: dict[str, Any], folder_uid: str) -> SaveResult | None:
        """After a lost answer: did the save land? Compares canonical content and folder."""
        try:
            live = self.get_dashboard(uid)
        except GrafanaError:
            return None
        if live is None or live.folder_uid != folder_uid:
            return None
        if content_hash(live.dashboard) != content_hash(dashboard):
            return None
        log.info(
            "Grafana save of %r: the answer was lost but the write landed (version %d)", uid, live.version
        )
        return SaveResult(uid, live.url, live.version, live.folder_uid, recovered=True)

    def delete_dashboard(self, uid: str) -> bool:
        """Delete by uid; False when it was already gone (404 counts as success)."""
        path = f"/api/dashboards/uid/{quote(uid, safe='')}"
        response = self._request("DELETE", path, f"dashboard {uid!r}", retry_500=True, allow=(404,))
        return response.status_code != 404

    def dashboard_versions(self, uid: str, limit: int = 100) -> list[dict[str, Any]]:
        """The version history, newest first, from either response shape."""
        path = f"/api/dashboards/uid/{quote(uid, safe='')}/versions"
        body = json_body(
            self._request("GET", path, f"versions of {uid!r}", params={"limit": limit}, retry_500=True)
        )
        rows = body.get("versions", []) if isinstance(body, dict) else body
        return [row for row in rows if isinstance(row, dict)]

    def search(
        self,
        *,
        query: str | None = None,
        tags: tuple[str, ...] = (),
        folder_uids: tuple[str, ...] = (),
        dashboard_uids: tuple[str, ...] = (),
        type: str | None = "dash-db",
        page_size: int = 1000,
    ) -> Iterator[SearchHit]:
        """Every hit, page by page (pages never over 5000)."""
        size = max(1, min(page_size, MAX_SEARCH_PAGE))
        page = 1
        while True:
            params: list[tuple[str, str | int]] = [("limit", size), ("page", page)]
            if query:
                params.append(("query", query))
            if type:
                params.append(("type", type))
            params += [("tag", tag) for tag in tags]
            params += [("folderUIDs", uid) for uid in folder_uids]
            params += [("dashboardUIDs", uid) for uid in dashboard_uids]
            hits = json_body(self._request("GET", "/api/search", "search", params=params, retry_500=True))
            if not isinstance(hits, list):
                raise GrafanaError("GET", "/api/search", "search", 200, "the answer is not a list", None)
            for hit in hits:
                yield SearchHit.from_row(hit)
            if len(hits) < size:
                return
            page += 1

    def managed_dashboards(self, owner: str) -> list[SearchHit]:
        """Dashboards that `owner` wrote, by DAWG's ownership tags."""
        return list(self.search(tags=(ownership.MANAGED_TAG, ownership.owner_tag(owner))))

    # -- folders -----------------------------------------------------------------------

    def get_folder(self, uid: str) -> Folder | None:
        path = f"/api/folders/{quote(uid, safe='')}"
        response = self._request("GET", path, f"folder {uid!r}", retry_500=True, allow=(404,))
        if response.status_code == 404:
            return None
        return Folder.from_row(json_body(response), uid=uid)

    def child_folders(self, parent_uid: str = "") -> list[Folder]:
        """Immediate children of `parent_uid` ("" = root), all pages."""
        folders: list[Folder] = []
        page = 1
        while True:
            params: dict[str, str | int] = {"limit": 1000, "page": page}
            if parent_uid:
                params["parentUid"] = parent_uid
            rows = json_body(
                self._request(
                    "GET",
                    "/api/folders",
                    f"folders under {parent_uid or 'root'!r}",
                    params=params,
                    retry_500=True,
                )
            )
            for row in rows if isinstance(rows, list) else []:
                if row.get("uid") == "sharedwithme":  # 12.x's virtual entry
                    continue
                folders.append(Folder.from_row(row))
            if not isinstance(rows, list) or len(rows) < 1000:
                return folders
            page += 1

    def create_folder(self, title: str, *, uid: str = "", parent_uid: str = "") -> Folder:
        """Create a folder; when its uid already exists (409, or 412 on some builds), return that one."""
        body: dict[str, str] = {"title": title}
        if uid:
            body["uid"] = uid
        if parent_uid:
            body["parentUid"] = parent_uid
        what = f"folder {title!r}" + (f" ({uid})" if uid else "")
        try:
            response = self._request("POST", "/api/folders", what, json=body)
        except GrafanaConflict:
            existing = self.get_folder(uid) if uid else None
            if existing is None:
                raise
            return existing
        return Folder.from_row(json_body(response), uid=uid, title=title, parent_uid=parent_uid)

    def ensure_folder_path(self, titles: list[str], create: bool = True) -> Folder | None:
        """The folder at `titles` (e.g. ["Team A", "Services"]), creating missing levels.

        Existing folders are found by title under their parent (whoever made them);
        missing ones are created with DAWG's folder uid, which marks them as DAWG's.
        With `create=False` (dry runs) nothing is written: missing levels are returned
        with the uids DAWG would give them. Returns None for an empty path (the root).
        """
        parent: Folder | None = None
        missing = False
        for raw_title in titles:
            title = raw_title.strip()
            if not title:
                raise DawgError(f"folder path {'/'.join(titles)!r} has an empty level")
            parent_uid = parent.uid if parent else ""
            found = (
                None
                if missing
                else next((f for f in self.child_folders(parent_uid) if f.title == title), None)
            )
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
                    "GET", f"/api/folders/{uid}", f"folder {uid!r}", 404, "folder not found"
                )
            return uid
        folder = self.ensure_folder_path(path, create)
        return folder.uid if folder else ""

    def absolute_url(self, url: str) -> str:
        """Grafana's relative `/d/...` URLs made absolute; a sub-path is not doubled."""
        return self.connection.absolute_url(url)

    def delete_folder_if_owned_and_empty(self, uid: str) -> bool:
        """Delete a folder only if DAWG created it and it holds no dashboards and no folders.

        Grafana's folder delete cascades to everything inside; DAWG never relies on it.
        Returns True when deleted.
        """
        if not ownership.is_dawg_folder(uid):
            return False
        if self.get_folder(uid) is None:
            return False
        if next(self.search(folder_uids=(uid,), type="dash-db", page_size=1), None) is not None:
            return False
        if self.child_folders(uid):
            return False
        self._request("DELETE", f"/api/folders/{quote(uid, safe='')}", f"folder {uid!r}", allow=(404,))
        return True
