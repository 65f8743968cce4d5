"""One writer per CR while a controller's full pass and its batches run side by side.

Why: a full pass (verifying every CR) runs on its own thread so a change need not wait
minutes behind it; a batch reconciling a changed CR beside it must not write the same CR
at the same time, and must not make the pass's pruning (decided over what the pass
listed) delete what the batch writes. `KeyGate` holds one job per CR (client-go
util/workqueue queue.go: a key being processed is not handed to a second worker);
`PassSource` tells the gate what the pass listed; `BatchSource` is a batch's source.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .crd import DashboardResource
from .sources import Source


class KeyGate:
    """One writer per CR while a full pass and batches run side by side."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._held: set[str] = set()
        self._newer: set[str] = set()
        self.passing = False
        self.listed: dict[str, Any] | None = None
        """The running pass's listing: key -> spec.uid (None until it has listed)."""

    def start_pass(self) -> None:
        with self._cond:
            self.passing, self.listed, self._newer = True, None, set()

    def record_listing(self, resources: list[DashboardResource]) -> None:
        with self._cond:
            self.listed = {r.key: r.spec.get("uid") for r in resources}

    def end_pass(self) -> None:
        with self._cond:
            self.passing, self.listed = False, None
            self._newer.clear()

    def may_batch(self, resource: DashboardResource) -> bool:
        """Pure on the gate's state: no pass, or the pass listed this CR with the same uid."""
        with self._cond:
            if not self.passing:
                return True
            listed = self.listed or {}
            return resource.key in listed and listed[resource.key] == resource.spec.get("uid")

    @contextmanager
    def claim(self, key: str, by_pass: bool) -> Iterator[str | None]:
        """Waits while another job holds `key`; says why the pass must skip it, or None."""
        with self._cond:
            while key in self._held:
                self._cond.wait()
            skip = by_pass and key in self._newer
            if not skip:
                self._held.add(key)
                if not by_pass and self.passing:
                    self._newer.add(key)
        if skip:
            yield "reconciled on its own: a newer version came in during this pass"
            return
        try:
            yield None
        finally:
            with self._cond:
                self._held.discard(key)
                self._cond.notify_all()


class PassSource:
    """The cluster source of a full pass, telling the gate what the pass listed."""

    def __init__(self, source: Source, gate: KeyGate) -> None:
        self.source, self.gate = source, gate

    def list(self) -> list[DashboardResource]:
        resources = self.source.list()
        self.gate.record_listing(resources)
        return resources

    def problems(self) -> tuple[Sequence[str], Sequence[str]]:
        return self.source.problems()

    def patch_status(self, resource: DashboardResource, status: dict[str, Any]) -> None:
        self.source.patch_status(resource, status)


class BatchSource:
    """Some CRs from watch events; their status goes where the cluster source sends it."""

    def __init__(self, resources: list[DashboardResource], sink: Source) -> None:
        self.resources, self.sink = resources, sink

    def list(self) -> list[DashboardResource]:
        return list(self.resources)

    def problems(self) -> tuple[builtins.list[str], builtins.list[str]]:
        return [], []

    def patch_status(self, resource: DashboardResource, status: dict[str, Any]) -> None:
        self.sink.patch_status(resource, status)
