"""What one pass did: per-CR results and the pass's own errors, kept apart.

Per-CR failures are recorded in each CR's status (that is where a team looks); the
pass's `errors` are what stopped the job from doing its work (listing, Grafana,
status writes, safe pruning). The exit code of `dawg sync` follows that split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ..errors import (
    DawgError,
    GeneratorFailed,
    GrafanaError,
    InvalidDashboard,
    PolicyViolation,
)
from ..grafana.planner import Action
from .crd import Reason

NOT_LEADING = "not written: this replica no longer leads (it lost the leader Lease, or it is shutting down)"
REFUSED = (
    "dashboard {uid} exists and was not written for this resource; the job will not overwrite it. "
    "Choose another uid, or set spec.adopt where the job's policy allows it"
)
"""The planner's refusal names the dashboard's title and owner: not for another team's eyes."""


class Outcome(Enum):
    """What happened to one CR in a pass."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SUSPENDED = "suspended"
    FAILED = "failed"
    DEFERRED = "deferred"


@dataclass(frozen=True)
class CrResult:
    key: str
    uid: str
    outcome: Outcome
    reason: Reason
    message: str
    diff: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    """What the render and apply warned about (the dashboard was written, or would be)."""


@dataclass
class Summary:
    results: list[CrResult] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """What made the pass itself fail (the job exits non-zero); per-CR failures are in results."""
    notices: list[str] = field(default_factory=list)
    status_failures: int = 0
    """Status writes that failed: those CRs show an old status, so the job failed."""

    def count(self, outcome: Outcome) -> int:
        return sum(1 for result in self.results if result.outcome is outcome)

    @property
    def failed(self) -> bool:
        return self.count(Outcome.FAILED) > 0 or self.job_failed

    @property
    def job_failed(self) -> bool:
        return bool(self.errors) or self.status_failures > 0

    def line(self, dry_run: bool = False) -> str:
        prefix = "dawg sync (dry run, nothing written)" if dry_run else "dawg sync"
        parts = [f"{self.count(o)} {o.value}" for o in Outcome if o is not Outcome.DEFERRED or self.count(o)]
        return (
            f"{prefix}: {len(self.results)} dashboards: " + ", ".join(parts) + f", {len(self.pruned)} pruned"
        )


def classify(action: Action) -> tuple[Outcome, Reason]:
    return {
        Action.CREATE: (Outcome.CREATED, Reason.CREATED),
        Action.UPDATE: (Outcome.UPDATED, Reason.UPDATED),
        Action.ADOPT: (Outcome.UPDATED, Reason.ADOPTED),
        Action.NOOP: (Outcome.UNCHANGED, Reason.UP_TO_DATE),
        Action.REFUSE: (Outcome.FAILED, Reason.UID_CONFLICT),
        Action.DRIFTED: (Outcome.FAILED, Reason.DRIFTED),
    }[action]


def failure_reason(error: DawgError) -> Reason:
    """The condition reason of a CR whose sync stopped on `error`: a generator exiting 1
    refused its config (contract), anything else from the generator or registry is its
    failure; policy, model and Grafana errors have reasons of their own."""
    if isinstance(error, PolicyViolation):
        return Reason.POLICY_DENIED
    if isinstance(error, InvalidDashboard):
        return Reason.DASHBOARD_INVALID
    if isinstance(error, GeneratorFailed):
        return Reason.CONFIG_INVALID if error.exit_code == 1 else Reason.GENERATOR_FAILED
    if isinstance(error, GrafanaError):
        return Reason.GRAFANA_ERROR
    return Reason.GENERATOR_FAILED  # GeneratorError, RegistryError and any other DawgError


def schema_message(problems: list[str] | tuple[str, ...]) -> str:
    """A CR that does not fit the CRD's schema: the first 20 problems and a count."""
    shown = list(problems[:20])
    if len(problems) > 20:
        shown.append(f"... and {len(problems) - 20} more")
    return "does not fit the Dashboard CRD's schema: " + "; ".join(shown)
