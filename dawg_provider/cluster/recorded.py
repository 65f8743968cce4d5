"""What DAWG knows of its last write of a CR's dashboard: the CR's status, or the seal.

The planner compares the live dashboard with what DAWG last wrote (`planner.Recorded`).
A CronJob or controller pass reads that from the CR's status; two cases need Grafana's
copy as well, and both are pure decisions kept here, apart from the pass's I/O:

- a status write that was lost after a successful write: Grafana holds a newer version
  that still carries DAWG's owner tag and an intact `dawg-sha` seal (a UI edit changes
  the content, so the seal no longer fits), so it is DAWG's own write, not drift;
- `--manifests` passes keep no status at all: the seal alone shows an edit in Grafana.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..grafana import ownership
from ..grafana.models import LiveDashboard
from ..grafana.planner import DriftPolicy, Recorded
from .crd import DashboardResource


def recorded_for(resource: DashboardResource, live: LiveDashboard | None, owner: str) -> Recorded:
    """The version and hash DAWG recorded, corrected for a status write that was lost."""
    status_grafana = resource.status.get("grafana")
    version = status_grafana.get("version") if isinstance(status_grafana, dict) else None
    recorded = Recorded(version if isinstance(version, int) else None, resource.status.get("dashboardSha256"))
    if (
        recorded.version is not None
        and live is not None
        and live.version != recorded.version
        and ownership.owned_by(live.dashboard, owner)
        and ownership.seal_intact(live.dashboard)
    ):
        return replace(recorded, version=live.version)
    return recorded


@dataclass(frozen=True)
class SealedEdit:
    """An edit made in Grafana seen through the seal, when no status records DAWG's write."""

    refuse: str | None = None
    """Why nothing may be written (drift policy 'fail')."""
    notes: tuple[str, ...] = ()
    """Warnings to report when the edit is overwritten."""


def sealed_edit(recorded: Recorded, live: LiveDashboard | None, uid: str, drift: DriftPolicy) -> SealedEdit:
    if recorded.version is not None or live is None or not ownership.edited_since_sealed(live.dashboard):
        return SealedEdit()
    edit = f"dashboard {uid} was edited in Grafana after DAWG wrote it (its dawg-sha mark differs)"
    if drift is DriftPolicy.FAIL:
        return SealedEdit(refuse=f"{edit}; drift policy is 'fail', so nothing was written")
    return SealedEdit(notes=(f"{edit}; overwriting it (drift policy 'overwrite')",))
