"""What one pass did, CR by CR: the results the job reports, prints and exits on."""

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


@dataclass
class Summary:
    results: list[CrResult] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for result in self.results if result.outcome is outcome)

    @property
    def failed(self) -> bool:
        return self.count(Outcome.FAILED) > 0 or bool(self.errors)

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
