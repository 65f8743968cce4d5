"""The pure rules on WasmDashboard state (dawg_provider/pulumi/props.py), without a provider process."""

from __future__ import annotations

from typing import Any

import pytest

from dawg_provider.pulumi.props import (
    STAMP_KEY,
    UNKNOWN,
    newer_owner,
    normalized_url,
    org_id,
    replacement,
    stamped,
    target,
    unstamped,
)

URL = "https://grafana.example.com"


@pytest.mark.parametrize(
    "spelling", [URL, URL + "/", "HTTPS://Grafana.Example.com", URL + "/?orgId=1", " " + URL + "// "]
)
def test_one_grafana_has_one_spelling(spelling: str) -> None:
    assert normalized_url(spelling) == URL


def test_a_sub_path_is_kept() -> None:
    assert normalized_url("https://example.com/Grafana/") == "https://example.com/Grafana"


@pytest.mark.parametrize(
    ("raw", "expected"), [("2", 2), (2.0, 2), (3, 3), ("", None), (None, None), (True, None), ("x", None)]
)
def test_org_ids_from_config_text_and_the_wire(raw: Any, expected: int | None) -> None:
    assert org_id(raw) == expected


def test_the_target_never_holds_the_token_and_the_resource_wins() -> None:
    default = {"url": URL + "/", "token": "glsa_secret", "orgId": "2"}
    assert target(None, default) == {"url": URL, "orgId": 2}
    own = {"url": "https://other.example.com", "token": "glsa_other"}
    assert target(own, default) == {"url": "https://other.example.com"}
    assert target({"url": UNKNOWN}, default) == UNKNOWN
    assert target(UNKNOWN, default) == UNKNOWN
    assert target({"url": URL, "token": UNKNOWN}, None) == {"url": URL}
    assert target(None, None) is None and target({"token": "t"}, {"url": ""}) is None


def old(uid: str = "dawg-a", url: str | None = URL) -> dict[str, Any]:
    return {"uid": uid, **({"grafanaTarget": {"url": url}} if url else {})}


def test_replacement_rules() -> None:
    assert replacement(old(), old()) == ([], False)
    assert replacement(old(), old(uid="dawg-b")) == (["uid"], False)  # another uid: create first is safe
    assert replacement(old(), old(url="https://new.example.com")) == (["grafanaTarget"], True)
    assert replacement(old(), {"uid": "dawg-a", "grafanaTarget": UNKNOWN}) == (["grafanaTarget"], True)
    assert replacement(old(), {"uid": UNKNOWN, "grafanaTarget": {"url": URL}}) == (["uid"], False)
    assert replacement(old(url=None), old()) == ([], False)  # state from before grafanaTarget


def test_the_stamp_decides_who_owns_a_dashboard() -> None:
    board = {"title": "x", "uid": "dawg-a"}
    mine = stamped(board, "aaaa")
    assert unstamped(mine) == board and mine[STAMP_KEY] == "aaaa" and STAMP_KEY not in board
    assert newer_owner(mine, "aaaa") is None
    assert newer_owner(stamped(board, "bbbb"), "aaaa") == "bbbb"
    assert newer_owner(board, "aaaa") is None  # edited in a UI that dropped the key: ours
    assert newer_owner(mine, None) is None  # state from before stamps
    assert newer_owner({**board, STAMP_KEY: 7}, "aaaa") is None  # not a stamp DAWG wrote
