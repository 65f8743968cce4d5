"""The one decision DAWG makes about a dashboard: desired vs observed -> an action.

`pulumi preview`, `pulumi up`, `dawg sync --dry-run` and the real sync all call
`plan()` with the same inputs, so a dry run shows exactly what the real run does.
Pure: no I/O, no clock, no randomness.

The rules, in order:

1. Nothing in Grafana -> CREATE.
2. Stored as schema v2 (saved from the 13.x UI with dynamic dashboards, or by
   another tool) while DAWG's is classic: drift whatever the version says, because
   writing classic JSON over it would silently drop what only v2 can hold. Drift policy `fail` ->
   DRIFTED, whoever owns it and even with `adopt` (checked before adoption, so
   adopting can never overwrite a v2 dashboard behind `fail`'s back); `overwrite`
   -> go on through rule 3, never NOOP, always with a warning naming the v2 loss.
   Drift policy `overwrite` is the explicit opt-in to replace it. DAWG's own v2 write,
   unchanged since (recorded at the version Grafana has), is not drift: its generator
   switched back to classic -> UPDATE, with a warning. A generator that
   prints v2 (`v2.py`) is compared with the v2 dashboard like any other: its
   edits in the UI show as drift by version (rule 4).
3. Something DAWG did not write (no `dawg-managed` tag), or that another owner
   wrote, or (on `/apis`) whose tags and labels do not name the same owner
   (`ownership.disagreement`) -> REFUSE, unless adoption was asked for explicitly
   -> ADOPT. DAWG's labels merely missing where DAWG has a record of the dashboard
   (a legacy-API write, a Grafana that drops them, a UI "Restore version" that sends
   `metadata: {name}` only) are not a disagreement: tags decide, then rule 4 by version
   (`trusted_labels`). Without a record, tags alone may have been pasted in: REFUSE.
4. DAWG's own, but its version is not the one DAWG last applied: someone edited it
   (usually in the UI). Drift policy `fail` -> DRIFTED (no write, with who changed
   it); `overwrite` -> go on, with a warning naming who.
5. Same canonical content in the same folder -> NOOP: no write, so Grafana's
   version history does not grow on every sync.
6. Otherwise UPDATE, sent with the observed version (not `overwrite`), so an edit
   that lands between our read and our write is a conflict, not a silent loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from . import ownership, v2
from .canonical import DashboardDiff, content_hash, diff


class Action(Enum):
    """What to do in Grafana."""

    CREATE = "create"
    UPDATE = "update"
    ADOPT = "adopt"
    NOOP = "noop"
    REFUSE = "refuse"
    DRIFTED = "drifted"

    @property
    def writes(self) -> bool:
        return self in (Action.CREATE, Action.UPDATE, Action.ADOPT)


class DriftPolicy(Enum):
    """What to do when a dashboard DAWG owns was changed outside DAWG."""

    OVERWRITE = "overwrite"
    FAIL = "fail"


@dataclass(frozen=True)
class Desired:
    """The dashboard DAWG wants: already marked with DAWG's tags and carrying its uid."""

    uid: str
    dashboard: dict[str, Any]
    folder_uid: str
    generator: str = ""
    """The generator that printed it (its reference), for messages."""

    @property
    def hash(self) -> str:
        return content_hash(self.dashboard)

    @property
    def schema(self) -> str:
        """ "v1" for the classic model, else the v2 version it is written at (`v2.py`)."""
        return v2.version_of(self.dashboard) or "v1"


@dataclass(frozen=True)
class Observed:
    """What Grafana has under the uid (None fields when there is nothing)."""

    dashboard: dict[str, Any]
    version: int
    folder_uid: str
    updated_by: str = ""
    provisioned: bool = False
    schema: str = "v1"
    """"v1" for classic JSON, else the v2 version Grafana stores it as."""
    labels: dict[str, str] | None = None
    """The `/apis` labels (DAWG's ownership is there too); None on the legacy API."""


@dataclass(frozen=True)
class Recorded:
    """What DAWG applied last time (Pulumi state, Dashboard status)."""

    version: int | None = None
    dashboard_hash: str | None = None


@dataclass(frozen=True)
class Policy:
    owner: str
    adopt: bool = False
    drift: DriftPolicy = DriftPolicy.OVERWRITE


@dataclass(frozen=True)
class Plan:
    """The decision, why, and what would change."""

    action: Action
    reason: str
    diff: DashboardDiff | None = None
    expected_version: int | None = None
    """The version the update must replace (optimistic concurrency); None for create."""
    warnings: tuple[str, ...] = ()

    @property
    def writes(self) -> bool:
        return self.action.writes


def plan(desired: Desired, observed: Observed | None, recorded: Recorded | None, policy: Policy) -> Plan:
    """Decide; see the module docstring for the rules."""
    if observed is None:
        return Plan(Action.CREATE, f"dashboard {desired.uid} does not exist in Grafana")
    changes = diff(observed.dashboard, desired.dashboard)
    moved = observed.folder_uid != desired.folder_uid
    same = content_hash(observed.dashboard) == desired.hash and not moved
    if observed.provisioned:
        return Plan(
            Action.REFUSE,
            f"dashboard {desired.uid} is provisioned from files in Grafana; the API cannot save it",
        )
    if observed.schema != "v1" and not observed.dashboard:  # 12.x legacy GET refuses v2 (406): unreadable
        unreadable = (
            f"dashboard {desired.uid} is stored as schema {observed.schema} (converted in the Grafana UI), "
            "which this API cannot read"
        )
        if policy.drift is DriftPolicy.FAIL:
            return Plan(Action.DRIFTED, f"{unreadable}; drift policy is 'fail', so nothing was written")
        return Plan(Action.REFUSE, f"{unreadable}, so DAWG cannot tell whose it is; use the /apis dialect")
    v2_loss: tuple[str, ...] = ()
    own_last_write = recorded is not None and recorded.version == observed.version
    if observed.schema != "v1" and desired.schema == "v1" and own_last_write and _owned(observed, policy):
        # DAWG's own v2 write, untouched since: the generator switched back to the classic model
        v2_loss = (
            f"dashboard {desired.uid}: its generator now prints the classic model over DAWG's own "
            f"schema {observed.schema} dashboard; what only v2 holds is replaced",
        )
    elif observed.schema != "v1" and desired.schema == "v1":
        converted = (
            f"dashboard {desired.uid} was converted to the v2 schema ({observed.schema}) in the Grafana UI"
            f"{' by ' + observed.updated_by if observed.updated_by else ''}; writing DAWG's classic JSON "
            "over it would lose what only v2 holds"
        )
        if policy.drift is DriftPolicy.FAIL:
            return Plan(Action.DRIFTED, f"{converted}; drift policy is 'fail', so nothing was written")
        v2_loss = (f"{converted}; overwriting it (drift policy 'overwrite')",)
    labels = ownership.trusted_labels(observed.labels, recorded is not None and recorded.version is not None)
    conflict = ownership.disagreement(observed.dashboard, labels)
    owner = ownership.owner_of(observed.dashboard, labels)
    ours = ownership.owned_by(observed.dashboard, policy.owner, labels)
    if not ours:
        if policy.adopt:
            if same and not v2_loss:
                return Plan(Action.NOOP, f"dashboard {desired.uid} already has the desired content")
            return Plan(
                Action.ADOPT,
                f"taking over dashboard {desired.uid} ({_who(observed)}) as asked (adopt)",
                changes,
                observed.version,
                v2_loss,
            )
        if conflict is not None:
            return Plan(
                Action.REFUSE,
                f"dashboard {desired.uid} ({observed.dashboard.get('title', '')!r}) exists and {conflict}, "
                "so no one owns it for sure; DAWG will not overwrite it. Set adopt to take it over",
            )
        whose = f"DAWG owner {owner!r}" if owner else "someone else (it has no dawg-managed tag)"
        return Plan(
            Action.REFUSE,
            f"dashboard {desired.uid} ({observed.dashboard.get('title', '')!r}) exists and belongs to "
            f"{whose}; DAWG will not overwrite it. Choose another uid, or set adopt to take it over",
        )
    warnings: tuple[str, ...] = ()
    if v2_loss:
        return Plan(
            Action.UPDATE,
            f"dashboard {desired.uid}: replacing the v2 dashboard",
            changes,
            observed.version,
            v2_loss,
        )
    if recorded is not None and recorded.version is not None and observed.version != recorded.version:
        edited = (
            f"dashboard {desired.uid} was changed outside DAWG by {observed.updated_by or 'someone'} "
            f"(version {recorded.version} -> {observed.version})"
        )
        if policy.drift is DriftPolicy.FAIL:
            return Plan(Action.DRIFTED, f"{edited}; drift policy is 'fail', so nothing was written", changes)
        warnings = (f"{edited}; overwriting it (drift policy 'overwrite')",)
    if same:
        return Plan(Action.NOOP, f"dashboard {desired.uid} is up to date", warnings=warnings)
    reason = f"dashboard {desired.uid}: {changes.summary()}" + (" and a new folder" if moved else "")
    return Plan(Action.UPDATE, reason, changes, observed.version, warnings)


def _owned(observed: Observed, policy: Policy) -> bool:
    labels = ownership.trusted_labels(observed.labels, True)  # only called on DAWG's own last write
    return ownership.owned_by(observed.dashboard, policy.owner, labels)


def _who(observed: Observed) -> str:
    owner = ownership.owner_of(observed.dashboard)
    if owner:
        return f"owned by {owner}"
    return f"last changed by {observed.updated_by}" if observed.updated_by else "not DAWG's"
