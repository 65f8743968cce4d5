"""`WasmDashboard`: the resource a Pulumi program declares, and its arguments.

Kept apart from the provider: the program process builds these, the provider
process (started by the engine) runs `provider.WasmDashboardProvider`.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from ..grafana import ownership
from .provider import WasmDashboardProvider


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
        grafana: GrafanaConnectionArgs | None = None,
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


class WasmDashboard(Resource, module="dawg", name="WasmDashboard"):
    """A Grafana dashboard rendered by a WebAssembly generator.

    The uid defaults to one derived from the project, stack and resource name
    (`dawg-<name>-<hash>`); the dashboard carries the owner tag `dawg-owner:pulumi-<project>-<stack>`.
    """

    # Output properties, named as on the wire.
    uid: pulumi.Output[str]
    url: pulumi.Output[str]
    version: pulumi.Output[int]
    folderUid: pulumi.Output[str]  # noqa: N815
    generatorDigest: pulumi.Output[str]  # noqa: N815
    generatorRef: pulumi.Output[str]  # noqa: N815
    dashboardSha256: pulumi.Output[str]  # noqa: N815
    dashboard: pulumi.Output[dict[str, Any]]

    def __init__(
        self, name: str, args: WasmDashboardArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        project, stack = pulumi.get_project(), pulumi.get_stack()
        grafana: pulumi.Output[dict[str, Any]] | None = None
        if args.grafana is not None:
            # Secret as a whole: the engine keeps the output of the same key secret too.
            grafana = pulumi.Output.secret(
                {"url": args.grafana.url, "orgId": args.grafana.org_id, "token": args.grafana.token}
            )
        props = {
            "generator": args.generator,
            "config": args.config,
            "folder": args.folder,
            "uid": args.uid or ownership.derived_uid(project, stack, name),
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
            "folderUid": None,
            "generatorDigest": None,
            "generatorRef": None,
            "dashboard": None,
            "dashboardSha256": None,
        }
        super().__init__(WasmDashboardProvider(), name, props, opts)
