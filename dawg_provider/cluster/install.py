"""Installing DAWG in a cluster with Pulumi: the `DawgSync` ComponentResource.

The objects are `manifests.install_manifests` (the same ones `dawg install-manifests`
writes to `deploy/install/` for `kubectl apply -k`); this module only turns each into
its pulumi-kubernetes resource, and adds what plain manifests cannot hold: the Secret
with the Grafana token (a Pulumi secret; pods read it through `secretKeyRef`, never in
their spec), and the Secret with the compiled-module cache's key: 32 random bytes
made once by `pulumi_random.RandomBytes` (its `base64` is a secret output, kept in
the state encrypted; no keepers, so every later `pulumi up` keeps the same key and
pods keep loading the modules earlier runs compiled), passed on as a Pulumi secret.
The CRD is created with `retain_on_delete`: `pulumi destroy` of the install leaves it,
and with it every team's Dashboards (deleting a CRD deletes all its objects). Each
shard's `--instance` names the stack and shard, so the owner's lease (`lease`) tells
two installs with the same owner apart.

The tenancy policy and every other choice are `manifests.InstallSpec` fields; see
that module for what is decided (mode, RBAC, cache, image, Pod Security).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random

from ..wasm.modcache import MIN_KEY
from .manifests import InstallSpec, Mode, install_manifests, memory_limit
from .shards import Shard

__all__ = ["DawgSync", "DawgSyncArgs", "Mode", "Shard", "args_from_config", "memory_limit"]

_KINDS: dict[str, Any] = {
    "Namespace": k8s.core.v1.Namespace,
    "ServiceAccount": k8s.core.v1.ServiceAccount,
    "PersistentVolumeClaim": k8s.core.v1.PersistentVolumeClaim,
    "CustomResourceDefinition": k8s.apiextensions.v1.CustomResourceDefinition,
    "ClusterRole": k8s.rbac.v1.ClusterRole,
    "ClusterRoleBinding": k8s.rbac.v1.ClusterRoleBinding,
    "Role": k8s.rbac.v1.Role,
    "RoleBinding": k8s.rbac.v1.RoleBinding,
    "CronJob": k8s.batch.v1.CronJob,
    "Deployment": k8s.apps.v1.Deployment,
}
_FIELDS = {
    "metadata": "metadata",
    "spec": "spec",
    "rules": "rules",
    "roleRef": "role_ref",
    "subjects": "subjects",
}


@dataclass(kw_only=True)
class DawgSyncArgs(InstallSpec):
    """`InstallSpec` plus what only the Pulumi path has: the token, and whether to own the CRD."""

    grafana_token: pulumi.Input[str]
    create_crd: bool = True
    module_cache_key: pulumi.Input[str] | None = None
    """The module-cache key to use instead of random bytes (e.g. `pulumi config set --secret
    dawg:moduleCacheKey`, where the random provider cannot be installed); kept secret."""


class DawgSync(pulumi.ComponentResource):
    """DAWG (CronJobs or controllers) and everything it needs in a Kubernetes cluster."""

    def __init__(self, name: str, args: DawgSyncArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dawg:cluster:DawgSync", name, None, opts)
        stack = f"{pulumi.get_project()}/{pulumi.get_stack()}"
        instances = {shard.name: f"pulumi {stack} {name} shard {shard.name}" for shard in args.shards}
        documents = install_manifests(args, instances)
        namespace, rest = documents[0], documents[1:]
        child = pulumi.ResourceOptions(parent=self)
        ns = k8s.core.v1.Namespace(f"{name}-namespace", metadata=namespace["metadata"], opts=child)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        labels = namespace["metadata"]["labels"]

        def secret(logical: str, secret_name: str, key: str, value: pulumi.Input[str]) -> pulumi.Resource:
            """An Opaque Secret whose one value is a Pulumi secret (encrypted in the state)."""
            made: pulumi.Resource = k8s.core.v1.Secret(
                f"{name}-{logical}",
                metadata={"name": secret_name, "namespace": args.namespace, "labels": labels},
                type="Opaque",
                string_data={key: pulumi.Output.secret(value)},
                opts=in_ns,
            )
            return made

        token = secret("grafana", args.token_secret, "token", args.grafana_token)
        made: list[pulumi.Resource] = []
        key_value: pulumi.Input[str]
        if args.module_cache_key is not None:
            key_value = pulumi.Output.secret(args.module_cache_key).apply(checked_module_cache_key)
        else:
            random_key = pulumi_random.RandomBytes(f"{name}-module-cache-key", length=32, opts=child)
            key_value, made = random_key.base64, [random_key]
        key_secret = secret("module-cache-key", args.module_cache_key_secret, "key", key_value)
        self.children: list[pulumi.Resource] = [ns, token, *made, key_secret]
        self.workloads: list[pulumi.Resource] = []
        for document in rest:
            kind, meta = document["kind"], document["metadata"]
            if kind == "CustomResourceDefinition":
                if not args.create_crd:
                    continue
                options = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
            else:
                options = in_ns
            logical = "-".join(p for p in (name, kind.lower(), meta.get("namespace", ""), meta["name"]) if p)
            fields = {_FIELDS[key]: value for key, value in document.items() if key in _FIELDS}
            resource = _KINDS[kind](logical, opts=options, **fields)
            self.children.append(resource)
            if kind in ("CronJob", "Deployment"):
                self.workloads.append(resource)
        self.cronjobs = [w for w in self.workloads if isinstance(w, k8s.batch.v1.CronJob)]
        self.register_outputs({"namespace": args.namespace})


def args_from_config(
    raw: dict[str, Any],
    grafana_url: pulumi.Input[str],
    grafana_token: pulumi.Input[str],
    org_id: int | None,
    module_cache_key: pulumi.Input[str] | None = None,
) -> DawgSyncArgs:
    """`dawg:cluster` stack config -> DawgSyncArgs (unknown keys are an error, naming them)."""
    simple = {
        "namespace": str,
        "image": str,
        "schedule": str,
        "persistentCache": bool,
        "cacheSize": str,
        "storageClass": str,
        "createCrd": bool,
        "concurrency": int,
        "verifyIntervalMinutes": int,
        "maxMemory": str,
        "maxTimeout": str,
        "deadline": float,
        "namespaceBudget": str,
        "imagePullSecrets": list,
        "registryCredentialsSecret": str,
        "grafanaCaConfigMap": str,
        "nodeSelector": dict,
        "tolerations": list,
        "affinity": dict,
        "replicas": int,
        "metricsPort": int,
        "folderRoots": dict,
        "allowLiteralUid": list,
        "allowAdopt": list,
        "allowedRegistries": list,
        "registryAuthRealms": list,
    }
    known = {*simple, "name", "shards", "mode"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise pulumi.RunError(
            f"dawg:cluster: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    shards = [
        Shard(
            str(s.get("name", f"shard{i}")),
            tuple(s.get("namespaces") or ()),
            s.get("selector"),
            tuple(s.get("excludeNamespaces") or ()),
        )
        for i, s in enumerate(raw.get("shards") or [{"name": "all"}])
    ]
    renamed = {
        "grafanaCaConfigMap": "grafana_ca_configmap",
        "verifyIntervalMinutes": "verify_interval_minutes",
    }
    options: dict[str, Any] = {}
    for key, kind in simple.items():
        if key in raw:
            snake = renamed.get(key) or "".join(f"_{c.lower()}" if c.isupper() else c for c in key)
            options[snake] = kind(raw[key])
    return DawgSyncArgs(
        grafana_url=grafana_url,
        grafana_token=grafana_token,
        grafana_org_id=org_id,
        module_cache_key=module_cache_key,
        cluster_name=str(raw.get("name", "cluster")),
        mode=Mode(raw.get("mode", Mode.CRONJOB.value)),
        shards=shards,
        **{"image": "", **options},
    )


def checked_module_cache_key(value: str) -> str:
    """`value` when it is long enough to be a MAC key (`modcache.MIN_KEY` bytes); never echoes it."""
    if len(value.strip().encode()) < MIN_KEY:
        raise pulumi.RunError(
            f"dawg:moduleCacheKey: a key must be at least {MIN_KEY} bytes; "
            'use `pulumi config set --secret dawg:moduleCacheKey "$(head -c 32 /dev/urandom | base64)"`'
        )
    return value
