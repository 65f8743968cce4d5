"""How a part tells whoever listens (the controller's metrics) of each request it made.

The Grafana client and the registry client are parts: they must not import the cluster
adapter that owns the Prometheus counters. Each holds an optional `RequestObserver`,
which the adapter sets, and reports through `notify`, which never lets a failing
listener fail the request it was told about.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

RequestObserver = Callable[[int | None], None]
"""Told of each request: its HTTP status code, or None when no usable answer came."""

log = logging.getLogger("dawg.observe")


def notify(observer: RequestObserver | None, status: int | None) -> None:
    """Tell `observer` (if any) of one request; a listener's own error is only logged."""
    if observer is None:
        return
    try:
        observer(status)
    except Exception:  # a metrics listener must not fail a fetch or a Grafana request
        log.debug("the request observer failed", exc_info=True)
