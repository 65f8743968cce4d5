"""What one sync job is told (`SyncOptions`), and the pure test of whether a CR needs a pass.

Apart from `sync` so that the job's machinery stays under the module budget; `sync`
re-exports every name here.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .crd import DashboardResource
from .reach import ReachPolicy
from .tenancy import TenancyPolicy

DEFAULT_OWNER = "k8s-dawg-sync"


@dataclass(frozen=True)
class SyncOptions:
    owner: str = DEFAULT_OWNER
    dry_run: bool = False
    concurrency: int = 4
    prune: bool = True
    force_prune: bool = False
    verify_interval: timedelta = timedelta(minutes=30)
    policy: TenancyPolicy = field(default_factory=TenancyPolicy)
    reach: ReachPolicy = field(default_factory=ReachPolicy)
    """Where generators may come from; the CLI restricts it (`ReachPolicy.for_job`)."""
    instance: str = field(default_factory=lambda: f"dawg sync on {socket.gethostname()}")
    """Who this job is, in the owner's lease (`lease`); the same for every pass of one job."""
    deadline: float | None = None
    """Seconds of the pass in which generator runs may happen (`fairness`); None: no limit."""
    namespace_budget: float | None = None
    """Generator seconds one namespace may use per pass (`fairness`); None: no limit."""


def _utc(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def is_fresh(
    resource: DashboardResource, digest: str, now: datetime, interval: timedelta, owner: str = ""
) -> bool:
    """True when the CR needs nothing this pass: same spec, same generator, verified recently
    by this owner. Pure. A status another owner wrote (a CR relabelled into this shard:
    its old shard prunes the dashboard) proves nothing about this owner's dashboard."""
    status = resource.status
    grafana = status.get("grafana")
    if owner and (grafana.get("owner") if isinstance(grafana, dict) else None) != owner:
        return False
    synced = next((c for c in status.get("conditions") or [] if c.get("type") == "Synced"), None)
    last = _utc(status.get("lastSyncTime"))
    return (
        status.get("observedGeneration") == resource.generation
        and status.get("generatorDigest") == digest
        and bool(status.get("dashboardSha256"))
        and synced is not None
        and synced.get("status") == "True"
        and last is not None
        and now - last < interval
    )
