"""The naive sync the benchmark compares against: render every Dashboard and POST it.

What peers do on every resync: no skipping, no comparison, `overwrite: true` for
every dashboard. Run as a process, like the real job: `python bench/naive_push.py
KUBE_URL KUBE_TOKEN` with GRAFANA_URL/GRAFANA_TOKEN set.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dawg_provider.cluster.sources import ClusterSource  # noqa: E402
from dawg_provider.cluster.tenancy import default_uid  # noqa: E402
from dawg_provider.grafana import (  # noqa: E402
    GrafanaClient,
    GrafanaConnection,
    ownership,
)
from dawg_provider.render import Renderer  # noqa: E402
from dawg_provider.spec import parse_spec  # noqa: E402
from tests.k8s_standin import KubernetesStandIn, client_api  # noqa: E402


def main() -> int:
    standin = KubernetesStandIn(token=sys.argv[2])
    standin.server = None
    api = client_api_for(sys.argv[1], sys.argv[2])
    client = GrafanaClient(GrafanaConnection(os.environ["GRAFANA_URL"], token=os.environ["GRAFANA_TOKEN"]))
    renderer = Renderer()
    for resource in ClusterSource(api).list():
        spec, _ = parse_spec(resource.spec)
        assert spec is not None
        rendering = renderer.render(spec, default_uid(resource), "k8s-bench")
        client.save_dashboard(ownership.mark(rendering.dashboard, "k8s-bench"), folder_uid="", overwrite=True)
    return 0


def client_api_for(url: str, token: str) -> object:
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = url
    configuration.api_key = {"authorization": token}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    return client.CustomObjectsApi(client.ApiClient(configuration))


if __name__ == "__main__":
    _ = client_api
    sys.exit(main())
