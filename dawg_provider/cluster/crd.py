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


class Reason(Enum):
    """Condition reasons, as `kubectl get dashboards` shows them."""

    CREATED = "Created"
    UPDATED = "Updated"
    UP_TO_DATE = "UpToDate"
    ADOPTED = "Adopted"
    SUSPENDED = "Suspended"
    CONFIG_INVALID = "ConfigInvalid"
    GENERATOR_FAILED = "GeneratorFailed"
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
        Reason.GRAFANA_ERROR,
        Reason.DRIFTED,
        Reason.UID_CONFLICT,
        Reason.POLICY_DENIED,
        Reason.INTERNAL_ERROR,
    }
)


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
) -> dict[str, Any]:
    """The status after a pass. Pure. Failures keep what was last applied (grafana, digests)."""
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
    else:  # failed: the dashboard from an earlier pass may still be there and fine
        still = bool(ready_before and ready_before.get("status") == "True")
        ready = condition("Ready", still, reason, message, generation, now, previous)
    status: dict[str, Any] = {
        "observedGeneration": resource.generation,
        "conditions": [c for c in (ready, synced) if c is not None],
        "lastSyncTime": now,
    }
    status["grafana"] = grafana if grafana is not None else old.get("grafana")
    status["generatorDigest"] = generator_digest or old.get("generatorDigest")
    status["dashboardSha256"] = dashboard_sha256 or old.get("dashboardSha256")
    return {key: value for key, value in status.items() if value is not None}


def same_status(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Equal but for timestamps: no need to patch the API server."""

    def strip(status: dict[str, Any]) -> dict[str, Any]:
        conditions = [
            {k: v for k, v in c.items() if k != "lastTransitionTime"} for c in status.get("conditions") or []
        ]
        return {**{k: v for k, v in status.items() if k != "lastSyncTime"}, "conditions": conditions}

    return strip(old) == strip(new)


def crd_manifest() -> dict[str, Any]:
    """The CustomResourceDefinition `dashboards.dawg.urcloud.cc`."""
    condition_schema = {
        "type": "object",
        "required": ["type", "status"],
        "properties": {
            "type": {"type": "string"},
            "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
            "reason": {"type": "string"},
            "message": {"type": "string"},
            "observedGeneration": {"type": "integer"},
            "lastTransitionTime": {"type": "string", "format": "date-time"},
        },
    }
    spec_schema = {
        "type": "object",
        "required": ["generator"],
        "properties": {
            "generator": {
                "type": "string",
                "minLength": 1,
                "description": "oci://registry/repo:tag[@sha256:...], or file:// inside the job's image",
            },
            "config": {
                "x-kubernetes-preserve-unknown-fields": True,
                "description": "Config for the generator: YAML/JSON text, or an object",
            },
            "folder": {
                "type": "string",
                "description": "Folder title path (Team/Services) or uid:<folder uid>",
            },
            "uid": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_-]{1,40}$",
                "description": "Grafana uid; default derived from namespace and name",
            },
            "suspend": {"type": "boolean", "description": "Stop syncing; the dashboard stays as it is"},
            "drift": {
                "type": "string",
                "enum": ["overwrite", "fail"],
                "description": "What to do with edits made in the Grafana UI",
            },
            "adopt": {"type": "boolean", "description": "Take over an existing dashboard with this uid"},
            "message": {"type": "string", "maxLength": 500},
            "timeout": {"type": "string", "description": "Generator deadline, e.g. 5s"},
            "memory": {"type": "string", "description": "Generator memory cap, e.g. 256Mi"},
        },
    }
    status_schema = {
        "type": "object",
        "properties": {
            "observedGeneration": {"type": "integer"},
            "conditions": {"type": "array", "items": condition_schema},
            "grafana": {
                "type": "object",
                "properties": {
                    "uid": {"type": "string"},
                    "url": {"type": "string"},
                    "version": {"type": "integer"},
                },
            },
            "generatorDigest": {"type": "string"},
            "dashboardSha256": {"type": "string"},
            "lastSyncTime": {"type": "string", "format": "date-time"},
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": PLURAL, "singular": "dashboard", "kind": KIND, "shortNames": ["dash"]},
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
                        {"name": "Generator", "type": "string", "jsonPath": ".spec.generator"},
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
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                }
            ],
        },
    }
