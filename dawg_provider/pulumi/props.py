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
  Delete that finds a stamp other than its own (or any stamp, when its state
  predates stamps) leaves the dashboard to its newer owner instead of deleting it.
  Replacement is never delete-first: Grafana's dashboard delete also drops version
  history, stars, permissions and playlist entries, and the stamp makes
  create-before-delete safe. A schema v2 dashboard carries the stamp as the tag
  `dawg-instance:<stamp>` instead: Grafana decodes a v2 spec into its typed
  `DashboardSpec`, which has no field for an unknown top-level key and drops it
  (apps/dashboard/pkg/apis/dashboard/v2beta1/dashboard_spec_gen.go), while `tags` is one
  of its fields, kept as sent on every Grafana and dialect.
- **One spelling per Grafana**: scheme and host lower-cased, default ports and an
  unset org (Grafana's default org is 1) compare equal, so re-spelling the same
  Grafana is not a replacement at all. Credentials in a URL (`user:pass@`) are
  refused: they would be stored in plaintext in the target.
- **Unknowns**: in preview, any input may be the engine's unknown sentinel (an
  output of a resource not created yet); every rule here tolerates it.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..grafana import v2

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
STAMP_TAG_PREFIX = "dawg-instance:"
"""The stamp of a schema v2 dashboard, as a tag (its spec keeps no unknown key)."""
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


DEFAULT_ORG = 1
"""Grafana's default organisation: an unset org id means this one."""
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalized_url(url: str) -> str:
    """One spelling per Grafana: scheme and host lower-cased, no default port, no user
    info, no trailing slash, no query; the path keeps its case (a sub-path Grafana).

    Raises ValueError for a port that is not a number.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = parts.hostname or ""  # lower-cased by urlsplit, user info dropped
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


def url_problem(url: Any) -> str | None:
    """Why a Grafana URL cannot be recorded (never echoing the URL: it may hold a password)."""
    if not isinstance(url, str) or is_unknown(url):
        return None
    parts = urlsplit(url.strip())
    if "@" in parts.netloc:
        return (
            "the Grafana URL must not contain credentials (user:password@host): they would be stored "
            "in plaintext in the state; put the token in `dawg:grafanaToken` or the `grafana.token` argument"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "the Grafana URL has a port that is not a number"
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return "the Grafana URL must be http:// or https:// with a host"
    return None


def org_id(value: Any) -> int | None:
    """An org id from config text, a wire float or an int; None when unset or not a number."""
    if value in (None, "") or isinstance(value, bool):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def source_url(own: Any, default: dict[str, Any] | None) -> Any:
    """The URL a resource's Grafana comes from: its own `grafana.url`, else the stack's."""
    if isinstance(own, dict) and own.get("url"):
        return own.get("url")
    return (default or {}).get("url")


def target(own: Any, default: dict[str, Any] | None) -> dict[str, Any] | str | None:
    """The Grafana a resource writes to: `{url, orgId}` (no token), UNKNOWN, or None.

    A resource's own `grafana` argument wins over the stack config given to
    `configure()`; an unknown one (preview) gives UNKNOWN. None also for a URL that
    `url_problem` refuses.
    """
    if isinstance(own, dict):
        if is_unknown(own.get("url")) or is_unknown(own.get("orgId")):
            return UNKNOWN  # an unknown token alone does not change where dashboards go
    elif is_unknown(own):
        return UNKNOWN
    source = own if isinstance(own, dict) and own.get("url") else default
    if not source or not isinstance(source.get("url"), str) or not source["url"]:
        return None
    if url_problem(source["url"]) is not None:
        return None
    org = org_id(source.get("orgId"))
    # Nulls vanish on the wire: an unset org is left out, so old and new compare equal.
    return {"url": normalized_url(source["url"]), **({"orgId": org} if org is not None else {})}


def same_target(old: Any, new: Any) -> bool:
    """Whether two recorded targets name the same Grafana and org (spelling aside)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return bool(old == new)
    try:
        urls = [normalized_url(str(t.get("url", ""))) for t in (old, new)]
    except ValueError:
        return bool(old == new)
    orgs = [org_id(t.get("orgId")) or DEFAULT_ORG for t in (old, new)]
    return urls[0] == urls[1] and orgs[0] == orgs[1]


def replacement(olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
    """What forces a replacement (`olds` are old outputs).

    A state written before `grafanaTarget` existed has none: it is not replaced for
    that (its next update records the target). Never delete-first, even with the
    same uid: the new resource is created first and the old one's Delete sees the
    newer stamp and leaves the dashboard (`newer_owner`).
    """
    replaces = []
    old_uid, new_uid = olds.get("uid"), news.get("uid")
    if is_unknown(new_uid) or old_uid != new_uid:
        replaces.append("uid")
    old_target, new_target = olds.get(TARGET), news.get(TARGET)
    if old_target is not None and (is_unknown(new_target) or not same_target(old_target, new_target)):
        replaces.append(TARGET)
    return replaces


def new_stamp() -> str:
    """A fresh instance stamp for one Create (random: two creates never share one)."""
    return secrets.token_hex(8)


def stamped(dashboard: dict[str, Any], stamp: str | None) -> dict[str, Any]:
    """The dashboard to send, carrying the instance stamp (unchanged without one): a top-level
    key in the classic model, a `dawg-instance:` tag in a v2 spec (where Grafana keeps no
    unknown key)."""
    if not stamp:
        return dashboard
    if v2.version_of(dashboard) is None:
        return {**dashboard, STAMP_KEY: stamp}
    tags = [t for t in dashboard.get("tags") or [] if not _stamp_tag(t)]
    return {**dashboard, "tags": [*tags, STAMP_TAG_PREFIX + stamp]}


def _stamp_tag(tag: Any) -> bool:
    return isinstance(tag, str) and tag.startswith(STAMP_TAG_PREFIX)


def reserved_key_problem(dashboard: dict[str, Any]) -> str | None:
    """Why a generated dashboard cannot be used as is: the stamp key is DAWG's own.

    Create would overwrite it and refresh strips it, so a generator that emits it would
    show a diff on every refresh; it is refused instead of silently dropped.
    """
    if STAMP_KEY in dashboard:
        return (
            f"the generated dashboard has a top-level `{STAMP_KEY}` key, which DAWG reserves for "
            "the resource instance that wrote it; remove it from the generator's output"
        )
    if any(_stamp_tag(tag) for tag in dashboard.get("tags") or []):
        return (
            f"the generated dashboard has a `{STAMP_TAG_PREFIX}` tag, which DAWG reserves for "
            "the resource instance that wrote it; remove it from the generator's output"
        )
    return None


def unstamped(dashboard: dict[str, Any]) -> dict[str, Any]:
    """A live dashboard without the stamp (key or tag), as the generator's output is compared."""
    clean = {key: value for key, value in dashboard.items() if key != STAMP_KEY}
    tags = dashboard.get("tags")
    if isinstance(tags, list) and any(_stamp_tag(tag) for tag in tags):
        clean["tags"] = [tag for tag in tags if not _stamp_tag(tag)]
    return clean


def newer_owner(live: dict[str, Any], recorded_stamp: Any) -> str | None:
    """The stamp of a newer resource instance that now writes this dashboard, if any.

    Any live stamp other than the recorded one is a newer owner's, including when the
    state records none (written before stamps: the first `pulumi up --replace` after
    upgrading creates the stamped replacement before this Delete runs). None when
    the live dashboard is this instance's or carries no stamp (written before stamps,
    or edited in a UI that drops unknown keys).
    """
    live_stamp = live.get(STAMP_KEY)
    tagged = [t[len(STAMP_TAG_PREFIX) :] for t in live.get("tags") or [] if _stamp_tag(t)]
    if tagged:
        live_stamp = tagged[-1]
    if isinstance(live_stamp, str) and live_stamp != recorded_stamp:
        return live_stamp
    return None
