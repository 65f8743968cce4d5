"""What a pass resolves once, whatever the number of CRs asking: generator references
and folder paths.

A thousand CRs naming `oci://registry/team-dashboard:v3` cost one registry round trip,
and a hundred CRs in `Teams/payments` one folder lookup (or create). A failed fetch is
kept too: every CR of that reference fails with the same error, without retrying the
registry a thousand times in one pass. Safe across the pass's worker threads.
"""

from __future__ import annotations

import threading

from ..errors import DawgError
from ..grafana import GrafanaClient
from ..sources.fetch import Fetched, Fetcher
from ..spec import parse_folder


class PassMemo:
    """Per pass: each generator reference fetched once, each folder path resolved once."""

    def __init__(self, fetcher: Fetcher, dry_run: bool) -> None:
        self._fetcher = fetcher
        self._dry_run = dry_run
        self._lock = threading.Lock()
        self._fetched: dict[str, Fetched | DawgError] = {}
        self._folders: dict[str, str] = {}

    def fetch(self, generator: str) -> Fetched | DawgError:
        with self._lock:
            if generator in self._fetched:
                return self._fetched[generator]
        try:
            result: Fetched | DawgError = self._fetcher.fetch(generator)
        except DawgError as error:
            result = error
        with self._lock:
            return self._fetched.setdefault(generator, result)

    def folder(self, client: GrafanaClient, folder: str) -> str:
        with self._lock:
            if folder in self._folders:
                return self._folders[folder]
        uid, path = parse_folder(folder)
        resolved = client.resolve_folder(uid, path, create=not self._dry_run)
        with self._lock:
            return self._folders.setdefault(folder, resolved)
