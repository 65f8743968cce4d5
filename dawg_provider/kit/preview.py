"""`dawg preview`: see a generator's dashboard in a development Grafana while editing it.

Renders like `dawg render` (schema check, sandbox, output checks) and saves the result
into a scratch folder ("DAWG previews" by default) under a uid derived from the
generator and config paths, so every re-render replaces the same preview instead of
piling up copies. The dashboard carries the `dawg-preview` owner tag: `dawg sync` and
the Pulumi provider never take it for one of theirs. With `--watch` it re-renders
whenever the .wasm or the config file changes (polling their size and mtime: no
inotify dependency, works on any filesystem), and a failed render is printed and
waited out instead of ending the session.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..grafana import ownership
from ..grafana.apply import check_writable
from ..grafana.client import GrafanaClient
from ..render import prepare

OWNER = "dawg-preview"
DEFAULT_FOLDER = "DAWG previews"


def preview_uid(generator: str, config: str) -> str:
    """One stable uid per (generator, config) pair being previewed."""
    return ownership.derived_uid("preview", generator, config)


@dataclass(frozen=True)
class Published:
    """Where a preview landed."""

    uid: str
    url: str
    version: int


def publish(client: GrafanaClient, dashboard: dict[str, Any], uid: str, folder: str) -> Published:
    """Save `dashboard` as the preview `uid` in `folder` (created when missing). A v2 dashboard
    this Grafana cannot store is refused before anything is written, the folder included."""
    marked = prepare(dashboard, uid, OWNER)
    check_writable(client, uid, marked)
    folder_uid = client.resolve_folder("", [folder], create=True)
    saved = client.save_dashboard(marked, folder_uid=folder_uid, message="dawg preview", overwrite=True)
    return Published(saved.uid, client.absolute_url(saved.url), saved.version)


def stamp(paths: list[Path]) -> tuple[tuple[int, int], ...]:
    """What `--watch` compares: each file's size and mtime in ns ((-1, -1) when missing)."""
    found = []
    for path in paths:
        try:
            status = path.stat()
            found.append((status.st_size, status.st_mtime_ns))
        except OSError:
            found.append((-1, -1))
    return tuple(found)


def changes(
    paths: list[Path], interval: float, sleep: Callable[[float], None] = time.sleep
) -> Iterator[None]:
    """Yield once at once, then once each time any of `paths` changes (forever)."""
    last = stamp(paths)
    yield None
    while True:
        sleep(interval)
        now = stamp(paths)
        if now != last:
            last = now
            yield None
