"""`dawg preview`: see a generator's dashboard in a development Grafana while editing it.

Renders like `dawg render` (schema check, sandbox, output checks) and saves the result
into a scratch folder ("DAWG previews" by default) under a uid derived from who is
previewing (user and host) and the generator and config paths, so every re-render
replaces the same preview instead of piling up copies, and two developers on one
shared development Grafana with the same paths (devcontainers, CI images) do not
replace each other's. The dashboard carries the `dawg-preview` owner tag: `dawg sync`
and the Pulumi provider never take it for one of theirs, and a preview never
overwrites a dashboard without that tag that happens to hold its uid. With `--watch` it re-renders
whenever the .wasm or the config file changes (polling their size and mtime: no
inotify dependency, works on any filesystem), and a failed render is printed and
waited out instead of ending the session.
"""

from __future__ import annotations

import getpass
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DawgError
from ..grafana import ownership
from ..grafana.apply import check_writable
from ..grafana.client import GrafanaClient
from ..render import prepare
from ..wasm.runtime import Runtime

OWNER = "dawg-preview"
DEFAULT_FOLDER = "DAWG previews"


def previewer() -> str:
    """Who is previewing: `user@host`, as far as the process can tell."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container running as a bare uid)
        user = "?"
    return f"{user}@{socket.gethostname()}"


def preview_uid(generator: str, config: str, who: str | None = None) -> str:
    """One stable uid per (previewer, generator, config) being previewed."""
    return ownership.derived_uid("preview", who if who is not None else previewer(), generator, config)


@dataclass(frozen=True)
class Published:
    """Where a preview landed."""

    uid: str
    url: str
    version: int


def publish(client: GrafanaClient, dashboard: dict[str, Any], uid: str, folder: str) -> Published:
    """Save `dashboard` as the preview `uid` in `folder` (created when missing); refused,
    with nothing written, when a dashboard that is no preview holds that uid, or when it is
    a v2 dashboard this Grafana cannot store (checked before the folder is made)."""
    live = client.get_dashboard(uid)
    if live is not None and not ownership.owned_by(live.dashboard, OWNER):
        raise DawgError(
            f"dashboard {uid} exists in Grafana and is not a dawg preview (no {ownership.owner_tag(OWNER)} "
            "tag); nothing was written. Preview into another Grafana, or delete that dashboard"
        )
    marked = prepare(dashboard, uid, OWNER)
    check_writable(client, uid, marked)
    folder_uid = client.resolve_folder("", [folder], create=True)
    saved = client.save_dashboard(marked, folder_uid=folder_uid, message="dawg preview", overwrite=True)
    return Published(saved.uid, client.absolute_url(saved.url), saved.version)


class Session:
    """The runtime of one preview session: a config edit reuses the compiled generator;
    a rebuild (a new digest) drops the previous build's compiled code from memory, so
    `--watch` holds one build however many times the author rebuilds."""

    def __init__(self) -> None:
        self._runtime: Runtime | None = None
        self._digest = ""

    def runtime_for(self, digest: str, make: Callable[[], Runtime]) -> Runtime:
        if self._runtime is None:
            self._runtime = make()
        elif digest != self._digest:
            self._runtime.forget()
        self._digest = digest
        return self._runtime


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
