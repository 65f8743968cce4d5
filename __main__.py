"""The DAWG Pulumi program: one WasmDashboard per entry of the stack's `dawg:dashboards`.

Stack config (stacks/Pulumi.<stack>.yaml):

    dawg:grafanaUrl: https://grafana.example.com
    dawg:grafanaToken: {secure: ...}        # pulumi config set --secret dawg:grafanaToken glsa_...
    dawg:dashboards:
      - name: checkout-deployment
        generator: oci://registry.example.com/dashboards/deployment:v3.4.0
        folder: Shop/Services
        config: {namespace: shop, name: checkout-api}
"""

import pulumi

from dawg_provider.pulumi.program import parse_entries
from dawg_provider.pulumi.resource import WasmDashboard, WasmDashboardArgs

config = pulumi.Config("dawg")
entries, errors = parse_entries(config.get_object("dashboards"))
if errors:
    for error in errors:
        pulumi.log.error(str(error))
    raise pulumi.RunError(f"dawg:dashboards has {len(errors)} problem(s), listed above; nothing was deployed")

urls = {}
for entry in entries:
    dashboard = WasmDashboard(entry.name, WasmDashboardArgs(**entry.args))
    urls[entry.name] = dashboard.url
pulumi.export("dashboards", urls)

cluster = config.get_object("cluster")
if cluster is not None:
    from dawg_provider.cluster.install import DawgSync, args_from_config

    org_id = config.get_int("grafanaOrgId")
    sync = DawgSync(
        "dawg-sync",
        args_from_config(
            cluster,
            config.require("grafanaUrl"),
            config.require_secret("grafanaToken"),
            org_id,
            config.get_secret("moduleCacheKey"),  # else random bytes made once (pulumi_random)
        ),
    )
    pulumi.export("syncNamespace", cluster.get("namespace", "dawg-system"))
