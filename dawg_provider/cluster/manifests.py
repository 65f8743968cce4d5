"""Every Kubernetes object of a DAWG install, as plain dicts: the one source for both
install paths (the Pulumi component `install.DawgSync` and the kustomize directory
`deploy/install/` that `dawg install-manifests` writes), so they cannot drift apart.

Pure: no pulumi, no kubernetes client. What it decides:

- **Mode**: a `CronJob` per shard (a pass every few minutes) or a `Deployment` per
  shard running `dawg controller` (watches, reconciles in seconds, 2 replicas with a
  Lease so one writes).
- **Least privilege per mode and shard** (docs: "RBAC Good Practices", least privilege,
  no shared service accounts): each shard runs as its own ServiceAccount; it reads
  Dashboards and patches their status in the namespaces it lists (Roles), or cluster-wide
  (a ClusterRole bound to the cluster-wide shards only). The controller adds creating
  Events (same scope) and its own Lease (in DAWG's namespace only).
- **Pod Security `restricted`**: the Namespace enforces it, and every pod meets it
  (non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp).
- **Cache**: one PersistentVolumeClaim per CronJob shard (a ReadWriteOnce claim shared
  by several shards' pods would block all but one node), or an emptyDir; always an
  emptyDir for the controller's replicas.
- **Image**: required; a tag other than `latest` or a digest (`@sha256:`), because
  nothing publishes a default image and `latest` changes under a running job.
- The Grafana token is never here: pods read the Secret `token_secret` (key `token`)
  that the Pulumi component or the operator (`kubectl create secret`) creates.
- **Module-cache key**: the compiled-module cache only loads entries carrying an HMAC
  under a key kept outside the cache (`wasm.modcache`); without one each pod uses a
  random key and recompiles every generator on every run. Pods mount the Secret
  `module_cache_key_secret` (key `key`, read-only, 0440 for the pod's group) and set
  `DAWG_MODULE_CACHE_KEY_FILE`. The Pulumi component creates it from 32 random bytes
  made once (`pulumi_random.RandomBytes`, a secret in the state); with plain
  manifests the operator creates it once (`kubectl create secret`, see the README).
  Optional, so an upgrade applied before the Secret exists still runs every team's sync:
  the job then warns and uses a per-process key (`modcache.cache_key`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..errors import DawgError
from ..sources.credentials import parse_auth_realm
from ..units import MIB, parse_size
from .crd import GROUP, PLURAL, crd_manifest
from .shards import Shard, shard_problems

CACHE_PATH = "/var/cache/dawg"
REGISTRY_CONFIG_PATH = "/etc/dawg/registry"
GRAFANA_CA_PATH = "/etc/dawg/grafana-ca"
MODULE_CACHE_KEY_PATH = "/etc/dawg/module-cache-key"
MODULE_CACHE_KEY_ENV = "DAWG_MODULE_CACHE_KEY_FILE"
"""`wasm.modcache.ENV_KEY_FILE` (not imported: the install must not load wasmtime)."""
# The container's memory limit is derived from the budgets, not guessed:
# `concurrency x (max_memory + OUTPUT_MEMORY) + BASELINE_MEMORY`. OUTPUT_MEMORY is what
# one run's output costs the job once out of the sandbox (the 8 MiB stdout, decoded,
# parsed, hashed, serialized again): 38 MiB measured for 8 MiB of long strings, 37 MiB
# for the 250 000 values `wasm.output` allows; rounded up. The baseline is the job's own
# peak (Python, the kubernetes client, wasmtime compiling a 4.5 MB Go generator: 158 MiB
# measured on a cold pass, 58 MiB warm; rounded up).
BASELINE_MEMORY = 192 * MIB
"""The job's own peak memory on a cold pass (measured 158 MiB), rounded up."""
OUTPUT_MEMORY = 64 * MIB
"""One run's output in the job, worst case (measured 38 MiB), rounded up."""
LABELS = {"app.kubernetes.io/name": "dawg-sync", "app.kubernetes.io/part-of": "dawg"}
RESTRICTED = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}


class Mode(Enum):
    """How DAWG runs in the cluster."""

    CRONJOB = "cronjob"
    CONTROLLER = "controller"


@dataclass
class InstallSpec:
    """What an operator chooses; everything but the Grafana token's value."""

    image: str
    grafana_url: Any
    """Text, or a Pulumi Output of text (the component passes it through)."""
    grafana_org_id: int | None = None
    cluster_name: str = "cluster"
    namespace: str = "dawg-system"
    mode: Mode = Mode.CRONJOB
    schedule: str = "*/5 * * * *"
    shards: list[Shard] = field(default_factory=lambda: [Shard()])
    token_secret: str = "dawg-grafana"
    module_cache_key_secret: str = "dawg-module-cache-key"
    """The Secret (key `key`) holding the compiled-module cache's MAC key."""
    image_pull_secrets: list[str] = field(default_factory=list)
    registry_credentials_secret: str | None = None
    """A `kubernetes.io/dockerconfigjson` Secret: credentials for the allowed registries."""
    grafana_ca_configmap: str | None = None
    """A ConfigMap whose `ca.crt` is the PEM bundle Grafana's certificate is checked with."""
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    affinity: dict[str, Any] = field(default_factory=dict)
    persistent_cache: bool = True
    cache_size: str = "2Gi"
    storage_class: str | None = None
    requests: dict[str, str] = field(default_factory=lambda: {"cpu": "100m", "memory": "256Mi"})
    limits: dict[str, str] = field(default_factory=lambda: {"cpu": "1"})
    concurrency: int = 4
    verify_interval_minutes: int = 30
    max_memory: str = "256Mi"
    max_timeout: str = "10s"
    deadline: float = 840.0
    """No generator run starts that could end later in the pass (`fairness`)."""
    namespace_budget: str = "120s"
    """Generator seconds one namespace may use per pass (`fairness`)."""
    folder_roots: dict[str, str] = field(default_factory=dict)
    allow_literal_uid: list[str] = field(default_factory=list)
    allow_adopt: list[str] = field(default_factory=list)
    allowed_registries: list[str] = field(default_factory=list)
    registry_auth_realms: list[str] = field(default_factory=list)
    """`REGISTRY=REALM_HOST`: where a registry's credentials may go for tokens (`--registry-auth-realm`)."""
    replicas: int = 2
    metrics_port: int = 9090


def image_problem(image: str) -> str | None:
    """Why an image reference cannot be installed, or None. Pure."""
    if not image:
        return "image is required (no default image is published): give a tag or a digest"
    if "@sha256:" in image:
        return None if re.search(r"@sha256:[0-9a-f]{64}$", image) else f"image {image!r}: malformed digest"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last or last.endswith(":latest"):
        return f"image {image!r}: pin a version tag or a digest (@sha256:...), not latest"
    return None


def check(spec: InstallSpec) -> None:
    """Refuses an install that cannot work, naming every reason."""
    problems = shard_problems(spec.shards)
    for realm in spec.registry_auth_realms:
        try:
            parse_auth_realm(realm)
        except DawgError as error:
            problems.append(str(error))
    if image := image_problem(spec.image):
        problems.insert(0, image)
    if problems:
        raise DawgError("cannot install DAWG: " + "; ".join(problems))


def memory_limit(concurrency: int, max_memory: str) -> str:
    """The container memory limit: concurrency x (max generator memory + its output) + baseline."""
    total = max(1, concurrency) * (parse_size(max_memory, "max_memory") + OUTPUT_MEMORY) + BASELINE_MEMORY
    return f"{-(-total // MIB)}Mi"


def shard_owner(cluster_name: str, shard: Shard) -> str:
    return f"k8s-{cluster_name}-{shard.name}"


def job_args(spec: InstallSpec, shard: Shard, instance: str = "") -> list[str]:
    """The container's arguments: the command, the shard, then the policy."""
    args = [arg for realm in spec.registry_auth_realms for arg in ("--registry-auth-realm", realm)]
    args += [spec.mode.value if spec.mode is Mode.CONTROLLER else "sync"]
    args += ["--owner", shard_owner(spec.cluster_name, shard)]
    for namespace in shard.namespaces:
        args += ["--namespace", namespace]
    for namespace in shard.exclude_namespaces:
        args += ["--exclude-namespace", namespace]
    if shard.selector:
        args += ["--selector", shard.selector]
    if instance:
        args += ["--instance", instance]
    args += ["--concurrency", str(spec.concurrency)]
    if spec.verify_interval_minutes != 30:
        args += ["--verify-interval", str(spec.verify_interval_minutes)]
    args += ["--max-memory", spec.max_memory, "--max-timeout", spec.max_timeout]
    args += ["--deadline", f"{spec.deadline:g}", "--namespace-budget", spec.namespace_budget]
    for namespace, root in sorted(spec.folder_roots.items()):
        args += ["--folder-root", f"{namespace}={root}"]
    for namespace in spec.allow_literal_uid:
        args += ["--allow-literal-uid", namespace]
    for namespace in spec.allow_adopt:
        args += ["--allow-adopt", namespace]
    for host in spec.allowed_registries:
        args += ["--allowed-registry", host]
    if spec.grafana_ca_configmap:
        args += ["--grafana-ca-bundle", f"{GRAFANA_CA_PATH}/ca.crt"]
    if spec.mode is Mode.CONTROLLER:
        args += ["--lease-namespace", spec.namespace, "--lease-name", f"dawg-{shard.name}"]
        args += ["--metrics-port", str(spec.metrics_port)]
    return args


def _meta(spec: InstallSpec, name: str, namespace: str | None = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(LABELS)}
    if namespace is not None:
        meta["namespace"] = namespace or spec.namespace
    return meta


def account_name(shard: Shard) -> str:
    """Each shard's pods run as their own ServiceAccount, holding only that shard's rights."""
    return f"dawg-sync-{shard.name}"


def _grant(
    spec: InstallSpec,
    kind: str,
    name: str,
    namespace: str | None,
    rules: list[dict[str, Any]],
    shards: list[Shard],
) -> list[dict[str, Any]]:
    """A Role (or ClusterRole, `namespace` None) and its binding to the shards' accounts."""
    api = "rbac.authorization.k8s.io"
    subjects = [
        {"kind": "ServiceAccount", "name": account_name(shard), "namespace": spec.namespace}
        for shard in shards
    ]
    role = {"apiVersion": f"{api}/v1", "kind": kind, "metadata": _meta(spec, name, namespace), "rules": rules}
    binding = {
        "apiVersion": f"{api}/v1",
        "kind": f"{kind}Binding",
        "metadata": _meta(spec, name, namespace),
        "roleRef": {"apiGroup": api, "kind": kind, "name": name},
        "subjects": subjects,
    }
    return [role, binding]


def rbac(spec: InstallSpec) -> list[dict[str, Any]]:
    """Per shard: Roles in the namespaces it lists (a ClusterRole only for the shards that
    span the cluster), and in controller mode its own Lease and Events (create only:
    the controller never patches one)."""
    rules = [
        {"apiGroups": [GROUP], "resources": [PLURAL], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [GROUP], "resources": [f"{PLURAL}/status"], "verbs": ["patch"]},
    ]
    if spec.mode is Mode.CONTROLLER:
        rules.append({"apiGroups": [""], "resources": ["events"], "verbs": ["create"]})
    out: list[dict[str, Any]] = []
    wide = [shard for shard in spec.shards if not shard.namespaces]
    if wide:
        out += _grant(spec, "ClusterRole", f"dawg-sync-{spec.namespace}", None, rules, wide)
    for shard in spec.shards:
        for namespace in shard.namespaces:
            out += _grant(spec, "Role", account_name(shard), namespace, rules, [shard])
        if spec.mode is Mode.CONTROLLER:
            lease_rules = [
                # RBAC cannot limit `create` by resourceNames (docs: "Referring to resources").
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "resourceNames": [f"dawg-{shard.name}"],
                    "verbs": ["get", "update"],
                },
            ]
            out += _grant(spec, "Role", f"dawg-leader-{shard.name}", "", lease_rules, [shard])
    return out


TERMINATION_GRACE = 45
"""Seconds the kubelet waits after SIGTERM (controller mode): command.SHUTDOWN_GRACE (20),
then the elector's last renewal (<= leader.RELEASE_BUDGET, 5) and the release (attempts
started within RELEASE_BUDGET, each a GET and a PUT of <= 5 s): 40 at worst, plus slack."""


def _pod(spec: InstallSpec, shard: Shard, instance: str) -> dict[str, Any]:
    env: list[dict[str, Any]] = [
        {"name": "GRAFANA_URL", "value": spec.grafana_url},
        {"name": "GRAFANA_TOKEN", "valueFrom": {"secretKeyRef": {"name": spec.token_secret, "key": "token"}}},
        {"name": "DAWG_CACHE_DIR", "value": CACHE_PATH},
        {"name": MODULE_CACHE_KEY_ENV, "value": f"{MODULE_CACHE_KEY_PATH}/key"},
        {"name": "HOME", "value": "/tmp"},
    ]
    if spec.grafana_org_id is not None:
        env.append({"name": "GRAFANA_ORG_ID", "value": str(spec.grafana_org_id)})
    mounts: list[dict[str, Any]] = [
        {"name": "cache", "mountPath": CACHE_PATH},
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "module-cache-key", "mountPath": MODULE_CACHE_KEY_PATH, "readOnly": True},
    ]
    if persistent(spec):
        cache: dict[str, Any] = {
            "name": "cache",
            "persistentVolumeClaim": {"claimName": f"dawg-cache-{shard.name}"},
        }
    else:
        cache = {"name": "cache", "emptyDir": {"sizeLimit": spec.cache_size}}
    key_volume: dict[str, Any] = {
        "secretName": spec.module_cache_key_secret,
        "items": [{"key": "key", "path": "key"}],
        "defaultMode": 0o440,  # root:fsGroup, read by the pod's group only
        "optional": True,  # missing: the pod starts, the job warns (a stuck pod syncs no team)
    }
    volumes = [
        cache,
        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
        {"name": "module-cache-key", "secret": key_volume},
    ]
    if spec.registry_credentials_secret:
        env.append({"name": "DOCKER_CONFIG", "value": REGISTRY_CONFIG_PATH})
        mounts.append({"name": "registry", "mountPath": REGISTRY_CONFIG_PATH, "readOnly": True})
        items = [{"key": ".dockerconfigjson", "path": "config.json"}]
        volumes.append(
            {"name": "registry", "secret": {"secretName": spec.registry_credentials_secret, "items": items}}
        )
    if spec.grafana_ca_configmap:
        mounts.append({"name": "grafana-ca", "mountPath": GRAFANA_CA_PATH, "readOnly": True})
        volumes.append({"name": "grafana-ca", "configMap": {"name": spec.grafana_ca_configmap}})
    container: dict[str, Any] = {
        "name": spec.mode.value,
        "image": spec.image,
        "args": job_args(spec, shard, instance),
        "env": env,
        "resources": {
            "requests": spec.requests,
            "limits": {"memory": memory_limit(spec.concurrency, spec.max_memory), **spec.limits},
        },
        "securityContext": {
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": mounts,
    }
    if spec.mode is Mode.CONTROLLER:
        container["ports"] = [{"name": "metrics", "containerPort": spec.metrics_port}]
        probe = {"httpGet": {"path": "/healthz", "port": "metrics"}, "periodSeconds": 20}
        container["livenessProbe"] = probe
    pod: dict[str, Any] = {
        "serviceAccountName": account_name(shard),
        "restartPolicy": "Never" if spec.mode is Mode.CRONJOB else "Always",
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "fsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": volumes,
    }
    if spec.mode is Mode.CONTROLLER:
        # SIGTERM: up to 20 s for writes in flight, then the Lease release (<= 20 s):
        # above both, so the kubelet's SIGKILL never cuts a release (default is 30 s).
        pod["terminationGracePeriodSeconds"] = TERMINATION_GRACE
    if spec.image_pull_secrets:
        pod["imagePullSecrets"] = [{"name": name} for name in spec.image_pull_secrets]
    for key, value in (
        ("nodeSelector", spec.node_selector),
        ("tolerations", spec.tolerations),
        ("affinity", spec.affinity),
    ):
        if value:
            pod[key] = value
    return pod


def workload(spec: InstallSpec, shard: Shard, instance: str = "") -> dict[str, Any]:
    """The CronJob or the Deployment of one shard."""
    pod = _pod(spec, shard, instance or f"{spec.mode.value} {spec.cluster_name} shard {shard.name}")
    labels = {**LABELS, "dawg.urcloud.cc/shard": shard.name}
    template: dict[str, Any] = {"metadata": {"labels": dict(labels)}, "spec": pod}
    if spec.mode is Mode.CONTROLLER:
        # The pod-annotation convention of Prometheus' Kubernetes example configuration
        # (documentation/examples/prometheus-kubernetes.yml, job kubernetes-pods: keep pods
        # annotated prometheus.io/scrape, path and port from the other two), so a stock
        # Prometheus finds /metrics with `kubectl apply -k` alone.
        template["metadata"]["annotations"] = {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(spec.metrics_port),
            "prometheus.io/path": "/metrics",
        }
    name = (
        f"dawg-{spec.mode.value}-{shard.name}" if spec.mode is Mode.CONTROLLER else f"dawg-sync-{shard.name}"
    )
    if spec.mode is Mode.CONTROLLER:
        body = {"replicas": spec.replicas, "selector": {"matchLabels": labels}, "template": template}
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(spec, name), "spec": body}
    job = {"backoffLimit": 0, "activeDeadlineSeconds": 900, "template": template}
    body = {
        "schedule": spec.schedule,
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": 300,
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 3,
        "jobTemplate": {"spec": job},
    }
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": _meta(spec, name), "spec": body}


def persistent(spec: InstallSpec) -> bool:
    """A claim per shard for CronJobs; a controller's replicas keep their cache in an emptyDir
    (two replicas cannot share a ReadWriteOnce claim across nodes, and a long-running
    process keeps its cache warm anyway)."""
    return spec.persistent_cache and spec.mode is Mode.CRONJOB


def cache_claims(spec: InstallSpec) -> list[dict[str, Any]]:
    if not persistent(spec):
        return []
    claims = []
    for shard in spec.shards:
        claim: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": spec.cache_size}},
        }
        if spec.storage_class:
            claim["storageClassName"] = spec.storage_class
        meta = _meta(spec, f"dawg-cache-{shard.name}")
        claims.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": claim})
    return claims


def install_manifests(spec: InstallSpec, instances: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every object of the install, in apply order (the token Secret excepted)."""
    check(spec)
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": spec.namespace, "labels": {**LABELS, **RESTRICTED}},
    }
    accounts = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(spec, account_name(shard))}
        for shard in spec.shards
    ]
    workloads = [workload(spec, shard, (instances or {}).get(shard.name, "")) for shard in spec.shards]
    return [namespace, crd_manifest(), *accounts, *rbac(spec), *cache_claims(spec), *workloads]
