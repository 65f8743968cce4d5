"""What one pass did: per-CR results and the pass's own errors, kept apart.

Per-CR failures are recorded in each CR's status (that is where a team looks); the
pass's `errors` are what stopped the job from doing its work (listing, Grafana,
status writes, safe pruning). The exit code of `dawg sync` follows that split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ..grafana.planner import Action
from .crd import Reason


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
