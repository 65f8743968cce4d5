"""One writer per owner: a lease marker in Grafana that a second sync job sees and obeys.

Two jobs with the same owner tag on one Grafana (two clusters installed with the same
name, a hand-run `dawg sync --owner ...` beside the CronJob) each see the other's
dashboards as having no Dashboard resource, and prune them. So before writing, a
pass takes the owner's lease: a small dashboard (uid derived from the owner, tag
`dawg-lease`, no `dawg-managed` tag so no pruning ever lists it) recording which job
instance holds it and when it last renewed it. Another instance finding a lease
renewed less than `LEASE_DURATION` ago refuses the whole pass with a message naming
the holder. The write uses Grafana's version check, so two jobs racing for a free
lease cannot both win (the loser gets 409/412). A pass renews only when its lease is
older than a third of the duration, so the marker does not grow a new Grafana
version on every pass. A renewal time without a zone or more than `CLOCK_SKEW` in the
future is not one this job could have written: such a lease holds nothing (a forged
`renewed: 2999-...` must not refuse every pass forever). No CR can write the lease:
its uid starts with the `dawg-` prefix that literal uids may not use (`tenancy`).

The decision is a pure function (`lease_problem`); `take` does the I/O.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..errors import GrafanaConflict, PolicyViolation
from ..grafana import GrafanaClient, ownership

LEASE_TAG = "dawg-lease"
LEASE_DURATION = timedelta(minutes=30)
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a lease's renewal may lie (clocks differ) before it is ignored."""


def lease_uid(owner: str) -> str:
    return ownership.derived_uid("dawg-lease", owner)


def _record(dashboard: dict[str, Any] | None) -> tuple[str, datetime | None]:
    lease = (dashboard or {}).get("dawgLease")
    if not isinstance(lease, dict):
        return "", None
    holder, renewed = lease.get("holder"), lease.get("renewed")
    try:
        when = datetime.fromisoformat(renewed) if isinstance(renewed, str) else None
    except ValueError:
        when = None
    if when is not None and when.tzinfo is None:
        when = None  # the job writes aware times; a naive one is forged or broken: not a lease
    return (holder if isinstance(holder, str) else ""), when


def lease_problem(dashboard: dict[str, Any] | None, owner: str, instance: str, now: datetime) -> str | None:
    """Why `instance` may not write as `owner` now, or None. Pure."""
    holder, renewed = _record(dashboard)
    if not holder or holder == instance or renewed is None or now - renewed >= LEASE_DURATION:
        return None
    if renewed - now > CLOCK_SKEW:
        return None  # renewed in the future: no job wrote that, so it holds nothing
    return (
        f"another sync job ({holder!r}) writes as owner {owner!r} on this Grafana (lease renewed "
        f"{renewed:%Y-%m-%dT%H:%M:%SZ}); two jobs with one owner would prune each other's "
        f"dashboards. Give this job its own --owner, or stop the other one (its lease expires "
        f"{LEASE_DURATION.total_seconds() / 60:.0f} minutes after its last pass)"
    )


def needs_renewal(dashboard: dict[str, Any] | None, instance: str, now: datetime) -> bool:
    holder, renewed = _record(dashboard)
    return (
        holder != instance
        or renewed is None
        or now - renewed >= LEASE_DURATION / 3
        or renewed - now > CLOCK_SKEW
    )


def take(client: GrafanaClient, owner: str, instance: str, now: datetime, dry_run: bool) -> None:
    """Hold `owner`'s lease for this pass, or raise `PolicyViolation` naming the holder."""
    uid = lease_uid(owner)
    live = client.get_dashboard(uid)
    current = live.dashboard if live else None
    problem = lease_problem(current, owner, instance, now)
    if problem:
        raise PolicyViolation(problem)
    if dry_run or not needs_renewal(current, instance, now):
        return
    marker: dict[str, Any] = {
        "uid": uid,
        "title": f"DAWG sync lease: {owner}"[:200],
        "tags": [LEASE_TAG],
        "panels": [],
        "description": "Which DAWG sync job writes as this owner. Do not edit; see the DAWG README.",
        "dawgLease": {"owner": owner, "holder": instance, "renewed": now.isoformat()},
    }
    if live is not None:
        marker["version"] = live.version
    try:
        client.save_dashboard(marker, folder_uid=live.folder_uid if live else "", message="DAWG lease")
    except GrafanaConflict:
        raise PolicyViolation(
            f"another sync job took the lease of owner {owner!r} at the same moment; refusing this pass"
        ) from None
