"""Leader election on a `coordination.k8s.io/v1` Lease: two replicas never write at once.

Modelled on client-go's tools/leaderelection (leaderelection.go `tryAcquireOrRenew`,
resourcelock/leaselock.go): the Lease records `holderIdentity`, `renewTime` and
`leaseDurationSeconds`; a candidate takes it only when it is free or its holder has
not renewed within the duration, and every write carries the resourceVersion it
read, so of two candidates racing the API server lets one win (409 Conflict for the
other). The holder renews every `retry_period`; it counts itself leader only until
`renew_deadline` after its last successful renewal, which is shorter than the
duration another replica waits, so the old leader has stopped writing before a new
one can start. `decide` is the pure decision; `LeaderElector` does the I/O.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Protocol

from .kube import KubeError

log = logging.getLogger("dawg.controller")


class LeaseApi(Protocol):
    def get_lease(self, namespace: str, name: str) -> dict[str, Any] | None: ...
    def create_lease(self, namespace: str, body: dict[str, Any]) -> None: ...
    def replace_lease(self, namespace: str, body: dict[str, Any]) -> None: ...


class Step(Enum):
    """What a candidate does with the Lease it read."""

    CREATE = "create"
    TAKE = "take"
    RENEW = "renew"
    WAIT = "wait"


def _time(text: Any) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def decide(lease: dict[str, Any] | None, identity: str, now: datetime) -> Step:
    """Pure: create a missing lease, renew our own, take an expired one, else wait."""
    if lease is None:
        return Step.CREATE
    spec = lease.get("spec") or {}
    holder = spec.get("holderIdentity") or spec.get("holder_identity")
    if holder == identity:
        return Step.RENEW
    renewed = _time(spec.get("renewTime") or spec.get("renew_time"))
    duration = spec.get("leaseDurationSeconds") or spec.get("lease_duration_seconds") or 0
    if not holder or renewed is None or now - renewed > timedelta(seconds=int(duration)):
        return Step.TAKE
    return Step.WAIT


@dataclass
class LeaderElector:
    """Holds (or waits for) the Lease `namespace/name` as `identity`."""

    api: LeaseApi
    namespace: str
    name: str
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        self._valid_until = 0.0
        self._stop = threading.Event()
        self.transitions = 0

    def is_leader(self) -> bool:
        return time.monotonic() < self._valid_until

    def try_acquire_or_renew(self) -> bool:
        now = datetime.now(UTC)
        started = time.monotonic()
        try:
            lease = self.api.get_lease(self.namespace, self.name)
            step = decide(lease, self.identity, now)
            if step is Step.WAIT:
                self._valid_until = 0.0
                return False
            stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            spec = {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": max(1, round(self.lease_duration)),
                "renewTime": stamp,
            }
            if step is Step.CREATE:
                body = {"metadata": {"name": self.name, "namespace": self.namespace}}
                self.api.create_lease(self.namespace, {**body, "spec": {**spec, "acquireTime": stamp}})
            else:
                assert lease is not None
                old = lease.get("spec") or {}
                acquired = stamp if step is Step.TAKE else old.get("acquireTime") or stamp
                transitions = int(old.get("leaseTransitions") or 0) + (step is Step.TAKE)
                spec = {**spec, "acquireTime": acquired, "leaseTransitions": transitions}
                self.api.replace_lease(self.namespace, {"metadata": lease["metadata"], "spec": spec})
        except KubeError as error:  # 409: another candidate won this round
            log.info("leader election: %s", error)
            if time.monotonic() >= self._valid_until:
                self._valid_until = 0.0
            return False
        if not self.is_leader():
            self.transitions += 1
            log.info("leader election: %s leads %s/%s", self.identity, self.namespace, self.name)
        self._valid_until = started + self.renew_deadline
        return True

    def run(self) -> None:
        """Acquire and renew until `stop()`."""
        while not self._stop.is_set():
            self.try_acquire_or_renew()
            self._stop.wait(self.retry_period)

    def stop(self) -> None:
        self._stop.set()
        self._valid_until = 0.0
