"""Carrying out a plan against Grafana: read, decide (`planner.plan`), write if needed.

The I/O half of the planner: one GET to observe, and a POST only when the plan
says so. A dry run calls `preview`, which observes and decides exactly as `apply`
does and stops there.

Before deciding, the desired dashboard is put in the form this Grafana stores
(`server.normalise`: title trimmed, `refresh` raised to the server minimum), so an
unchanged dashboard is 0 writes on every run. Where the minimum is not exposed, it
is learnt from DAWG's own last write read back: same version as recorded (nobody wrote
since) AND the same generator output as recorded (so what DAWG sent then is what it
would send now). Without the second condition a generator that lowers `refresh`
(1h -> 1m) would "teach" DAWG a minimum of 1h: its change silently dropped and every
other dashboard rewritten to 1h (review of issue 12, finding 2).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..errors import GrafanaUnsupported
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
    return Observed(
        live.dashboard,
        live.version,
        live.folder_uid,
        live.updated_by,
        live.provisioned,
        live.schema,
        live.labels,
    )


def payload(desired: Desired, expected_version: int | None) -> dict[str, Any]:
    """What is POSTed: the desired dashboard with its uid, and the version it replaces."""
    body = {key: value for key, value in desired.dashboard.items() if key not in ("id", "version")}
    body["uid"] = desired.uid
    if expected_version is not None:
        body["version"] = expected_version
    return body


def check_writable(client: GrafanaClient, uid: str, dashboard: dict[str, Any], generator: str = "") -> None:
    """Refuse a schema v2 dashboard this Grafana cannot store, naming the dashboard, its generator
    and the Grafana version (`v2.write_problem`). Adapters call it before creating folders too,
    so nothing is half-written."""
    problem = client.v2_problem(dashboard)
    if problem is not None:
        source = f" from generator {generator}" if generator else ""
        path = "/apis/dashboard.grafana.app" if client.apis() is not None else "/api/dashboards/db"
        raise GrafanaUnsupported("POST", path, f"dashboard {uid}{source}", None, problem)


def prepare(
    client: GrafanaClient, desired: Desired, live: LiveDashboard | None, recorded: Recorded | None
) -> Desired:
    """`desired` as this Grafana will store it; learns the refresh minimum from DAWG's own last write.

    A schema v2 dashboard this Grafana cannot store is refused here, in a dry run alike."""
    check_writable(client, desired.uid, desired.dashboard, desired.generator)
    own_last_write = (
        live is not None
        and recorded is not None
        and recorded.version == live.version
        and recorded.dashboard_hash == desired.hash
    )
    if own_last_write and live is not None:
        client.learn_from(desired.dashboard, live.dashboard)
    return replace(desired, dashboard=client.normalised(desired.dashboard))


class _Unread:
    """`live` not given: `apply`/`preview` read it themselves."""


UNREAD = _Unread()


def preview(
    client: GrafanaClient,
    desired: Desired,
    recorded: Recorded | None,
    policy: Policy,
    live: LiveDashboard | _Unread | None = UNREAD,
) -> Plan:
    """What `apply` would do, without writing. Pass `live` when the caller already read it."""
    if isinstance(live, _Unread):
        live = client.get_dashboard(desired.uid, desired.schema)
    return _warned(client, plan(prepare(client, desired, live, recorded), observed(live), recorded, policy))


def _warned(client: GrafanaClient, decision: Plan) -> Plan:
    """The plan, carrying the warning for the legacy dialect forced on Grafana 13+ (if it is)."""
    risk = client.legacy_v2_risk()
    return replace(decision, warnings=(*decision.warnings, risk)) if risk else decision


def apply(
    client: GrafanaClient,
    desired: Desired,
    recorded: Recorded | None,
    policy: Policy,
    message: str = "",
    live: LiveDashboard | _Unread | None = UNREAD,
) -> Applied:
    """Observe (unless `live` is given: one GET per dashboard, not two), plan, and write when
    the plan says so."""
    if isinstance(live, _Unread):
        live = client.get_dashboard(desired.uid, desired.schema)
    ready = prepare(client, desired, live, recorded)
    decision = _warned(client, plan(ready, observed(live), recorded, policy))
    if not decision.writes:
        return Applied(decision, None, live)
    saved = client.save_dashboard(
        payload(ready, decision.expected_version),
        folder_uid=ready.folder_uid,
        message=message or f"DAWG: {decision.reason}",
    )
    return Applied(decision, saved, live)
