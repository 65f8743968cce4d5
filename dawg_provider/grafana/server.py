"""What one Grafana does to what it is sent, and the rules to send it what it keeps.

Why: the planner compares what DAWG wants with what Grafana has. Where Grafana
rewrites a dashboard on save, DAWG must send the rewritten form, or every run sees a
difference and writes again, and the "did my lost write land" re-read never matches.
From Grafana's source (`../shared/grafana-api.md`, errata):

- `refresh` under `min_refresh_interval` (default 5s), or unparseable, is raised to it
  by the legacy save (pkg/services/dashboards/service/dashboard_service.go
  `SaveDashboard`, `ValidateDashboardRefreshInterval`); /apis REFUSES it with 400
  "Dashboard refresh interval is too low" (pkg/registry/apis/dashboard/register.go
  `validateCreate`/`validateUpdate` -> apierrors.NewBadRequest), so DAWG raises it
  before sending once the minimum is known. The minimum is read from
  `/api/frontend/settings` (`minRefreshInterval`, pkg/api/dtos/frontend_settings.go),
  else learnt from a dashboard DAWG itself wrote that came back raised.
- Titles are trimmed (`BuildSaveDashboardCommand`); length limits count bytes
  (Go `len()`): title 5000, version message 500.
- Nested folders are off before 11.0 (toggle `nestedFolders`): `parentUid` is then
  ignored on create and list. The frontend settings' `featureToggles` list only
  ENABLED toggles (packages/grafana-data/src/types/featureToggles.gen.ts header), and
  the toggle itself was removed in 12.2 (PR #109212; absent from that file since), so a
  listed toggle is believed and an absent one means "unknown": the version decides.

All functions here are pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

MAX_TITLE_BYTES = 5000
MAX_MESSAGE_BYTES = 500
_CALENDAR_UNITS = {"d": 86400, "w": 604800, "M": 2592000, "y": 31536000}
_CALENDAR = re.compile(r"^(\d+)([dwMy])$")
_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,
    "\u03bcs": 1e-6,
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
}
_GO_PART = r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)"
_GO_DURATION = re.compile(rf"^[-+]?(?:{_GO_PART})+$")


@dataclass(frozen=True)
class ServerInfo:
    """What DAWG learnt about one Grafana, once per client."""

    version: str | None = None
    nested_folders: bool | None = None
    """None: unknown (neither the settings nor the version say); checked on each folder create."""
    min_refresh: str | None = None
    """Grafana's `min_refresh_interval` as it writes it back (e.g. "5s"); None until known."""

    def learnt_min_refresh(self, value: str) -> ServerInfo:
        return replace(self, min_refresh=value)


def major_minor(version: str | None) -> tuple[int, int] | None:
    match = re.match(r"^\s*v?(\d+)\.(\d+)", version or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def detect(health: dict[str, Any], settings: dict[str, Any] | None) -> ServerInfo:
    """ServerInfo from `/api/health` and `/api/frontend/settings` (None when not readable)."""
    version = health.get("version") if isinstance(health.get("version"), str) else None
    nested: bool | None = None
    minimum: str | None = None
    if settings is not None:
        build = settings.get("buildInfo")
        if version is None and isinstance(build, dict) and isinstance(build.get("version"), str):
            version = build["version"]
        toggles = settings.get("featureToggles")
        if isinstance(toggles, dict) and "nestedFolders" in toggles:
            nested = bool(toggles["nestedFolders"])  # absent: removed or off; version decides
        value = settings.get("minRefreshInterval")
        if isinstance(value, str) and seconds(value) is not None:
            minimum = value
    if nested is None:
        release = major_minor(version)
        if release is not None:
            nested = release >= (11, 0)  # default on from 11.0 (PR #84631)
    return ServerInfo(version, nested, minimum)


def seconds(duration: str) -> float | None:
    """A duration as Grafana parses it, in seconds; None when Grafana could not parse it.

    gtime.ParseDuration (grafana-plugin-sdk-go backend/gtime): `<int>d|w|M|y`, else Go's
    time.ParseDuration (`1m30s`, `0.5s`, `-5s`, `0`; no spaces)."""
    calendar = _CALENDAR.match(duration)
    if calendar:
        return int(calendar.group(1)) * _CALENDAR_UNITS[calendar.group(2)]
    if duration in ("0", "+0", "-0"):
        return 0.0
    if not _GO_DURATION.match(duration):
        return None
    total = sum(float(number) * _GO_UNITS[unit] for number, unit in re.findall(_GO_PART, duration))
    return -total if duration.startswith("-") else total


def normalise(dashboard: dict[str, Any], info: ServerInfo) -> dict[str, Any]:
    """The dashboard as this Grafana will store it: title trimmed, refresh raised to the minimum.

    A refresh Grafana cannot parse is replaced by the minimum too: the legacy save does so
    (dashboard_service.go `SaveDashboard`: any `ValidateDashboardRefreshInterval` error ->
    `min_refresh_interval`), and /apis refuses it with 400 (register.go `validateCreate`),
    so sending the minimum is what keeps both dialects converging on the same content."""
    out = dict(dashboard)
    if isinstance(out.get("title"), str):
        out["title"] = out["title"].strip()
    refresh = out.get("refresh")
    if info.min_refresh and isinstance(refresh, str) and refresh:
        wanted, floor = seconds(refresh), seconds(info.min_refresh)
        if floor is not None and (wanted is None or wanted < floor):
            out["refresh"] = info.min_refresh
    return out


def raised_refresh(sent: dict[str, Any], stored: dict[str, Any]) -> str | None:
    """The minimum Grafana applied, when `stored` is `sent` with only `refresh` raised."""
    before, after = sent.get("refresh"), stored.get("refresh")
    if not (isinstance(before, str) and isinstance(after, str)) or before == after:
        return None
    low, high = seconds(before), seconds(after)
    if high is None or (low is not None and high <= low):
        return None
    return after  # raised, or an unparseable refresh replaced by the minimum


def check_lengths(dashboard: dict[str, Any], where: str) -> str | None:
    """Why Grafana would refuse this dashboard's title, or None when it would not."""
    title = dashboard.get("title")
    if not isinstance(title, str):
        return None  # Grafana's own check answers with its own words (400 empty-name)
    size = len(title.strip().encode())
    if size > MAX_TITLE_BYTES:
        return f"{where}: the title is {size} bytes of UTF-8; Grafana allows at most {MAX_TITLE_BYTES}"
    return None


def clip_message(message: str) -> str:
    """A version message cut to Grafana's 500-byte limit without splitting a character."""
    data = message.encode()
    if len(data) <= MAX_MESSAGE_BYTES:
        return message
    return data[: MAX_MESSAGE_BYTES - 3].decode(errors="ignore") + "..."
