"""What a team may ask the sync job for: the job's tenancy policy, decided by pure functions.

One job holds the Grafana token for every namespace, so each CR is untrusted input
with the job's powers. These rules keep a team inside its own namespace's share:

- **Uids** a CR asks for (`spec.uid`) are scoped to its namespace: the dashboard uid
  is derived from (namespace, spec.uid), so `uid: checkout` in two namespaces gives
  two dashboards. A literal uid is used only in namespaces the policy lists
  (`--allow-literal-uid`).
- **Folders**: each namespace has a folder root (default `Teams/<namespace>`,
  `--folder-root NS=PATH` to change it, `*` as PATH for no restriction). A CR's
  `spec.folder` must be the root or below it; an empty folder means the root. A
  folder given by uid (`uid:...`) cannot be placed, so it needs an unrestricted root.
- **Reserved uids**: a literal uid may not start with `dawg` (any case): derived
  uids of other namespaces (`dawg-...`), DAWG's folders and the owner's lease do.
- **Adopt** (taking over a dashboard DAWG did not write) only in namespaces the
  policy lists (`--allow-adopt`), and never a dashboard another DAWG writer owns.
- **Budgets**: a generator gets at most `--max-memory` and `--max-timeout`; a CR may
  ask for less, never more (`PolicyDenied`), and one that asks nothing gets the
  smaller of the defaults and the maximums.
- **Claims**: a dashboard records the CR that owns it (`ownership.resource_tag`:
  namespace/name) and that CR's metadata.uid; a CR never writes one recorded for
  another namespace/name, whatever uid it asks for. Refusals never name the other
  resource or its dashboard's title.
- **Successors**: a CR deleted and recreated under the same namespace/name has a new
  metadata.uid (Argo CD re-applying a deleted namespace recreates all of them at once).
  Two live CRs never share a namespace/name, so the recorded one is gone: the new CR
  takes its predecessor's dashboard over (`takeover_note`: same uid, history and
  links kept, the new metadata.uid recorded, the takeover said in the condition).
  Refusing it instead would orphan every dashboard of a re-applied namespace, and
  pruning them all at once trips the prune guard. The boundary is the namespace
  name, as for Kubernetes RBAC (Roles bind by namespace name): a namespace deleted
  and created again by another team is that team's, with its folder root and its
  CRs' dashboards. Never across namespaces: another namespace's CR, even one with the
  same name, is refused.

A namespace pattern is a namespace name or `*` (every namespace).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import DawgError, PolicyViolation
from ..grafana import ownership
from ..spec import parse_folder
from ..units import MIB, format_size
from ..wasm.limits import Limits
from .crd import DashboardResource
from .lease import LEASE_TAG

ANY = "*"
DEFAULT_ROOT = "Teams/{namespace}"
DEFAULT_MAX_MEMORY = 256 * MIB
DEFAULT_MAX_TIMEOUT = 10.0
RESERVED_PREFIX = "dawg"
"""Literal uids may not start with it: derived, folder and lease uids do."""


@dataclass(frozen=True)
class TenancyPolicy:
    """The job's rules for every namespace; the default is the strict one."""

    folder_roots: Mapping[str, str] = field(default_factory=dict)
    """namespace (or `*`) -> root folder path (`{namespace}` is replaced; `*` = anywhere)."""
    default_root: str = DEFAULT_ROOT
    literal_uids: frozenset[str] = frozenset()
    adopt: frozenset[str] = frozenset()
    max_memory: int = DEFAULT_MAX_MEMORY
    """Bytes of linear memory one generator run may have, at most."""
    max_timeout: float = DEFAULT_MAX_TIMEOUT
    """Seconds one generator run may take, at most."""

    @classmethod
    def from_flags(
        cls,
        folder_roots: list[str],
        literal_uids: list[str],
        adopt: list[str],
        max_memory: int = DEFAULT_MAX_MEMORY,
        max_timeout: float = DEFAULT_MAX_TIMEOUT,
    ) -> TenancyPolicy:
        roots: dict[str, str] = {}
        for entry in folder_roots:
            namespace, sep, root = entry.partition("=")
            if not sep or not namespace.strip() or not root.strip():
                raise DawgError(f"--folder-root {entry!r}: expected NAMESPACE=PATH (or *=PATH)")
            roots[namespace.strip()] = root.strip()
        return cls(
            folder_roots=roots,
            default_root=roots.pop(ANY, DEFAULT_ROOT),
            literal_uids=frozenset(literal_uids),
            adopt=frozenset(adopt),
            max_memory=max_memory,
            max_timeout=max_timeout,
        )

    def root(self, namespace: str) -> str:
        """The folder root of `namespace`: a title path, or `*` for anywhere."""
        template = self.folder_roots.get(namespace, self.default_root)
        return template.replace("{namespace}", namespace)

    def allows_literal_uid(self, namespace: str) -> bool:
        return bool({namespace, ANY} & self.literal_uids)

    def allows_adopt(self, namespace: str) -> bool:
        return bool({namespace, ANY} & self.adopt)


def default_uid(resource: DashboardResource) -> str:
    """Deterministic, Grafana-valid and collision-safe across namespaces."""
    return ownership.derived_uid("k8s", resource.namespace, resource.name)


def dashboard_uid(resource: DashboardResource, policy: TenancyPolicy) -> str:
    """The uid a CR's dashboard gets: derived per namespace unless the policy allows literal.

    Also for CRs whose spec is bad, so a failing CR keeps its dashboard out of pruning.
    """
    asked = resource.spec.get("uid")
    if not isinstance(asked, str) or not ownership.valid_uid(asked):
        return default_uid(resource)
    if policy.allows_literal_uid(resource.namespace) and not is_reserved(asked):
        return asked
    return ownership.derived_uid("k8s-uid", resource.namespace, asked)


def is_reserved(uid: str) -> bool:
    """Uids DAWG derives (`dawg-...`, `dawgf-...`, the owner's lease): never literal.

    Compared without case: MySQL compares uids case-insensitively.
    """
    return uid.lower().startswith(RESERVED_PREFIX)


def literal_uid_problem(resource: DashboardResource, policy: TenancyPolicy) -> str | None:
    """Why a literal `spec.uid` is refused, or None. Pure."""
    asked = resource.spec.get("uid")
    if not isinstance(asked, str) or not policy.allows_literal_uid(resource.namespace):
        return None
    if is_reserved(asked):
        return (
            f"spec.uid {asked[:40]!r}: uids starting with {RESERVED_PREFIX!r} are reserved for the "
            "uids DAWG derives (other namespaces' dashboards and the job's lease); choose another uid"
        )
    return None


def folder_for(namespace: str, folder: str, policy: TenancyPolicy) -> str:
    """The folder a CR may use (its root when it names none), or `PolicyViolation`."""
    root = policy.root(namespace)
    if root == ANY:
        return folder
    if not folder:
        return root
    where = f"spec.folder {folder!r}"
    if parse_folder(folder)[0]:
        raise PolicyViolation(
            f"{where}: a folder given by uid cannot be checked against namespace {namespace}'s "
            f"folder root {root!r}; give a title path under it"
        )
    parts, root_parts = parse_folder(folder)[1], parse_folder(root)[1]
    if parts[: len(root_parts)] != root_parts:
        raise PolicyViolation(
            f"{where} is outside {root!r}, the folder root the job allows namespace {namespace}; "
            f"use {root!r} or a folder below it"
        )
    return folder


def claim_problem(
    live: dict[str, Any] | None, resource: DashboardResource, uid: str, policy: TenancyPolicy
) -> str | None:
    """Why this CR may not write the dashboard Grafana has under `uid`, or None. Pure.

    A dashboard recorded for another CR is never touched. One this job wrote before
    resources were recorded is claimed only through the uid derived from the CR's own
    namespace and name (no other CR can produce it).
    """
    if live is None:
        return None
    tags = live.get("tags")
    if isinstance(tags, list) and LEASE_TAG in tags:
        return f"dashboard {uid} is a sync job's lease; a resource never writes or adopts it"
    recorded = ownership.resource_of(live)
    if recorded is not None:
        if recorded != ownership.resource_tag(resource.namespace, resource.name):
            return (
                f"dashboard {uid} is owned by another Dashboard resource; a resource never writes, "
                "adopts or prunes another's dashboard. Choose another uid"
            )
        if ownership.is_shortened(recorded) and ownership.resource_uid_of(live) != (
            ownership.resource_uid_tag(resource.uid) if resource.uid else None
        ):
            # A shortened tag is a 50-bit digest another namespace sharing the prefix could
            # search for offline: only the recorded metadata.uid proves it is this CR's.
            return (
                f"dashboard {uid} is recorded for another Dashboard resource (its long namespace/name "
                "is only kept shortened, so a recreated resource cannot take it over). Choose another "
                "uid, or delete the dashboard"
            )
        return None  # this namespace/name's, perhaps an earlier CR's (`takeover_note`)
    if ownership.is_managed(live):
        if uid == default_uid(resource):
            return None
        return f"dashboard {uid} was written by DAWG for another resource; choose another uid"
    return None  # not DAWG's: the planner refuses it unless the CR adopts (allowed by policy)


def takeover_note(live: dict[str, Any] | None, resource: DashboardResource, uid: str) -> str | None:
    """Set when this CR takes over a dashboard an earlier CR of its namespace/name wrote. Pure.

    Only after `claim_problem` allowed the write: the dashboard records this CR's
    namespace/name, with another metadata.uid.
    """
    if live is None or not resource.uid:
        return None
    if ownership.resource_of(live) != ownership.resource_tag(resource.namespace, resource.name):
        return None
    recorded = ownership.resource_uid_of(live)
    if recorded is None or recorded == ownership.resource_uid_tag(resource.uid):
        return None
    return (
        f"took over dashboard {uid} from an earlier Dashboard resource named {resource.key} (deleted "
        f"and recreated: its metadata.uid changed); the dashboard now records metadata.uid {resource.uid}"
    )


def adopt_problem(resource: DashboardResource, adopt: bool, policy: TenancyPolicy) -> str | None:
    if adopt and not policy.allows_adopt(resource.namespace):
        return (
            f"spec.adopt is not allowed in namespace {resource.namespace} by the job's policy "
            "(ask the job's operators for --allow-adopt)"
        )
    return None


def budget(raw_spec: Mapping[str, Any], limits: Limits, policy: TenancyPolicy) -> Limits:
    """The limits a CR's generator runs with, or `PolicyViolation` if it asked for more. Pure."""
    if "memory" in raw_spec and limits.memory > policy.max_memory:
        raise PolicyViolation(
            f"spec.memory {format_size(limits.memory)} is above the job's maximum "
            f"{format_size(policy.max_memory)} (--max-memory); ask for less"
        )
    if "timeout" in raw_spec and limits.timeout > policy.max_timeout:
        raise PolicyViolation(
            f"spec.timeout {limits.timeout:g}s is above the job's maximum {policy.max_timeout:g}s "
            "(--max-timeout); ask for less"
        )
    return replace(
        limits, memory=min(limits.memory, policy.max_memory), timeout=min(limits.timeout, policy.max_timeout)
    )
