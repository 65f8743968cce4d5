"""`dawg controller`: the sync pass, driven by watching Dashboards instead of a schedule.

A long-running process (a Deployment, two replicas) that reacts to a changed CR in
about a second and shares every decision with `dawg sync`: each reconcile is a
`SyncJob` over a batch of CRs, so tenancy, budgets, status and Ready are the pass's.

- **List, then watch** from the list's resourceVersion, with bookmarks; on 410 Gone
  (the version was compacted) list again (`kube`). A watch that ends (its timeout,
  a dropped connection) resumes from the last resourceVersion seen.
- **A work queue** keyed by namespace/name: the newest object wins, so a CR edited
  three times in a second is reconciled once. Only CRs whose generation is not the
  one their status records are queued (`needs_reconcile`): the controller's own
  status writes come back as watch events and must not loop.
- **Full passes**: at start, after a relist, after a deletion (pruning), and every
  `resync` seconds, to catch Grafana-side drift and retry failures. A full pass skips
  what was verified within `--verify-interval`, as the CronJob does. It runs on its own
  thread, so a change does not wait minutes behind a verifying pass: batches go on
  beside it (controller-runtime's controller.go runs periodic resyncs as ordinary queue
  items that do not block other keys). `KeyGate` (keygate.py) keeps one writer per CR (client-go
  util/workqueue queue.go: a key being processed is not handed to a second worker), and
  a CR a batch reconciled during the pass is left to the batch (the pass listed an
  older version). Beside a pass, a batch takes only CRs the pass listed with the same
  dashboard uid, so the pass's pruning, decided over its listing, keeps what the batch
  writes; a new CR or a uid change waits for the pass to end.
- **Leader election** (`leader`): only the Lease holder reconciles; the others watch
  and keep their queue, ready to take over. Leading is checked again before every
  write of a pass (the job's `may_write`), not only when the pass starts: a leader
  whose renewals fail stops writing at its renew deadline, in the middle of a pass,
  before another replica can take the Lease (client-go leaderelection.go `renew`
  cancels the leader's context at RenewDeadline and `OnStoppedLeading` runs). What
  it left undone is redone by a full pass once it leads again.
- **Shutdown** (`shutdown`, on SIGTERM): stop taking work (`may_write` turns false for
  every job, elected or not: no new write starts, a prune stops between deletes), cut
  every Grafana request and retry to the grace (`wind_down`), wait for the batch and the
  pass in flight while the elector KEEPS RENEWING the Lease, and only then stop it and
  give the Lease up so the next replica leads at once. controller-runtime does the same
  (pkg/manager/internal.go `engageStopProcedure`: "Cancel leader election only after we
  waited"), as client-go's `ReleaseOnCancel` doc requires. If the work does not end in
  time, the caller exits the process while still holding a renewed Lease, which then
  expires: no other replica writes while one of ours may.
- **Events**: a CR whose reconcile newly fails gets a Warning Event (the reason and
  message of its Synced condition), as client-go's recorder names them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

from ..errors import printable
from .crd import API_VERSION, KIND, DashboardResource
from .keygate import BatchSource, KeyGate, PassSource
from .kube import KubeError, WatchEvent
from .leader import RELEASE_BUDGET, LeaderElector
from .metrics import Metrics
from .results import Outcome, Summary
from .schema import load_resource
from .sources import ClusterSource, Source
from .sync import SyncJob

log = logging.getLogger("dawg.controller")


class Watcher(Protocol):
    def watch(
        self, namespace: str | None, selector: str, resource_version: str, timeout: int
    ) -> Iterator[WatchEvent]: ...

    def create_event(self, namespace: str, body: dict[str, Any]) -> None: ...


def needs_reconcile(resource: DashboardResource, owner: str = "") -> bool:
    """True when the CR's spec is newer than what its status records, or another owner
    (shard) wrote that status: a CR relabelled into this shard. Pure."""
    status = resource.status
    grafana = status.get("grafana")
    recorded = grafana.get("owner") if isinstance(grafana, dict) else None
    if owner and recorded is not None and recorded != owner:
        return True
    return status.get("observedGeneration") != resource.generation or not status.get("conditions")


def event_body(resource: DashboardResource, reason: str, message: str, now: datetime) -> dict[str, Any]:
    """A core/v1 Warning Event about one CR (client-go tools/record/event.go `makeEvent`). Pure."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{resource.name}.{time.time_ns():x}", "namespace": resource.namespace},
        "involvedObject": {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "name": resource.name,
            "namespace": resource.namespace,
            "uid": resource.uid,
        },
        "reason": reason,
        "message": printable(message)[:1024],
        "type": "Warning",
        "source": {"component": "dawg-controller"},
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


class Controller:
    """Watches a `ClusterSource`'s scope and reconciles through `make_job`."""

    def __init__(
        self,
        kube: Watcher,
        source: ClusterSource,
        make_job: Callable[[Source, bool], SyncJob],
        *,
        elector: LeaderElector | None = None,
        metrics: Metrics | None = None,
        resync: float = 300.0,
        watch_timeout: int = 300,
        owner: str = "",
        wind_down: Callable[[float], None] = lambda seconds: None,
    ) -> None:
        self.kube, self.source, self.make_job = kube, source, make_job
        self.elector, self.metrics = elector, metrics or Metrics()
        self.resync, self.watch_timeout, self.owner = resync, watch_timeout, owner
        self.wind_down = wind_down
        """Bounds every Grafana request from now on to the seconds given (a shutdown's grace)."""
        self.queue: dict[str, DashboardResource] = {}
        self.changed = threading.Condition()
        self.full_pass_due = False  # each watch's first listing asks for one
        self.stopping = threading.Event()
        self.passes = 0
        self.batches = 0
        self.relists = 0
        self.threads: list[threading.Thread] = []
        self.gate = KeyGate()
        self._pass: threading.Thread | None = None
        self._worker: threading.Thread | None = None
        self._elector_thread: threading.Thread | None = None
        self._next_resync = time.monotonic() + resync
        self.last_step = time.monotonic()
        self.stall_after = 1800.0
        """Seconds without a worker round before `/healthz` fails: above a full pass's
        deadline (840 s in the generated Deployment), so a long pass is not a stall."""

    # -- watching --------------------------------------------------------------------------

    def enqueue(self, resource: DashboardResource) -> None:
        with self.changed:
            self.queue[resource.key] = resource
            self.metrics.queue_depth.set(len(self.queue))
            self.changed.notify_all()

    def request_full_pass(self) -> None:
        with self.changed:
            self.full_pass_due = True
            self.changed.notify_all()

    def watch_scope(self, namespace: str | None) -> None:
        """List, then watch from there, until stopped; relist on 410."""
        version = ""
        while not self.stopping.is_set():
            if not version:
                try:
                    self.source.list_scope(namespace)
                except Exception as error:
                    log.warning("listing %s failed: %s", namespace or "all namespaces", printable(str(error)))
                    self.stopping.wait(1.0)
                    continue
                version = self.source.resource_version
                self.request_full_pass()
            try:
                for event in self.kube.watch(
                    namespace, self.source.label_selector, version, self.watch_timeout
                ):
                    version = str((event.obj.get("metadata") or {}).get("resourceVersion") or version)
                    self._on_event(event)
                    if self.stopping.is_set():
                        return
            except KubeError as error:
                if error.status == 410:
                    self.relists += 1
                    self.metrics.relists.inc()
                    log.info("watch: %s; listing again", printable(str(error)))
                    version = ""
                else:
                    log.warning("watch: %s", printable(str(error)))
                    self.stopping.wait(1.0)

    def _on_event(self, event: WatchEvent) -> None:
        if event.kind not in ("ADDED", "MODIFIED", "DELETED"):
            return  # BOOKMARK: only its resourceVersion matters
        resource = load_resource(event.obj)
        if resource.namespace in self.source.exclude_namespaces:
            return
        if event.kind == "DELETED":
            self.request_full_pass()  # pruning is a decision over everything listed
        elif needs_reconcile(resource, self.owner):
            self.enqueue(resource)

    # -- reconciling --------------------------------------------------------------------------

    def step(self, wait: float = 0.2) -> str:
        """One round of the worker: start a full pass (on its own thread), run a batch, or
        wait. Returns which."""
        self.last_step = time.monotonic()
        if self.elector is not None and not self.elector.is_leader():
            self.metrics.leader.set(0)
            self.stopping.wait(min(wait, 0.1))
            return "follower"
        self.metrics.leader.set(1)
        with self.changed:
            due = self.full_pass_due or time.monotonic() >= self._next_resync
            full = due and self._pass is None
            if full:
                self.full_pass_due = False
                self.queue.clear()  # the pass lists afresh
                self.gate.start_pass()
                self._pass = threading.Thread(target=self._full_pass, daemon=True)
            batch = [r for r in self.queue.values() if self.gate.may_batch(r)]
            for resource in batch:
                self.queue.pop(resource.key)
            self.metrics.queue_depth.set(len(self.queue))
            if not full and not batch:
                self.changed.wait(wait)
                return "idle"
        if full and self._pass is not None:
            self._next_resync = time.monotonic() + self.resync
            self._pass.start()
        if batch:
            job = self.make_job(BatchSource(batch, self.source), False)
            job.claim = lambda key: self.gate.claim(key, by_pass=False)
            self._run(job, "batch", {r.key: r for r in batch})
            self.batches += 1
            return "batch"
        return "pass"

    def _full_pass(self) -> None:
        try:
            job = self.make_job(PassSource(self.source, self.gate), True)
            job.claim = lambda key: self.gate.claim(key, by_pass=True)
            self._run(job, "pass", {})
            self.passes += 1
        finally:
            self.gate.end_pass()
            with self.changed:
                self._pass = None
                self.changed.notify_all()

    def _run(self, job: SyncJob, kind: str, before: dict[str, DashboardResource]) -> Summary:
        started = time.monotonic()
        job.may_write = self.may_write
        summary = job.run()
        if self.elector is not None and not self.elector.is_leader():
            log.warning("%s: the leader Lease was lost; the rest waits for the next leader", kind)
            self.request_full_pass()
        self.metrics.observe(summary, kind, time.monotonic() - started)
        for error in summary.errors:
            log.warning("%s: %s", kind, printable(error))
        # A full pass reports on what it listed (startup, resync, after a relist or a
        # deletion): drift found at resync or a re-pointed tag has no watch event behind it.
        before = before or {resource.key: resource for resource in job.listed}
        now = datetime.now(UTC)
        for result in summary.results:
            if result.outcome is not Outcome.FAILED or result.key not in before:
                continue
            resource = before[result.key]
            conditions: list[dict[str, Any]] = resource.status.get("conditions") or []
            synced = next((c for c in conditions if c.get("type") == "Synced"), {})
            if synced.get("reason") == result.reason.value and synced.get("message") == result.message:
                continue  # already said, in status and in an earlier Event
            if not self.may_write():
                break  # the next leader reports what it finds
            try:
                self.kube.create_event(
                    resource.namespace, event_body(resource, result.reason.value, result.message, now)
                )
            except KubeError as error:
                log.info("event for %s: %s", printable(result.key), printable(str(error)))
        return summary

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Controller:
        self._next_resync = time.monotonic() + self.resync
        scopes: list[str | None] = list(self.source.namespaces) or [None]
        targets: list[Callable[[], None]] = [lambda ns=ns: self.watch_scope(ns) for ns in scopes]  # type: ignore[misc]
        for target in targets:
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self.threads.append(thread)
        if self.elector is not None:
            self._elector_thread = threading.Thread(target=self.elector.run, daemon=True)
            self._elector_thread.start()
            self.threads.append(self._elector_thread)
        return self

    def health(self) -> str | None:
        """Why this replica should be restarted (its liveness probe), or None: a watch or the
        elector thread ended, or the worker made no round for `stall_after` seconds."""
        if any(not thread.is_alive() for thread in self.threads) and not self.stopping.is_set():
            return "a watch or leader-election thread has ended"
        stalled = time.monotonic() - self.last_step
        if stalled > self.stall_after:
            return f"the worker made no progress for {stalled:.0f} s"
        return None

    def run_forever(self) -> None:
        self._worker = threading.current_thread()
        while not self.stopping.is_set():
            self.step()

    def shutdown(self, timeout: float = 20.0) -> bool:
        """Stop taking work, wait up to `timeout` seconds for the work in flight (renewing
        the Lease meanwhile), then stop the elector and release the Lease. Returns whether
        the work ended in time; if not, the elector goes on renewing (one of our writes may
        still land) and the caller should exit the process, after which the Lease expires."""
        self._stop_work()
        self.wind_down(timeout)
        deadline = time.monotonic() + timeout
        current = threading.current_thread()

        def join(thread: threading.Thread | None) -> bool:
            if thread is None or thread is current:
                return True
            thread.join(max(0.0, deadline - time.monotonic()))
            return not thread.is_alive()

        ended = join(self._worker)  # first: a round in flight may still start a pass
        with self.changed:
            running = self._pass
        if not (ended and join(running)):
            log.warning("shutdown: work still in flight after %.1f s; keeping the Lease", timeout)
            return False
        if self.elector is not None:
            self.elector.stop()
            if self._elector_thread is not None and self._elector_thread is not current:
                self._elector_thread.join(RELEASE_BUDGET)  # a renewal in flight: bounded by the client
                if self._elector_thread.is_alive():
                    return True  # its renewal may still land after a release: let the Lease expire
            self.elector.release()
        return True

    def may_write(self) -> bool:
        """Asked before every write of every job: not shutting down, and leading (if elected)."""
        return not self.stopping.is_set() and (self.elector is None or self.elector.is_leader())

    def _stop_work(self) -> None:
        self.stopping.set()
        with self.changed:
            self.changed.notify_all()

    def stop(self) -> None:
        """Stop at once, renewals included (as a crash would, minus the writes in flight)."""
        self._stop_work()
        if self.elector is not None:
            self.elector.stop()
