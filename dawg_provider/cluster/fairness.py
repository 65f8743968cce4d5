"""Fair shares of one pass: no team's generators can hold the pass for the others.

Each generator run may take up to `--max-timeout`; a namespace with a thousand CRs
spinning until then would hold the pass for hours (and outlive the owner's lease).
So a pass has two budgets, both in seconds of generator time:

- a **pass deadline** (`--deadline`): a run starts only if it can end before it;
- a **namespace budget** (`--namespace-budget`): the seconds the runs of one
  namespace may use per pass, counted as each run's actual time plus the timeout of
  each run still going. A namespace's first run of a pass always starts.

A CR that does not fit is *deferred*: condition `Deferred`, Grafana and Ready left as
they are, first in line next pass (it is not fresh, so it runs). CRs are taken in
round-robin order over namespaces (`interleave`), so the deadline cuts every team
alike. The decision is a pure function (`admission_problem`); `PassBudget` keeps the
counts for the threads of one pass.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .crd import DashboardResource


def admission_problem(
    namespace: str,
    timeout: float,
    elapsed: float,
    deadline: float | None,
    used: float,
    namespace_budget: float | None,
) -> str | None:
    """Why a run of `timeout` seconds may not start now, or None. Pure.

    `used` is the namespace's generator seconds this pass, runs in flight counted at
    their timeout.
    """
    if deadline is not None and elapsed + timeout > deadline:
        return (
            f"deferred to the next pass: the pass's deadline ({deadline:g}s, --deadline) would pass "
            f"before this generator's timeout ({timeout:g}s)"
        )
    if namespace_budget is not None and used > 0 and used + timeout > namespace_budget:
        return (
            f"deferred to the next pass: namespace {namespace} used its {namespace_budget:g}s of "
            "generator time for this pass (--namespace-budget)"
        )
    return None


def interleave(resources: list[DashboardResource]) -> list[DashboardResource]:
    """Round-robin over namespaces, each namespace's CRs in their listed order. Pure."""
    queues: dict[str, list[DashboardResource]] = {}
    for resource in resources:
        queues.setdefault(resource.namespace, []).append(resource)
    rounds = itertools.zip_longest(*queues.values())
    return [resource for batch in rounds for resource in batch if resource is not None]


@dataclass
class PassBudget:
    """The generator seconds of one pass, by namespace; thread-safe."""

    deadline: float | None = None
    namespace_budget: float | None = None
    timer: Callable[[], float] = time.monotonic
    started: float = field(init=False)
    used: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.started = self.timer()

    def admit(self, namespace: str, timeout: float) -> str | None:
        """Reserve `timeout` seconds for a run, or say why it is deferred."""
        with self._lock:
            problem = admission_problem(
                namespace,
                timeout,
                self.timer() - self.started,
                self.deadline,
                self.used.get(namespace, 0.0),
                self.namespace_budget,
            )
            if problem is None:
                self.used[namespace] = self.used.get(namespace, 0.0) + timeout
            return problem

    def release(self, namespace: str, timeout: float, seconds: float) -> None:
        """A run ended after `seconds`: its reservation becomes what it used."""
        with self._lock:
            self.used[namespace] = self.used.get(namespace, 0.0) - timeout + min(seconds, timeout)
