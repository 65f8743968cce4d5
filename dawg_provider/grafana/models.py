"""What the Grafana client is given (a connection) and what it answers (typed results).

Plain values, no I/O: the planner and the adapters read these without touching HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..errors import DawgError, register_credentials, register_secret
from .dialect import Dialect
from .health import HealthState
from .responses import safe_url


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts, backoff, and a cap on the total time spent."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 10.0
    total: float = 120.0


@dataclass(frozen=True)
class GrafanaConnection:
    """Where Grafana is and how to talk to it. Credentials are kept out of `repr`."""

    url: str
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    org_id: int | None = None
    ca_bundle: str | None = None
    verify_tls: bool = True
    timeout: tuple[float, float] = (5.0, 30.0)
    retry: RetryPolicy = RetryPolicy()
    deadline: float | None = None
    """Seconds allowed for everything done through this connection (a sync pass); None: no limit."""
    health: HealthState = field(default_factory=HealthState, compare=False, repr=False)
    """Shared by every client made from this connection: the circuit breaker and the deadline."""
    dialect: Dialect = Dialect.AUTO
    """Force the legacy `/api` or the `/apis` dialect; AUTO speaks `/apis` where it is served."""
    namespace: str | None = None
    """The `/apis` namespace when it is not `default`/`org-<id>` (Grafana Cloud: `stacks-<id>`)."""
    provenance: bool = False
    """On `/apis`, mark DAWG's dashboards as managed (`grafana.app/managedBy`): the UI shows it."""
    allow_ui_edits: bool = True
    """With `provenance`, still let people edit in the UI (`grafana.app/managerAllowsEdits`)."""

    def __post_init__(self) -> None:
        if self.deadline is not None:
            self.health.deadline = self.deadline
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise DawgError(f"Grafana URL {safe_url(self.url)!r} is not an http(s) URL")
        if parts.username or parts.password:
            raise DawgError("Grafana URL must not contain credentials; use a token or username/password")
        register_secret(self.token)  # whoever builds a connection, its secrets are scrubbed
        register_credentials(self.username, self.password)

    @property
    def base(self) -> str:
        return self.url.rstrip("/")

    def absolute_url(self, url: str) -> str:
        """Grafana's relative `/d/...` URLs made absolute; a sub-path is not doubled."""
        if url.startswith(("http://", "https://")):
            return url
        parts = urlsplit(self.base)
        origin = f"{parts.scheme}://{parts.netloc}"
        prefix = parts.path.rstrip("/")
        if prefix and url.startswith(prefix + "/"):
            return origin + url
        return origin + prefix + url


@dataclass(frozen=True)
class Health:
    database: str
    version: str | None
    commit: str | None


@dataclass(frozen=True)
class LiveDashboard:
    """A dashboard as Grafana has it, with the meta DAWG decides on."""

    uid: str
    dashboard: dict[str, Any]
    version: int
    folder_uid: str
    url: str
    updated_by: str
    provisioned: bool
    schema: str = "v1"
    """"v1" for classic JSON; the v2 version when Grafana stores it as v2 (edited in the 13.x UI)."""
    resource_version: str = ""
    labels: dict[str, str] | None = None
    """The `/apis` object's labels (where DAWG's ownership is too); None on the legacy API."""

    @property
    def title(self) -> str:
        return str(self.dashboard.get("title", ""))


@dataclass(frozen=True)
class SaveResult:
    uid: str
    url: str
    version: int
    folder_uid: str
    recovered: bool = False
    """True when the response was lost and the write was confirmed by re-reading."""


@dataclass(frozen=True)
class Folder:
    uid: str
    title: str
    parent_uid: str

    @classmethod
    def from_row(
        cls, row: dict[str, Any], uid: str | None = None, title: str = "", parent_uid: str = ""
    ) -> Folder:
        """A folder from Grafana's JSON; the defaults stand in for keys an answer left out."""
        return cls(
            str(row.get("uid", uid)), str(row.get("title", title)), str(row.get("parentUid") or parent_uid)
        )


@dataclass(frozen=True)
class SearchHit:
    uid: str
    title: str
    type: str
    tags: tuple[str, ...]
    folder_uid: str
    url: str

    @classmethod
    def from_row(cls, hit: dict[str, Any]) -> SearchHit:
        """A hit from `/api/search`'s JSON."""
        return cls(
            uid=str(hit.get("uid", "")),
            title=str(hit.get("title", "")),
            type=str(hit.get("type", "")),
            tags=tuple(hit.get("tags") or ()),
            folder_uid=str(hit.get("folderUid") or ""),
            url=str(hit.get("url", "")),
        )
