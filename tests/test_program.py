"""The Pulumi program (`__main__.py`) under `pulumi.runtime.set_mocks`: registrations, not calls.

Mocks register resources in-process, so the provider is really pickled (pickling
bugs show); provider methods are never called here (see test_pulumi_provider.py).
"""

from __future__ import annotations

import base64
import json
import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import set_all_config

from dawg_provider.grafana import ownership
from dawg_provider.pulumi.program import parse_entries

ROOT = Path(__file__).resolve().parent.parent


class Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered.append(args)
        outputs = dict(args.inputs)
        if "uid" in outputs:
            outputs["url"] = f"https://grafana.example.com/d/{outputs['uid']}"
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def run_program(dashboards: Any, mocks: Mocks) -> dict[str, Any]:
    pulumi.runtime.set_mocks(mocks, project="dawg", stack="dev", preview=False)
    set_all_config(
        {"dawg:dashboards": json.dumps(dashboards), "dawg:grafanaToken": "glsa_program_secret"},
        ["dawg:grafanaToken"],
    )
    return runpy.run_path(str(ROOT / "__main__.py"))


GOOD = [
    {
        "name": "checkout",
        "generator": "file://generators/dist/deployment.wasm",
        "folder": "Shop",
        "config": {"namespace": "shop", "name": "checkout"},
    },
    {
        "name": "web",
        "generator": "oci://registry.example.com/dashboards/simple:v1",
        "config": "app_name: web\n",
        "uid": "web-dashboard",
        "drift": "fail",
    },
]


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_one_wasm_dashboard_per_entry() -> pulumi.Output[Any]:
    mocks = Mocks()
    module = run_program(GOOD, mocks)

    def check(urls: list[str]) -> None:
        assert [args.typ for args in mocks.registered] == ["pulumi-python:dynamic/dawg:WasmDashboard"] * 2
        by_name = {args.name: args.inputs for args in mocks.registered}  # registration order is not fixed
        checkout, web = by_name["checkout"], by_name["web"]
        assert checkout["uid"] == ownership.derived_uid("dawg", "dev", "checkout")
        assert checkout["owner"] == "pulumi-dawg-dev" and checkout["folder"] == "Shop"
        assert web["uid"] == "web-dashboard" and web["drift"] == "fail"
        for args in mocks.registered:
            blob = base64.b64decode(args.inputs["__provider"])
            assert len(blob) < 200 and b"glsa_program_secret" not in blob
        assert urls[0].endswith(checkout["uid"])

    urls = module["urls"]
    return pulumi.Output.all(*urls.values()).apply(check)


def test_bad_stack_config_gives_one_message_per_entry_and_deploys_nothing() -> None:
    bad = [
        {"name": "ok", "generator": "file://a.wasm"},
        {"name": "no-generator", "config": {"a": 1}},
        {"name": "ok", "generator": "oci://reg/Upper:v1", "drift": "sometimes"},
        "not a mapping",
        {"generator": "file://b.wasm", "colour": "blue"},
    ]
    mocks = Mocks()
    with pytest.raises(
        pulumi.RunError, match=r"dawg:dashboards has 7 problem\(s\), listed above; nothing was deployed"
    ):
        run_program(bad, mocks)
    assert mocks.registered == []
    _, errors = parse_entries(bad)
    messages = [str(error) for error in errors]
    assert messages == [
        "dawg:dashboards[1] (no-generator).generator: required: a path, file://PATH or oci://registry/repo:tag reference",
        "dawg:dashboards[2].name: 'ok' is used twice; resource names must be unique",
        "dawg:dashboards[2] (ok).generator: generator reference 'oci://reg/Upper:v1': repository: 'Upper' in 'Upper' is not valid "
        "(lower-case letters and digits, separated by '.', '_', '__' or '-')",
        "dawg:dashboards[2] (ok).drift: must be 'overwrite' or 'fail', got 'sometimes'",
        "dawg:dashboards[3]: must be a mapping with name, generator and config",
        "dawg:dashboards[4]: unknown field(s) colour; known: adopt, config, drift, folder, generator, memory, message, name, timeout, uid",
        "dawg:dashboards[4].name: required: letters, digits, '.', '_' or '-', at most 100",
    ]


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_cluster_config_deploys_the_sync_job() -> pulumi.Output[Any]:
    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, project="dawg", stack="dev", preview=False)
    set_all_config(
        {
            "dawg:grafanaUrl": "https://grafana.example.com",
            "dawg:grafanaToken": "glsa_program_secret",
            "dawg:cluster": json.dumps(
                {
                    "name": "prod",
                    "image": "registry.example.com/dawg:0.1.0",
                    "shards": [
                        {"name": "a", "namespaces": ["a"]},
                        {"name": "b", "excludeNamespaces": ["a"]},
                    ],
                }
            ),
        },
        ["dawg:grafanaToken"],
    )
    module = runpy.run_path(str(ROOT / "__main__.py"))

    def check(_: Any) -> None:
        kinds = [args.typ for args in mocks.registered]
        assert "dawg:cluster:DawgSync" in kinds
        assert kinds.count("kubernetes:batch/v1:CronJob") == 2

    return pulumi.Output.all(*[child.urn for child in module["sync"].children]).apply(check)


def test_no_dashboards_is_an_empty_stack() -> None:
    assert parse_entries(None) == ([], [])
    assert parse_entries({"not": "a list"})[1][0].reason.startswith("must be a list")


def test_the_core_never_imports_pulumi() -> None:
    import subprocess
    import sys

    code = "import sys, dawg_provider, dawg_provider.render, dawg_provider.grafana.apply; print('pulumi' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


class _Outputs(Mocks):
    """Answers like the provider: camelCase outputs on the wire."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered.append(args)
        return args.name, {**args.inputs, "folderUid": "f-1", "generatorDigest": "sha256:abc"}


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_keywords_args_and_dict_build_the_same_resource_with_snake_case_outputs() -> pulumi.Output[Any]:
    from dawg_provider.pulumi.resource import GrafanaConnectionArgs, WasmDashboard, WasmDashboardArgs

    mocks = _Outputs()
    pulumi.runtime.set_mocks(mocks, project="dawg", stack="dev", preview=False)
    by_keywords = WasmDashboard("kw", generator="file://a.wasm", folder="Shop", drift="fail")
    by_args = WasmDashboard("args", WasmDashboardArgs(generator="file://a.wasm", folder="Shop", drift="fail"))
    by_dict = WasmDashboard(
        "dict",
        {"generator": "file://a.wasm", "folder": "Shop", "drift": "fail", "grafana": {"url": "https://g"}},
        opts=pulumi.ResourceOptions(),
    )
    by_conn = WasmDashboard(
        "conn", generator="file://a.wasm", grafana=GrafanaConnectionArgs("https://g", org_id=2)
    )
    with pytest.raises(TypeError, match="not both"):
        WasmDashboard("both", WasmDashboardArgs(generator="file://a.wasm"), folder="x")
    with pytest.raises(TypeError, match="generator"):
        WasmDashboard("missing", folder="x")  # a TypeError as from a generated SDK

    def check(values: list[Any]) -> None:
        inputs = {args.name: args.inputs for args in mocks.registered}
        assert set(inputs) == {"kw", "args", "dict", "conn"}  # nothing registered for bad calls
        for name in ("kw", "args", "dict"):
            assert inputs[name]["folder"] == "Shop" and inputs[name]["drift"] == "fail"
            assert "folder_uid" not in inputs[name]  # wire names stay camelCase
        assert values == ["f-1", "sha256:abc", "f-1", "f-1", "f-1"]

    # Every resource's output is awaited: `check` reads what the mocks registered, and an
    # output of "conn" is what guarantees its registration ran first (it raced: CI saw
    # {'kw', 'args', 'dict'} when only the three others were awaited).
    return pulumi.Output.all(
        by_keywords.folder_uid,
        by_keywords.generator_digest,
        by_args.folder_uid,
        by_dict.folder_uid,
        by_conn.folder_uid,
    ).apply(check)


def test_every_shipped_stack_sets_every_required_project_key() -> None:
    """Pulumi requires each key declared in Pulumi.yaml without a `default`
    (sdk/go/common/workspace/project.go `ValidateStackConfigAndApplyProjectConfig`,
    tested in project_test.go: "Stack 'dev' is missing configuration value ...")."""
    import yaml

    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    required = {
        f"{project['name']}:{key}" for key, spec in project["config"].items() if "default" not in spec
    }
    assert required == {"dawg:grafanaUrl"}
    assert project["requiredPulumiVersion"].startswith(">=3.")
    stacks = sorted((ROOT / project["stackConfigDir"]).glob("Pulumi.*.yaml"))
    assert stacks, "no stack file shipped"
    for path in stacks:
        config = yaml.safe_load(path.read_text())["config"]
        assert required <= set(config), f"{path.name} lacks {sorted(required - set(config))}"
        for key, spec in project["config"].items():
            if spec.get("secret"):
                value = config.get(f"{project['name']}:{key}")
                assert value is None or (isinstance(value, dict) and "secure" in value), key


def test_the_base_install_brings_neither_pulumi_nor_kubernetes() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "dawg-dashboards"  # `dawg` on PyPI is an unrelated DAFSA library
    base = " ".join(project["dependencies"])
    assert "pulumi" not in base and "kubernetes" not in base
    extras = project["optional-dependencies"]

    def names(extra: str) -> set[str]:
        return {dep.split(">")[0].split("=")[0] for dep in extras[extra]}

    # [pulumi]: the adapter and the DawgSync install; [cluster]: what runs in the image
    # (`dawg sync`, `dawg controller`), without any Pulumi package.
    assert names("pulumi") >= {"pulumi", "pulumi-kubernetes"}
    assert names("cluster") >= {"kubernetes", "prometheus-client"}
    assert not [name for name in names("cluster") if name.startswith("pulumi")]
    assert "dawg-dashboards[pulumi,cluster]" in extras["dev"]
