"""The provider's stable import path, named in every Pulumi state DAWG wrote.

`pulumi.dynamic` pickles `WasmDashboardProvider` by reference as
`dawg_provider.pulumi_provider.WasmDashboardProvider`; the engine unpickles it from
state on every refresh, update and destroy. The code lives in `dawg_provider.pulumi`;
this module only keeps the old path importable, with the resource names beside it.
"""

from .pulumi.provider import WasmDashboardProvider
from .pulumi.resource import GrafanaConnectionArgs, WasmDashboard, WasmDashboardArgs

__all__ = ["GrafanaConnectionArgs", "WasmDashboard", "WasmDashboardArgs", "WasmDashboardProvider"]
