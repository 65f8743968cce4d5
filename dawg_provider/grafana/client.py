"""The Grafana client: one object the planner, the Pulumi provider and the sync job use.

Why a facade over parts: each concern of talking to a real Grafana (10.4 to 13.x)
lives in its own module, so each can say why it does what it does:

- `transport.py`: the request loop (retries, backoff, Retry-After), typed errors,
  and what is learnt once per client (`info()`);
- `health.py`: the breaker and the deadline shared by all clients of a connection;
- `dashboards.py`: dashboard reads and saves that survive lost answers;
- `folders.py`: folder paths, safe creates, deletes only when the counts say empty;
- `search.py`: search with every tag checked client-side;
- `server.py`: what Grafana rewrites on save (pure rules).

Pass `session=` to swap the transport in tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .dashboards import Dashboards
from .folders import Folders
from .models import Health
from .responses import json_body
from .search import Search
from .server import ServerInfo, normalise, raised_refresh


class GrafanaClient(Dashboards, Folders, Search):
    """Operations on one Grafana (and one org); thread-safe for concurrent calls."""

    def health(self) -> Health:
        response = self._request("GET", "/api/health", "health check", retry_500=True, allow=(503,))
        body = json_body(response)
        return Health(str(body.get("database", "unknown")), body.get("version"), body.get("commit"))

    def absolute_url(self, url: str) -> str:
        """Grafana's relative `/d/...` URLs made absolute; a sub-path is not doubled."""
        return self.connection.absolute_url(url)

    @contextmanager
    def deadline(self, seconds: float | None) -> Iterator[None]:
        """Bound everything this thread sends to Grafana inside the block (one Pulumi operation)."""
        with self.health_state.operation(seconds):
            yield

    def normalised(self, dashboard: dict[str, Any]) -> dict[str, Any]:
        """The dashboard as this Grafana will store it (`server.normalise`)."""
        return normalise(dashboard, self.info())

    def learn_from(self, sent: dict[str, Any], stored: dict[str, Any]) -> ServerInfo:
        """Learn the refresh minimum from a dashboard DAWG wrote that came back with it raised."""
        info = self.info()
        if info.min_refresh is None:
            raised = raised_refresh(sent, stored)
            if raised is not None:
                info = info.learnt_min_refresh(raised)
                self.learn(info)
        return info
