"""A Kubernetes API server stand-in for the tests: NOT Kubernetes, and never shipped.

No API server can be installed here. This serves the `Dashboard` resource's
endpoints the way kube-apiserver answers them, so the sync job can be driven
through the real `kubernetes` client:

- list across all namespaces and per namespace, with equality- and set-based
  label selectors (`a=b`, `a!=b`, `a`, `!a`, `a in (x,y)`) and `limit`/`continue`;
- get by name; status merge-patch on the `/status` subresource (only `.status` is
  taken, `generation` does not move, `resourceVersion` does; a stale
  `metadata.resourceVersion` in the patch is a 409 Conflict);
- errors as `Status` objects: 401 (bad token), 404 NotFound, 409 Conflict,
  415 for a patch type it does not support, 422 Invalid for a non-object status.

Tests add, change (spec changes bump `generation`) and delete resources directly.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

GROUP, VERSION, PLURAL, KIND = "dawg.urcloud.cc", "v1", "dashboards", "Dashboard"


def status_object(code: int, reason: str, message: str, name: str = "") -> dict[str, Any]:
    details: dict[str, Any] = {"group": GROUP, "kind": PLURAL}
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


def matches(labels: dict[str, str], selector: str) -> bool:
    """Kubernetes label selector semantics (the subset kubectl users write)."""
    for raw_term in re.split(r",(?![^(]*\))", selector):
        term = raw_term.strip()
        if not term:
            continue
        if m := re.fullmatch(r"([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)", term):
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
            if (op == "in") != (labels.get(key) in values):
                return False
        elif "!=" in term:
            key, value = (part.strip() for part in term.split("!=", 1))
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = (part.strip() for part in term.replace("==", "=").split("=", 1))
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


class KubernetesStandIn:
    """The stand-in API server for `dashboards.dawg.urcloud.cc/v1`."""

    def __init__(self, token: str = "k8s-test-token") -> None:
        self.token = token
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.lock = threading.RLock()
        self.requests: list[tuple[str, str]] = []
        self._versions = itertools.count(1000)
        self.server: ThreadingHTTPServer | None = None

    # -- test controls ------------------------------------------------------------------

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
                    "resourceVersion": str(next(self._versions)),
                    "labels": labels or {},
                    "creationTimestamp": "2026-01-01T00:00:00Z",
                },
                "spec": copy.deepcopy(spec),
            }
            self.objects[(namespace, name)] = obj
            return obj

    def set_spec(self, namespace: str, name: str, spec: dict[str, Any]) -> None:
        with self.lock:
            obj = self.objects[(namespace, name)]
            if obj["spec"] != spec:
                obj["spec"] = copy.deepcopy(spec)
                obj["metadata"]["generation"] += 1
                obj["metadata"]["resourceVersion"] = str(next(self._versions))

    def delete(self, namespace: str, name: str) -> None:
        with self.lock:
            del self.objects[(namespace, name)]

    def get(self, namespace: str, name: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.objects[(namespace, name)])

    def start(self) -> KubernetesStandIn:
        standin = self

        class Handler(_Handler):
            owner = standin

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # -- the API ------------------------------------------------------------------------

    def handle(self, method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        parsed = urlparse(url)
        path, query = parsed.path, parse_qs(parsed.query)
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {**status_object(401, "Unauthorized", "Unauthorized"), "details": None}
        base = f"/apis/{GROUP}/{VERSION}"
        with self.lock:
            if method == "GET" and path == f"{base}/{PLURAL}":
                return self._list(None, query)
            if (m := re.fullmatch(rf"{base}/namespaces/([^/]+)/{PLURAL}", path)) and method == "GET":
                return self._list(m.group(1), query)
            if m := re.fullmatch(rf"{base}/namespaces/([^/]+)/{PLURAL}/([^/]+)(/status)?", path):
                namespace, name, status = m.group(1), m.group(2), m.group(3)
                obj = self.objects.get((namespace, name))
                if obj is None:
                    return 404, status_object(404, "NotFound", f'{PLURAL}.{GROUP} "{name}" not found', name)
                if method == "GET":
                    return 200, copy.deepcopy(obj)
                if method == "PATCH" and status:
                    return self._patch_status(obj, headers.get("content-type", ""), body)
        return 404, status_object(404, "NotFound", "the server could not find the requested resource")

    def _list(self, namespace: str | None, query: dict[str, list[str]]) -> tuple[int, Any]:
        selector = query.get("labelSelector", [""])[0]
        limit = int(query.get("limit", ["0"])[0] or 0)
        start = int(query.get("continue", ["0"])[0] or 0)
        items = [
            copy.deepcopy(obj)
            for (ns, _), obj in sorted(self.objects.items())
            if (namespace is None or ns == namespace)
            and matches(obj["metadata"].get("labels") or {}, selector)
        ]
        page = items[start : start + limit] if limit else items[start:]
        metadata: dict[str, Any] = {"resourceVersion": str(next(self._versions))}
        if limit and start + limit < len(items):
            metadata["continue"] = str(start + limit)
        return 200, {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": f"{KIND}List",
            "metadata": metadata,
            "items": page,
        }

    def _patch_status(self, obj: dict[str, Any], content_type: str, body: bytes) -> tuple[int, Any]:
        name = obj["metadata"]["name"]
        if content_type.split(";", maxsplit=1)[0].strip() != "application/merge-patch+json":
            return 415, status_object(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format: {content_type}",
            )
        try:
            patch = json.loads(body)
        except ValueError:
            return 400, status_object(400, "BadRequest", "the body of the request could not be decoded")
        wanted = (patch.get("metadata") or {}).get("resourceVersion")
        if wanted and wanted != obj["metadata"]["resourceVersion"]:
            return 409, status_object(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {PLURAL}.{GROUP} "{name}": the object has been modified; '
                "please apply your changes to the latest version and try again",
                name,
            )
        status = patch.get("status")
        if not isinstance(status, dict):
            return 422, status_object(
                422,
                "Invalid",
                f'{KIND}.{GROUP} "{name}" is invalid: status: Invalid value: must be an object',
                name,
            )
        merged = _merge(obj.get("status") or {}, status)
        obj["status"] = merged
        obj["metadata"]["resourceVersion"] = str(next(self._versions))
        return 200, copy.deepcopy(obj)


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
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload = self.owner.handle(method, self.path, headers, body)
        data = json.dumps(payload).encode()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_PATCH(self) -> None:
        self._serve("PATCH")


def client_api(standin: KubernetesStandIn) -> Any:
    """A real `kubernetes` CustomObjectsApi pointed at the stand-in."""
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = standin.url
    configuration.api_key = {"authorization": standin.token}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    return client.CustomObjectsApi(client.ApiClient(configuration))
