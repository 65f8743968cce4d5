"""Grafana: the HTTP client, the canonical form of a dashboard, ownership marks,
the pure planner (desired vs observed -> action) and the applier that carries a plan out.

May import: `dawg_provider.errors`, `dawg_provider.units`, `dawg_provider.observe` only. The planner and
`server` are pure; `transport` and the client's parts (`dashboards`, `folders`,
`search`) and `apply` do I/O.
"""

from .client import GrafanaClient
from .dialect import Dialect
from .health import HealthState
from .models import Folder, GrafanaConnection, Health, LiveDashboard, RetryPolicy, SaveResult, SearchHit
from .server import ServerInfo

__all__ = [
    "Dialect",
    "Folder",
    "GrafanaClient",
    "GrafanaConnection",
    "Health",
    "HealthState",
    "LiveDashboard",
    "RetryPolicy",
    "SaveResult",
    "SearchHit",
    "ServerInfo",
]
