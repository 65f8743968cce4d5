"""The cluster install (DawgSync) under Pulumi mocks, and its manifests validated offline."""

from __future__ import annotations

import json
from typing import Any

import kubernetes_validate
import pulumi
import pulumi_random
import pytest

from dawg_provider.cluster.crd import crd_manifest


class Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        if args.typ == "random:index/randomBytes:RandomBytes":
            # pulumi_random's provider fills base64/hex on create (random_bytes.py `RandomBytes`).
            return f"{args.name}-id", {**args.inputs, "base64": CACHE_KEY, "hex": CACHE_KEY.encode().hex()}
        return f"{args.name}-id", args.inputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


MOCKS = Mocks()
pulumi.runtime.set_mocks(MOCKS, project="dawg", stack="prod", preview=False)

from dawg_provider.cluster.install import DawgSync, DawgSyncArgs, Shard  # noqa: E402
from dawg_provider.cluster.manifests import rbac  # noqa: E402

TOKEN = "glsa_cluster_secret"
CACHE_KEY = "bW9kdWxlLWNhY2hlLWtleS1vZi0zMi1ieXRlcyEhIQ=="


SECRET_SIG = "4dabf18193072939515e22adb298388d"


def reveal(value: Any) -> Any:
    """Mock inputs keep Pulumi's secret wrapper; the manifests Kubernetes would see do not."""
    if isinstance(value, dict):
        if SECRET_SIG in value:
            return reveal(value["value"])
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def by_type(kind: str) -> list[pulumi.runtime.MockResourceArgs]:
    return [r for r in MOCKS.resources if r.typ == kind]


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_component_creates_least_privilege_rbac_and_a_hardened_cronjob() -> pulumi.Output[Any]:
    MOCKS.resources.clear()
    component_args = DawgSyncArgs(
        image="registry.example.com/dawg:0.1.0",
        grafana_url="https://grafana.example.com",
        grafana_token=pulumi.Output.secret(TOKEN),
        cluster_name="prod",
        folder_roots={"*": "Org/{namespace}", "ops": "*"},
        allow_adopt=["legacy"],
        shards=[
            Shard("team-a", namespaces=("team-a",)),
            Shard("rest", exclude_namespaces=("team-a",)),
        ],
    )
    component = DawgSync("dawg", component_args)

    def check(_: Any) -> None:
        kinds = sorted({r.typ.split(":")[-1] for r in MOCKS.resources})
        assert kinds == sorted(
            [
                "Namespace",
                "CustomResourceDefinition",
                "ServiceAccount",
                "ClusterRole",
                "ClusterRoleBinding",
                "Role",  # the namespace-only shard team-a: not on the ClusterRole
                "RoleBinding",
                "Secret",
                "RandomBytes",
                "PersistentVolumeClaim",
                "CronJob",
                "DawgSync",
            ]
        )
        (role,) = by_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
        assert role.inputs["rules"] == rbac(component_args)[0]["rules"]
        (binding,) = by_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
        assert [s["name"] for s in binding.inputs["subjects"]] == ["dawg-sync-rest"]
        verbs = {verb for rule in role.inputs["rules"] for verb in rule["verbs"]}
        assert verbs == {"get", "list", "watch", "patch"}  # no create/update/delete, no secrets
        assert all(rule["apiGroups"] == ["dawg.urcloud.cc"] for rule in role.inputs["rules"])
        cronjobs = sorted(
            by_type("kubernetes:batch/v1:CronJob"),
            key=lambda c: c.inputs["metadata"]["name"] != "dawg-sync-team-a",
        )
        assert [c.inputs["metadata"]["name"] for c in cronjobs] == ["dawg-sync-team-a", "dawg-sync-rest"]
        for cron in cronjobs:
            spec = cron.inputs["spec"]
            assert spec["concurrencyPolicy"] == "Forbid" and spec["schedule"] == "*/5 * * * *"
            pod = spec["jobTemplate"]["spec"]["template"]["spec"]
            container = pod["containers"][0]
            assert (
                pod["securityContext"]["runAsNonRoot"] is True
                and pod["securityContext"]["runAsUser"] == 65532
            )
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert (
                container["resources"]["limits"]["memory"] == "1472Mi"  # 4 x (256Mi + 64Mi) + 192Mi
                and "requests" in container["resources"]
            )
            assert {"name": "cache", "mountPath": "/var/cache/dawg"} in container["volumeMounts"]
            claim = pod["volumes"][0]["persistentVolumeClaim"]["claimName"]  # one claim per shard
            assert claim == cron.inputs["metadata"]["name"].replace("dawg-sync-", "dawg-cache-")
            token_env = next(e for e in container["env"] if e["name"] == "GRAFANA_TOKEN")
            assert "valueFrom" in token_env and "value" not in token_env
            assert TOKEN not in json.dumps(cron.inputs)
        assert cronjobs[0].inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0][
            "args"
        ] == [
            "sync",
            "--owner",
            "k8s-prod-team-a",
            "--namespace",
            "team-a",
            "--instance",
            "pulumi dawg/prod dawg shard team-a",
            "--concurrency",
            "4",
            "--max-memory",
            "256Mi",
            "--max-timeout",
            "10s",
            "--deadline",
            "840",
            "--namespace-budget",
            "120s",
            "--folder-root",
            "*=Org/{namespace}",
            "--folder-root",
            "ops=*",
            "--allow-adopt",
            "legacy",
        ]
        rest_args = cronjobs[1].inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0][
            "args"
        ]
        assert rest_args[3:5] == ["--exclude-namespace", "team-a"]
        secret, _ = by_type("kubernetes:core/v1:Secret")
        assert SECRET_SIG in json.dumps(secret.inputs["stringData"])  # a Pulumi secret, encrypted in state
        assert reveal(secret.inputs)["stringData"]["token"] == TOKEN
        (crd,) = by_type("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition")
        assert crd.inputs["spec"] == crd_manifest()["spec"]
        (namespace,) = by_type("kubernetes:core/v1:Namespace")
        assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        assert len(by_type("kubernetes:core/v1:PersistentVolumeClaim")) == 2

    return pulumi.Output.all(*[child.urn for child in component.children]).apply(check)


RETAINED: dict[str, bool] = {}
"""Resource name -> the `retainOnDelete` its registration carried to the engine."""
_register: Any = pulumi.runtime.mocks.MockMonitor.RegisterResource


def _recording(self: Any, request: Any) -> Any:
    RETAINED[request.name] = bool(request.retainOnDelete)
    return _register(self, request)


setattr(pulumi.runtime.mocks.MockMonitor, "RegisterResource", _recording)  # noqa: B010 (the mocks drop the option)


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_pulumi_destroy_keeps_the_crd_and_nothing_else() -> pulumi.Output[Any]:
    """`retain_on_delete` reaches the engine for the CRD only: destroying the install
    leaves it (and every team's Dashboards) in the cluster (Pulumi docs, resource option
    retainOnDelete: "the resource is not deleted from the provider when destroyed")."""
    RETAINED.clear()
    component = DawgSync(
        "keep",
        DawgSyncArgs(
            image="registry.example.com/dawg:0.1.0",
            grafana_url="https://grafana.example.com",
            grafana_token=pulumi.Output.secret(TOKEN),
        ),
    )

    def check(_: Any) -> None:
        crd = [name for name in RETAINED if "customresourcedefinition" in name]
        assert crd and all(RETAINED[name] for name in crd)
        others = [name for name in RETAINED if name not in crd]
        assert others and not any(RETAINED[name] for name in others)
        assert any("cronjob" in name for name in others)

    return pulumi.Output.all(*[child.urn for child in component.children]).apply(check)


def manifests() -> list[dict[str, Any]]:
    out = []
    for resource in MOCKS.resources:
        if not resource.typ.startswith("kubernetes:"):
            continue
        _, group_version, kind = resource.typ.split(":")
        api_version = group_version.replace("core/", "")
        out.append(
            {
                "apiVersion": api_version,
                "kind": kind,
                **{k: v for k, v in reveal(resource.inputs).items() if k != "apiVersion"},
            }
        )
    return out


def test_generated_manifests_are_valid_kubernetes() -> None:
    assert MOCKS.resources, "run after the component test"
    documents = manifests()
    assert len(documents) >= 8
    for document in documents:
        kubernetes_validate.validate(document, "1.30", strict=True)


def test_the_crd_is_valid_and_matches_the_parser() -> None:
    kubernetes_validate.validate(crd_manifest(), "1.30", strict=True)
    spec = crd_manifest()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    from dawg_provider.pulumi.program import ENTRY_KEYS

    assert set(spec["properties"]) == (ENTRY_KEYS - {"name"}) | {"suspend"}
    assert spec["required"] == ["generator"]


def test_invalid_manifest_is_caught_offline() -> None:
    broken = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "x"}, "spec": {"schedule": 5}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.30", strict=True)


def test_the_installed_arguments_are_what_dawg_sync_accepts() -> None:
    from dawg_provider.cli import build_parser
    from dawg_provider.cluster.install import memory_limit
    from dawg_provider.cluster.manifests import job_args

    args = DawgSyncArgs(
        image="registry.example.com/dawg:0.1.0",
        cluster_name="prod",
        grafana_url="https://g",
        grafana_token="t",
        folder_roots={"*": "Org/{namespace}"},
        allow_literal_uid=["ops"],
        allow_adopt=["legacy"],
        allowed_registries=["registry.example.com", "ghcr.io"],
        registry_auth_realms=["registry-1.docker.io=auth.docker.io"],
        max_memory="128Mi",
        max_timeout="3s",
        concurrency=2,
        deadline=600.0,
        namespace_budget="30s",
    )
    parsed = build_parser().parse_args(job_args(args, Shard("a", ("a",)), "pulumi p/s dawg shard a"))
    assert parsed.folder_root == ["*=Org/{namespace}"] and parsed.allow_adopt == ["legacy"]
    assert parsed.allow_literal_uid == ["ops"] and parsed.max_memory == "128Mi" and parsed.max_timeout == "3s"
    assert parsed.concurrency == 2 and parsed.instance == "pulumi p/s dawg shard a"
    assert parsed.allowed_registry == ["registry.example.com", "ghcr.io"]
    assert parsed.registry_auth_realm == ["registry-1.docker.io=auth.docker.io"]
    assert parsed.command == "sync"  # the binding is a registry option, before the command
    from dawg_provider.cli import registry_options

    assert registry_options(parsed).auth_realms == frozenset({("registry-1.docker.io", "auth.docker.io")})
    assert parsed.deadline == 600.0 and parsed.namespace_budget == "30s"
    assert memory_limit(2, "128Mi") == "576Mi"


def without_secrets(value: Any) -> Any:
    """`value` with every Pulumi secret replaced: what the state holds in plaintext."""
    if isinstance(value, dict):
        if SECRET_SIG in value:
            return "[secret]"
        return {k: without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    return value


def module_cache_key_secret() -> pulumi.runtime.MockResourceArgs:
    (found,) = [
        s
        for s in by_type("kubernetes:core/v1:Secret")
        if s.inputs["metadata"]["name"] == "dawg-module-cache-key"
    ]
    return found


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_the_module_cache_key_is_random_made_once_secret_and_mounted() -> pulumi.Output[Any]:
    MOCKS.resources.clear()
    component = DawgSync(
        "keyed",
        DawgSyncArgs(
            image="registry.example.com/dawg:0.1.0",
            grafana_url="https://grafana.example.com",
            grafana_token=pulumi.Output.secret(TOKEN),
            cluster_name="keyed",
            shards=[Shard("a", namespaces=("a",)), Shard("rest", exclude_namespaces=("a",))],
        ),
    )
    assert any(isinstance(c, pulumi_random.RandomBytes) for c in component.children)

    def check(_: Any) -> None:
        # RandomBytes' own outputs (base64, hex) are `additional_secret_outputs` of the SDK
        # (pulumi_random/random_bytes.py, `RandomBytes._internal_init`), applied by the engine,
        # not by mocks; what DAWG adds is below: the key only ever flows on as a secret.
        (made,) = by_type("random:index/randomBytes:RandomBytes")
        # No keepers: nothing of the install replaces the key, so later `pulumi up`s keep it.
        assert made.inputs == {"length": 32}
        key_secret = module_cache_key_secret()
        assert reveal(key_secret.inputs)["stringData"] == {"key": CACHE_KEY}
        assert key_secret.inputs["metadata"]["namespace"] == "dawg-system"
        for resource in MOCKS.resources:  # the key is nowhere in plaintext, not even the Secret's inputs
            assert CACHE_KEY not in json.dumps(without_secrets(resource.inputs)), resource.typ
        workloads = by_type("kubernetes:batch/v1:CronJob")
        assert len(workloads) == 2
        for cron in workloads:
            pod = cron.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            container = pod["containers"][0]
            env = {e["name"]: e.get("value") for e in container["env"]}
            assert env["DAWG_MODULE_CACHE_KEY_FILE"] == "/etc/dawg/module-cache-key/key"
            mount = next(m for m in container["volumeMounts"] if m["name"] == "module-cache-key")
            assert mount == {
                "name": "module-cache-key",
                "mountPath": "/etc/dawg/module-cache-key",
                "readOnly": True,
            }
            volume = next(v for v in pod["volumes"] if v["name"] == "module-cache-key")
            assert volume["secret"]["secretName"] == "dawg-module-cache-key"
            assert (
                volume["secret"]["defaultMode"] == 0o440 and volume["secret"]["optional"] is True
            )  # the job warns if absent
            assert CACHE_KEY not in json.dumps(reveal(cron.inputs))

    return pulumi.Output.all(*[child.urn for child in component.children]).apply(check)


def test_the_key_file_variable_is_the_one_the_module_cache_reads() -> None:
    from dawg_provider.cluster.manifests import MODULE_CACHE_KEY_ENV
    from dawg_provider.wasm.modcache import ENV_KEY_FILE

    assert MODULE_CACHE_KEY_ENV == ENV_KEY_FILE


def test_a_malformed_realm_binding_refuses_the_install() -> None:
    from dawg_provider.cluster.manifests import install_manifests
    from dawg_provider.errors import DawgError

    args = DawgSyncArgs(
        image="registry.example.com/dawg:0.1.0",
        grafana_url="https://g",
        grafana_token="t",
        registry_auth_realms=["https://registry-1.docker.io=auth.docker.io/token"],
    )
    with pytest.raises(DawgError, match="--registry-auth-realm"):
        install_manifests(args)


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_a_module_cache_key_from_config_replaces_the_random_one_and_stays_secret() -> pulumi.Output[Any]:
    MOCKS.resources.clear()
    configured = "a-key-set-with-pulumi-config-set-secret"
    component = DawgSync(
        "configured",
        DawgSyncArgs(
            image="registry.example.com/dawg:0.1.0",
            grafana_url="https://grafana.example.com",
            grafana_token=pulumi.Output.secret(TOKEN),
            module_cache_key=configured,  # even given as plain text, it is passed on as a secret
        ),
    )

    def check(_: Any) -> None:
        assert by_type("random:index/randomBytes:RandomBytes") == []
        key_secret = module_cache_key_secret()
        assert reveal(key_secret.inputs)["stringData"] == {"key": configured}
        for resource in MOCKS.resources:
            assert configured not in json.dumps(without_secrets(resource.inputs)), resource.typ

    return pulumi.Output.all(*[child.urn for child in component.children]).apply(check)


@pytest.mark.parametrize("short", ["", "test", "   fifteen-bytes  "])
def test_a_short_configured_module_cache_key_is_refused_without_echoing_it(short: str) -> None:
    from dawg_provider.cluster.install import checked_module_cache_key

    with pytest.raises(
        pulumi.RunError, match="dawg:moduleCacheKey: a key must be at least 16 bytes"
    ) as raised:
        checked_module_cache_key(short)
    assert not short.strip() or short.strip() not in str(raised.value)
    assert checked_module_cache_key("x" * 16) == "x" * 16
