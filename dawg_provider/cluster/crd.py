"""The `Dashboard` custom resource: its CRD (generated here, the one source of truth),
the parsed form the sync job works on, and its status.

    apiVersion: dawg.urcloud.cc/v1
    kind: Dashboard
    metadata: {name: checkout, namespace: shop}
    spec:
      generator: oci://registry.example.com/dashboards/deployment:v3.4.0
      config: |
        namespace: shop
        name: checkout-api

The status is computed by pure functions from what a sync pass decided, so a dry
run, the tests and the real job agree on it. It never contains credentials.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

GROUP = "dawg.urcloud.cc"
VERSION = "v1"
PLURAL = "dashboards"
KIND = "Dashboard"
API_VERSION = f"{GROUP}/{VERSION}"
KEEP_ON_UNINSTALL = {
    "kustomize.toolkit.fluxcd.io/prune": "disabled",
    "argocd.argoproj.io/sync-options": "Delete=false,Prune=false",
}
"""Deleting a CRD deletes every Dashboard of every team: GitOps tools must not delete or
prune it (Flux: kustomizations docs, "Garbage collection"; Argo CD: docs/user-guide/
sync-options.md, "No Prune Resources", "No Resource Deletion")."""


class Reason(Enum):
    """Condition reasons, as `kubectl get dashboards` shows them."""

    CREATED = "Created"
    UPDATED = "Updated"
    UP_TO_DATE = "UpToDate"
    ADOPTED = "Adopted"
    SUSPENDED = "Suspended"
    CONFIG_INVALID = "ConfigInvalid"
    GENERATOR_FAILED = "GeneratorFailed"
    DASHBOARD_INVALID = "DashboardInvalid"
    GRAFANA_ERROR = "GrafanaError"
    DRIFTED = "Drifted"
    UID_CONFLICT = "UidConflict"
    POLICY_DENIED = "PolicyDenied"
    INTERNAL_ERROR = "InternalError"
    DEFERRED = "Deferred"


FAILURES = frozenset(
    {
        Reason.CONFIG_INVALID,
        Reason.GENERATOR_FAILED,
        Reason.DASHBOARD_INVALID,
        Reason.GRAFANA_ERROR,
        Reason.DRIFTED,
        Reason.UID_CONFLICT,
        Reason.POLICY_DENIED,
        Reason.INTERNAL_ERROR,
    }
)
UNVERIFIED = frozenset({Reason.GRAFANA_ERROR, Reason.INTERNAL_ERROR})
"""Failures that say nothing about the dashboard already applied (Grafana unreachable, a bug)."""
MAX_WARNINGS = 20
MAX_WARNING_CHARS = 512
"""`status.warnings` is bounded (the CRD says so too): a generator controls the text of
its findings (a panel type of a megabyte), and a status lives in etcd."""


@dataclass(frozen=True)
class DashboardResource:
    """One Dashboard custom resource, as listed from the cluster or read from a file."""

    namespace: str
    name: str
    spec: dict[str, Any]
    generation: int = 1
    resource_version: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)
    uid: str = ""
    """metadata.uid: which incarnation of namespace/name this is (recorded in Grafana)."""
    problems: tuple[str, ...] = ()
    """Why the object does not fit the CRD's schema (`schema.load_resource`); empty when it does."""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def from_object(cls, obj: Any, problems: tuple[str, ...] = ()) -> DashboardResource:
        """Never raises, whatever `obj` holds: a field of the wrong type is left out (and
        `schema.load_resource` has reported it in `problems`)."""
        if not isinstance(obj, dict):
            obj = {}

        def part(value: Any) -> dict[str, Any]:
            return dict(value) if isinstance(value, dict) else {}

        metadata = part(obj.get("metadata"))

        def text(key: str, default: str = "") -> str:
            value = metadata.get(key)
            return value if isinstance(value, str) and value else default

        generation = metadata.get("generation")
        labels = part(metadata.get("labels"))
        return cls(
            namespace=text("namespace", "default"),
            name=text("name"),
            spec=part(obj.get("spec")),
            generation=generation if isinstance(generation, int) and not isinstance(generation, bool) else 1,
            resource_version=text("resourceVersion"),
            labels={k: v for k, v in labels.items() if isinstance(k, str) and isinstance(v, str)},
            status=part(obj.get("status")),
            uid=text("uid"),
            problems=problems,
        )


def condition(
    kind: str,
    ok: bool,
    reason: Reason,
    message: str,
    generation: int,
    now: str,
    previous: list[dict[str, Any]],
) -> dict[str, Any]:
    """A condition; `lastTransitionTime` only moves when its status flips."""
    status = "True" if ok else "False"
    before = next((c for c in previous if c.get("type") == kind), None)
    transition = before.get("lastTransitionTime") if before and before.get("status") == status else now
    return {
        "type": kind,
        "status": status,
        "reason": reason.value,
        "message": message[:1024],
        "observedGeneration": generation,
        "lastTransitionTime": transition or now,
    }


def status_for(
    resource: DashboardResource,
    reason: Reason,
    message: str,
    now: str,
    *,
    grafana: dict[str, Any] | None = None,
    generator_digest: str | None = None,
    dashboard_sha256: str | None = None,
    warnings: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """The status after a pass. Pure. Failures keep what was last applied (grafana, digests,
    the warnings about that dashboard); `warnings` (when a dashboard was rendered and
    applied) replaces them, an empty tuple clearing a list that was there."""
    old = resource.status
    previous = list(old.get("conditions") or [])
    generation = resource.generation
    ok = reason not in FAILURES and reason not in (Reason.SUSPENDED, Reason.DEFERRED)
    synced = condition("Synced", ok, reason, message, generation, now, previous)
    ready_before = next((c for c in previous if c.get("type") == "Ready"), None)
    ready: dict[str, Any] | None
    if ok:
        ready = condition(
            "Ready", True, reason, "the dashboard in Grafana matches the spec", generation, now, previous
        )
    elif reason in (Reason.SUSPENDED, Reason.DEFERRED):
        ready = ready_before  # suspended or deferred: Grafana is left as it was, and so is Ready
    else:
        # API conventions (typical status properties): Ready is about the object as it is
        # now, at its current generation. A failed NEW generation is not ready, whatever
        # an earlier one left in Grafana (else `kubectl wait`, Argo CD and Flux call a
        # broken spec healthy). Only a failure to reach Grafana or a DAWG bug, for the
        # very generation that was applied, leaves Ready as it was: that dashboard is there.
        still = (
            reason in UNVERIFIED
            and ready_before is not None
            and ready_before.get("status") == "True"
            and ready_before.get("observedGeneration") == generation
        )
        ready = condition("Ready", still, reason, message, generation, now, previous)
    # Deferred: nothing of this generation was acted on, so observedGeneration stays at
    # the one last acted on (API conventions: the generation the controller observed).
    # kstatus (cli-utils status/generic.go `checkGenericProperties`, used by Flux and
    # waiters) then says InProgress instead of Current with an old Ready=True, and the
    # controller queues the CR again (`needs_reconcile`) instead of waiting for a resync.
    observed = old.get("observedGeneration") if reason is Reason.DEFERRED else generation
    status: dict[str, Any] = {
        "observedGeneration": observed,
        "conditions": [c for c in (ready, synced) if c is not None],
        "lastSyncTime": now,
    }
    status["grafana"] = grafana if grafana is not None else old.get("grafana")
    status["generatorDigest"] = generator_digest or old.get("generatorDigest")
    status["dashboardSha256"] = dashboard_sha256 or old.get("dashboardSha256")
    # A merge patch cannot drop a key by leaving it out: once there, the list stays (maybe []).
    if warnings is None:
        status["warnings"] = old.get("warnings")
    elif warnings or "warnings" in old:
        status["warnings"] = bounded_warnings(warnings)
    return {key: value for key, value in status.items() if value is not None}


def bounded_warnings(warnings: tuple[str, ...]) -> list[str]:
    """At most `MAX_WARNINGS` entries of at most `MAX_WARNING_CHARS` each, the last one
    saying how many were left out. Pure."""
    shown = [w if len(w) <= MAX_WARNING_CHARS else w[: MAX_WARNING_CHARS - 3] + "..." for w in warnings]
    if len(shown) > MAX_WARNINGS:
        left = len(shown) - (MAX_WARNINGS - 1)
        shown = [*shown[: MAX_WARNINGS - 1], f"... and {left} more (dawg render shows them all)"]
    return shown


def same_status(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Equal but for timestamps: no need to patch the API server."""

    def strip(status: dict[str, Any]) -> dict[str, Any]:
        conditions = [
            {k: v for k, v in c.items() if k != "lastTransitionTime"} for c in status.get("conditions") or []
        ]
        return {**{k: v for k, v in status.items() if k != "lastSyncTime"}, "conditions": conditions}

    return strip(old) == strip(new)


# metav1.Condition's own schema (k8s.io/apimachinery/pkg/apis/meta/v1/types.go `Condition`,
# its kubebuilder markers), so `conditions` is what every Kubernetes tool expects.
CONDITION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "status", "lastTransitionTime", "reason", "message"],
    "properties": {
        "type": {
            "type": "string",
            "maxLength": 316,
            "pattern": r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
            r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
        },
        "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
        "observedGeneration": {"type": "integer", "format": "int64", "minimum": 0},
        "lastTransitionTime": {"type": "string", "format": "date-time"},
        "reason": {
            "type": "string",
            "minLength": 1,
            "maxLength": 1024,
            "pattern": "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
        },
        "message": {"type": "string", "maxLength": 32768},
    },
}
UID_IMMUTABLE = {
    # A transition rule (oldSelf): only checked on updates, by the API server's CEL
    # (apiextensions-apiserver/pkg/apiserver/schema/cel). Changing spec.uid would move the
    # dashboard to a new uid and orphan the old one; delete and recreate the CR instead.
    "rule": "!has(oldSelf.uid) || (has(self.uid) && self.uid == oldSelf.uid)",
    "message": "spec.uid is immutable once set; delete and recreate the Dashboard to change it",
}


def crd_manifest() -> dict[str, Any]:
    """The CustomResourceDefinition `dashboards.dawg.urcloud.cc`."""
    spec_schema = {
        "type": "object",
        "required": ["generator"],
        "x-kubernetes-validations": [UID_IMMUTABLE],
        "properties": {
            "generator": {
                "type": "string",
                "minLength": 1,
                "maxLength": 2048,
                "description": "oci://registry/repo:tag[@sha256:...], or file:// inside the job's image",
            },
            "config": {
                "x-kubernetes-preserve-unknown-fields": True,
                "description": "Config for the generator: YAML/JSON text, or an object",
            },
            "folder": {
                "type": "string",
                "maxLength": 1024,
                "description": "Folder title path (Team/Services) or uid:<folder uid>",
            },
            "uid": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_-]{1,40}$",
                "description": "Grafana uid; default derived from namespace and name; immutable once set",
            },
            "suspend": {"type": "boolean", "description": "Stop syncing; the dashboard stays as it is"},
            "drift": {
                "type": "string",
                "enum": ["overwrite", "fail"],
                "description": "What to do with edits made in the Grafana UI",
            },
            "adopt": {"type": "boolean", "description": "Take over an existing dashboard with this uid"},
            "message": {"type": "string", "maxLength": 500},
            "timeout": {"type": "string", "maxLength": 32, "description": "Generator deadline, e.g. 5s"},
            "memory": {"type": "string", "maxLength": 32, "description": "Generator memory cap, e.g. 256Mi"},
        },
    }
    status_schema = {
        "type": "object",
        "properties": {
            "observedGeneration": {"type": "integer", "format": "int64", "minimum": 0},
            "conditions": {
                "type": "array",
                "maxItems": 8,
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
                "items": CONDITION_SCHEMA,
            },
            "grafana": {
                "type": "object",
                "properties": {
                    "owner": {"type": "string", "maxLength": 256},
                    "uid": {"type": "string", "maxLength": 40},
                    "url": {"type": "string", "maxLength": 2048},
                    "version": {"type": "integer", "minimum": 0},
                },
            },
            "generatorDigest": {"type": "string", "maxLength": 128},
            "dashboardSha256": {"type": "string", "maxLength": 128},
            "warnings": {
                "type": "array",
                "maxItems": MAX_WARNINGS,
                "items": {"type": "string", "maxLength": MAX_WARNING_CHARS},
                "description": "What the last render and apply warned about (the dashboard model, "
                "a floating tag, drift overwritten); the dashboard was written",
            },
            "lastSyncTime": {"type": "string", "format": "date-time"},
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}", "annotations": dict(KEEP_ON_UNINSTALL)},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "plural": PLURAL,
                "singular": "dashboard",
                "kind": KIND,
                "shortNames": ["dash"],
                "categories": ["dawg", "grafana"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "required": ["spec"],
                            "properties": {"spec": spec_schema, "status": status_schema},
                        }
                    },
                    "additionalPrinterColumns": [
                        {
                            "name": "Ready",
                            "type": "string",
                            "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
                        },
                        {
                            "name": "Synced",
                            "type": "string",
                            "jsonPath": '.status.conditions[?(@.type=="Synced")].status',
                        },
                        {
                            "name": "Reason",
                            "type": "string",
                            "jsonPath": '.status.conditions[?(@.type=="Synced")].reason',
                        },
                        {"name": "UID", "type": "string", "jsonPath": ".status.grafana.uid"},
                        {
                            "name": "Generator",
                            "type": "string",
                            "jsonPath": ".spec.generator",
                            "priority": 1,
                        },
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                }
            ],
        },
    }
