"""Grafana: the HTTP client, the canonical form of a dashboard, ownership marks,
the pure planner (desired vs observed -> action) and the applier that carries a plan out.

May import: `dawg_provider.errors` and `dawg_provider.units` only. The planner is
pure; only `client` and `apply` do I/O.
"""

from .client import GrafanaClient
from .models import Folder, GrafanaConnection, Health, LiveDashboard, RetryPolicy, SaveResult, SearchHit

__all__ = [
    "Folder",
    "GrafanaClient",
    "GrafanaConnection",
    "Health",
    "LiveDashboard",
    "RetryPolicy",
    "SaveResult",
    "SearchHit",
]
