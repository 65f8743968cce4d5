"""The request loop every Grafana operation goes through, and what is learnt once per client.

One `requests.Session` per client. What it does about Grafana's sharp edges
(`../shared/grafana-api.md`):

- Retries 429, 502, 503, 504 and connection errors with exponential backoff and
  full jitter, honouring `Retry-After` (seconds or HTTP date), within a cap on
  attempts and on total time. 400/401/403/404/422 are never retried.
- Every attempt asks the connection's shared `HealthState` first: once Grafana is
  clearly down the request fails at once (`GrafanaDown`), and no request or backoff
  runs past the deadline of the pass or operation (`GrafanaDeadline`).
- Errors name the method, the path, the dashboard or folder, and Grafana's own
  message; never the token.
- `info()` reads `/api/health` and `/api/frontend/settings` once per client
  (`server.ServerInfo`: version, nested folders, the refresh minimum).
- `observer`, when set, hears every attempt: the HTTP status, or None when no answer
  came. The part knows nothing of who listens (the controller counts them for
  Prometheus); a listener that fails is logged, never the request's failure.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from ..errors import (
    GrafanaConflict,
    GrafanaError,
    GrafanaForbidden,
    GrafanaInvalidRequest,
    GrafanaNotFound,
    GrafanaServerError,
    GrafanaUnauthorized,
    GrafanaUnreachable,
    GrafanaUnsupported,
)
from ..observe import RequestObserver, notify
from .dialect import Apis, Dialect, choose, namespace_for, served
from .health import HealthState
from .models import GrafanaConnection
from .responses import connection_reason, grafana_message, json_body, retry_after
from .server import ServerInfo, detect

log = logging.getLogger("dawg.grafana")

RETRY_STATUSES = frozenset({429, 502, 503, 504})


def breaks(method: str, status: int) -> bool:
    """Does this answer count toward the breaker? 502/503/504 always (a proxy with no Grafana
    behind it; `/api/health` answers 503 `{"database":"failing"}`, pkg/api/health_test.go via
    grafana-apis.md §1), and 500 on a read: with its database down Grafana's handlers fall back
    to 500 on data endpoints (review of issue 12, finding 6; the exact messages UNCONFIRMED).
    A 500 on a write may be the dashboard's own fault: it neither counts nor resets the count."""
    return status in (502, 503, 504) or (status == 500 and method == "GET")


class Attempt(Exception):
    """A retryable failure inside `_send`; carries the wait Grafana asked for."""

    def __init__(self, reason: str, response: requests.Response | None, retry_after: float | None) -> None:
        self.reason = reason
        self.response = response
        self.retry_after = retry_after
        super().__init__(reason)

    @property
    def unsent(self) -> bool:
        """True when Grafana surely did not act (429: refused before handling)."""
        return self.response is not None and self.response.status_code == 429


class Transport:
    """HTTP to one Grafana (and one org); thread-safe for concurrent calls."""

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
        self.observer: RequestObserver | None = None
        self._count_lock = threading.Lock()
        self._info: ServerInfo | None = None
        self._apis: Apis | None = None
        self._apis_known = False
        self._seen: dict[str, tuple[int, str]] = {}
        """uid -> (generation, resourceVersion) of the last `/apis` read: an update needs no second GET."""
        self._info_lock = threading.Lock()
        self._warned_legacy = False

    @property
    def health_state(self) -> HealthState:
        return self.connection.health

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "dawg"}
        if self.connection.token:
            headers["Authorization"] = f"Bearer {self.connection.token}"
        if self.connection.org_id is not None:
            headers["X-Grafana-Org-Id"] = str(self.connection.org_id)
        return headers

    # -- the request loop ------------------------------------------------------------

    def _send(
        self, method: str, path: str, what: str, *, params: Any = None, json: Any = None
    ) -> requests.Response:
        """One HTTP exchange; raises `Attempt` for what may be retried."""
        state = self.health_state
        state.before(what)
        settled = False  # did this exchange tell the breaker anything?
        try:
            response = self._exchange(method, path, what, params, json)
            settled = True
        except Attempt:
            settled = True
            raise
        finally:
            if not settled:
                state.abandoned()  # a deadline or an odd exception must not keep a probe forever
        if response.status_code in RETRY_STATUSES:
            raise Attempt(f"HTTP {response.status_code}", response, retry_after(response))
        return response

    def _exchange(self, method: str, path: str, what: str, params: Any, json: Any) -> requests.Response:
        """The HTTP exchange itself, reporting Grafana's health to the breaker."""
        state = self.health_state
        left = state.check_deadline(what)
        timeout = self.connection.timeout
        if left is not None:
            timeout = (min(timeout[0], left), min(timeout[1], left))
        auth = None
        if self.connection.username and not self.connection.token:
            auth = (self.connection.username, self.connection.password or "")
        with self._count_lock:
            self.requests += 1
        try:
            response = self.session.request(
                method, self.connection.base + path, params=params, json=json, auth=auth, timeout=timeout
            )
        except requests.RequestException as error:
            notify(self.observer, None)
            if isinstance(error, requests.Timeout):
                reason = "timed out"
            elif isinstance(error, requests.ConnectionError):
                reason = connection_reason(error)
            else:  # e.g. ChunkedEncodingError: the answer broke off
                reason = f"the answer broke off ({type(error).__name__})"
            state.failed(reason)
            raise Attempt(reason, None, None) from None
        notify(self.observer, response.status_code)
        if breaks(method, response.status_code):
            state.failed(f"HTTP {response.status_code}")
        elif response.status_code < 500:
            state.succeeded()
        else:
            state.abandoned()  # a 500 on a write says nothing either way; a probe is freed
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
                response = self._send(method, path, what, params=params, json=json)
                if retry_500 and response.status_code == 500:
                    raise Attempt("HTTP 500", response, None)
            except Attempt as failure:
                self._wait_or_give_up(failure, attempt, started, method, path, what)
                continue
            if response.status_code in ok or response.status_code in allow:
                return response
            raise self._error(method, path, what, response)

    def _wait_or_give_up(
        self, failure: Attempt, attempt: int, started: float, method: str, path: str, what: str
    ) -> None:
        """Sleep before the next attempt, or raise when the attempts or the time budget are spent."""
        policy = self.connection.retry
        delay = self._backoff(attempt, failure.retry_after)
        left = self.health_state.remaining()
        out_of_time = left is not None and delay >= left
        if not (attempt >= policy.attempts or self._clock() - started + delay > policy.total or out_of_time):
            log.info("Grafana %s %s (%s): %s; retrying in %.1fs", method, path, what, failure.reason, delay)
            if self._pause(delay):
                return
        if failure.response is not None:
            raise self._error(method, path, what, failure.response) from None
        reason = f"{failure.reason} (after {attempt} attempts)"
        raise GrafanaUnreachable(method, path, what, None, reason) from None

    def _pause(self, delay: float) -> bool:
        """Sleep before a retry; False when a deadline set meanwhile (a shutdown's
        `HealthState.wind_down`) ends before the retry could be sent."""
        if self._sleep is not time.sleep:  # a test's own sleep: it decides
            self._sleep(delay)
            return True
        return self.health_state.pause(delay)

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

    # -- what this Grafana is ----------------------------------------------------------

    def info(self) -> ServerInfo:
        """Version, nested folders and the refresh minimum, read once per client."""
        with self._info_lock:
            if self._info is not None:
                return self._info
        health = json_body(self._request("GET", "/api/health", "health check", retry_500=True, allow=(503,)))
        settings_response = self._request(
            "GET", "/api/frontend/settings", "frontend settings", retry_500=True, allow=(401, 403, 404)
        )
        settings = json_body(settings_response) if settings_response.status_code == 200 else None
        found = detect(
            health if isinstance(health, dict) else {}, settings if isinstance(settings, dict) else None
        )
        with self._info_lock:
            if self._info is None:
                self._info = found
            return self._info

    def learn(self, info: ServerInfo) -> None:
        """Record what was learnt from Grafana's answers (the refresh minimum)."""
        with self._info_lock:
            self._info = info

    def apis(self) -> Apis | None:
        """The `/apis` versions to speak, or None for the legacy API; detected once per client."""
        with self._info_lock:
            if self._apis_known:
                return self._apis
        found = None if self.connection.dialect is Dialect.LEGACY else self._detect_apis()
        if found is None and self.connection.dialect is Dialect.APIS:
            raise GrafanaUnsupported(
                "GET",
                "/apis/dashboard.grafana.app",
                "dialect detection",
                None,
                "the /apis dialect was forced but this Grafana serves no dashboard.grafana.app v1 or v1beta1 "
                "(Grafana 12 or newer is needed)",
            )
        with self._info_lock:
            if not self._apis_known:
                self._apis, self._apis_known = found, True
            return self._apis

    def _detect_apis(self) -> Apis | None:
        group = "/apis/dashboard.grafana.app"
        # only 404 means "no /apis here"; 401/403 fail loudly instead of silently falling back to
        # the legacy dialect (grafana-apis.md §10.1)
        dashboards = self._request("GET", group, "API discovery", retry_500=True, allow=(404,))
        versions = served(json_body(dashboards)) if dashboards.status_code == 200 else ()
        if not versions:
            return None
        folders = self._request(
            "GET", "/apis/folder.grafana.app", "API discovery", retry_500=True, allow=(404,)
        )
        folder_versions = served(json_body(folders)) if folders.status_code == 200 else ()
        org_id = self.connection.org_id
        if org_id is None and not self.connection.namespace:
            org = json_body(self._request("GET", "/api/org", "current org", retry_500=True))
            org_id = int(org.get("id") or 1) if isinstance(org, dict) else 1
        return choose(versions, folder_versions, namespace_for(org_id or 1, self.connection.namespace))
