"""Carrying out a plan against Grafana: read, decide (`planner.plan`), write if needed.

The I/O half of the planner: one GET to observe, and a POST only when the plan
says so. A dry run calls `observe` and `planner.plan` and stops there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .client import GrafanaClient
from .models import LiveDashboard, SaveResult
from .planner import Desired, Observed, Plan, Policy, Recorded, plan


@dataclass(frozen=True)
class Applied:
    """A plan and, when it wrote, Grafana's answer."""

    plan: Plan
    saved: SaveResult | None
    live: LiveDashboard | None


def observed(live: LiveDashboard | None) -> Observed | None:
    if live is None:
        return None
    return Observed(live.dashboard, live.version, live.folder_uid, live.updated_by, live.provisioned)


def payload(desired: Desired, expected_version: int | None) -> dict[str, Any]:
    """What is POSTed: the desired dashboard with its uid, and the version it replaces."""
    body = {key: value for key, value in desired.dashboard.items() if key not in ("id", "version")}
    body["uid"] = desired.uid
    if expected_version is not None:
        body["version"] = expected_version
    return body


def apply(
    client: GrafanaClient, desired: Desired, recorded: Recorded | None, policy: Policy, message: str = ""
) -> Applied:
    """Observe, plan, and write when the plan says so."""
    live = client.get_dashboard(desired.uid)
    decision = plan(desired, observed(live), recorded, policy)
    if not decision.writes:
        return Applied(decision, None, live)
    saved = client.save_dashboard(
        payload(desired, decision.expected_version),
        folder_uid=desired.folder_uid,
        message=message or f"DAWG: {decision.reason}"[:500],
    )
    return Applied(decision, saved, live)
