"""What a WasmDashboard keeps in Pulumi state, and the pure decisions made on it.

Kept apart from the provider's I/O so previews and tests can reason about the same
rules (kopf-style: decide purely, act elsewhere). Why each piece exists:

- **The effective Grafana (`grafanaTarget`)**: stack config reaches the provider,
  not the resources (pulumi/pulumi pkg/resource/deploy/providers/registry.go), so a
  changed `dawg:grafanaUrl` would leave every resource `same`. `check()` therefore
  records the Grafana a resource is written to (URL and org, never the token) in its
  inputs: changing it is a visible replacement, and read/delete of old state talk to
  the Grafana the state was written to.
- **The instance stamp (`instance`, and `dawgInstance` in the dashboard JSON)**: a
  replacement that keeps the uid (`pulumi up --replace`, a replace decided by the
  engine) creates the new resource first and deletes the old one at the end of the
  run (step_generator.go). Each Create writes a fresh stamp into the dashboard; a
  Delete whose stamp is no longer the live one leaves the dashboard to its newer
  owner instead of deleting it.
- **Unknowns**: in preview, any input may be the engine's unknown sentinel (an
  output of a resource not created yet); every rule here tolerates it.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit, urlunsplit

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The engine's unknown sentinel as the Python SDK hands it to a dynamic provider."""

INPUT_KEYS = (
    "generator",
    "config",
    "folder",
    "uid",
    "owner",
    "adopt",
    "drift",
    "message",
    "timeout",
    "memory",
    "grafana",
)
TARGET = "grafanaTarget"
DIFFED_KEYS = ("dashboardSha256", *(k for k in INPUT_KEYS if k not in ("generator", "config", "uid")), TARGET)
"""What decides an update: the rendered content (not the config text or reference
spelling that produced it) and every other input; a new uid is a replacement."""
STAMP_KEY = "dawgInstance"
"""Top-level key of the dashboard JSON naming the resource instance that wrote it."""
COMPUTED_KEYS = ("generatorDigest", "generatorRef", "dashboard", "dashboardSha256")
OUTPUT_ONLY = ("url", "version", "folderUid", "instance", "warnings")
STORED_ONCE = ("dashboard",)
"""Inputs the outputs do not repeat: the dashboard is the bulk of a resource's state."""


def is_unknown(value: Any) -> bool:
    """True for the unknown sentinel, the SDK's `Unknown` object, or a value containing one."""
    if isinstance(value, dict):
        return any(is_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(is_unknown(v) for v in value)
    return value == UNKNOWN or type(value).__name__ == "Unknown"


def normalized_url(url: str) -> str:
    """One spelling per Grafana: scheme and host lower-cased, no trailing slash, no query."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), "", ""))


def org_id(value: Any) -> int | None:
    """An org id from config text, a wire float or an int; None when unset or not a number."""
    if value in (None, "") or isinstance(value, bool):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def target(own: Any, default: dict[str, Any] | None) -> dict[str, Any] | str | None:
    """The Grafana a resource writes to: `{url, orgId}` (no token), UNKNOWN, or None.

    A resource's own `grafana` argument wins over the stack config given to
    `configure()`; an unknown one (preview) gives UNKNOWN.
    """
    if isinstance(own, dict):
        if is_unknown(own.get("url")) or is_unknown(own.get("orgId")):
            return UNKNOWN  # an unknown token alone does not change where dashboards go
    elif is_unknown(own):
        return UNKNOWN
    source = own if isinstance(own, dict) and own.get("url") else default
    if not source or not isinstance(source.get("url"), str) or not source["url"]:
        return None
    org = org_id(source.get("orgId"))
    # Nulls vanish on the wire: an unset org is left out, so old and new compare equal.
    return {"url": normalized_url(source["url"]), **({"orgId": org} if org is not None else {})}


def replacement(olds: dict[str, Any], news: dict[str, Any]) -> tuple[list[str], bool]:
    """What forces a replacement, and whether the old dashboard must go first.

    `olds` are old outputs. A state written before `grafanaTarget` existed has none:
    it is not replaced for that (its next update records the target). When the uid
    stays the same, the old and the new resource would write the same dashboard, so
    the old one is deleted first (`deleteBeforeReplace`); create-then-delete would
    let the old resource's Delete remove what the new one just wrote.
    """
    replaces = []
    old_uid, new_uid = olds.get("uid"), news.get("uid")
    if is_unknown(new_uid) or old_uid != new_uid:
        replaces.append("uid")
    old_target, new_target = olds.get(TARGET), news.get(TARGET)
    if old_target is not None and (is_unknown(new_target) or old_target != new_target):
        replaces.append(TARGET)
    same_uid = not is_unknown(new_uid) and old_uid == new_uid
    return replaces, bool(replaces) and same_uid


def new_stamp() -> str:
    """A fresh instance stamp for one Create (random: two creates never share one)."""
    return secrets.token_hex(8)


def stamped(dashboard: dict[str, Any], stamp: str | None) -> dict[str, Any]:
    """The dashboard to send, carrying the instance stamp (unchanged without one)."""
    return {**dashboard, STAMP_KEY: stamp} if stamp else dashboard


def unstamped(dashboard: dict[str, Any]) -> dict[str, Any]:
    """A live dashboard without the stamp, as the generator's output is compared."""
    return {key: value for key, value in dashboard.items() if key != STAMP_KEY}


def newer_owner(live: dict[str, Any], recorded_stamp: Any) -> str | None:
    """The stamp of a newer resource instance that now writes this dashboard, if any.

    None when the live dashboard is this instance's, carries no stamp (edited in a UI
    that drops unknown keys, or written before stamps), or the state has none.
    """
    live_stamp = live.get(STAMP_KEY)
    if isinstance(recorded_stamp, str) and isinstance(live_stamp, str) and live_stamp != recorded_stamp:
        return live_stamp
    return None
