"""`dawg sync`: one reconciliation pass of `Dashboard` custom resources into Grafana.

Run by a CronJob in the cluster (or by hand, or on `--manifests DIR` for GitOps and
local use: the same code path). It is a thin adapter: the decisions are the core's
(`spec.parse_spec`, `render`, `planner.plan` through `apply`), the same ones
`pulumi up` makes. What the job adds:

- **Per-CR isolation**: each CR is synced on its own; a bad generator, a bad config
  or a Grafana error only marks that CR (condition reasons `ConfigInvalid`,
  `GeneratorFailed`, `GrafanaError`, `Drifted`, `UidConflict`), and the pass goes on.
  The exit code is 1 when any CR failed.
- **Cheap unchanged passes**: each generator reference is resolved once per pass;
  a CR whose generation and generator digest match its status, and that was
  verified against Grafana within `--verify-interval`, is skipped without running
  its generator or calling Grafana. Otherwise the planner does 1 GET, and writes
  only what changed. Status is patched only when it changed.
- **Pruning** of dashboards this job created (its owner tag) whose CR is gone; never
  anything else, never a non-empty folder, never more than half of what it owns in
  one pass (a wrong selector must not wipe Grafana) unless `--force-prune`.
- `--dry-run` prints the plan with readable diffs and writes nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from ..errors import (
    DawgError,
    GeneratorError,
    GeneratorFailed,
    GrafanaError,
    RegistryError,
    RegistryUnreachable,
)
from ..grafana import GrafanaClient, ownership
from ..grafana.apply import Applied, apply, preview
from ..grafana.planner import Action, Desired, Policy, Recorded
from ..render import Renderer
from ..sources.fetch import Fetched
from ..spec import DashboardSpec, parse_folder, parse_spec
from .crd import DashboardResource, Reason, same_status, status_for
from .sources import Source

log = logging.getLogger("dawg.sync")

DEFAULT_OWNER = "k8s-dawg-sync"
MAX_PRUNE_FRACTION = 0.5


class Outcome(Enum):
    """What happened to one CR in a pass."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SUSPENDED = "suspended"
    FAILED = "failed"


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
    errors: list[str] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for result in self.results if result.outcome is outcome)

    @property
    def failed(self) -> bool:
        return self.count(Outcome.FAILED) > 0 or bool(self.errors)

    def line(self, dry_run: bool = False) -> str:
        prefix = "dawg sync (dry run, nothing written)" if dry_run else "dawg sync"
        parts = [f"{self.count(o)} {o.value}" for o in Outcome]
        return (
            f"{prefix}: {len(self.results)} dashboards: " + ", ".join(parts) + f", {len(self.pruned)} pruned"
        )


@dataclass(frozen=True)
class SyncOptions:
    owner: str = DEFAULT_OWNER
    dry_run: bool = False
    concurrency: int = 4
    prune: bool = True
    force_prune: bool = False
    verify_interval: timedelta = timedelta(minutes=30)


def default_uid(resource: DashboardResource) -> str:
    """Deterministic, Grafana-valid and collision-safe across namespaces."""
    return ownership.derived_uid("k8s", resource.namespace, resource.name)


def resource_uid(resource: DashboardResource) -> str:
    """`spec.uid` when it is a valid uid, else the default; also for CRs whose spec is bad."""
    uid = resource.spec.get("uid")
    return uid if isinstance(uid, str) and ownership.valid_uid(uid) else default_uid(resource)


def _utc(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def is_fresh(resource: DashboardResource, digest: str, now: datetime, interval: timedelta) -> bool:
    """True when the CR needs nothing this pass: same spec, same generator, verified recently. Pure."""
    status = resource.status
    synced = next((c for c in status.get("conditions") or [] if c.get("type") == "Synced"), None)
    last = _utc(status.get("lastSyncTime"))
    return (
        status.get("observedGeneration") == resource.generation
        and status.get("generatorDigest") == digest
        and bool(status.get("dashboardSha256"))
        and synced is not None
        and synced.get("status") == "True"
        and last is not None
        and now - last < interval
    )


class SyncJob:
    """One pass over a source; construct, then `run()`."""

    def __init__(
        self,
        source: Source,
        grafana: Callable[[], GrafanaClient],
        renderer: Renderer | None = None,
        options: SyncOptions | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.source = source
        self.options = options or SyncOptions()
        self.renderer = renderer or Renderer()
        self._make_client = grafana
        self._clients = threading.local()
        self._clock = clock
        self._fetched: dict[str, Fetched | DawgError] = {}
        self._folders: dict[str, str] = {}
        self._lock = threading.Lock()

    def client(self) -> GrafanaClient:
        if not hasattr(self._clients, "client"):
            self._clients.client = self._make_client()
        client: GrafanaClient = self._clients.client
        return client

    def run(self) -> Summary:
        summary = Summary()
        try:
            resources = self.source.list()
        except DawgError as error:
            summary.errors.append(str(error))
            return summary
        now = self._clock()
        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency)) as pool:
            summary.results = list(pool.map(lambda r: self._sync_one(r, now), resources))
        if self.options.prune:
            self._prune(resources, summary)
        return summary

    # -- one CR ----------------------------------------------------------------------------

    def _fetch(self, generator: str) -> Fetched | DawgError:
        """Each reference is resolved once per pass, whatever the number of CRs using it."""
        with self._lock:
            if generator in self._fetched:
                return self._fetched[generator]
        try:
            result: Fetched | DawgError = self.renderer.fetcher.fetch(generator)
        except DawgError as error:
            result = error
        with self._lock:
            self._fetched.setdefault(generator, result)
            return self._fetched[generator]

    def _folder(self, client: GrafanaClient, folder: str) -> str:
        with self._lock:
            if folder in self._folders:
                return self._folders[folder]
        uid, path = parse_folder(folder)
        resolved = client.resolve_folder(uid, path, create=not self.options.dry_run)
        with self._lock:
            self._folders[folder] = resolved
        return resolved

    def _sync_one(self, resource: DashboardResource, now: datetime) -> CrResult:
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        spec, errors = parse_spec(resource.spec, prefix="spec.")
        uid = resource_uid(resource)
        if spec is None:
            message = "; ".join(str(error) for error in errors)
            return self._finish(resource, uid, Outcome.FAILED, Reason.CONFIG_INVALID, message, stamp)
        if resource.spec.get("suspend") is True:
            return self._finish(
                resource, uid, Outcome.SUSPENDED, Reason.SUSPENDED, "spec.suspend is true", stamp
            )
        try:
            return self._sync_spec(resource, spec, uid, now, stamp)
        except GeneratorFailed as error:
            reason = Reason.CONFIG_INVALID if error.exit_code == 1 else Reason.GENERATOR_FAILED
            return self._finish(resource, uid, Outcome.FAILED, reason, str(error), stamp)
        except (GeneratorError, RegistryError) as error:
            return self._finish(resource, uid, Outcome.FAILED, Reason.GENERATOR_FAILED, str(error), stamp)
        except GrafanaError as error:
            return self._finish(resource, uid, Outcome.FAILED, Reason.GRAFANA_ERROR, str(error), stamp)
        except DawgError as error:
            return self._finish(resource, uid, Outcome.FAILED, Reason.GENERATOR_FAILED, str(error), stamp)

    def _sync_spec(
        self, resource: DashboardResource, spec: DashboardSpec, uid: str, now: datetime, stamp: str
    ) -> CrResult:
        fetched = self._fetch(spec.generator)
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
        if not self.options.dry_run and is_fresh(resource, digest, now, self.options.verify_interval):
            return CrResult(resource.key, uid, Outcome.UNCHANGED, Reason.UP_TO_DATE, "verified recently")
        rendering = self.renderer.render_fetched(fetched, spec, uid, self.options.owner)
        client = self.client()
        folder_uid = self._folder(client, spec.folder)
        desired = Desired(uid, rendering.dashboard, folder_uid)
        grafana_status = resource.status.get("grafana") or {}
        version = grafana_status.get("version")
        recorded = Recorded(
            int(version) if isinstance(version, int) else None, resource.status.get("dashboardSha256")
        )
        policy = Policy(owner=self.options.owner, adopt=spec.adopt, drift=spec.drift)
        if self.options.dry_run:
            decision = preview(client, desired, recorded, policy)
            outcome, reason = _classify(decision.action)
            lines = tuple(decision.diff.lines()) if decision.diff else ()
            return CrResult(resource.key, uid, outcome, reason, decision.reason, lines)
        applied: Applied = apply(
            client, desired, recorded, policy, spec.message or f"DAWG sync of {resource.key}"
        )
        outcome, reason = _classify(applied.plan.action)
        if outcome is Outcome.FAILED:
            return self._finish(resource, uid, outcome, reason, applied.plan.reason, stamp)
        saved, live = applied.saved, applied.live
        grafana = {
            "uid": uid,
            "url": client.absolute_url(saved.url if saved else live.url if live else ""),
            "version": saved.version if saved else live.version if live else 0,
        }
        message = "; ".join((applied.plan.reason, *applied.plan.warnings))
        diff = tuple(applied.plan.diff.lines()) if applied.plan.diff else ()
        return self._finish(
            resource,
            uid,
            outcome,
            reason,
            message,
            stamp,
            grafana=grafana,
            digest=rendering.generator_digest,
            dashboard_hash=rendering.dashboard_hash,
            diff=diff,
            verified=True,
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
    ) -> CrResult:
        result = CrResult(resource.key, uid, outcome, reason, message, diff)
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
        )
        if verified or not same_status(resource.status, status):
            try:
                self.source.patch_status(resource, status)
            except DawgError as error:
                log.warning("%s", error)
        return result

    # -- pruning ------------------------------------------------------------------------------

    def _prune(self, resources: list[DashboardResource], summary: Summary) -> None:
        wanted = {resource_uid(resource) for resource in resources}
        client = self.client()
        try:
            owned = client.managed_dashboards(self.options.owner)
        except GrafanaError as error:
            summary.errors.append(f"pruning skipped: {error}")
            return
        doomed = [hit for hit in owned if hit.uid not in wanted]
        limit = max(10, int(len(owned) * MAX_PRUNE_FRACTION))
        if len(doomed) > limit and not self.options.force_prune:
            summary.errors.append(
                f"pruning refused: {len(doomed)} of the {len(owned)} dashboards owned by "
                f"{self.options.owner} have no Dashboard resource; is the namespace or label "
                "selector right? Use --force-prune to proceed"
            )
            return
        for hit in doomed:
            if self.options.dry_run:
                summary.pruned.append(hit.uid)
                continue
            try:
                live = client.get_dashboard(hit.uid)
                if live is None or not ownership.owned_by(live.dashboard, self.options.owner):
                    continue
                client.delete_dashboard(hit.uid)
                summary.pruned.append(hit.uid)
                if live.folder_uid:
                    client.delete_folder_if_owned_and_empty(live.folder_uid)
            except GrafanaError as error:
                summary.errors.append(f"pruning {hit.uid}: {error}")


def _classify(action: Action) -> tuple[Outcome, Reason]:
    return {
        Action.CREATE: (Outcome.CREATED, Reason.CREATED),
        Action.UPDATE: (Outcome.UPDATED, Reason.UPDATED),
        Action.ADOPT: (Outcome.UPDATED, Reason.ADOPTED),
        Action.NOOP: (Outcome.UNCHANGED, Reason.UP_TO_DATE),
        Action.REFUSE: (Outcome.FAILED, Reason.UID_CONFLICT),
        Action.DRIFTED: (Outcome.FAILED, Reason.DRIFTED),
    }[action]
