"""Installing the sync job in a cluster: a pulumi-kubernetes ComponentResource.

`DawgSync` creates the Namespace, the Dashboard CRD (from `crd.crd_manifest`, the one
source of truth), a ServiceAccount with a least-privilege ClusterRole (read
dashboards, patch their status; nothing else), the Secret holding the Grafana token
(a Pulumi secret; the pod gets it through `secretKeyRef`, never in the spec), a cache
volume for generators and compiled modules, and one CronJob per shard (`dawg sync`
every 5 minutes by default, `concurrencyPolicy: Forbid`, non-root, read-only root
filesystem, bounded resources).

Shards split a large cluster by namespaces or label selector; each shard has its
own owner tag, so each prunes only what it created. See the README's scaling notes.

The tenancy policy (folder roots, literal uids, adopt, generator budgets) becomes
`dawg sync` flags (`sync_args`). The container's memory limit is derived from the
budgets, not guessed: `concurrency x max_memory + BASELINE_MEMORY`, where the
baseline is the job's own peak (Python, the kubernetes client, wasmtime compiling a
4.5 MB Go generator: 158 MiB measured on a cold pass, 58 MiB warm; rounded up to
192 MiB). Each shard's `--instance` names the stack and shard, so the owner's lease
(`lease`) tells two installs with the same owner apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..units import MIB, parse_size
from .crd import GROUP, PLURAL, crd_manifest

DEFAULT_IMAGE = "ghcr.io/dawg-dashboards/dawg:latest"
CACHE_PATH = "/var/cache/dawg"
BASELINE_MEMORY = 192 * MIB
"""The job's own peak memory on a cold pass (measured 158 MiB), rounded up."""


@dataclass(frozen=True)
class Shard:
    """One CronJob: a slice of the cluster's Dashboard resources."""

    name: str = "all"
    namespaces: tuple[str, ...] = ()
    selector: str | None = None


@dataclass
class DawgSyncArgs:
    grafana_url: pulumi.Input[str]
    grafana_token: pulumi.Input[str]
    grafana_org_id: int | None = None
    cluster_name: str = "cluster"
    namespace: str = "dawg-system"
    image: str = DEFAULT_IMAGE
    schedule: str = "*/5 * * * *"
    shards: list[Shard] = field(default_factory=lambda: [Shard()])
    persistent_cache: bool = True
    cache_size: str = "2Gi"
    storage_class: str | None = None
    requests: dict[str, str] = field(default_factory=lambda: {"cpu": "100m", "memory": "256Mi"})
    limits: dict[str, str] = field(default_factory=lambda: {"cpu": "1"})
    """Container limits; memory defaults to `memory_limit(concurrency, max_memory)`."""
    create_crd: bool = True
    concurrency: int = 4
    max_memory: str = "256Mi"
    max_timeout: str = "10s"
    folder_roots: dict[str, str] = field(default_factory=dict)
    """namespace (or *) -> folder root; default every namespace under Teams/<namespace>."""
    allow_literal_uid: list[str] = field(default_factory=list)
    allow_adopt: list[str] = field(default_factory=list)
    allowed_registries: list[str] = field(default_factory=list)
    """Registries generators may come from (`host[:port]`); none when empty."""


def memory_limit(concurrency: int, max_memory: str) -> str:
    """The container memory limit: concurrency x max generator memory + the job's baseline."""
    total = max(1, concurrency) * parse_size(max_memory, "max_memory") + BASELINE_MEMORY
    return f"{-(-total // MIB)}Mi"


def cluster_role_rules() -> list[dict[str, Any]]:
    """Exactly what the job needs: list/watch/get Dashboards, patch their status."""
    return [
        {"apiGroups": [GROUP], "resources": [PLURAL], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [GROUP], "resources": [f"{PLURAL}/status"], "verbs": ["patch"]},
    ]


def shard_owner(cluster_name: str, shard: Shard) -> str:
    return f"k8s-{cluster_name}-{shard.name}"


def sync_args(
    cluster_name: str, shard: Shard, policy: DawgSyncArgs | None = None, instance: str = ""
) -> list[str]:
    """The container's `dawg sync` arguments: the shard, then the tenancy policy."""
    args = ["sync", "--owner", shard_owner(cluster_name, shard)]
    for namespace in shard.namespaces:
        args += ["--namespace", namespace]
    if shard.selector:
        args += ["--selector", shard.selector]
    if instance:
        args += ["--instance", instance]
    if policy is not None:
        args += ["--concurrency", str(policy.concurrency)]
        args += ["--max-memory", policy.max_memory, "--max-timeout", policy.max_timeout]
        for namespace, root in sorted(policy.folder_roots.items()):
            args += ["--folder-root", f"{namespace}={root}"]
        for namespace in policy.allow_literal_uid:
            args += ["--allow-literal-uid", namespace]
        for namespace in policy.allow_adopt:
            args += ["--allow-adopt", namespace]
        for host in policy.allowed_registries:
            args += ["--allowed-registry", host]
    return args


class DawgSync(pulumi.ComponentResource):
    """The DAWG sync job and everything it needs in a Kubernetes cluster."""

    def __init__(self, name: str, args: DawgSyncArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dawg:cluster:DawgSync", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = {"app.kubernetes.io/name": "dawg-sync", "app.kubernetes.io/part-of": "dawg"}
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata={"name": args.namespace, "labels": labels}, opts=child
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        meta = {"namespace": args.namespace, "labels": labels}
        if args.create_crd:
            manifest = crd_manifest()
            self.crd = k8s.apiextensions.v1.CustomResourceDefinition(
                f"{name}-crd", metadata=manifest["metadata"], spec=manifest["spec"], opts=child
            )
        account = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata={**meta, "name": "dawg-sync"}, opts=in_ns)
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-role",
            metadata={"name": f"dawg-sync-{args.namespace}", "labels": labels},
            rules=cluster_role_rules(),
            opts=child,
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-binding",
            metadata={"name": f"dawg-sync-{args.namespace}", "labels": labels},
            role_ref={
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role.metadata["name"],
            },
            subjects=[
                {"kind": "ServiceAccount", "name": account.metadata["name"], "namespace": args.namespace}
            ],
            opts=child,
        )
        secret = k8s.core.v1.Secret(
            f"{name}-grafana",
            metadata={**meta, "name": "dawg-grafana"},
            type="Opaque",
            string_data={"token": pulumi.Output.secret(args.grafana_token)},
            opts=in_ns,
        )
        cache_volume: dict[str, Any]
        if args.persistent_cache:
            claim_spec: dict[str, Any] = {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": args.cache_size}},
            }
            if args.storage_class:
                claim_spec["storageClassName"] = args.storage_class
            claim = k8s.core.v1.PersistentVolumeClaim(
                f"{name}-cache", metadata={**meta, "name": "dawg-cache"}, spec=claim_spec, opts=in_ns
            )
            cache_volume = {"name": "cache", "persistentVolumeClaim": {"claimName": claim.metadata["name"]}}
        else:
            cache_volume = {"name": "cache", "emptyDir": {"sizeLimit": args.cache_size}}
        env: list[dict[str, Any]] = [
            {"name": "GRAFANA_URL", "value": args.grafana_url},
            {
                "name": "GRAFANA_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": secret.metadata["name"], "key": "token"}},
            },
            {"name": "DAWG_CACHE_DIR", "value": CACHE_PATH},
            {"name": "HOME", "value": "/tmp"},
        ]
        if args.grafana_org_id is not None:
            env.append({"name": "GRAFANA_ORG_ID", "value": str(args.grafana_org_id)})
        self.cronjobs = []
        limits = {"memory": memory_limit(args.concurrency, args.max_memory), **args.limits}
        stack = f"{pulumi.get_project()}/{pulumi.get_stack()}"
        for shard in args.shards:
            instance = f"pulumi {stack} {name} shard {shard.name}"
            container = {
                "name": "sync",
                "image": args.image,
                "args": sync_args(args.cluster_name, shard, args, instance),
                "env": env,
                "resources": {"requests": args.requests, "limits": limits},
                "securityContext": {
                    "readOnlyRootFilesystem": True,
                    "allowPrivilegeEscalation": False,
                    "runAsNonRoot": True,
                    "capabilities": {"drop": ["ALL"]},
                },
                "volumeMounts": [
                    {"name": "cache", "mountPath": CACHE_PATH},
                    {"name": "tmp", "mountPath": "/tmp"},
                ],
            }
            pod = {
                "serviceAccountName": account.metadata["name"],
                "restartPolicy": "Never",
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": 65532,
                    "runAsGroup": 65532,
                    "fsGroup": 65532,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [container],
                "volumes": [cache_volume, {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
            }
            self.cronjobs.append(
                k8s.batch.v1.CronJob(
                    f"{name}-{shard.name}",
                    metadata={**meta, "name": f"dawg-sync-{shard.name}"},
                    spec={
                        "schedule": args.schedule,
                        "concurrencyPolicy": "Forbid",
                        "startingDeadlineSeconds": 300,
                        "successfulJobsHistoryLimit": 3,
                        "failedJobsHistoryLimit": 3,
                        "jobTemplate": {
                            "spec": {
                                "backoffLimit": 0,
                                "activeDeadlineSeconds": 900,
                                "template": {"metadata": {"labels": labels}, "spec": pod},
                            }
                        },
                    },
                    opts=in_ns,
                )
            )
        self.children: list[pulumi.Resource] = [ns, account, role, secret, *self.cronjobs]
        self.register_outputs({"namespace": args.namespace})


def args_from_config(
    raw: dict[str, Any], grafana_url: pulumi.Input[str], grafana_token: pulumi.Input[str], org_id: int | None
) -> DawgSyncArgs:
    """`dawg:cluster` stack config -> DawgSyncArgs (unknown keys are an error, naming them)."""
    known = {
        "name",
        "namespace",
        "image",
        "schedule",
        "shards",
        "persistentCache",
        "cacheSize",
        "storageClass",
        "createCrd",
        "concurrency",
        "maxMemory",
        "maxTimeout",
        "folderRoots",
        "allowLiteralUid",
        "allowAdopt",
        "allowedRegistries",
    }
    unknown = sorted(set(raw) - known)
    if unknown:
        raise pulumi.RunError(
            f"dawg:cluster: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    shards = [
        Shard(str(s.get("name", f"shard{i}")), tuple(s.get("namespaces") or ()), s.get("selector"))
        for i, s in enumerate(raw.get("shards") or [{"name": "all"}])
    ]
    return DawgSyncArgs(
        grafana_url=grafana_url,
        grafana_token=grafana_token,
        grafana_org_id=org_id,
        cluster_name=str(raw.get("name", "cluster")),
        namespace=str(raw.get("namespace", "dawg-system")),
        image=str(raw.get("image", DEFAULT_IMAGE)),
        schedule=str(raw.get("schedule", "*/5 * * * *")),
        shards=shards,
        persistent_cache=bool(raw.get("persistentCache", True)),
        cache_size=str(raw.get("cacheSize", "2Gi")),
        storage_class=raw.get("storageClass"),
        create_crd=bool(raw.get("createCrd", True)),
        concurrency=int(raw.get("concurrency", 4)),
        max_memory=str(raw.get("maxMemory", "256Mi")),
        max_timeout=str(raw.get("maxTimeout", "10s")),
        folder_roots={str(k): str(v) for k, v in (raw.get("folderRoots") or {}).items()},
        allow_literal_uid=[str(n) for n in raw.get("allowLiteralUid") or []],
        allow_adopt=[str(n) for n in raw.get("allowAdopt") or []],
        allowed_registries=[str(h) for h in raw.get("allowedRegistries") or []],
    )
