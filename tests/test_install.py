"""The install as plain manifests (deploy/install/, `dawg install-manifests`): the same
objects as the Pulumi component, valid for Kubernetes 1.28 to 1.34, least privilege per
mode, Pod Security `restricted`, disjoint shards, a pinned image."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from dawg_provider.cluster.kustomize import render_files
from dawg_provider.cluster.manifests import InstallSpec, Mode, image_problem, install_manifests
from dawg_provider.cluster.shards import Shard, disjoint, shard_problems
from dawg_provider.errors import DawgError

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = [f"1.{minor}" for minor in range(28, 35)]
# deploy/install/ is: dawg install-manifests --mode controller --image IMAGE --grafana-url URL
#   --allowed-registry ghcr.io
REPOSITORY = InstallSpec(
    mode=Mode.CONTROLLER,
    image="ghcr.io/dawg-dashboards/dawg:0.1.0",
    grafana_url="https://grafana.example.com",
    allowed_registries=["ghcr.io"],
)


def spec(**changes: Any) -> InstallSpec:
    base: dict[str, Any] = {
        "image": "registry.example.com/dawg:1.0.0",
        "grafana_url": "https://g.example.com",
    }
    return InstallSpec(**{**base, **changes})


def test_deploy_install_is_what_the_code_generates() -> None:
    directory = ROOT / "deploy" / "install"
    files = render_files(REPOSITORY)
    on_disk = {p.relative_to(directory).as_posix(): p.read_text() for p in directory.rglob("*.yaml")}
    assert on_disk == files, (
        "run: dawg install-manifests --mode controller --image ghcr.io/dawg-dashboards/dawg:0.1.0 "
        "--grafana-url https://grafana.example.com --allowed-registry ghcr.io"
    )


def test_install_manifests_command_writes_the_same_files(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dawg_provider",
            "install-manifests",
            "-o",
            str(tmp_path),
            "--mode",
            "controller",
            "--image",
            REPOSITORY.image,
            "--grafana-url",
            REPOSITORY.grafana_url,
            "--allowed-registry",
            "ghcr.io",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    written = {p.relative_to(tmp_path).as_posix(): p.read_text() for p in tmp_path.rglob("*.yaml")}
    assert written == render_files(REPOSITORY)
    assert "create secret generic dawg-module-cache-key" in result.stdout  # the once-only step
    assert "create secret generic dawg-grafana" in result.stdout
    assert not any("kind: Secret" in text for text in written.values())
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "dawg_provider",
            "install-manifests",
            "-o",
            str(tmp_path / "x"),
            "--image",
            "ghcr.io/dawg-dashboards/dawg:latest",
            "--grafana-url",
            "https://g",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 1 and "not latest" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "x").exists()  # nothing half-written


LAYOUTS = {
    "cronjob": spec(),
    "controller": spec(mode=Mode.CONTROLLER),
    "namespaced-controller": spec(
        mode=Mode.CONTROLLER,
        shards=[Shard("a", ("team-a", "team-a-staging")), Shard("b", ("team-b",))],
        persistent_cache=False,
        image_pull_secrets=["pull"],
        registry_credentials_secret="registry",
        grafana_ca_configmap="grafana-ca",
        node_selector={"kubernetes.io/os": "linux"},
        tolerations=[{"key": "dedicated", "operator": "Equal", "value": "ops", "effect": "NoSchedule"}],
        affinity={
            "nodeAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 1,
                        "preference": {
                            "matchExpressions": [{"key": "pool", "operator": "In", "values": ["ops"]}]
                        },
                    }
                ]
            }
        },
    ),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_generated_manifest_is_valid_kubernetes(layout: str, version: str) -> None:
    for document in install_manifests(LAYOUTS[layout]):
        kubernetes_validate.validate(document, version, strict=True)


def kinds(documents: list[dict[str, Any]]) -> list[str]:
    return [d["kind"] for d in documents]


def test_namespace_only_shards_get_roles_not_cluster_roles() -> None:
    documents = install_manifests(LAYOUTS["namespaced-controller"])
    assert "ClusterRole" not in kinds(documents) and "ClusterRoleBinding" not in kinds(documents)
    roles = {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in documents if d["kind"] == "Role"}
    assert roles == {
        ("team-a", "dawg-sync-a"),
        ("team-a-staging", "dawg-sync-a"),
        ("team-b", "dawg-sync-b"),
        ("dawg-system", "dawg-leader-a"),
        ("dawg-system", "dawg-leader-b"),
    }
    for role in (d for d in documents if d["kind"] == "Role"):
        for rule in role["rules"]:
            assert not {"delete", "deletecollection", "*"} & set(rule["verbs"])
            assert "secrets" not in rule["resources"]
    lease = next(d for d in documents if d["metadata"]["name"] == "dawg-leader-b" and d["kind"] == "Role")
    assert lease["rules"][1]["resourceNames"] == ["dawg-b"]


def rights(documents: list[dict[str, Any]], account: str) -> set[tuple[str, str, str, str]]:
    """(namespace or "*", resource, verb, resourceName or "*") the ServiceAccount is granted."""
    roles = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in documents}
    granted = set()
    for binding in (d for d in documents if d["kind"] in ("RoleBinding", "ClusterRoleBinding")):
        if not any(s["name"] == account for s in binding["subjects"]):
            continue
        ref = binding["roleRef"]
        namespace = binding["metadata"].get("namespace")
        role = roles[(ref["kind"], namespace if ref["kind"] == "Role" else None, ref["name"])]
        for rule in role["rules"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    for name in rule.get("resourceNames", ["*"]):
                        granted.add((namespace or "*", resource, verb, name))
    return granted


def test_each_shard_holds_only_its_own_rights() -> None:
    # One namespaced shard beside a cluster-wide one: the namespaced shard's pods must not
    # ride on the ClusterRole, nor patch status or take the Lease of another shard.
    layout = spec(
        mode=Mode.CONTROLLER,
        shards=[Shard("a", namespaces=("team-a",)), Shard("rest", exclude_namespaces=("team-a",))],
    )
    documents = install_manifests(layout)
    pods = {
        d["metadata"]["name"]: d["spec"]["template"]["spec"] for d in documents if d["kind"] == "Deployment"
    }
    accounts = {name: pod["serviceAccountName"] for name, pod in pods.items()}
    assert accounts == {"dawg-controller-a": "dawg-sync-a", "dawg-controller-rest": "dawg-sync-rest"}
    declared = {d["metadata"]["name"] for d in documents if d["kind"] == "ServiceAccount"}
    assert declared == set(accounts.values())
    a = rights(documents, "dawg-sync-a")
    assert a == {
        ("team-a", "dashboards", "get", "*"),
        ("team-a", "dashboards", "list", "*"),
        ("team-a", "dashboards", "watch", "*"),
        ("team-a", "dashboards/status", "patch", "*"),
        ("team-a", "events", "create", "*"),
        ("dawg-system", "leases", "create", "*"),
        ("dawg-system", "leases", "get", "dawg-a"),
        ("dawg-system", "leases", "update", "dawg-a"),
    }
    rest = rights(documents, "dawg-sync-rest")
    assert ("*", "dashboards/status", "patch", "*") in rest
    assert ("dawg-system", "leases", "update", "dawg-a") not in rest
    assert not [
        r
        for d in documents
        if "rules" in d
        for r in d["rules"]
        if "patch" in r["verbs"] and "events" in r["resources"]
    ]


def test_cronjob_mode_has_no_lease_or_event_rights() -> None:
    documents = install_manifests(spec())
    verbs = {
        (r, v)
        for d in documents
        if "rules" in d
        for rule in d["rules"]
        for r in rule["resources"]
        for v in rule["verbs"]
    }
    assert verbs == {
        ("dashboards", "get"),
        ("dashboards", "list"),
        ("dashboards", "watch"),
        ("dashboards/status", "patch"),
    }


def test_pods_meet_pod_security_restricted() -> None:
    for layout in LAYOUTS.values():
        documents = install_manifests(layout)
        assert documents[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        for workload in (d for d in documents if d["kind"] in ("CronJob", "Deployment")):
            template = workload["spec"].get("template") or workload["spec"]["jobTemplate"]["spec"]["template"]
            pod = template["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True
            assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
            for container in pod["containers"]:
                context = container["securityContext"]
                assert context["allowPrivilegeEscalation"] is False and context["capabilities"] == {
                    "drop": ["ALL"]
                }
            assert all("hostPath" not in volume for volume in pod["volumes"])


def test_operator_choices_reach_the_pod() -> None:
    documents = install_manifests(LAYOUTS["namespaced-controller"])
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "pull"}] and pod["nodeSelector"] == {
        "kubernetes.io/os": "linux"
    }
    assert pod["tolerations"][0]["key"] == "dedicated" and "nodeAffinity" in pod["affinity"]
    container = pod["containers"][0]
    assert {"name": "DOCKER_CONFIG", "value": "/etc/dawg/registry"} in container["env"]
    assert "--grafana-ca-bundle" in container["args"] and container["args"][0] == "controller"
    assert {v["name"] for v in pod["volumes"]} == {
        "cache",
        "tmp",
        "module-cache-key",
        "registry",
        "grafana-ca",
    }
    assert pod["volumes"][0] == {"name": "cache", "emptyDir": {"sizeLimit": "2Gi"}}
    assert deployment["spec"]["replicas"] == 2
    assert "PersistentVolumeClaim" not in kinds(documents)


def test_cache_claim_per_shard() -> None:
    documents = install_manifests(spec(shards=[Shard("a", ("a",)), Shard("b", exclude_namespaces=("a",))]))
    claims = [d["metadata"]["name"] for d in documents if d["kind"] == "PersistentVolumeClaim"]
    assert claims == ["dawg-cache-a", "dawg-cache-b"]


@pytest.mark.parametrize(
    ("image", "ok"),
    [
        ("", False),
        ("ghcr.io/dawg-dashboards/dawg", False),
        ("ghcr.io/dawg-dashboards/dawg:latest", False),
        ("localhost:5000/dawg", False),
        ("ghcr.io/dawg-dashboards/dawg@sha256:" + "a" * 64, True),
        ("ghcr.io/dawg-dashboards/dawg@sha256:abc", False),
        ("localhost:5000/dawg:1.2.3", True),
    ],
)
def test_image_is_required_and_pinned(image: str, ok: bool) -> None:
    assert (image_problem(image) is None) is ok


@pytest.mark.parametrize(
    ("a", "b", "apart"),
    [
        (Shard("a", ("team-a",)), Shard("rest", selector="dawg.urcloud.cc/shard notin (team-a)"), False),
        (Shard("a", ("team-a",)), Shard("rest", exclude_namespaces=("team-a",)), True),
        (Shard("a", ("x", "y")), Shard("b", ("y",)), False),
        (Shard("a", ("x",)), Shard("b", ("y",)), True),
        (Shard("a", selector="tier=gold"), Shard("b", selector="tier in (silver, bronze)"), True),
        (Shard("a", selector="tier=gold"), Shard("b", selector="tier notin (gold)"), True),
        (Shard("a", selector="tier=gold"), Shard("b", selector="tier!=silver"), False),
        (Shard("a", selector="tier"), Shard("b", selector="!tier"), True),
        (Shard("a"), Shard("b"), False),
    ],
)
def test_shards_must_be_disjoint(a: Shard, b: Shard, apart: bool) -> None:
    assert disjoint(a, b) is apart and disjoint(b, a) is apart
    assert bool(shard_problems([a, b])) is not apart


def test_overlapping_shards_are_refused_with_names() -> None:
    overlapping = spec(shards=[Shard("team-a", ("team-a",)), Shard("rest", selector="s notin (team-a)")])
    with pytest.raises(DawgError, match="'team-a' and 'rest' may both hold the same Dashboard"):
        install_manifests(overlapping)
    with pytest.raises(DawgError, match="used twice"):
        install_manifests(spec(shards=[Shard("a", ("x",)), Shard("a", ("y",))]))


def test_the_crd_in_the_install_is_the_crd() -> None:
    from dawg_provider.cluster.crd import crd_manifest

    documents = yaml.safe_load_all(render_files(REPOSITORY)["crd/crd.yaml"])
    assert list(documents) == [crd_manifest()]


def kustomize_build(directory: Path) -> list[dict[str, Any]]:
    """The objects `kubectl apply -k` / `kubectl delete -k` act on: each entry of the
    kustomization's `resources` is a file of objects or another kustomization directory
    (docs: kubectl.docs.kubernetes.io/references/kustomize/kustomization/resource/)."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    objects: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        if path.is_dir():
            objects += kustomize_build(path)
        else:
            objects += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return objects


def test_deleting_the_install_keeps_the_crd_and_every_dashboard(tmp_path: Path) -> None:
    from dawg_provider.cluster.kustomize import write

    stale = tmp_path / "crd.yaml"  # written by an earlier version, inside the install
    stale.write_text(render_files(REPOSITORY)["crd/crd.yaml"])
    write(REPOSITORY, tmp_path)
    assert not stale.exists()
    install = kustomize_build(tmp_path)  # what `kubectl delete -k DIR` deletes
    assert "CustomResourceDefinition" not in kinds(install)
    assert {"Namespace", "ServiceAccount", "Deployment"} <= set(kinds(install))  # the rest still goes
    (crd,) = kustomize_build(tmp_path / "crd")
    assert crd["kind"] == "CustomResourceDefinition"
    annotations = crd["metadata"]["annotations"]
    assert annotations["kustomize.toolkit.fluxcd.io/prune"] == "disabled"
    assert set(annotations["argocd.argoproj.io/sync-options"].split(",")) == {"Delete=false", "Prune=false"}
    assert kustomize_build(ROOT / "deploy" / "install") == install  # the repository's copy too


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_workload_mounts_the_module_cache_key(layout: str) -> None:
    """Without the key each run recompiles every generator; the Secret is not optional (loud)."""
    spec = LAYOUTS[layout]
    for document in install_manifests(spec):
        if document["kind"] not in ("CronJob", "Deployment"):
            continue
        template = (
            document["spec"]["jobTemplate"]["spec"]["template"]
            if document["kind"] == "CronJob"
            else document["spec"]["template"]
        )
        pod = template["spec"]
        container = pod["containers"][0]
        assert {"name": "DAWG_MODULE_CACHE_KEY_FILE", "value": "/etc/dawg/module-cache-key/key"} in container[
            "env"
        ]
        assert {
            "name": "module-cache-key",
            "mountPath": "/etc/dawg/module-cache-key",
            "readOnly": True,
        } in container["volumeMounts"]
        (volume,) = [v for v in pod["volumes"] if v["name"] == "module-cache-key"]
        assert volume["secret"] == {
            "secretName": spec.module_cache_key_secret,
            "items": [{"key": "key", "path": "key"}],
            "defaultMode": 0o440,
            "optional": True,  # an upgrade before the Secret exists must not stop every team's sync
        }
        assert pod["securityContext"]["fsGroup"] == 65532  # the group the 0440 file is readable by


def test_a_stock_prometheus_finds_the_controller_metrics() -> None:
    """Review 14 finding 9d: the pod annotations of Prometheus' Kubernetes example
    configuration (prometheus-kubernetes.yml, job kubernetes-pods) on controller pods,
    naming the container's metrics port; CronJob pods serve no metrics and carry none."""
    from dawg_provider.cluster.manifests import workload

    controller = workload(replace(REPOSITORY, metrics_port=9300), Shard())
    template = controller["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    assert annotations == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "9300",
        "prometheus.io/path": "/metrics",
    }
    (container,) = template["spec"]["containers"]
    assert container["ports"] == [{"name": "metrics", "containerPort": 9300}]
    cron = workload(replace(REPOSITORY, mode=Mode.CRONJOB), Shard())
    assert "annotations" not in cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]


def test_the_kubelet_waits_for_the_controllers_whole_shutdown() -> None:
    """SIGTERM, then SIGKILL after `terminationGracePeriodSeconds` (core/v1 PodSpec, 30 s by
    default): the controller needs its grace for writes in flight plus the Lease release,
    or the kill lands mid-release and the next replica waits a whole Lease duration."""
    from dawg_provider.cluster.command import SHUTDOWN_GRACE
    from dawg_provider.cluster.kube import REQUEST_TIMEOUT
    from dawg_provider.cluster.leader import RELEASE_BUDGET
    from dawg_provider.cluster.manifests import workload

    # writes in flight, then the elector's last renewal (joined for RELEASE_BUDGET), then
    # release attempts started within RELEASE_BUDGET, the last a GET and a PUT of <= 5 s each
    worst = SHUTDOWN_GRACE + RELEASE_BUDGET + RELEASE_BUDGET + 2 * REQUEST_TIMEOUT
    controller = workload(REPOSITORY, Shard())["spec"]["template"]["spec"]
    assert controller["terminationGracePeriodSeconds"] > worst
    cron = workload(replace(REPOSITORY, mode=Mode.CRONJOB), Shard())
    assert "terminationGracePeriodSeconds" not in cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
