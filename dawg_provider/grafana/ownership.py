"""How DAWG recognizes the dashboards and folders it created.

Peers delete folders they never created (grafana-operator #1645, #2118) and orphan
or overwrite dashboards because they cannot tell theirs from anyone else's. DAWG
marks what it writes with mechanisms that survive Grafana 10 to 12 (legacy API,
unified storage, the k8s API all keep dashboard JSON and tags verbatim):

- **Dashboards** carry the tag `dawg-managed` plus an owner tag
  `dawg-owner:<owner>` naming the writer: a Pulumi stack (`pulumi-<project>-<stack>`)
  or a sync job (`k8s-<name>`). Search filters tags with AND, so
  `/api/search?tag=dawg-managed&tag=dawg-owner:k8s-prod` lists exactly what one
  writer may prune. Owner ids longer than the tag budget (the tag is at most 50
  characters, Grafana's tag column) are shortened with a hash.
- **Dashboard uids** that DAWG derives start with `dawg-` (Grafana-valid, at most
  40 characters, deterministic from the resource's identity), so two teams using the
  same generator never collide, and a dashboard someone else made is never taken
  over by accident: adopting one is an explicit choice.
- **Folders** DAWG creates get the uid `dawgf-<hash of parent uid and title>`: a
  folder whose uid does not start with `dawgf-` is never deleted by DAWG, and one that
  does is deleted only when empty.

All functions here are pure.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from .canonical import content_hash

MANAGED_TAG = "dawg-managed"
OWNER_TAG_PREFIX = "dawg-owner:"
DASHBOARD_UID_PREFIX = "dawg-"
FOLDER_UID_PREFIX = "dawgf-"
MAX_UID = 40
MAX_TAG = 50
"""Grafana's `dashboard_tag.term` is VARCHAR(50) (pkg/services/sqlstore/migrations/dashboard_mig.go)."""
MAX_OWNER = MAX_TAG - len(OWNER_TAG_PREFIX)
_UID_CHARS = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def _digest(*parts: str, length: int) -> str:
    material = "\0".join(parts).encode()
    return base64.b32encode(hashlib.sha256(material).digest()).decode().lower().rstrip("=")[:length]


def valid_uid(uid: str) -> bool:
    """What Grafana accepts as a uid: `[A-Za-z0-9_-]`, 1 to 40 characters."""
    return bool(_UID_CHARS.fullmatch(uid))


def derived_uid(*identity: str) -> str:
    """A deterministic dashboard uid for a resource identity (e.g. project, stack, name).

    Readable where it fits (`dawg-<slug>-<hash>`), always <= 40 characters, and the
    hash makes it collision-safe: `a/b-c` and `a-b/c` differ.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", identity[-1].lower()).strip("-") if identity else ""
    hashed = _digest(*identity, length=10)
    room = MAX_UID - len(DASHBOARD_UID_PREFIX) - len(hashed) - 1
    slug = slug[:room].rstrip("-")
    return f"{DASHBOARD_UID_PREFIX}{slug}-{hashed}" if slug else f"{DASHBOARD_UID_PREFIX}{hashed}"


def folder_uid(parent_uid: str, title: str) -> str:
    """The uid DAWG gives a folder it creates under `parent_uid` (`""` = root)."""
    return FOLDER_UID_PREFIX + _digest(parent_uid, title, length=MAX_UID - len(FOLDER_UID_PREFIX))


def is_dawg_folder(uid: str) -> bool:
    return uid.startswith(FOLDER_UID_PREFIX)


def owner_tag(owner: str) -> str:
    """`dawg-owner:<owner>`, with long owners shortened by a hash so the tag stays short."""
    clean = re.sub(r"[^A-Za-z0-9_.:/-]+", "-", owner).strip("-")
    if len(clean) > MAX_OWNER:
        clean = clean[: MAX_OWNER - 11] + "-" + _digest(owner, length=10)
    return OWNER_TAG_PREFIX + clean


def owner_problem(owner: str) -> str | None:
    """Why `owner` cannot name a writer, or None: it must keep a readable tag."""
    if not re.sub(r"[^A-Za-z0-9_.:/-]+", "", owner):
        return f"owner {owner[:60]!r} has no letters, digits or `_.:/-`; it cannot name a writer"
    return None


def mark(dashboard: dict[str, Any], owner: str) -> dict[str, Any]:
    """A copy of `dashboard` carrying DAWG's tags (the generator's tags kept, in order)."""
    tags = [tag for tag in dashboard.get("tags") or [] if isinstance(tag, str)]
    tags = [tag for tag in tags if tag != MANAGED_TAG and not tag.startswith(OWNER_TAG_PREFIX)]
    return {**dashboard, "tags": [*tags, MANAGED_TAG, owner_tag(owner)]}


def is_managed(dashboard: dict[str, Any], labels: dict[str, str] | None = None) -> bool:
    """True when the dashboard carries DAWG's managed tag (or, on `/apis`, DAWG's managed label):
    any claim, agreeing or not (`disagreement` says whether the claims agree)."""
    tags = dashboard.get("tags")
    return (isinstance(tags, list) and MANAGED_TAG in tags) or label_owner(labels) is not None


def _tag_owner(dashboard: dict[str, Any]) -> str | None:
    tags = dashboard.get("tags")
    if not (isinstance(tags, list) and MANAGED_TAG in tags):
        return None
    for tag in tags:
        if isinstance(tag, str) and tag.startswith(OWNER_TAG_PREFIX):
            return tag[len(OWNER_TAG_PREFIX) :]
    return None


def owner_of(dashboard: dict[str, Any], labels: dict[str, str] | None = None) -> str | None:
    """The owner tag's value, if the dashboard is DAWG's. `labels` (an `/apis` read; None on the
    legacy API) must name the same owner, else no one owns it for sure (`disagreement`)."""
    if disagreement(dashboard, labels) is not None:
        return None
    return _tag_owner(dashboard)


def owned_by(dashboard: dict[str, Any], owner: str, labels: dict[str, str] | None = None) -> bool:
    """True when `owner` (as `owner_tag` would write it) wrote this dashboard, by its tags and,
    on `/apis`, by its labels too."""
    tagged = _tag_owner(dashboard) is not None and owner_tag(owner) in (dashboard.get("tags") or [])
    return tagged and disagreement(dashboard, labels) is None


LABEL_MANAGED = "dawg.urcloud.cc/managed"
LABEL_OWNER = "dawg.urcloud.cc/owner"
_LABEL_VALUE = re.compile(r"[^A-Za-z0-9_.-]+")


def label_value(owner: str) -> str:
    """`owner` as a Kubernetes label value: `[A-Za-z0-9_.-]`, alphanumeric at both ends, <= 63."""
    clean = _LABEL_VALUE.sub("-", owner).strip("-_.")
    if len(clean) > 63:
        clean = clean[:52].rstrip("-_.") + "-" + _digest(owner, length=10)
    return clean or _digest(owner, length=10)


def labels(dashboard: dict[str, Any]) -> dict[str, str]:
    """The `/apis` labels that carry DAWG's ownership (from its tags), empty when not DAWG's."""
    owner = _tag_owner(dashboard)
    if owner is None:
        return {}
    return {LABEL_MANAGED: "true", LABEL_OWNER: label_value(owner)}


def label_owner(labels: dict[str, str] | None) -> str | None:
    """The owner DAWG's labels name ("" when the owner label is missing), None without them."""
    if not isinstance(labels, dict) or labels.get(LABEL_MANAGED) != "true":
        return None
    return str(labels.get(LABEL_OWNER) or "")


def disagreement(dashboard: dict[str, Any], labels: dict[str, str] | None) -> str | None:
    """Why the tags and the `/apis` labels of a dashboard do not name the same DAWG owner, or None.

    DAWG writes both on `/apis` (`labels`), and the UI's `/apis` save sends back the metadata it
    read (public/app/features/dashboard/api/v1.ts `saveDashboard`: `metadata: {...options.k8s}`),
    so a DAWG dashboard edited in the UI keeps them. Tags and labels that disagree were written by
    someone else: tags copied into another dashboard's JSON (anyone who can edit one can), labels
    removed or rewritten, or a legacy save on 12.x/13.x, which resets labels (pkg/api/dashboard.go
    `saveDashboardViaK8s`, grafana-apis.md §9). No one owns such a dashboard for sure: DAWG
    refuses to write it (unless adopting) and never prunes it. `labels` None (the legacy API, which
    has none) means tags alone decide."""
    if labels is None:
        return None
    tagged, labelled = _tag_owner(dashboard), label_owner(labels)
    if tagged is None and labelled is None:
        return None
    if tagged is None:
        return f"its labels name DAWG owner {labelled!r} but its tags name no DAWG owner"
    if labelled is None:
        return (
            f"its tags name DAWG owner {tagged!r} but it carries none of DAWG's labels (saved through "
            "the legacy API, which resets labels, or its tags were copied from a DAWG dashboard)"
        )
    if labelled != label_value(tagged):
        return f"its tags name DAWG owner {tagged!r} but its labels name {labelled!r}"
    return None


def trusted_labels(labels: dict[str, str] | None, recorded: bool) -> dict[str, str] | None:
    """The labels to read ownership from. None (tags decide) when DAWG has its own record of this
    dashboard (`recorded`: a Pulumi state, a Dashboard status, or prune's search by DAWG's owner
    tag for a resource that is gone) and it came back without DAWG's labels. Labels are absent
    in ordinary situations that are not a competing claim: a Grafana whose `/apis` drops custom
    labels (legacy storage, grafana#116049), a dashboard DAWG wrote through the legacy API
    (older Grafana, the legacy dialect forced, DAWG before labels), a legacy save on 12.x/13.x
    (pkg/api/dashboard.go `saveDashboardViaK8s` resets labels), or the 13.x UI's "Restore
    version", which saves with `metadata: {name}` only (public/app/features/dashboard/api/v2.ts
    `restoreDashboardVersion` -> `saveDashboard`). The drift rules then decide by version.
    Without a record (DAWG never wrote it, as far as it knows) tags alone are not trusted: they
    may have been pasted in. Labels that name an owner are always read."""
    if recorded and label_owner(labels) is None:
        return None
    return labels


# -- which resource owns a dashboard (one writer serving many tenants) -------------------
#
# A sync job writes for many Kubernetes namespaces with one owner tag, so the owner tag
# alone cannot keep one team's CR off another team's dashboard. Each dashboard also
# records the resource it belongs to, in tags (kept verbatim by every Grafana version,
# and searchable): `dawg-cr:<namespace>/<name>` and `dawg-cr-uid:<metadata.uid>`, each
# at most 50 characters, the length of Grafana's `dashboard_tag.term` column
# (VARCHAR(50), pkg/services/sqlstore/migrations/dashboard_mig.go; longer
# values are shortened with a hash of the whole value, like owner tags). A dashboard
# DAWG took over from someone else (adopt) carries `dawg-adopted`: pruning gives it
# back (marks removed) instead of deleting it.

RESOURCE_TAG_PREFIX = "dawg-cr:"
RESOURCE_UID_TAG_PREFIX = "dawg-cr-uid:"
ADOPTED_TAG = "dawg-adopted"
CONTENT_TAG_PREFIX = "dawg-sha:"
"""`dawg-sha:<hash>`: what DAWG wrote, so a later edit shows from Grafana alone (`seal`)."""
_RESOURCE_PREFIXES = (RESOURCE_TAG_PREFIX, RESOURCE_UID_TAG_PREFIX, CONTENT_TAG_PREFIX)


def _bounded_tag(prefix: str, value: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9_.:/-]+", "-", value)
    if len(prefix) + len(clean) > MAX_TAG or clean != value:
        room = MAX_TAG - len(prefix) - 11
        clean = clean[:room] + "~" + _digest(value, length=10)
    return prefix + clean


def resource_tag(namespace: str, name: str) -> str:
    """`dawg-cr:<namespace>/<name>`, at most 50 characters."""
    return _bounded_tag(RESOURCE_TAG_PREFIX, f"{namespace}/{name}")


def is_shortened(tag: str) -> bool:
    """Whether a tag of `_bounded_tag` was shortened to fit: then it is a 50-bit digest, not a name.

    `~` never survives the cleaning, so it only appears where the digest was appended.
    """
    return "~" in tag


def resource_uid_tag(uid: str) -> str:
    """`dawg-cr-uid:<metadata.uid>`, at most 50 characters."""
    return _bounded_tag(RESOURCE_UID_TAG_PREFIX, uid)


def _content_mark(dashboard: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The dashboard without its content mark, and the mark its content deserves."""
    tags = [
        t
        for t in dashboard.get("tags") or []
        if not (isinstance(t, str) and t.startswith(CONTENT_TAG_PREFIX))
    ]
    body = {**dashboard, "tags": tags}
    return body, CONTENT_TAG_PREFIX + content_hash(body).split(":", 1)[1][:32]


def seal(dashboard: dict[str, Any]) -> dict[str, Any]:
    """A copy carrying `dawg-sha:` of its own canonical content (the mark left out): a
    stateless run (`--manifests`) sees a UI edit from Grafana alone. Any mark the
    dashboard had (a generator may print anything) is replaced.

    Seal the form Grafana will store (`GrafanaClient.normalised`: refresh raised to the
    server minimum, title trimmed), never the generator's raw output: the mark is
    checked against what Grafana gives back, and a mark over a form Grafana changes on
    save would read as a UI edit on every later run."""
    body, mark = _content_mark(dashboard)
    return {**body, "tags": [*body["tags"], mark]}


def seal_intact(dashboard: dict[str, Any]) -> bool:
    """True when the dashboard carries exactly one content mark and its content matches it:
    what Grafana holds is what DAWG wrote, whatever version number it has now."""
    marks = [
        t for t in dashboard.get("tags") or [] if isinstance(t, str) and t.startswith(CONTENT_TAG_PREFIX)
    ]
    return marks == [_content_mark(dashboard)[1]]


def edited_since_sealed(dashboard: dict[str, Any]) -> bool:
    """True when the dashboard carries a content mark its content no longer matches."""
    marks = [
        t for t in dashboard.get("tags") or [] if isinstance(t, str) and t.startswith(CONTENT_TAG_PREFIX)
    ]
    return bool(marks) and marks != [_content_mark(dashboard)[1]]


def is_resource_mark(tag: str) -> bool:
    return tag == ADOPTED_TAG or tag.startswith(_RESOURCE_PREFIXES)


def mark_resource(
    dashboard: dict[str, Any], namespace: str, name: str, uid: str, adopted: bool = False
) -> dict[str, Any]:
    """A copy carrying the owning resource's tags; any such tags it had (a generator
    may print anything) are replaced, never kept."""
    tags = [tag for tag in dashboard.get("tags") or [] if isinstance(tag, str) and not is_resource_mark(tag)]
    marks = [resource_tag(namespace, name)]
    if uid:
        marks.append(resource_uid_tag(uid))
    if adopted:
        marks.append(ADOPTED_TAG)
    return {**dashboard, "tags": [*tags, *marks]}


def resource_of(dashboard: dict[str, Any]) -> str | None:
    """The `dawg-cr:` tag of a dashboard, if it records an owning resource."""
    for tag in dashboard.get("tags") or []:
        if isinstance(tag, str) and tag.startswith(RESOURCE_TAG_PREFIX):
            return tag
    return None


def resource_uid_of(dashboard: dict[str, Any]) -> str | None:
    """The `dawg-cr-uid:` tag of a dashboard, if it records the owning resource's uid."""
    for tag in dashboard.get("tags") or []:
        if isinstance(tag, str) and tag.startswith(RESOURCE_UID_TAG_PREFIX):
            return tag
    return None


def is_adopted(dashboard: dict[str, Any]) -> bool:
    return ADOPTED_TAG in (dashboard.get("tags") or [])


def release(dashboard: dict[str, Any]) -> dict[str, Any]:
    """A copy with every DAWG mark removed: handing an adopted dashboard back."""
    tags = [
        tag
        for tag in dashboard.get("tags") or []
        if isinstance(tag, str)
        and tag != MANAGED_TAG
        and not tag.startswith(OWNER_TAG_PREFIX)
        and not is_resource_mark(tag)
    ]
    return {**dashboard, "tags": tags}
