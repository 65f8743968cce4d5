"""A Kubernetes API server stand-in for the tests: NOT Kubernetes, and never shipped.

No API server can be installed here. This serves what DAWG calls (Dashboard CRs,
Leases, Events) the way kube-apiserver answers, so the sync job and the controller
are driven through the real `kubernetes` client. Each behaviour names its source in
kubernetes/kubernetes (paths under staging/src/k8s.io/):

- **Revisions.** One global counter, moved by every write, as etcd's revision
  (apiserver/pkg/storage/etcd3/store.go: `resourceVersion` is the etcd mod revision).
  Writes copy the object, so older snapshots stay intact.
- **Paging.** `limit`/`continue`: the token is opaque (base64url JSON of an API version,
  the revision of the first page and the key to start at, as
  apiserver/pkg/storage/continue.go `EncodeContinue`), and every page is cut from the
  snapshot at that revision, so an object deleted or added between pages neither
  disappears from nor appears in the listing. After `compact()` (etcd compaction) a
  token from before is 410 Expired with the message of
  apiserver/pkg/storage/etcd3/errors.go (`continueExpired`); a token that does not
  decode is 400 BadRequest (continue.go `DecodeContinue` errors).
- **Selectors.** Parsed strictly (`k8s_selectors`); a bad one is 400 BadRequest.
- **RBAC.** `rbac` (None = allow all) holds (verb, resource[/subresource], namespace or
  "*") rows; anything else is 403 Forbidden with the message of
  apiserver/pkg/endpoints/handlers/responsewriters/errors.go `forbiddenMessage`
  wrapped by apimachinery/pkg/api/errors `NewForbidden`.
- **Watch.** `?watch=true&resourceVersion=R`: events after R as JSON lines
  (apimachinery/pkg/watch/watch.go event types ADDED, MODIFIED, DELETED, BOOKMARK,
  ERROR); no R (or "0") starts with a synthetic ADDED per object. BOOKMARK events
  carry only `metadata.resourceVersion` and are sent when `allowWatchBookmarks=true`
  (docs: "Efficient detection of changes", kubernetes.io/docs/reference/using-api/
  api-concepts/#watch-bookmarks). Each event is filtered by the new and the old object
  (cacher/cache_watcher.go `convertToWatchEvent`): an object relabelled out of the
  selector is DELETED, into it ADDED. R older than the compacted revision is an ERROR event
  holding a 410 Expired Status "too old resource version: R (C)", as
  apiserver/pkg/storage/cacher/watch_cache.go `getAllEventsSinceLocked` (the cacher
  sends it in a 200 stream through its error watcher). `drop_watches()` compacts and
  ends every open watch that way. `timeoutSeconds` ends a watch cleanly.
- **Status.** `PATCH .../status` (merge patch, RFC 7386) takes only `.status`; fields
  the CRD does not know are pruned (apiextensions-apiserver/pkg/apiserver/schema/
  pruning/algorithm.go `Prune`), and the result is validated against the CRD schema
  (apiextensions-apiserver/pkg/registry/customresource/strategy.go
  `statusStrategy.ValidateUpdate`): 422 Invalid with causes, nothing stored. A
  `metadata.resourceVersion` in the patch that is not the current one is 409 Conflict
  with apimachinery/pkg/api/errors `OptimisticLockErrorMsg`.
- **Spec updates.** `PATCH` of a Dashboard (merge patch, RFC 7386) changes `spec`,
  `metadata.labels` and `metadata.annotations` only: the status a client sends is
  reset to the stored one (apiextensions-apiserver/pkg/registry/customresource/
  strategy.go `PrepareForUpdate`, status subresource enabled), and a spec change moves
  `generation` (same function). The result is validated against the CRD schema and its
  CEL rules with the old object (`strategy.ValidateUpdate` -> cel `Validator.Validate`,
  see `k8s_cel`): 422 Invalid, nothing stored.
- **Leases** (coordination.k8s.io/v1) get/create/update, 409 AlreadyExists on a create
  of an existing name and 409 Conflict on an update with a stale resourceVersion
  (apiserver/pkg/registry/generic/registry/store.go `Create`, `Update`); **Events**
  (core v1) created and kept in order for the tests.
- Errors are `Status` objects (apimachinery/pkg/apis/meta/v1 types.go `Status`).
- **Silence** (`stall`, a fault, not kube-apiserver's behaviour): a matching request is
  read and then answered only after a delay, or never. kube-apiserver itself answers
  every non-long-running request by its deadline, 504 Timeout after `--request-timeout`
  (apiserver/pkg/server/filters/timeout.go `WithTimeoutForNonLongRunningRequests`, 60 s
  by default in apiserver/pkg/server/config.go `NewConfig`); silence is what a client
  sees when something between them holds the request: a proxy or load balancer that
  accepted the connection, or a half-open connection after NAT or conntrack expiry.
  A late answer is the request handled when the delay ends.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from dawg_provider.cluster.schema import crd_schema, validate_object
from tests.k8s_cel import validate as validate_rules
from tests.k8s_selectors import SelectorError, matches, parse

GROUP, VERSION, PLURAL, KIND = "dawg.urcloud.cc", "v1", "dashboards", "Dashboard"
LEASES, EVENTS = "leases", "events"
CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter."
)
CONFLICT = "the object has been modified; please apply your changes to the latest version and try again"
GROUP_OF = {PLURAL: GROUP, LEASES: "coordination.k8s.io", EVENTS: ""}

__all__ = ["KubernetesStandIn", "client_api", "matches", "status_object"]


def status_object(
    code: int, reason: str, message: str, name: str = "", kind: str = PLURAL, **extra: Any
) -> dict[str, Any]:
    details: dict[str, Any] = {"group": GROUP_OF.get(kind, GROUP), "kind": kind, **extra}
    if name:
        details["name"] = name
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details,
        "code": code,
    }


class _Watch:
    """An open watch request: what to stream, handed back to the HTTP handler."""

    def __init__(self, namespace: str | None, query: dict[str, list[str]]) -> None:
        self.namespace = namespace
        self.selector = query.get("labelSelector", [""])[0]
        self.since = query.get("resourceVersion", [""])[0]
        self.bookmarks = query.get("allowWatchBookmarks", [""])[0] == "true"
        self.timeout = float(query.get("timeoutSeconds", ["30"])[0] or 30)


class KubernetesStandIn:
    """The stand-in API server."""

    def __init__(
        self,
        token: str = "k8s-test-token",
        user: str = "system:serviceaccount:dawg:dawg-sync",
        bookmark_interval: float = 1.0,
    ) -> None:
        self.token, self.user, self.bookmark_interval = token, user, bookmark_interval
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        """Dashboards by (namespace, name)."""
        self.others: dict[tuple[str, str, str], dict[str, Any]] = {}
        """Leases and Events by (plural, namespace, name)."""
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.requests: list[tuple[str, str]] = []
        self.revision = 1000
        self.compacted = 0
        self.history: list[tuple[int, str, dict[str, Any], dict[str, Any] | None]] = []
        """(revision, event, object, the object before it): the cacher's watchCacheEvent keeps
        PrevObject too, so a watch can tell an object leaving its selector."""
        """Watch events of Dashboards since the last compaction: (revision, type, object)."""
        self.snapshots: dict[int, list[tuple[tuple[str, str], dict[str, Any]]]] = {}
        self.rbac: set[tuple[str, str, str]] | None = None
        self.epoch = 0
        self.open_watches = 0
        self.stalls: list[tuple[str, re.Pattern[str], float | None]] = []
        self.stalled = 0
        """Requests held by a stall so far."""
        self.released = threading.Event()
        self.server: ThreadingHTTPServer | None = None

    # -- test controls ------------------------------------------------------------------

    def _bump(self) -> str:
        self.revision += 1
        return str(self.revision)

    def _store(self, key: tuple[str, str], obj: dict[str, Any], event: str) -> dict[str, Any]:
        """Every Dashboard write: a new object (snapshots keep the old), one watch event."""
        previous = self.objects.get(key)
        if event == "DELETED":
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = self._bump()
            del self.objects[key]
        else:
            obj["metadata"]["resourceVersion"] = self._bump()
            self.objects[key] = obj
        self.history.append((self.revision, event, obj, previous))
        self.changed.notify_all()
        return obj

    def add(
        self, namespace: str, name: str, spec: dict[str, Any], labels: dict[str, str] | None = None
    ) -> dict[str, Any]:
        with self.lock:
            obj = {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": KIND,
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "uid": f"uid-{namespace}-{name}",
                    "generation": 1,
                    "labels": labels or {},
                    "creationTimestamp": "2026-01-01T00:00:00Z",
                },
                "spec": copy.deepcopy(spec),
            }
            return copy.deepcopy(self._store((namespace, name), obj, "ADDED"))

    def set_spec(self, namespace: str, name: str, spec: dict[str, Any]) -> None:
        """A spec change moves `generation` (apiextensions-apiserver customresource strategy.go
        `PrepareForUpdate`); an identical spec is no write at all."""
        with self.lock:
            obj = copy.deepcopy(self.objects[(namespace, name)])
            if obj["spec"] != spec:
                obj["spec"] = copy.deepcopy(spec)
                obj["metadata"]["generation"] += 1
                self._store((namespace, name), obj, "MODIFIED")

    def set_labels(self, namespace: str, name: str, labels: dict[str, str]) -> None:
        """A relabelling (re-sharding): a write without a generation change (generation
        moves with the spec only, customresource strategy.go `PrepareForUpdate`)."""
        with self.lock:
            obj = copy.deepcopy(self.objects[(namespace, name)])
            if obj["metadata"].get("labels") != labels:
                obj["metadata"]["labels"] = dict(labels)
                self._store((namespace, name), obj, "MODIFIED")

    def delete(self, namespace: str, name: str) -> None:
        with self.lock:
            self._store((namespace, name), self.objects[(namespace, name)], "DELETED")

    def get(self, namespace: str, name: str, plural: str = PLURAL) -> dict[str, Any]:
        with self.lock:
            if plural == PLURAL:
                return copy.deepcopy(self.objects[(namespace, name)])
            return copy.deepcopy(self.others[(plural, namespace, name)])

    def list_of(self, plural: str) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(o) for (p, _, _), o in self.others.items() if p == plural]

    def compact(self) -> None:
        """etcd compaction: older revisions are gone, for continue tokens and watches."""
        with self.lock:
            self.compacted = self.revision
            self.snapshots.clear()
            self.history.clear()

    def drop_watches(self) -> None:
        """Compact and end every open watch with an ERROR 410 event."""
        with self.lock:
            self.compact()
            self.epoch += 1
            self.changed.notify_all()

    def stall(self, method: str, path: str, seconds: float | None = None) -> None:
        """Hold every `method` request whose URL path fullmatches the regex `path`: answer it
        after `seconds`, or never (None; the connection closes at `stop()`)."""
        with self.lock:
            self.stalls.append((method, re.compile(path), seconds))

    def _stall_for(self, method: str, path: str) -> tuple[bool, float | None]:
        with self.lock:
            for wanted, pattern, seconds in self.stalls:
                if wanted == method and pattern.fullmatch(path):
                    self.stalled += 1
                    return True, seconds
        return False, None

    def start(self) -> KubernetesStandIn:
        standin = self

        class Handler(_Handler):
            owner = standin

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.released.set()
        if self.server is not None:
            with self.lock:
                self.epoch += 1
                self.changed.notify_all()
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # -- the API ------------------------------------------------------------------------

    def _forbidden(self, verb: str, resource: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        if self.rbac is None or (verb, resource, namespace or "*") in self.rbac:
            return None
        if namespace and (verb, resource, "*") in self.rbac:
            return None
        plural = resource.split("/", maxsplit=1)[0]
        group = GROUP_OF[plural]
        where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        reason = f'User "{self.user}" cannot {verb} resource "{resource}" in API group "{group}" {where}'
        qualified = f"{plural}.{group}" if group else plural
        subject = f'{qualified} "{name}"' if name else qualified
        return status_object(403, "Forbidden", f"{subject} is forbidden: {reason}", name, plural)

    def handle(self, method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        parsed = urlparse(url)
        path, query = parsed.path, parse_qs(parsed.query)
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {**status_object(401, "Unauthorized", "Unauthorized"), "details": None}
        m = re.fullmatch(
            r"/(?:apis/(?P<group>[^/]+)|api)/v1(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[^/]+)"
            r"(?:/(?P<name>[^/]+))?(?P<sub>/status)?",
            path,
        )
        if not m or GROUP_OF.get(m["plural"]) != (m["group"] or ""):
            return 404, status_object(404, "NotFound", "the server could not find the requested resource")
        plural, namespace, name, sub = m["plural"], m["ns"], m["name"] or "", m["sub"]
        watching = query.get("watch", [""])[0] in ("true", "1")
        verb = {"GET": "watch" if watching else "get" if name else "list", "PATCH": "patch"}.get(
            method, {"PUT": "update", "POST": "create", "DELETE": "delete"}.get(method, "")
        )
        resource = plural + ("/status" if sub else "")
        with self.lock:
            if denied := self._forbidden(verb, resource, namespace, name):
                return 403, denied
            if plural == PLURAL and verb in ("list", "watch"):
                try:
                    parse(query.get("labelSelector", [""])[0])
                except SelectorError as error:
                    return 400, status_object(400, "BadRequest", str(error))
                return (200, _Watch(namespace, query)) if watching else self._list(namespace, query)
            if plural != PLURAL:
                return self._plain(plural, method, namespace or "", name, body)
            obj = self.objects.get((namespace or "", name))
            if obj is None:
                return 404, status_object(404, "NotFound", f'{PLURAL}.{GROUP} "{name}" not found', name)
            if method == "GET":
                return 200, copy.deepcopy(obj)
            if method == "PATCH" and sub:
                return self._patch_status(obj, headers.get("content-type", ""), body)
            if method == "PATCH":
                return self._patch_spec(obj, headers.get("content-type", ""), body)
        return 405, status_object(405, "MethodNotAllowed", f"{method} is not supported on {path}")

    def _list(self, namespace: str | None, query: dict[str, list[str]]) -> tuple[int, Any]:
        selector = query.get("labelSelector", [""])[0]
        limit = int(query.get("limit", ["0"])[0] or 0)
        token = query.get("continue", [""])[0]
        if token:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
                revision, start = int(decoded["rv"]), tuple(decoded["start"])
            except (ValueError, KeyError, TypeError, binascii.Error):
                return 400, status_object(400, "BadRequest", "continue key is not valid")
            if revision < self.compacted or revision not in self.snapshots:
                return 410, status_object(410, "Expired", CONTINUE_EXPIRED)
            snapshot = self.snapshots[revision]
        else:
            revision, start = self.revision, ("",)
            snapshot = sorted(self.objects.items())
        items = [
            obj
            for key, obj in snapshot
            if key >= start
            and (namespace is None or key[0] == namespace)
            and matches(obj["metadata"].get("labels") or {}, selector)
        ]
        page = items[:limit] if limit else items
        metadata: dict[str, Any] = {"resourceVersion": str(revision)}
        if limit and len(items) > limit:
            self.snapshots[revision] = snapshot
            following = items[limit]["metadata"]
            raw = json.dumps(
                {"v": "meta.k8s.io/v1", "rv": revision, "start": [following["namespace"], following["name"]]}
            )
            metadata["continue"] = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
            metadata["remainingItemCount"] = len(items) - limit
        return 200, {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": f"{KIND}List",
            "metadata": metadata,
            "items": copy.deepcopy(page),
        }

    def _patch_spec(self, obj: dict[str, Any], content_type: str, body: bytes) -> tuple[int, Any]:
        name = obj["metadata"]["name"]
        patch = _merge_patch(content_type, body)
        if isinstance(patch, tuple):
            return patch
        updated = copy.deepcopy(obj)
        updated["spec"] = _merge(obj.get("spec") or {}, patch.get("spec", obj.get("spec")))
        for part in ("labels", "annotations"):
            if part in (patch.get("metadata") or {}):
                merged = _merge(obj["metadata"].get(part) or {}, patch["metadata"][part])
                updated["metadata"][part] = merged
        errors = [e for e in validate_object(updated) if not e.startswith("status")]
        errors += validate_rules(crd_schema()["properties"]["spec"], updated["spec"], obj.get("spec"), "spec")
        if errors:
            causes = [{"reason": "FieldValueInvalid", "message": e, "field": e.split(":")[0]} for e in errors]
            message = f'{KIND}.{GROUP} "{name}" is invalid: ' + ", ".join(errors)
            return 422, status_object(422, "Invalid", message, name, causes=causes)
        if updated == obj:
            return 200, copy.deepcopy(obj)  # nothing changed: no write, no event
        if updated["spec"] != obj.get("spec"):
            updated["metadata"]["generation"] += 1
        key = (obj["metadata"]["namespace"], name)
        return 200, copy.deepcopy(self._store(key, updated, "MODIFIED"))

    def _patch_status(self, obj: dict[str, Any], content_type: str, body: bytes) -> tuple[int, Any]:
        name = obj["metadata"]["name"]
        patch = _merge_patch(content_type, body)
        if isinstance(patch, tuple):
            return patch
        wanted = (patch.get("metadata") or {}).get("resourceVersion")
        if wanted and wanted != obj["metadata"]["resourceVersion"]:
            message = f'Operation cannot be fulfilled on {PLURAL}.{GROUP} "{name}": {CONFLICT}'
            return 409, status_object(409, "Conflict", message, name)
        updated = copy.deepcopy(obj)
        updated["status"] = _prune(_merge(obj.get("status") or {}, patch.get("status")), _status_schema())
        errors = [e for e in validate_object(updated) if e.startswith("status")]
        if not isinstance(updated["status"], dict):
            errors = ["status: Invalid value: must be an object"]
        if errors:
            causes = [{"reason": "FieldValueInvalid", "message": e, "field": e.split(":")[0]} for e in errors]
            message = f'{KIND}.{GROUP} "{name}" is invalid: ' + ", ".join(errors)
            return 422, status_object(422, "Invalid", message, name, causes=causes)
        key = (obj["metadata"]["namespace"], name)
        return 200, copy.deepcopy(self._store(key, updated, "MODIFIED"))

    def _plain(self, plural: str, method: str, namespace: str, name: str, body: bytes) -> tuple[int, Any]:
        """Leases and Events: get, create, update with optimistic concurrency."""
        obj = json.loads(body) if body else {}
        if method == "POST":
            name = name or (obj.get("metadata") or {}).get("name", "")
            if (plural, namespace, name) in self.others:
                return 409, status_object(
                    409, "AlreadyExists", f'{plural} "{name}" already exists', name, plural
                )
            obj.setdefault("metadata", {}).update(namespace=namespace, resourceVersion=self._bump())
            self.others[(plural, namespace, name)] = obj
            return 201, copy.deepcopy(obj)
        current = self.others.get((plural, namespace, name))
        if current is None:
            return 404, status_object(404, "NotFound", f'{plural} "{name}" not found', name, plural)
        if method == "GET":
            return 200, copy.deepcopy(current)
        if method == "PUT":
            sent = (obj.get("metadata") or {}).get("resourceVersion")
            if not sent and plural == LEASES:
                # registry/generic/registry/store.go `Update`: no resourceVersion and a strategy
                # without AllowUnconditionalUpdate (pkg/registry/coordination/lease/strategy.go
                # returns false) is 422 "must be specified for an update", not 409.
                message = f'{plural} "{name}" is invalid: metadata.resourceVersion: Invalid value: 0: '
                return 422, status_object(
                    422, "Invalid", message + "must be specified for an update", name, plural
                )
            if sent != current["metadata"]["resourceVersion"]:
                message = f'Operation cannot be fulfilled on {plural} "{name}": {CONFLICT}'
                return 409, status_object(409, "Conflict", message, name, plural)
            obj["metadata"].update(namespace=namespace, resourceVersion=self._bump())
            self.others[(plural, namespace, name)] = obj
            return 200, copy.deepcopy(obj)
        return 405, status_object(405, "MethodNotAllowed", f"{method} is not supported on {plural}")

    def watch_events(self, request: _Watch) -> Any:
        """The lines of one watch stream (generator; runs in the handler's thread)."""
        with self.lock:
            epoch = self.epoch
            self.open_watches += 1
        try:
            with self.lock:
                if request.since in ("", "0"):
                    since = self.revision
                    for (ns, _), obj in sorted(self.objects.items()):
                        if self._selected(request, ns, obj):
                            yield {"type": "ADDED", "object": copy.deepcopy(obj)}
                else:
                    since = int(request.since)
                if since < self.compacted:
                    yield _expired(since, self.compacted)
                    return
            deadline = time.monotonic() + request.timeout
            next_bookmark = time.monotonic() + self.bookmark_interval
            while time.monotonic() < deadline:
                with self.lock:
                    if self.epoch != epoch:
                        yield _expired(since, self.compacted)
                        return
                    fresh = [entry for entry in self.history if entry[0] > since]
                    if not fresh:
                        wait = min(deadline, next_bookmark) - time.monotonic()
                        self.changed.wait(max(0.0, wait))
                        fresh = [entry for entry in self.history if entry[0] > since]
                    revision = self.revision
                for rv, kind, obj, previous in fresh:
                    since = rv
                    event = self._as_seen(request, kind, obj, previous)
                    if event is not None:
                        yield event
                if request.bookmarks and time.monotonic() >= next_bookmark:
                    since = max(since, revision)
                    meta = {"resourceVersion": str(since)}
                    yield {
                        "type": "BOOKMARK",
                        "object": {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND, "metadata": meta},
                    }
                    next_bookmark = time.monotonic() + self.bookmark_interval
        finally:
            with self.lock:
                self.open_watches -= 1

    def _as_seen(
        self, request: _Watch, kind: str, obj: dict[str, Any], previous: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """The event as this watch sees it, by the new AND the old object's labels
        (apiserver/pkg/storage/cacher/cache_watcher.go `convertToWatchEvent`): an object that
        starts matching is ADDED, one that stops matching is DELETED (the old object, at the
        event's resourceVersion), neither: no event."""
        namespace = obj["metadata"]["namespace"]
        now = kind != "DELETED" and self._selected(request, namespace, obj)
        before = previous is not None and self._selected(request, namespace, previous)
        if kind == "DELETED":
            before, previous = self._selected(request, namespace, obj), obj
        if now:
            return {"type": "MODIFIED" if before else "ADDED", "object": copy.deepcopy(obj)}
        if before and previous is not None:
            gone = copy.deepcopy(previous)
            gone["metadata"]["resourceVersion"] = obj["metadata"]["resourceVersion"]
            return {"type": "DELETED", "object": gone}
        return None

    @staticmethod
    def _selected(request: _Watch, namespace: str, obj: dict[str, Any]) -> bool:
        labels = obj["metadata"].get("labels") or {}
        return (request.namespace is None or namespace == request.namespace) and matches(
            labels, request.selector
        )


def _merge_patch(content_type: str, body: bytes) -> dict[str, Any] | tuple[int, Any]:
    """The patch document, or the answer refusing it (415 other media types, 400 not JSON)."""
    if content_type.split(";", maxsplit=1)[0].strip() != "application/merge-patch+json":
        return 415, status_object(
            415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {content_type}"
        )
    try:
        patch = json.loads(body)
    except ValueError:
        return 400, status_object(400, "BadRequest", "the body of the request could not be decoded")
    if not isinstance(patch, dict):
        return 400, status_object(400, "BadRequest", "the body of the request could not be decoded")
    return patch


def _expired(since: int, compacted: int) -> dict[str, Any]:
    message = f"too old resource version: {since} ({compacted})"
    return {"type": "ERROR", "object": status_object(410, "Expired", message)}


def _status_schema() -> dict[str, Any]:
    schema: dict[str, Any] = crd_schema()["properties"]["status"]
    return schema


def _prune(value: Any, schema: dict[str, Any]) -> Any:
    """Drop fields the schema does not know (structural pruning), recursively."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return value
    if isinstance(value, dict) and "properties" in schema:
        known = schema["properties"]
        return {k: _prune(v, known[k]) for k, v in value.items() if k in known}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_prune(item, schema["items"]) for item in value]
    return value


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


class _Handler(BaseHTTPRequestHandler):
    owner: KubernetesStandIn
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.owner.lock:
            self.owner.requests.append((method, urlparse(self.path).path))
        held, seconds = self.owner._stall_for(method, urlparse(self.path).path)
        if held:
            self.owner.released.wait(seconds)
            if seconds is None:
                self.close_connection = True
                return
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload = self.owner.handle(method, self.path, headers, body)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, OSError):
            if isinstance(payload, _Watch):
                self._stream(payload)
                return
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    def _stream(self, request: _Watch) -> None:
        """A watch: chunked JSON lines until the timeout, a drop or the client goes."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event in self.owner.watch_events(request):
            line = json.dumps(event).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def do_GET(self) -> None:
        self._serve("GET")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_POST(self) -> None:
        self._serve("POST")


def client_api(standin: KubernetesStandIn) -> Any:
    """A real `kubernetes` CustomObjectsApi pointed at the stand-in."""
    from kubernetes import client

    return client.CustomObjectsApi(api_client(standin))


def api_client(standin: KubernetesStandIn) -> Any:
    """A real `kubernetes` ApiClient pointed at the stand-in (for any API group)."""
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = standin.url
    configuration.api_key = {"authorization": standin.token}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    return client.ApiClient(configuration)


def write_kubeconfig(standin: KubernetesStandIn, path: Path) -> Path:
    """A kubeconfig file at `path` pointing at the stand-in with its token (for processes
    and for `sources.api_client`, which read credentials the way kubectl does)."""
    import yaml

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "standin", "cluster": {"server": standin.url}}],
        "users": [{"name": "job", "user": {"token": standin.token}}],
        "contexts": [{"name": "standin", "context": {"cluster": "standin", "user": "job"}}],
        "current-context": "standin",
    }
    path.write_text(yaml.safe_dump(config))
    return path
