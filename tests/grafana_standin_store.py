"""The Grafana stand-in's vocabulary: profiles, faults, the stored objects, and the state and
helpers every part of the stand-in shares (`StandInBase`). Tests only; see grafana_standin.py."""

from __future__ import annotations

import base64
import itertools
import random
import re
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any


@dataclass(frozen=True)
class Profile:
    """The version-dependent behaviour of one Grafana release line."""

    version: str
    unique_titles: bool  # <= 11.2: name-exists / name-match
    delete_returns_id: bool  # <= 10.x
    versions_object: bool  # >= 11.6: {continueToken, versions}
    conflict_409: bool  # 13.x: 409 "Dashboard already exists..." instead of 412
    nested_folders: bool = True
    """Toggle `nestedFolders`, default on from 11.0 (PR #84631). Off: `parentUid` is ignored on
    create and list (pkg/api/folder.go `GetFolders`; folder service `Create`; grafana-api.md errata)."""
    save_folder_uid: bool = True
    """The save answer carries `folderUid`; the 10.x line answers without it (grafana-api.md errata)."""
    folder_uid_412: bool = False
    """12.x+: a folder create on a taken uid answers 412 version-mismatch, unified storage's
    AlreadyExists mapped (pkg/services/folder/folderimpl/folder_unifiedstorage.go; grafana-api.md §4)."""
    unified_search: bool = False
    lagging_counts: bool = False
    """12.x+ unified storage: folder counts and the /apis folder-delete guard read the search
    index, which lags writes (pkg/services/folder/folderimpl/folder_unifiedstorage.go
    `getDescendantCountsFromApiServer` -> registry `CountInFolders`, the dashboard service
    counting through k8s search; pkg/registry/apis/folders/validate.go `validateOnDelete` ->
    `searcher.GetStats`). Modelled as the index snapshot, refreshed after answering."""
    apis: tuple[str, ...] = ()
    """dashboard.grafana.app versions served, preferred first (register.go `GetGroupVersions`,
    grafana-apis.md §0); empty before 12: no /apis for dashboards."""
    folder_apis: tuple[str, ...] = ()
    """13.x: search served by the unified index: repeated `tag` filters are ORed
    (pkg/storage/unified/search `anyRequirementValueQuery`) and the index lags writes."""

    @property
    def release(self) -> tuple[int, int]:
        major, minor = self.version.split(".")[:2]
        return int(major), int(minor)


PROFILES = {
    "10.4": Profile("10.4.3", True, True, False, False, nested_folders=False, save_folder_uid=False),
    "11.2": Profile("11.2.0", True, False, False, False),
    "11.5": Profile("11.5.1", False, False, False, False),
    "12.0": Profile(
        "12.0.0",
        False,
        False,
        True,
        False,
        folder_uid_412=True,
        lagging_counts=True,
        # 12.0/12.1 serve v2alpha1 only: v2beta1 came with PR #108172 ("Add `v2beta1` api version",
        # merged July 2025, after the 12.1 branch; grafana-api.md §8 "v2alpha1 (12.0-12.1; later 12.x
        # add v2beta1)"); the 12.x frontend's v1 client checks `storedVersion === 'v2alpha1'` only
        # (public/app/features/dashboard/api/v1.ts `getDashboardDTO`); v1beta1 first = preferred
        # (register.go `GetGroupVersions`; "For G12: v1 = beta, v2 = alpha", PR #104009).
        apis=("v1beta1", "v0alpha1", "v2alpha1"),
        folder_apis=("v1beta1",),
    ),
    "13.0": Profile(
        "13.0.1",
        False,
        False,
        True,
        True,
        folder_uid_412=True,
        unified_search=True,
        lagging_counts=True,
        apis=("v2", "v1", "v1beta1", "v0alpha1", "v2alpha1", "v2beta1"),
        folder_apis=("v1", "v1beta1"),
    ),
}
PROFILES["newest"] = PROFILES["13.0"]


class FaultKind(Enum):
    STATUS = "status"  # answer with `status` and `body` instead of handling
    RETRY_AFTER = "retry-after"  # 429 with a Retry-After header
    LATENCY = "latency"  # sleep `delay` seconds, then handle normally
    RESET = "reset"  # close the connection without answering
    APPLIED_LOST = "applied-lost"  # handle (the write lands), then close without answering
    APPLIED_500 = "applied-500"  # handle, then answer 500 "database is locked"


@dataclass
class Fault:
    kind: FaultKind
    method: str | None = None
    path: str = ".*"
    times: int = 1
    status: int = 500
    body: dict[str, Any] = field(default_factory=lambda: {"message": "Failed to save dashboard"})
    delay: float = 0.0
    retry_after: str = "1"
    probability: float = 1.0
    """Below 1: the fault strikes that share of matching requests (seeded, repeatable)."""
    seed: int = 7

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def matches(self, method: str, path: str) -> bool:
        if (self.method is not None and self.method != method) or re.search(self.path, path) is None:
            return False
        return self.probability >= 1.0 or self._random.random() < self.probability


@dataclass
class StoredDashboard:
    id: int
    uid: str
    json: dict[str, Any]
    version: int
    folder_uid: str
    created: str
    updated: str
    created_by: str
    updated_by: str
    provisioned: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    schema: str = "v1"
    """The version it is stored as: "v1" (classic JSON) or a v2 version after a UI save as v2."""
    resource_version: int = 0


@dataclass
class StoredFolder:
    id: int
    uid: str
    title: str
    parent_uid: str
    version: int = 1
    created_by: str = "admin"


@dataclass(frozen=True)
class Identity:
    org: int
    role: str
    login: str


@dataclass
class Org:
    dashboards: dict[str, StoredDashboard] = field(default_factory=dict)
    folders: dict[str, StoredFolder] = field(default_factory=dict)
    index: dict[str, StoredDashboard] = field(default_factory=dict)
    """The unified search index: a snapshot taken after each search, so it lags one search behind."""


_CALENDAR = re.compile(r"^(\d+)([dwMy])$")
_CALENDAR_SECONDS = {"d": 86400, "w": 604800, "M": 2592000, "y": 31536000}
_GO_UNIT = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 0.001, "s": 1, "m": 60, "h": 3600}
_GO_ONE = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def duration(text: str) -> float | None:
    """gtime.ParseDuration (grafana-plugin-sdk-go backend/gtime/gtime.go): `<int>` + d/w/M/y,
    else Go's time.ParseDuration (a signed sequence like `1m30s`, `0.5s`; "0"), as seconds."""
    calendar = _CALENDAR.match(text)
    if calendar:
        return int(calendar.group(1)) * _CALENDAR_SECONDS[calendar.group(2)]
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return 0.0
    parts, at, total = 0, 0, 0.0
    while at < len(body):  # consume number+unit pairs; anything else is a parse error
        match = _GO_ONE.match(body, at)
        if match is None:
            return None
        total += float(match.group(1)) * _GO_UNIT[match.group(2)]
        at, parts = match.end(), parts + 1
    if not parts:
        return None
    return -total if text.startswith("-") else total


def slugify(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower().replace("&", "and")).strip("-")
    return slug or base64.urlsafe_b64encode(title.encode()).decode().rstrip("=")


UNAUTHORIZED = {"statusCode": 401, "messageId": "auth.unauthorized", "message": "Unauthorized"}
INVALID_KEY = {"statusCode": 401, "messageId": "api-key.invalid", "message": "Invalid API key"}
ORG_MISMATCH = {
    "statusCode": 401,
    "messageId": "api-key.organization-mismatch",
    "message": "API key does not belong to the requested organization",
}
UID_RE = re.compile(r"^[a-zA-Z0-9\-_]*$")
MAX_FOLDER_DEPTH = 4


class StandInBase:
    """The state the stand-in's parts share, and the helpers they all use."""

    profile: Profile
    sub_path: str
    min_refresh: str
    frontend_settings: bool
    hide_version: bool
    legacy_v2_marker: bool
    orgs: dict[int, Org]
    _ids: itertools.count[int]
    _uids: itertools.count[int]
    _clock: itertools.count[int]

    def catch_up_index(self, org: Org) -> None:
        """The unified search index catches up with the database (after it has answered)."""
        org.index = {uid: replace(d) for uid, d in org.dashboards.items()}

    def next_rv(self) -> int:
        self._rv = getattr(self, "_rv", 1_700_000_000_000_000) + 1
        return self._rv

    def _now(self) -> str:
        return f"2026-01-01T00:{next(self._clock) // 60 % 60:02d}:{next(self._clock) % 60:02d}Z"

    def _history_row(self, stored: StoredDashboard, message: str) -> dict[str, Any]:
        parent = stored.history[-1]["version"] if stored.history else 0
        if parent == 0:
            message = "Initial save"
        return {
            "id": len(stored.history) + 1,
            "dashboardId": stored.id,
            "uid": stored.uid,
            "parentVersion": parent,
            "restoredFrom": 0,
            "version": stored.version,
            "created": stored.updated,
            "createdBy": stored.updated_by,
            "message": message,
        }

    def _ancestors(self, org: Org, folder: StoredFolder) -> list[StoredFolder]:
        chain: list[StoredFolder] = []
        parent = org.folders.get(folder.parent_uid)
        while parent is not None:
            chain.insert(0, parent)
            parent = org.folders.get(parent.parent_uid)
        return chain
