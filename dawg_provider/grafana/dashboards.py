"""Dashboards through the legacy `/api/dashboards` API: read, save, delete, history.

Why a save is never blindly retried: SQLite "database is locked" 500s and dropped
answers often hide a write that landed. After a timeout, a lost connection or a 5xx
the dashboard is re-read first; only if it is not there with the content sent is the
save sent again. And when a resent save then meets a conflict (412, or 409 on 13.x),
that conflict may be DAWG's own landed write (the first answer was lost and every
re-read failed): the dashboard is read once more and, if it holds exactly what was
sent in the folder asked for, the save is reported as landed, not as someone else's
edit.

A schema v2 dashboard (`v2.py`) is written through `/apis` at the version it carries,
and refused before anything is sent where this Grafana cannot store it.

Also: `folderUid` is always sent (omitting it moves a dashboard to the root); titles
over 5000 bytes are refused before anything is sent and version messages cut to 500
bytes (Grafana counts bytes, `server.py`); the versions list is read in both shapes
(array up to 11.5, object from 11.6).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from ..errors import GrafanaConflict, GrafanaError, GrafanaInvalidRequest, GrafanaUnsupported
from . import apis, v2
from .canonical import content_hash
from .dialect import Apis, Dialect
from .models import LiveDashboard, SaveResult
from .responses import grafana_message, json_body
from .server import check_lengths, clip_message, major_minor
from .transport import Attempt, Transport, log

SAVE_PATH = "/api/dashboards/db"


def _what(dashboard: dict[str, Any]) -> str:
    uid = str(dashboard.get("uid") or "")
    title = dashboard.get("title", "")
    return f"dashboard {uid!r} ({title!r})" if uid else f"dashboard {title!r}"


class Dashboards(Transport):
    """The dashboard operations of the client."""

    def get_dashboard(self, uid: str, at: str | None = None) -> LiveDashboard | None:
        """The dashboard with `uid`, or None when Grafana has none.

        `at`: the v2 version DAWG would write it at (a v2 generator's), to read a v2-stored
        dashboard at that version. `status.conversion.storedVersion` says only "some v2":
        13.x reads a `v2`-stored dashboard at v1 through a v2beta1 intermediate and reports
        the intermediate's version, "v2beta1" (apps/dashboard/pkg/migration/conversion/
        conversion.go `getStoredVersion`/`setConversionStatus`, v2_to_v1beta1.go
        `Convert_V2_to_V1beta1`), so re-reading at the reported version would compare a
        v2beta1 rendering with DAWG's v2 one on every run."""
        dialect = self.apis()
        if dialect is not None:
            path = f"{dialect.dashboards()}/{quote(uid, safe='')}"
            response = self._request("GET", path, f"dashboard {uid!r}", retry_500=True, allow=(404,))
            if response.status_code == 404:
                return None
            found = apis.live(json_body(response), uid)
            if (
                found.schema != "v1"
                and found.schema in dialect.served
                and found.dashboard.get(v2.MARK) is None
            ):
                # stored as v2 and read down-converted: read it again as v2 (grafana-apis.md §10.3),
                # at the version DAWG writes when it writes v2 here, else at the one reported
                wanted = at if at is not None and at.startswith("v2") and at in dialect.served else None
                again = f"{dialect.dashboards(wanted or found.schema)}/{quote(uid, safe='')}"
                response = self._request("GET", again, f"dashboard {uid!r}", retry_500=True, allow=(404,))
                if response.status_code == 404:
                    return None
                found = apis.live(json_body(response), uid)
            self._seen[uid] = (found.version, found.resource_version)
            return found
        path = f"/api/dashboards/uid/{quote(uid, safe='')}"
        response = self._request("GET", path, f"dashboard {uid!r}", retry_500=True, allow=(404, 406))
        if response.status_code == 404:
            return None
        body = json_body(response)
        if response.status_code == 406:  # 12.x: stored as v2, refused here (grafana-apis.md §9)
            named = re.search(r"dashboard\.grafana\.app/(v2\w*)/", str(body.get("message", "")))
            return LiveDashboard(uid, {}, 0, "", f"/d/{uid}", "", False, named.group(1) if named else "v2")
        meta = body.get("meta") or {}
        dashboard = body.get("dashboard") or {}
        # 13.x answers a v2-stored dashboard with a lossy classic down-conversion (no 406). Its
        # `meta.apiVersion` is the dashboard's `APIVersion`, the field 12.x's 406 branch tests for
        # "v2" (pkg/api/dashboard.go `GetDashboard`, both versions): read as the marker it is where
        # it says v2. Where it does not, the conversion is invisible here (`legacy_v2_risk`).
        marked = str(meta.get("apiVersion") or "")
        return LiveDashboard(
            uid=uid,
            dashboard=dashboard,
            version=int(meta.get("version", dashboard.get("version", 0)) or 0),
            folder_uid=str(meta.get("folderUid") or ""),
            url=str(meta.get("url") or f"/d/{uid}"),
            updated_by=str(meta.get("updatedBy") or ""),
            provisioned=bool(meta.get("provisioned")),
            schema=marked if marked.startswith("v2") else "v1",
        )

    def save_dashboard(
        self,
        dashboard: dict[str, Any],
        *,
        folder_uid: str = "",
        message: str = "",
        overwrite: bool = False,
    ) -> SaveResult:
        """Create or update `dashboard` (its `uid` decides which) in `folder_uid` ("" = root)."""
        uid = str(dashboard.get("uid") or "")
        what = _what(dashboard)
        problem = check_lengths(dashboard, what)
        if problem is not None:
            raise GrafanaInvalidRequest("POST", SAVE_PATH, what, None, problem)
        dialect = self.apis()
        problem = self.v2_problem(dashboard)
        if problem is not None:
            path = SAVE_PATH if dialect is None else dialect.dashboards()
            raise GrafanaUnsupported("POST", path, what, None, problem)
        self.health_state.wrote_into(folder_uid)
        if dialect is not None:
            return self._save_apis(dialect, dashboard, folder_uid, message, what, overwrite)
        body = {
            "dashboard": dashboard,
            "folderUid": folder_uid,
            "message": clip_message(message),
            "overwrite": overwrite,
        }
        started = self._clock()
        attempt = 0
        uncertain = False
        while True:
            attempt += 1
            try:
                response = self._send("POST", SAVE_PATH, what, json=body)
                if response.status_code >= 500:
                    raise Attempt(f"HTTP {response.status_code}", response, None)
            except Attempt as failure:
                if not failure.unsent and uid:
                    uncertain = True
                    landed = self._landed(uid, dashboard, folder_uid)
                    if landed is not None:
                        return landed
                self._wait_or_give_up(failure, attempt, started, "POST", SAVE_PATH, what)
                continue
            if response.status_code in (409, 412) and uncertain:
                landed = self._landed(uid, dashboard, folder_uid)
                if landed is not None:
                    return landed
            if response.status_code != 200:
                raise self._error("POST", SAVE_PATH, what, response)
            result = json_body(response)
            return SaveResult(
                uid=str(result.get("uid", uid)),
                url=str(result.get("url", "")),
                version=int(result.get("version", 0)),
                # 10.0/10.1 answer without folderUid (grafana-api.md errata): what was sent is what holds
                folder_uid=str(result.get("folderUid", folder_uid) or ""),
            )

    def legacy_v2_risk(self) -> str | None:
        """The warning for the legacy dialect forced on Grafana 13 or newer, logged once per client.

        13.x stores dashboards edited in the UI as schema v2 (dynamic dashboards on by default) and
        its legacy GET answers them down-converted, lossily, with 200 instead of 12.x's 406
        (grafana-apis.md §9). DAWG reads `meta.apiVersion` as the marker where it says v2; if a
        13.x build leaves it at v1 (UNCONFIRMED either way), a v2 edit looks like a classic one:
        drift by version still stops it under `drift: fail`, but `drift: overwrite` replaces it."""
        if self.connection.dialect is not Dialect.LEGACY:
            return None
        release = major_minor(self.info().version)
        if release is None or release < (13, 0):
            return None
        warning = (
            f"the legacy /api dialect is forced on Grafana {self.info().version}, which stores dashboards "
            "edited in its UI as schema v2 and answers the legacy GET of one with a lossy classic "
            "conversion; DAWG may not see that conversion (a v2 edit then looks like a classic one). "
            "Use the /apis dialect (the default) on Grafana 13 and newer"
        )
        with self._info_lock:
            if not self._warned_legacy:
                self._warned_legacy = True
                log.warning("%s", warning)
        return warning

    def v2_problem(self, dashboard: dict[str, Any]) -> str | None:
        """Why this Grafana cannot store `dashboard` when it is schema v2 (`v2.write_problem`)."""
        if v2.version_of(dashboard) is None:
            return None
        dialect = self.apis()
        return v2.write_problem(dashboard, dialect.served if dialect else None, self.info().version)

    def _save_apis(
        self,
        dialect: Apis,
        dashboard: dict[str, Any],
        folder_uid: str,
        message: str,
        what: str,
        overwrite: bool = False,
    ) -> SaveResult:
        """Create (POST) or update (PUT with the resourceVersion of the expected generation).

        `overwrite` without a version (the legacy API's `overwrite: true`) replaces what is
        there: a POST of an existing name is 409 AlreadyExists on /apis, so it PUTs with the
        resourceVersion just read.
        """
        uid = str(dashboard.get("uid") or "")
        expected = dashboard.get("version")
        api_version = v2.version_of(dashboard) or dialect.dashboard
        path = dialect.dashboards(api_version)
        method, resource_version = "POST", ""
        if expected is None and overwrite and uid:
            current = self.get_dashboard(uid, api_version)
            if current is not None:
                method, path = "PUT", f"{path}/{quote(uid, safe='')}"
                resource_version = current.resource_version
        if expected is not None:
            seen = self._seen.get(uid)
            if seen is None or seen[0] != expected:  # not read at that generation: read it now
                current = self.get_dashboard(uid, api_version)
                seen = (current.version, current.resource_version) if current is not None else None
            if seen is None or seen[0] != expected:
                found = "gone" if seen is None else f"at version {seen[0]}"
                raise GrafanaConflict(
                    "PUT",
                    f"{path}/{uid}",
                    what,
                    409,
                    f"changed by someone else: expected {expected}, {found}",
                )
            method, path, resource_version = "PUT", f"{path}/{quote(uid, safe='')}", seen[1]
        body = apis.dashboard_object(
            dashboard,
            api_version,
            folder_uid,
            message,
            resource_version,
            self.connection.provenance,
            self.connection.allow_ui_edits,
        )
        started = self._clock()
        attempt = 0
        uncertain = False
        while True:
            attempt += 1
            try:
                response = self._send(method, path, what, json=body)
                if response.status_code >= 500:
                    raise Attempt(f"HTTP {response.status_code}", response, None)
            except Attempt as failure:
                if not failure.unsent:
                    uncertain = True
                    landed = self._landed(uid, dashboard, folder_uid)
                    if landed is not None:
                        return landed
                self._wait_or_give_up(failure, attempt, started, method, path, what)
                continue
            if response.status_code == 409 and uncertain:  # AlreadyExists / Conflict: our own write?
                landed = self._landed(uid, dashboard, folder_uid)
                if landed is not None:
                    return landed
            if response.status_code == 400 and "refresh" in response.text:
                said = grafana_message(response)[0]
                raise GrafanaInvalidRequest(
                    method,
                    path,
                    what,
                    400,
                    f"Grafana refused refresh {dashboard.get('refresh')!r} ({said}): /apis "
                    "refuses a refresh under the server's min_refresh_interval instead of raising it, "
                    "and DAWG could not read that minimum (/api/frontend/settings). Set the dashboard's "
                    "refresh to at least the minimum (default 5s) or make the settings readable",
                )
            if response.status_code not in (200, 201):
                raise self._error(method, path, what, response)
            saved = apis.live(json_body(response), uid)
            self._seen[uid] = (saved.version, saved.resource_version)
            return SaveResult(saved.uid, saved.url, saved.version, saved.folder_uid)

    def _landed(self, uid: str, dashboard: dict[str, Any], folder_uid: str) -> SaveResult | None:
        """After a lost answer: did the save land? Compares canonical content and folder."""
        schema = v2.version_of(dashboard)
        try:
            live = self.get_dashboard(uid, schema)
        except GrafanaError:
            return None
        if live is None or live.folder_uid != folder_uid or live.schema != (schema or "v1"):
            return None
        if content_hash(live.dashboard) != content_hash(dashboard):
            return None
        log.info(
            "Grafana save of %r: the answer was lost but the write landed (version %d)", uid, live.version
        )
        return SaveResult(uid, live.url, live.version, live.folder_uid, recovered=True)

    def delete_dashboard(self, uid: str) -> bool:
        """Delete by uid; False when it was already gone (404 counts as success)."""
        dialect = self.apis()
        path = f"/api/dashboards/uid/{quote(uid, safe='')}"
        if dialect is not None:
            path = f"{dialect.dashboards()}/{quote(uid, safe='')}"
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
