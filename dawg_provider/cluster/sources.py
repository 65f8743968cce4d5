"""Where a pass finds Dashboard resources and where their status goes: the cluster
(through the official `kubernetes` client, imported only here and only when used) or
manifest files for GitOps and local runs.

Every object goes through `schema.load_resource`, so a malformed one becomes a CR with
problems (reported on that CR), never an exception that ends the listing. Manifest
files are untrusted text: each is read with a size cap, YAML aliases may not expand
past a node budget (a "billion laughs" document is refused before it is built), and a
file that cannot be read is reported by name while the other files still load. A
listing with such errors is incomplete, so the job does not prune after it.
"""

from __future__ import annotations

import builtins
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import yaml

from ..errors import DawgError
from .crd import GROUP, PLURAL, VERSION, DashboardResource
from .kube import REQUEST_TIMEOUT, kube_error
from .schema import is_dashboard_group, load_resource

log = logging.getLogger("dawg.sync")

MAX_MANIFEST_BYTES = 1024 * 1024
"""Largest manifest file read; a Dashboard CR is a few kilobytes."""
MAX_YAML_NODES = 100_000
"""Nodes one YAML document may hold once its aliases are expanded."""


class Source(Protocol):
    """Where Dashboard resources come from, and where their status goes."""

    def list(self) -> list[DashboardResource]: ...

    def problems(self) -> tuple[Sequence[str], Sequence[str]]:
        """What the last listing could not read (errors) and what it ignored (notices)."""
        ...

    def patch_status(self, resource: DashboardResource, status: dict[str, Any]) -> None: ...


class ManifestSource:
    """Dashboard manifests from files (`*.yaml`, `*.yml`, `*.json`, multi-document)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.statuses: dict[str, dict[str, Any]] = {}
        self.errors: list[str] = []
        self.notices: list[str] = []

    def problems(self) -> tuple[Sequence[str], Sequence[str]]:
        return self.errors, self.notices

    def list(self) -> list[DashboardResource]:
        if not self.directory.is_dir():
            raise DawgError(f"--manifests {self.directory}: not a directory")
        self.errors, self.notices = [], []
        resources: list[DashboardResource] = []
        seen: dict[str, str] = {}
        for path in sorted(self.directory.rglob("*")):
            if path.suffix not in (".yaml", ".yml", ".json") or path.is_symlink() or not path.is_file():
                continue
            try:
                documents = load_documents(path)
            except DawgError as error:
                self.errors.append(str(error))
                continue
            read, skipped = [], 0
            for index, document in enumerate(documents):
                where = f"{path} (document {index + 1})"
                if document is None:
                    continue
                if not isinstance(document, dict):
                    self.notices.append(f"{where}: skipped, not a Kubernetes object")
                    skipped += 1
                    continue
                kind, api_version = document.get("kind"), document.get("apiVersion")
                if not is_dashboard_group(api_version) and kind != "Dashboard":
                    self.notices.append(
                        f"{where}: skipped, kind {str(kind)[:60]!r} of {str(api_version)[:60]!r} "
                        "is not a DAWG Dashboard"
                    )
                    skipped += 1
                    continue
                resource = load_resource(relative_to(document, path.parent))
                read.append(resource.name or f"document {index + 1}")
                if resource.key in seen:
                    problem = f"{resource.key} is defined twice: in {seen[resource.key]} and {where}"
                    resource = DashboardResource.from_object(document, (*resource.problems, problem))
                seen.setdefault(resource.key, where)
                resources.append(resource)
            shown = ", ".join(read[:10]) + (f" and {len(read) - 10} more" if len(read) > 10 else "")
            self.notices.append(
                f"{path}: read {len(read)} Dashboard(s){': ' + shown if read else ''}; skipped {skipped}"
            )
        return resources

    def patch_status(self, resource: DashboardResource, status: dict[str, Any]) -> None:
        self.statuses[resource.key] = status


def relative_to(document: dict[str, Any], directory: Path) -> dict[str, Any]:
    """The document with a relative file generator (`file://x.wasm`, `x.wasm`) made absolute
    against the manifest's own directory, as kustomize resolves paths: a manifest means
    the same file wherever `dawg sync` runs. Pure; other documents are returned as they are."""
    spec = document.get("spec")
    generator = spec.get("generator") if isinstance(spec, dict) else None
    if not isinstance(spec, dict) or not isinstance(generator, str):
        return document
    scheme, sep, rest = generator.strip().partition("://")
    path = rest if sep and scheme == "file" else None if sep else generator.strip()
    if not path or Path(path).is_absolute():
        return document
    absolute = os.path.normpath(directory.absolute() / path)
    return {**document, "spec": {**spec, "generator": f"file://{absolute}"}}


def load_documents(path: Path) -> list[Any]:
    """The YAML documents of one file, read with a size cap and an alias-expansion budget."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_MANIFEST_BYTES + 1)
    except OSError as error:
        raise DawgError(f"{path}: cannot read: {error.strerror}") from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise DawgError(f"{path}: larger than {MAX_MANIFEST_BYTES // 1024} KiB; not read")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DawgError(f"{path}: not UTF-8 text") from None
    loader = yaml.SafeLoader(text)
    documents: list[Any] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            expanded = _expanded_size(node)
            if expanded > MAX_YAML_NODES:
                raise DawgError(
                    f"{path}: document {len(documents) + 1} expands to more than {MAX_YAML_NODES} "
                    "YAML nodes (aliases); refused"
                )
            documents.append(loader.construct_document(node))
    except yaml.YAMLError as error:
        raise DawgError(f"{path}: not valid YAML: {str(error).splitlines()[0]}") from None
    except RecursionError:
        raise DawgError(f"{path}: YAML nested too deeply") from None
    except DawgError:
        raise
    except Exception as error:  # SafeLoader raises ValueError for `2024-13-45`, huge ints, ...
        raise DawgError(f"{path}: a value cannot be loaded ({type(error).__name__}); file not read") from None
    finally:
        loader.dispose()
    return documents


def _expanded_size(root: yaml.Node) -> int:
    """Nodes in the document once every alias is replaced by what it names; a cycle is infinite.

    Walked without recursion, each node's size memoized, so a bomb is measured in
    O(distinct nodes) instead of being expanded.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            active.discard(key)
            sizes[key] = min(MAX_YAML_NODES + 1, 1 + sum(sizes[id(child)] for child in children))
            continue
        if key in sizes:
            continue
        if key in active:
            return MAX_YAML_NODES + 1  # a recursive alias
        active.add(key)
        stack.append((node, True))
        stack += [(child, False) for child in children if id(child) not in sizes]
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


class ClusterSource:
    """Dashboard resources from the Kubernetes API, through the official client.

    Listing pages through `limit`/`continue`. A continue token the API server no longer
    honours (410 Expired: etcd compacted the revision the listing started at,
    apiserver/pkg/storage/etcd3/errors.go) restarts that namespace's listing from the
    start, up to `RELISTS` times, instead of losing the pass; objects of the dropped
    pages are not kept, so the result is one consistent listing per namespace.

    Every call has a client-side timeout, as the controller's calls do (`kube`): the
    client's api_client.py `ApiClient.call_api` hands `_request_timeout` to
    rest.py `RESTClientObject.request`, which makes a number a total
    `urllib3.Timeout` and a (connect, read) pair `Timeout(connect=, read=)`; without
    one a read waits forever. A server, or a proxy, that takes the request and never
    answers would then hold a `dawg sync` pass, or the controller's full pass and with
    it every other CR, until the liveness probe kills the pod. Connecting gives up
    after `request_timeout` (5 s, as the Lease calls). A status patch, one small
    object, also waits `request_timeout` for its answer; urllib3 does not retry a
    PATCH (not in urllib3/util/retry.py `Retry.DEFAULT_ALLOWED_METHODS`), so it fails
    after 5 s and counts as a status failure, the dashboard already written. A list
    page waits `list_timeout` (65 s): up to 500 whole objects read from etcd may
    legitimately take long, and kube-apiserver answers such a request itself, 504
    Timeout, at its own deadline (apiserver/pkg/server/filters/timeout.go
    `WithTimeoutForNonLongRunningRequests`; `--request-timeout`, 60 s by default,
    apiserver/pkg/server/config.go `NewConfig`). Waiting a little past it means a slow
    but working API server is never cut short, and its own answer is what the pass
    reports; the client gives up only when nothing answers at all. The read timeout
    bounds each wait for bytes, not the whole transfer, so a large page still arriving
    is never cut. urllib3 retries a GET whose read timed out 3 times (`Retry.DEFAULT`,
    used since the client sets no `retries`), so a silent page fails after at most
    4 x `list_timeout`. Either way the failure is a `KubeError` naming the scope or the
    CR: a failed listing fails the pass before anything is synced or pruned.
    """

    RELISTS = 3
    LIST_TIMEOUT = 65.0
    """Seconds to wait for a list page: past kube-apiserver's own 60 s request deadline."""

    def __init__(
        self,
        api: Any,
        namespaces: list[str] | None = None,
        label_selector: str | None = None,
        exclude_namespaces: list[str] | None = None,
        request_timeout: float = REQUEST_TIMEOUT,
        list_timeout: float = LIST_TIMEOUT,
    ) -> None:
        self.api = api  # kubernetes.client.CustomObjectsApi
        self.namespaces = namespaces or []
        self.label_selector = label_selector or ""
        self.exclude_namespaces = frozenset(exclude_namespaces or ())
        self.request_timeout, self.list_timeout = request_timeout, list_timeout
        self.relists = 0
        """How many listings restarted after a 410 (for the tests and the metrics)."""
        self.resource_version = ""
        """The resourceVersion of the last page listed (a watch starts there)."""

    @classmethod
    def connect(
        cls,
        kubeconfig: str | None,
        namespaces: list[str] | None,
        label_selector: str | None,
        exclude_namespaces: list[str] | None = None,
    ) -> ClusterSource:
        """In-cluster service account when running in a pod, else kubeconfig."""
        from kubernetes import client

        return cls(
            client.CustomObjectsApi(api_client(kubeconfig)), namespaces, label_selector, exclude_namespaces
        )

    def problems(self) -> tuple[Sequence[str], Sequence[str]]:
        return [], []

    def list(self) -> list[DashboardResource]:
        resources: list[DashboardResource] = []
        scopes: list[str | None] = list(self.namespaces) or [None]
        for namespace in scopes:
            resources += self.list_scope(namespace)
        return [r for r in resources if r.namespace not in self.exclude_namespaces]

    def list_scope(self, namespace: str | None) -> builtins.list[DashboardResource]:
        """One namespace's Dashboards (None: all namespaces); a KubeError naming it if that fails."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        where = f"namespace {namespace}" if namespace else "all namespaces"
        attempt = 0
        while True:
            items: Any = []
            token: str | None = None
            try:
                while True:
                    page = self._page(namespace, token)
                    items += page.get("items") or []
                    metadata = page.get("metadata") or {}
                    self.resource_version = str(metadata.get("resourceVersion") or "")
                    token = metadata.get("continue")
                    if not token:
                        return [load_resource(item) for item in items]
            except (ApiException, HTTPError, OSError) as error:  # urllib3's errors are not OSErrors
                what = f"listing Dashboard resources in {where} failed"
                failure = kube_error(what, error, self.list_timeout)
                if failure.status != 410 or token is None or attempt >= self.RELISTS:
                    raise failure from None
                attempt += 1
                self.relists += 1
                log.info("continue token expired (410) listing %s; listing again", where)

    def _page(self, namespace: str | None, token: str | None) -> Any:
        kwargs: dict[str, Any] = {
            "limit": 500,
            "label_selector": self.label_selector,
            "_request_timeout": (self.request_timeout, self.list_timeout),
        }
        if token:
            kwargs["_continue"] = token
        if namespace is None:
            return self.api.list_cluster_custom_object(GROUP, VERSION, PLURAL, **kwargs)
        return self.api.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, **kwargs)

    def patch_status(self, resource: DashboardResource, status: dict[str, Any]) -> None:
        try:
            self.api.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                resource.namespace,
                PLURAL,
                resource.name,
                {"status": status},
                _request_timeout=(self.request_timeout, self.request_timeout),
            )
        except Exception as error:  # urllib3 connection errors are not OSErrors
            failure = kube_error(f"{resource.key}: status update failed", error, self.request_timeout)
            if failure.status == 404:
                return  # deleted during the pass; its dashboard is pruned next time
            raise failure from None


def api_client(kubeconfig: str | None, retries: int | None = None) -> Any:
    """A `kubernetes.client.ApiClient`: the pod's service account in a cluster, else kubeconfig.

    `retries`: urllib3's retries of a failed or timed-out call (the client passes
    `Configuration.retries` to its pool, kubernetes/client/rest.py `RESTClientObject`;
    unset, urllib3's `Retry.DEFAULT` resends even a PUT 3 times). The controller's Lease
    calls use 0, so one call takes at most its timeout and the elector decides."""
    from kubernetes import client, config

    configuration = client.Configuration()
    configuration.retries = retries
    try:
        if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, client_configuration=configuration
            )
    except Exception as error:  # the client raises several unrelated types here
        raise DawgError(f"cannot load Kubernetes credentials: {error}") from None
    return client.ApiClient(configuration)
