"""`WasmDashboard`: the resource a Pulumi program declares, and its arguments.

Kept apart from the provider: the program process builds these, the provider
process (started by the engine) runs `provider.WasmDashboardProvider`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from ..grafana import ownership
from .provider import WasmDashboardProvider

# Python attribute names (snake_case, like generated SDKs) <-> wire and state names
# (camelCase, as every existing state stores them: renaming them on the wire would be
# a diff on every resource).
_WIRE = {
    "folder_uid": "folderUid",
    "generator_digest": "generatorDigest",
    "generator_ref": "generatorRef",
    "dashboard_sha256": "dashboardSha256",
    "grafana_target": "grafanaTarget",
}
_PYTHON = {wire: name for name, wire in _WIRE.items()}


class GrafanaConnectionArgs:
    """A Grafana instance for one resource (instead of the stack's `dawg:grafana*` config)."""

    def __init__(
        self,
        url: pulumi.Input[str],
        token: pulumi.Input[str] | None = None,
        org_id: pulumi.Input[int] | None = None,
    ) -> None:
        self.url = url
        self.token = token
        self.org_id = org_id


class WasmDashboardArgs:
    """The inputs of a WasmDashboard; only `generator` is required."""

    def __init__(
        self,
        generator: pulumi.Input[str],
        config: pulumi.Input[str] | pulumi.Input[dict[str, Any]] | None = None,
        folder: pulumi.Input[str] | None = None,
        uid: pulumi.Input[str] | None = None,
        adopt: bool = False,
        drift: str = "overwrite",
        message: str | None = None,
        timeout: str | float | None = None,
        memory: str | int | None = None,
        grafana: GrafanaConnectionArgs | Mapping[str, Any] | None = None,
    ) -> None:
        self.generator = generator
        self.config = config
        self.folder = folder
        self.uid = uid
        self.adopt = adopt
        self.drift = drift
        self.message = message
        self.timeout = timeout
        self.memory = memory
        self.grafana = grafana


def resource_args(args: Any, kwargs: dict[str, Any]) -> WasmDashboardArgs:
    """The arguments as generated SDKs take them: an Args object, a dict, or keywords."""
    if isinstance(args, WasmDashboardArgs):
        if kwargs:
            raise TypeError(f"WasmDashboard: give WasmDashboardArgs or keywords, not both ({sorted(kwargs)})")
        return args
    if isinstance(args, Mapping):
        if kwargs:
            raise TypeError(f"WasmDashboard: give a dict or keywords, not both ({sorted(kwargs)})")
        return WasmDashboardArgs(**args)
    if args is None:
        return WasmDashboardArgs(**kwargs)
    raise TypeError(f"WasmDashboard: args must be WasmDashboardArgs or a dict, got {type(args).__name__}")


def _connection(grafana: GrafanaConnectionArgs | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(grafana, Mapping):
        grafana = GrafanaConnectionArgs(**grafana)
    return {"url": grafana.url, "orgId": grafana.org_id, "token": grafana.token}


class WasmDashboard(Resource, module="dawg", name="WasmDashboard"):
    """A Grafana dashboard rendered by a WebAssembly generator.

    Built like a generated SDK resource: `WasmDashboard("web", generator=..., config=...)`,
    `WasmDashboard("web", WasmDashboardArgs(...))` or `WasmDashboard("web", {...})`.
    The uid defaults to one derived from the project, stack and resource name
    (`dawg-<name>-<hash>`); the dashboard carries the owner tag `dawg-owner:pulumi-<project>-<stack>`.
    The rendered dashboard is kept in the resource's inputs only (see the provider).
    """

    uid: pulumi.Output[str]
    url: pulumi.Output[str]
    version: pulumi.Output[int]
    folder_uid: pulumi.Output[str]
    generator_digest: pulumi.Output[str]
    generator_ref: pulumi.Output[str]
    dashboard_sha256: pulumi.Output[str]
    grafana_target: pulumi.Output[dict[str, Any]]
    instance: pulumi.Output[str]
    warnings: pulumi.Output[list[str]]

    def __init__(
        self,
        resource_name: str,
        args: WasmDashboardArgs | Mapping[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        args = resource_args(args, kwargs)
        project, stack = pulumi.get_project(), pulumi.get_stack()
        grafana: pulumi.Output[dict[str, Any]] | None = None
        if args.grafana is not None:
            # Secret as a whole: the engine keeps the output of the same key secret too.
            grafana = pulumi.Output.secret(_connection(args.grafana))
        props = {
            "generator": args.generator,
            "config": args.config,
            "folder": args.folder,
            "uid": args.uid or ownership.derived_uid(project, stack, resource_name),
            "owner": f"pulumi-{project}-{stack}",
            "adopt": args.adopt,
            "drift": args.drift,
            "message": args.message,
            "timeout": args.timeout,
            "memory": args.memory,
            "grafana": grafana,
            # Computed by the provider:
            "url": None,
            "version": None,
            "folder_uid": None,
            "generator_digest": None,
            "generator_ref": None,
            "dashboard_sha256": None,
            "grafana_target": None,
            "instance": None,
            "warnings": None,
        }
        super().__init__(WasmDashboardProvider(), resource_name, props, opts)

    def translate_output_property(self, prop: str) -> str:
        return _PYTHON.get(prop, prop)

    def translate_input_property(self, prop: str) -> str:
        return _WIRE.get(prop, prop)
