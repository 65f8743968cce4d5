"""Pruning: deleting what this job wrote for resources that are gone, and nothing else.

A wrong selector, a namespace typo or an emptied manifest directory looks exactly like
"every resource was deleted", so the guards refuse what is most likely a mistake
(`prune_refusal`, pure): nothing listed while the job owns dashboards, or more than
half of what it owns at once, with no floor (one of one is "everything" too).
`--force-prune` overrides them. Only dashboards carrying this job's owner tag are
candidates, re-read right before deletion; a dashboard the job adopted is released
(DAWG's marks removed, content kept), never deleted; a folder is deleted only when DAWG
created it and it is empty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import GrafanaError
from ..grafana import GrafanaClient, ownership

MAX_PRUNE_FRACTION = 0.5


class PruneOptions(Protocol):
    @property
    def dry_run(self) -> bool: ...

    @property
    def force_prune(self) -> bool: ...


@dataclass
class Pruned:
    pruned: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def prune(
    client: GrafanaClient,
    owner: str,
    wanted: set[str],
    listed: int,
    options: PruneOptions,
    may_write: Callable[[], bool] = lambda: True,
) -> Pruned:
    """Delete (or release) `owner`'s dashboards whose uid is not `wanted`, within the guards.
    `may_write` is asked before each one: a controller replica that stops leading (or
    shuts down) in the middle leaves the rest to the next pass."""
    result = Pruned()
    try:
        owned = client.managed_dashboards(owner)
    except GrafanaError as error:
        result.errors.append(f"pruning skipped: {error}")
        return result
    doomed = [hit for hit in owned if hit.uid not in wanted]
    refusal = prune_refusal(listed, len(owned), len(doomed), owner)
    if refusal and not options.force_prune:
        result.errors.append(refusal)
        return result
    for hit in doomed:
        if options.dry_run:
            result.pruned.append(hit.uid)
            continue
        if not may_write():
            result.errors.append(f"pruning stopped before {hit.uid}: this replica may no longer write")
            break
        try:
            live = client.get_dashboard(hit.uid)
            # labels naming another owner veto; a skipped candidate is reported, never silent
            if live is None:
                continue
            # found by the job's owner tags, its CR gone: tags decide, as for a recorded one
            labels = ownership.trusted_labels(live.labels, True)
            if not ownership.owned_by(live.dashboard, owner, labels):
                why = ownership.disagreement(live.dashboard, labels) or "its tags no longer name it"
                result.errors.append(f"pruning {hit.uid}: not deleted, it is no longer {owner}'s ({why})")
                continue
            if ownership.is_adopted(live.dashboard):
                released = {**ownership.release(live.dashboard), "uid": hit.uid, "version": live.version}
                client.save_dashboard(
                    released, folder_uid=live.folder_uid, message="DAWG: released (its resource is gone)"
                )
                result.released.append(hit.uid)
                continue
            client.delete_dashboard(hit.uid)
            result.pruned.append(hit.uid)
            if live.folder_uid and may_write():  # else the next pass finds the folder empty
                client.delete_folder_if_owned_and_empty(live.folder_uid)
        except GrafanaError as error:
            result.errors.append(f"pruning {hit.uid}: {error}")
    return result


def prune_refusal(listed: int, owned: int, doomed: int, owner: str) -> str | None:
    """Why pruning `doomed` of the `owned` dashboards would likely be a mistake, or None. Pure.

    No floor: one dashboard of one is as much "everything" as 500 of 500.
    """
    if doomed and listed == 0:
        return (
            f"pruning refused: the source listed no Dashboard resources, but {owned} dashboards are "
            f"owned by {owner}; is the directory, namespace or label selector right? "
            "Use --force-prune to delete them"
        )
    if doomed > owned * MAX_PRUNE_FRACTION:
        return (
            f"pruning refused: {doomed} of the {owned} dashboards owned by {owner} have no Dashboard "
            "resource; is the namespace or label selector right? Use --force-prune to proceed"
        )
    return None
