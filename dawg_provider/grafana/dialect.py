"""Which API a Grafana is spoken to in: the legacy `/api` or the Kubernetes-style `/apis`.

Why: Grafana 13 deprecates `/api/dashboards` and `/api/folders` for
`/apis/dashboard.grafana.app` and `/apis/folder.grafana.app`; 12.x serves both; 10.x
and 11.x only the legacy one. A legacy save on 12.x/13.x also resets labels and
annotations and stores the dashboard as v0alpha1 (`../shared/grafana-apis.md` §9).
So DAWG asks once per client which dashboard versions are served and speaks `/apis`
where the classic-JSON version is there (`v1` on 13.x, `v1beta1` on 12.x), never
by `preferredVersion`, which flips to `v2` when dynamic dashboards are on.
Namespaces: `default` for org 1, `org-<id>` otherwise, or a configured override
(Grafana Cloud's `stacks-<id>`). All functions here are pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Dialect(Enum):
    """Which API to speak; AUTO detects it once per client."""

    AUTO = "auto"
    LEGACY = "legacy"
    APIS = "apis"


CLASSIC_VERSIONS = ("v1", "v1beta1")
FOLDER_VERSIONS = ("v1", "v1beta1")


@dataclass(frozen=True)
class Apis:
    """The `/apis` versions DAWG uses on one Grafana, and the namespace of its org."""

    dashboard: str
    folder: str | None
    namespace: str
    served: tuple[str, ...] = ()
    """Every dashboard.grafana.app version the server lists (a v2 dashboard is written at its own)."""

    def dashboards(self, version: str | None = None) -> str:
        return (
            f"/apis/dashboard.grafana.app/{version or self.dashboard}/namespaces/{self.namespace}/dashboards"
        )

    def folders(self) -> str:
        return f"/apis/folder.grafana.app/{self.folder}/namespaces/{self.namespace}/folders"


def served(group: Any) -> tuple[str, ...]:
    """The versions an `APIGroup` answer lists (empty for anything else)."""
    if not isinstance(group, dict) or not isinstance(group.get("versions"), list):
        return ()
    return tuple(str(v.get("version")) for v in group["versions"] if isinstance(v, dict) and v.get("version"))


def choose(
    dashboard_versions: tuple[str, ...], folder_versions: tuple[str, ...], namespace: str
) -> Apis | None:
    """The versions to speak, or None when no classic-JSON dashboard version is served."""
    classic = next((v for v in CLASSIC_VERSIONS if v in dashboard_versions), None)
    if classic is None:
        return None
    folder = next((v for v in FOLDER_VERSIONS if v in folder_versions), None)
    return Apis(classic, folder, namespace, tuple(dashboard_versions))


def namespace_for(org_id: int, override: str | None = None) -> str:
    """`default` for org 1, `org-<id>` otherwise; an override wins (Cloud: `stacks-<id>`)."""
    if override:
        return override
    return "default" if org_id == 1 else f"org-{org_id}"


def stored_schema(obj: dict[str, Any]) -> str:
    """ "v1", or the v2 version a dashboard is stored as (`status.conversion`, grafana-apis.md §4)."""
    status: Any = obj.get("status")
    conversion: Any = status.get("conversion") if isinstance(status, dict) else None
    if not isinstance(conversion, dict):
        return "v1"
    stored = str(conversion.get("storedVersion") or "")
    if stored.startswith("v2"):
        return stored
    if conversion.get("failed"):
        return stored or "v2"
    return "v1"
