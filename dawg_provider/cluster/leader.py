"""Leader election on a `coordination.k8s.io/v1` Lease: two replicas never write at once.

Modelled on client-go's tools/leaderelection (leaderelection.go `tryAcquireOrRenew`,
resourcelock/leaselock.go): the Lease records `holderIdentity`, `renewTime` and
`leaseDurationSeconds`; a candidate takes it only when it is free or its holder has
not renewed within the duration, and every write carries the resourceVersion it
read, so of two candidates racing the API server lets one win (409 Conflict for the
other). "Not renewed within the duration" is measured on the candidate's own
monotonic clock from the moment it last saw the record change, never from the
holder's `renewTime` (another machine's wall clock): client-go keeps `observedTime`
(`setObservedRecord`, reset when the raw record differs) and tests
`observedTime + leaseDuration > now` (`isLeaseValid`), "tolerant to arbitrary clock
skew" (the package doc). So a replica whose clock runs ahead cannot take a live Lease,
and a fresh replica waits one full duration before taking over a silent holder.

The holder renews every `retry_period`; it counts itself leader only until
`renew_deadline` after the start of its last successful renewal, which is shorter
than the duration another replica waits after seeing that renewal, so the old leader
has stopped writing before a new one can start (the controller asks before each
write, `sync.SyncJob.may_write`). `decide` is the pure decision; `LeaderElector` does the I/O.

A replica that shuts down cleanly gives the Lease up (`release`, client-go
leaderelection.go `release` as run with `ReleaseOnCancel`): the holder becomes empty
and the duration 1 s, so the next replica takes it at once instead of after a whole
duration, as a rolling update needs. Only once every write it guarded has ended: the
`ReleaseOnCancel` doc in client-go's leaderelection.go says the caller "must ensure all
code guarded by this lease has successfully completed prior to cancelling the context,
or you may have two processes simultaneously acting on the critical path"
(`Controller.shutdown` waits for them).

A leader that stops leading without being asked (its renewals failed until the renew
deadline, or another replica holds the Lease) calls `on_lost`: `dawg controller` exits
there, as controller-runtime does (pkg/manager/internal.go `startLeaderElection`,
`OnStoppedLeading`: "leader election lost"), so a Grafana request still waiting in this
process cannot land after another replica took over; `may_write` alone only stops new ones.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Protocol

from .kube import KubeError

log = logging.getLogger("dawg.controller")

RELEASE_BUDGET = 5.0
"""Seconds `release` may start attempts in; each attempt (a GET and a PUT) may take up to
two Kube request timeouts more."""


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


def decide(lease: dict[str, Any] | None, identity: str, unchanged_for: float) -> Step:
    """Pure: create a missing lease, renew our own, take one that is free or whose record
    has not changed for its duration (`unchanged_for`: seconds on the caller's clock since
    it last saw the record change), else wait. `renewTime` is not read: see the module doc."""
    if lease is None:
        return Step.CREATE
    spec = lease.get("spec") or {}
    holder = spec.get("holderIdentity") or spec.get("holder_identity")
    if holder == identity:
        return Step.RENEW
    duration = spec.get("leaseDurationSeconds") or spec.get("lease_duration_seconds") or 0
    try:
        expired = unchanged_for >= int(duration)
    except (TypeError, ValueError):
        expired = True
    return Step.TAKE if not holder or expired else Step.WAIT


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
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    """Wall clock for the stamps this replica writes (informational; never compared)."""
    on_lost: Callable[[], None] | None = None
    """Called (once, from the watchdog thread) when leading ends without `stop()`."""

    def __post_init__(self) -> None:
        self._valid_until = 0.0
        self._observed: Any = None  # the Lease spec last seen, and when (monotonic)
        self._observed_at = 0.0
        self._stop = threading.Event()
        self._stopping = threading.Lock()
        self.transitions = 0

    def is_leader(self) -> bool:
        return time.monotonic() < self._valid_until

    def _observe(self, record: Any, at: float) -> float:
        """Seconds the record has stayed as it is now, on this replica's clock."""
        if record != self._observed:
            self._observed, self._observed_at = record, at
        return at - self._observed_at

    def try_acquire_or_renew(self) -> bool:
        if self._stop.is_set():  # a stopped replica neither renews nor takes a released Lease
            return False
        now = self.clock()
        started = time.monotonic()
        try:
            lease = self.api.get_lease(self.namespace, self.name)
            unchanged_for = self._observe((lease or {}).get("spec"), time.monotonic())
            step = decide(lease, self.identity, unchanged_for)
            if step is Step.WAIT:
                self._valid_until = 0.0
                return False
            stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            spec = {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": max(1, round(self.lease_duration)),
                "renewTime": stamp,
            }
            # Valid from just before the write: another replica can only see this renewal
            # once it has landed, and then waits a whole duration (the GET's time is not
            # spent from our renew deadline, so a slow but answering API server keeps us).
            started = time.monotonic()
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
            self._observe(spec, started)
        except KubeError as error:  # 409: another candidate won this round
            log.info("leader election: %s", error)
            if time.monotonic() >= self._valid_until:
                self._valid_until = 0.0
            return False
        with self._stopping:  # a renewal in flight when stop() is called must not lead again
            if self._stop.is_set():
                return False
            if not self.is_leader():
                self.transitions += 1
                log.info("leader election: %s leads %s/%s", self.identity, self.namespace, self.name)
            self._valid_until = started + self.renew_deadline
        return True

    def run(self) -> None:
        """Acquire and renew until `stop()`, a round every `retry_period` from the START of
        the last (client-go `wait.Until`/`PollImmediateUntil` keep the cadence too), so a
        slow round does not also push the next one back. With `on_lost`, a watchdog thread
        checks every 0.1 s, so a renewal hanging on a silent API server does not delay it."""
        if self.on_lost is not None:
            threading.Thread(target=self._watch, args=(self.on_lost,), daemon=True).start()
        while not self._stop.is_set():
            started = time.monotonic()
            self.try_acquire_or_renew()
            self._stop.wait(max(0.0, self.retry_period - (time.monotonic() - started)))

    def _watch(self, on_lost: Callable[[], None]) -> None:
        led = False
        while not self._stop.wait(0.1):
            leading = self.is_leader()
            if led and not leading and not self._stop.is_set():
                log.error("leader election: %s lost %s/%s", self.identity, self.namespace, self.name)
                on_lost()
                return
            led = leading

    def stop(self) -> None:
        with self._stopping:
            self._stop.set()
            self._valid_until = 0.0

    def release(self, budget: float = RELEASE_BUDGET) -> bool:
        """After `stop()`, with no guarded write in flight: empty the holder if it is still
        this replica. The write carries the resourceVersion just read, so a Lease another
        replica has meanwhile taken is left alone. A 409 is read again and retried while
        the holder is still this replica and `budget` seconds last: a renewal that timed
        out here may still have landed on the server (client-go leaderelection.go
        `tryRelease` retries on conflict for that reason). Returns whether it released."""
        if not self._stop.is_set():
            raise RuntimeError("release() needs stop() first: this replica could still write")
        ends = time.monotonic() + budget
        while True:
            if time.monotonic() >= ends:  # an attempt is a GET and a PUT, each bounded by the client
                return False
            try:
                lease = self.api.get_lease(self.namespace, self.name)
                old = (lease or {}).get("spec") or {}
                if lease is None or old.get("holderIdentity") != self.identity:
                    return False
                stamp = self.clock().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                spec = {
                    "holderIdentity": "",
                    "leaseDurationSeconds": 1,
                    "acquireTime": stamp,
                    "renewTime": stamp,
                    "leaseTransitions": int(old.get("leaseTransitions") or 0),
                }
                self.api.replace_lease(self.namespace, {"metadata": lease["metadata"], "spec": spec})
            except KubeError as error:
                log.info("leader election: releasing %s/%s: %s", self.namespace, self.name, error)
                if error.status == 409:
                    continue
                return False
            log.info("leader election: %s released %s/%s", self.identity, self.namespace, self.name)
            return True
