"""`dawg sync`: one reconciliation pass of `Dashboard` custom resources into Grafana.

Run by a CronJob in the cluster (or by hand, or on `--manifests DIR` for GitOps and
local use: the same code path). It is a thin adapter: the decisions are the core's
(`spec.parse_spec`, `render`, `planner.plan` through `apply`), the same ones
`pulumi up` makes. What the job adds:

- **Per-CR isolation**: each CR is synced on its own, behind a boundary no CR can
  break: the object is first checked against the CRD's own schema (`schema`), and a
  bad generator, a bad config, a policy violation, a Grafana error or any unexpected
  exception only marks that CR (condition reasons `ConfigInvalid`, `PolicyDenied`,
  `GeneratorFailed`, `DashboardInvalid`, `GrafanaError`, `Drifted`, `UidConflict`,
  `InternalError`; the
  traceback of an unexpected one goes to the job's log at debug level, never to
  status), and the pass goes on. Per-CR failures live in status; the job itself
  fails (exit 1) only when it could not do its work: list, reach Grafana, write
  statuses, prune safely (`Summary.job_failed`).
- **Reach** (`reach`): generators only from allowed registries and file roots.
- **Fair shares** (`fairness`): a per-namespace budget of generator seconds and a pass
  deadline; CRs beyond them are `Deferred` to the next pass. The lease is renewed.
- **Tenancy** (`tenancy`): uids scoped per namespace, folders under the namespace's
  root, adopt only where allowed, and a dashboard recorded for one CR is never written
  by another. Only one job writes as an owner (`lease`).
- **Cheap unchanged passes**: each generator reference is resolved once per pass;
  a CR whose generation and generator digest match its status, and that was
  verified against Grafana within `--verify-interval`, is skipped without running
  its generator or calling Grafana. Otherwise the planner does 1 GET, and writes
  only what changed. Status is patched only when it changed.
- **Pruning** of dashboards this job created (its owner tag) whose CR is gone; never
  anything else, never a non-empty folder. An adopted dashboard is released (DAWG's
  marks removed), never deleted. Refused without `--force-prune` when the listing
  found nothing although the job owns dashboards (an empty directory, a namespace
  typo), or when more than half of what it owns would go (no floor); skipped when
  the listing was incomplete (a manifest file could not be read).
- **For the controller**: `may_write` ("still holding the Lease?") is asked before each
  write, and `claim` gives each CR one writer at a time (`controller`); else Deferred.
- **Warnings are surfaced, errors refuse**: what the render warned about (the
  dashboard model's warnings per docs/generator-contract.md "Output validation", a
  floating tag, a dropped uid) and what the apply warned about (drift overwritten)
  go to `status.warnings` (bounded) and the pass report; the Synced message counts
  them. A model *error* fails the CR `DashboardInvalid`, nothing written.
- `--dry-run` prints the plan with readable diffs and writes nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ..errors import (
    DawgError,
    GrafanaError,
    PolicyViolation,
    RegistryUnreachable,
    printable,
    scrub,
)
from ..grafana import GrafanaClient, ownership, v2
from ..grafana.apply import Applied, apply, check_writable, preview
from ..grafana.canonical import content_hash
from ..grafana.planner import Action, Desired, Policy
from ..render import Renderer
from ..spec import DashboardSpec, parse_spec
from . import lease
from .crd import DashboardResource, Reason, same_status, status_for
from .fairness import PassBudget, interleave
from .memo import PassMemo
from .options import DEFAULT_OWNER, SyncOptions, is_fresh
from .prune import prune
from .reach import reach_problem
from .recorded import recorded_for, sealed_edit
from .results import (
    NOT_LEADING,
    REFUSED,
    CrResult,
    Outcome,
    Summary,
    classify,
    failure_reason,
    schema_message,
)
from .sources import Source
from .tenancy import (
    adopt_problem,
    budget,
    claim_problem,
    dashboard_uid,
    default_uid,
    folder_for,
    literal_uid_problem,
    takeover_note,
)

__all__ = ["DEFAULT_OWNER", "CrResult", "Outcome", "Summary", "SyncJob", "SyncOptions", "is_fresh"]

log = logging.getLogger("dawg.sync")


class SyncJob:
    """One pass over a source; construct, then `run()`."""

    def __init__(
        self,
        source: Source,
        grafana: Callable[[], GrafanaClient],
        renderer: Renderer | None = None,
        options: SyncOptions | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.options = options or SyncOptions()
        self.renderer = renderer or Renderer()
        self._make_client = grafana
        self._clients = threading.local()
        self._clock = clock
        self._timer = timer
        self._budget = PassBudget(timer=timer)
        self._lease_at: datetime | None = None
        self._lease_lost: str | None = None
        self._memo = PassMemo(self.renderer.fetcher, self.options.dry_run)
        self._lock = threading.Lock()
        self._status_errors: list[str] = []
        self.may_write: Callable[[], bool] = lambda: True
        self.claim: Callable[[str], AbstractContextManager[str | None]] = lambda key: nullcontext(None)
        self.listed: list[DashboardResource] = []  # what the pass listed, as it was before it

    def client(self) -> GrafanaClient:
        if not hasattr(self._clients, "client"):
            self._clients.client = self._make_client()
        client: GrafanaClient = self._clients.client
        return client

    def run(self) -> Summary:
        summary = self._run()
        with self._lock:
            failures, self._status_errors = self._status_errors, []
        if failures:
            summary.status_failures = len(failures)
            summary.errors.append(
                f"status of {len(failures)} resource(s) could not be written (first: {failures[0]}); "
                "they show an outdated status and are synced again next pass"
            )
        return summary

    def _run(self) -> Summary:
        summary = Summary()
        try:
            resources = self.source.list()
        except DawgError as error:
            summary.errors.append(str(error))
            return summary
        except Exception as error:  # e.g. an object the client cannot decode
            log.debug("listing failed", exc_info=True)
            summary.errors.append(f"listing Dashboard resources failed: unexpected {type(error).__name__}")
            return summary
        self.listed = resources
        if self.options.prune:  # a full pass: its pruning trusts only this pass's folder writes
            self.client().health_state.begin_pass()
        incomplete, notices = self.source.problems()
        summary.errors += incomplete
        summary.notices += notices
        now = self._clock()
        if not self.may_write():  # the owner's lease mark in Grafana is a write too
            summary.errors.append(f"pass not started: {NOT_LEADING}")
            return summary
        try:
            lease.take(self.client(), self.options.owner, self.options.instance, now, self.options.dry_run)
        except GrafanaError as error:  # every CR would fail the same way: say so on each
            stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
            summary.results = [
                self._finish(r, default_uid(r), Outcome.FAILED, Reason.GRAFANA_ERROR, str(error), stamp)
                for r in resources
            ]
            summary.errors.append(f"Grafana: {error}")
            return summary
        except DawgError as error:
            summary.errors.append(f"pass refused: {error}")
            return summary
        except Exception as error:  # a lease marker holding anything must not end the job
            log.debug("taking the lease failed", exc_info=True)
            summary.errors.append(f"pass refused: unexpected {type(error).__name__} taking the lease")
            return summary
        self._lease_at = now
        self._budget = PassBudget(self.options.deadline, self.options.namespace_budget, self._timer)
        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency)) as pool:
            summary.results = list(pool.map(lambda r: self._claimed(r, now), interleave(resources)))
        if not self.options.prune:
            return summary
        if incomplete:
            summary.errors.append("pruning skipped: the listing was incomplete (see the errors above)")
            return summary
        if not self.may_write():
            summary.errors.append(f"pruning skipped: {NOT_LEADING}")
            return summary
        try:
            self._prune(resources, summary)
        except Exception as error:  # the boundary of the pass: prune bugs must not hide the results
            log.debug("pruning failed", exc_info=True)
            summary.errors.append(f"pruning stopped: unexpected {type(error).__name__} (see the debug log)")
        return summary

    # -- one CR ----------------------------------------------------------------------------

    def _claimed(self, resource: DashboardResource, now: datetime) -> CrResult:
        with self.claim(resource.key) as taken:  # why not to sync it here, or None
            if why := taken or (None if self.may_write() else NOT_LEADING):
                return CrResult(resource.key, "", Outcome.DEFERRED, Reason.DEFERRED, why)
            return self._guarded(resource, now)

    def _guarded(self, resource: DashboardResource, now: datetime) -> CrResult:
        """The per-CR boundary: whatever goes wrong, this CR fails alone with a clear condition."""
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            lost = self._keep_lease()
            if lost:
                uid = dashboard_uid(resource, self.options.policy)
                return self._finish(resource, uid, Outcome.DEFERRED, Reason.DEFERRED, lost, stamp)
            return self._sync_one(resource, now, stamp)
        except Exception as error:
            log.debug("unexpected error syncing %s", printable(resource.key), exc_info=True)
            message = (
                f"unexpected {type(error).__name__} in the sync job while syncing this resource "
                "(a DAWG bug; the job's log has the details at debug level)"
            )
            uid = default_uid(resource)
            try:
                return self._finish(resource, uid, Outcome.FAILED, Reason.INTERNAL_ERROR, message, stamp)
            except Exception:
                log.debug("status update of %s failed", printable(resource.key), exc_info=True)
                return CrResult(resource.key, uid, Outcome.FAILED, Reason.INTERNAL_ERROR, message)

    def _sync_one(self, resource: DashboardResource, now: datetime, stamp: str) -> CrResult:
        uid = dashboard_uid(resource, self.options.policy)
        if resource.problems:
            message = schema_message(resource.problems)
            return self._finish(resource, uid, Outcome.FAILED, Reason.CONFIG_INVALID, message, stamp)
        spec, errors = parse_spec(resource.spec, prefix="spec.")
        if spec is None:
            message = "; ".join(str(error) for error in errors)
            return self._finish(resource, uid, Outcome.FAILED, Reason.CONFIG_INVALID, message, stamp)
        if resource.spec.get("suspend") is True:
            return self._finish(
                resource, uid, Outcome.SUSPENDED, Reason.SUSPENDED, "spec.suspend is true", stamp
            )
        try:
            problem = adopt_problem(resource, spec.adopt, self.options.policy) or literal_uid_problem(
                resource, self.options.policy
            )
            if problem:
                raise PolicyViolation(problem)
            folder = folder_for(resource.namespace, spec.folder, self.options.policy)
            limits = budget(resource.spec, spec.limits, self.options.policy)
            unreachable = reach_problem(spec.generator, self.options.reach, self.renderer.fetcher.base_dir)
            if unreachable:
                raise PolicyViolation(unreachable)
            return self._sync_spec(resource, replace(spec, limits=limits), folder, uid, now, stamp)
        except DawgError as error:
            return self._finish(resource, uid, Outcome.FAILED, failure_reason(error), str(error), stamp)

    def _sync_spec(
        self,
        resource: DashboardResource,
        spec: DashboardSpec,
        folder: str,
        uid: str,
        now: datetime,
        stamp: str,
    ) -> CrResult:
        fetched = self._memo.fetch(spec.generator)
        if isinstance(fetched, RegistryUnreachable) and resource.status.get("generatorDigest"):
            fallback = self.renderer.fetcher.fetch_known(
                spec.generator, str(resource.status["generatorDigest"])
            )
            if fallback is None:
                raise fetched
            fetched = fallback
        if isinstance(fetched, DawgError):
            raise fetched
        digest = fetched.artifact.digest
        if not self.options.dry_run and is_fresh(
            resource, digest, now, self.options.verify_interval, self.options.owner
        ):
            return CrResult(resource.key, uid, Outcome.UNCHANGED, Reason.UP_TO_DATE, "verified recently")
        deferred = self._budget.admit(resource.namespace, spec.limits.timeout)
        if deferred:
            return self._finish(resource, uid, Outcome.DEFERRED, Reason.DEFERRED, deferred, stamp)
        started = self._timer()
        try:
            rendering = self.renderer.render_fetched(fetched, spec, uid, self.options.owner)
        finally:
            self._budget.release(resource.namespace, spec.limits.timeout, self._timer() - started)
        client = self.client()
        live = client.get_dashboard(uid, v2.version_of(rendering.dashboard))
        problem = claim_problem(live.dashboard if live else None, resource, uid, self.options.policy)
        if problem:
            return self._finish(resource, uid, Outcome.FAILED, Reason.UID_CONFLICT, problem, stamp)
        takeover = takeover_note(live.dashboard if live else None, resource, uid)
        if takeover:
            log.info("%s", printable(takeover))
        adopted = live is not None and (
            ownership.is_adopted(live.dashboard) or not ownership.is_managed(live.dashboard)
        )
        # Sealed over the form this Grafana stores (refresh raised, title trimmed): a mark over
        # what DAWG sent reads as an "edit" on a normalising Grafana when no status is kept.
        dashboard = ownership.seal(
            client.normalised(
                ownership.mark_resource(
                    rendering.dashboard, resource.namespace, resource.name, resource.uid, adopted
                )
            )
        )
        if not self.may_write():  # rendering took a while; the folder and the dashboard are writes
            return CrResult(resource.key, uid, Outcome.DEFERRED, Reason.DEFERRED, NOT_LEADING)
        check_writable(client, uid, dashboard, rendering.generator_ref)  # before any folder is made
        folder_uid = self._memo.folder(client, folder)
        desired = Desired(uid, dashboard, folder_uid, rendering.generator_ref)
        recorded = recorded_for(resource, live, self.options.owner)
        policy = Policy(owner=self.options.owner, adopt=spec.adopt, drift=spec.drift)
        edited = sealed_edit(recorded, live, uid, spec.drift)
        if edited.refuse:
            return self._finish(resource, uid, Outcome.FAILED, Reason.DRIFTED, edited.refuse, stamp)
        if self.options.dry_run:
            decision = preview(client, desired, recorded, policy, live=live)
            outcome, reason = classify(decision.action)
            lines = tuple(decision.diff.lines()) if decision.diff else ()
            message = "; ".join((decision.reason, *([takeover] if takeover else [])))
            warned = tuple(scrub(w) for w in (*rendering.warnings, *decision.warnings))
            return CrResult(resource.key, uid, outcome, reason, message, lines, warned)
        if not self.may_write():  # the folder reads/writes above may have taken a while
            return CrResult(resource.key, uid, Outcome.DEFERRED, Reason.DEFERRED, NOT_LEADING)
        applied: Applied = apply(
            client, desired, recorded, policy, spec.message or f"DAWG sync of {resource.key}", live=live
        )
        decision, saved = applied.plan, applied.saved
        notes = (*edited.notes, *([takeover] if takeover else []))
        decision = replace(decision, warnings=(*notes, *decision.warnings))
        outcome, reason = classify(decision.action)
        if outcome is Outcome.FAILED:
            # A refusal says nothing of the dashboard it protects (another tenant's title, owner).
            message = REFUSED.format(uid=uid) if decision.action is Action.REFUSE else decision.reason
            return self._finish(resource, uid, outcome, reason, message, stamp)
        grafana = {
            "owner": self.options.owner,
            "uid": uid,
            "url": client.absolute_url(saved.url if saved else live.url if live else ""),
            "version": saved.version if saved else live.version if live else 0,
        }
        message = "; ".join((decision.reason, *decision.warnings))
        if rendering.warnings:
            count = len(rendering.warnings)
            message += f"; {count} warning{'s' if count > 1 else ''} on the render, see status.warnings"
        diff = tuple(decision.diff.lines()) if decision.diff else ()
        return self._finish(
            resource,
            uid,
            outcome,
            reason,
            message,
            stamp,
            grafana=grafana,
            digest=rendering.generator_digest,
            dashboard_hash=content_hash(dashboard),
            diff=diff,
            verified=True,
            warnings=(*rendering.warnings, *decision.warnings),
        )

    def _finish(
        self,
        resource: DashboardResource,
        uid: str,
        outcome: Outcome,
        reason: Reason,
        message: str,
        stamp: str,
        *,
        grafana: dict[str, Any] | None = None,
        digest: str | None = None,
        dashboard_hash: str | None = None,
        diff: tuple[str, ...] = (),
        verified: bool = False,
        warnings: tuple[str, ...] | None = None,
    ) -> CrResult:
        """Record the outcome in status. `warnings` None (nothing applied) keeps the last ones."""
        shown = tuple(scrub(warning) for warning in warnings or ())  # never a secret in status
        result = CrResult(resource.key, uid, outcome, reason, message, diff, shown)
        if self.options.dry_run:
            return result
        status = status_for(
            resource,
            reason,
            message,
            stamp,
            grafana=grafana,
            generator_digest=digest,
            dashboard_sha256=dashboard_hash,
            warnings=None if warnings is None else shown,
        )
        if not self.may_write():  # the new leader writes this status
            return result
        if verified or not same_status(resource.status, status):
            try:
                self.source.patch_status(resource, status)
            except DawgError as error:
                log.warning("%s", printable(str(error)))
                with self._lock:
                    self._status_errors.append(str(error))
        return result

    def _keep_lease(self) -> str | None:
        """Renew the owner's lease during a long pass; why the pass must stop, if it was lost."""
        with self._lock:
            now = self._clock()
            if self._lease_lost or self._lease_at is None or now - self._lease_at < lease.LEASE_DURATION / 3:
                return self._lease_lost
            try:
                lease.take(
                    self.client(), self.options.owner, self.options.instance, now, self.options.dry_run
                )
                self._lease_at = now
            except Exception as error:
                log.debug("renewing the lease failed", exc_info=True)
                detail = str(error) if isinstance(error, DawgError) else f"unexpected {type(error).__name__}"
                self._lease_lost = f"deferred to the next pass: the owner's lease was not renewed: {detail}"
            return self._lease_lost

    # -- pruning ------------------------------------------------------------------------------

    def _prune(self, resources: list[DashboardResource], summary: Summary) -> None:
        # A CR refused its uid does not keep another's (or an earlier CR's) dashboard alive.
        refused = {r.key for r in summary.results if r.reason is Reason.UID_CONFLICT}
        wanted = {dashboard_uid(r, self.options.policy) for r in resources if r.key not in refused}
        options, owner = self.options, self.options.owner
        result = prune(self.client(), owner, wanted, len(resources), options, self.may_write)
        summary.pruned += result.pruned
        summary.released += result.released
        summary.errors += result.errors
