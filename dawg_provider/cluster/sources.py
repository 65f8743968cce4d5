"""Where a pass finds Dashboard resources and where their status goes: the cluster
(through the official `kubernetes` client, imported only here and only when used) or
manifest files for GitOps and local runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import yaml

from ..errors import DawgError
from .crd import API_VERSION, GROUP, KIND, PLURAL, VERSION, DashboardResource


class Source(Protocol):
    """Where Dashboard resources come from, and where their status goes."""

    def list(self) -> list[DashboardResource]: ...

    def patch_status(self, resource: DashboardResource, status: dict[str, Any]) -> None: ...


class ManifestSource:
    """Dashboard manifests from files (`*.yaml`, `*.yml`, `*.json`, multi-document)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.statuses: dict[str, dict[str, Any]] = {}

    def list(self) -> list[DashboardResource]:
        if not self.directory.is_dir():
            raise DawgError(f"--manifests {self.directory}: not a directory")
        resources = []
        for path in sorted(self.directory.rglob("*")):
            if path.suffix not in (".yaml", ".yml", ".json") or not path.is_file():
                continue
            try:
                documents = list(yaml.safe_load_all(path.read_text()))
            except yaml.YAMLError as error:
                raise DawgError(f"{path}: not valid YAML: {str(error).splitlines()[0]}") from None
            for document in documents:
                if (
                    isinstance(document, dict)
                    and document.get("apiVersion") == API_VERSION
                    and document.get("kind") == KIND
                ):
                    resources.append(DashboardResource.from_object(document))
        return resources

    def patch_status(self, resource: DashboardResource, status: dict[str, Any]) -> None:
        self.statuses[resource.key] = status


class ClusterSource:
    """Dashboard resources from the Kubernetes API, through the official client."""

    def __init__(
        self, api: Any, namespaces: list[str] | None = None, label_selector: str | None = None
    ) -> None:
        self.api = api  # kubernetes.client.CustomObjectsApi
        self.namespaces = namespaces or []
        self.label_selector = label_selector or ""

    @classmethod
    def connect(
        cls, kubeconfig: str | None, namespaces: list[str] | None, label_selector: str | None
    ) -> ClusterSource:
        """In-cluster service account when running in a pod, else kubeconfig."""
        from kubernetes import client, config

        try:
            if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
                config.load_incluster_config()  # type: ignore[no-untyped-call]
            else:
                config.load_kube_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
        except Exception as error:  # the client raises several unrelated types here
            raise DawgError(f"cannot load Kubernetes credentials: {error}") from None
        return cls(client.CustomObjectsApi(), namespaces, label_selector)

    def list(self) -> list[DashboardResource]:
        from kubernetes.client.exceptions import ApiException

        resources: list[DashboardResource] = []
        scopes: list[str | None] = list(self.namespaces) or [None]
        try:
            for namespace in scopes:
                token: str | None = None
                while True:
                    kwargs: dict[str, Any] = {"limit": 500, "label_selector": self.label_selector}
                    if token:
                        kwargs["_continue"] = token
                    if namespace is None:
                        page = self.api.list_cluster_custom_object(GROUP, VERSION, PLURAL, **kwargs)
                    else:
                        page = self.api.list_namespaced_custom_object(
                            GROUP, VERSION, namespace, PLURAL, **kwargs
                        )
                    resources += [DashboardResource.from_object(item) for item in page.get("items", [])]
                    token = (page.get("metadata") or {}).get("continue")
                    if not token:
                        break
        except ApiException as error:
            raise DawgError(
                f"listing Dashboard resources failed: HTTP {error.status} {error.reason}"
            ) from None
        except OSError as error:
            raise DawgError(f"listing Dashboard resources failed: {error}") from None
        return resources

    def patch_status(self, resource: DashboardResource, status: dict[str, Any]) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self.api.patch_namespaced_custom_object_status(
                GROUP, VERSION, resource.namespace, PLURAL, resource.name, {"status": status}
            )
        except ApiException as error:
            if error.status == 404:
                return  # deleted during the pass; its dashboard is pruned next time
            raise DawgError(
                f"{resource.key}: status update failed: HTTP {error.status} {error.reason}"
            ) from None
