"""DAWG's ownership marker: tags, derived dashboard uids, folder uids."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dawg_provider.grafana import ownership


@given(st.lists(st.text(min_size=1, max_size=80), min_size=1, max_size=4))
def test_derived_uids_are_grafana_valid_and_deterministic(identity: list[str]) -> None:
    uid = ownership.derived_uid(*identity)
    assert ownership.valid_uid(uid) and len(uid) <= 40 and uid.startswith("dawg-")
    assert uid == ownership.derived_uid(*identity)


def test_derived_uids_do_not_collide_on_separators() -> None:
    assert ownership.derived_uid("a/b", "c") != ownership.derived_uid("a", "b/c")
    assert ownership.derived_uid("team-a", "api") != ownership.derived_uid("team", "a-api")
    assert ownership.derived_uid("dawg", "dev", "checkout-api").startswith("dawg-checkout-api-")


def test_folder_uids_mark_dawg_folders() -> None:
    uid = ownership.folder_uid("", "Team A")
    assert ownership.is_dawg_folder(uid) and ownership.valid_uid(uid)
    assert uid != ownership.folder_uid("parent", "Team A")
    assert not ownership.is_dawg_folder("team-a")


def test_mark_keeps_generator_tags_and_replaces_old_marks() -> None:
    marked = ownership.mark(
        {"title": "t", "tags": ["kubernetes", "dawg-managed", "dawg-owner:old"]}, "pulumi-dawg-dev"
    )
    assert marked["tags"] == ["kubernetes", "dawg-managed", "dawg-owner:pulumi-dawg-dev"]
    assert ownership.owner_of(marked) == "pulumi-dawg-dev"
    assert ownership.owned_by(marked, "pulumi-dawg-dev") and not ownership.owned_by(marked, "k8s-prod")
    assert ownership.owner_of({"title": "t", "tags": ["dawg-owner:x"]}) is None  # no managed tag: not ours


def test_long_owners_are_shortened_stably() -> None:
    owner = "pulumi-" + "a-very-long-project-name-" * 4 + "production"
    tag = ownership.owner_tag(owner)
    assert len(tag) <= len(ownership.OWNER_TAG_PREFIX) + ownership.MAX_OWNER
    assert tag == ownership.owner_tag(owner) and tag != ownership.owner_tag(owner + "2")
