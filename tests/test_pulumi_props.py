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
    reserved_key_problem,
    same_target,
    stamped,
    target,
    unstamped,
    url_problem,
)

URL = "https://grafana.example.com"


@pytest.mark.parametrize(
    "spelling",
    [URL, URL + "/", "HTTPS://Grafana.Example.com", URL + "/?orgId=1", " " + URL + "// ", URL + ":443"],
)
def test_one_grafana_has_one_spelling(spelling: str) -> None:
    assert normalized_url(spelling) == URL


def test_a_sub_path_is_kept() -> None:
    assert normalized_url("https://example.com/Grafana/") == "https://example.com/Grafana"


@pytest.mark.parametrize(
    "url", ["https://admin:S3cret@grafana.example.com", "https://admin@grafana.example.com", "https://:pw@g"]
)
def test_a_url_with_credentials_is_refused_and_never_recorded(url: str) -> None:
    problem = url_problem(url)
    assert problem is not None and "credentials" in problem
    assert "S3cret" not in problem and "admin" not in problem
    assert target(None, {"url": url, "token": "t"}) is None  # nothing recorded
    assert "S3cret" not in normalized_url(url) and "admin" not in normalized_url(url)


def test_url_problems_and_case() -> None:
    assert url_problem(URL) is None and url_problem(UNKNOWN) is None
    assert url_problem("https://g:port") is not None and url_problem("ftp://g") is not None
    assert normalized_url("HTTP://G.Example.com:8080/Sub/") == "http://g.example.com:8080/Sub"
    assert normalized_url("http://g:80") == "http://g" and normalized_url("https://g:80") == "https://g:80"


@pytest.mark.parametrize(
    ("old_target", "new_target", "same"),
    [
        ({"url": URL}, {"url": URL, "orgId": 1}, True),  # org 1 is Grafana's default
        ({"url": URL}, {"url": URL + ":443"}, True),
        ({"url": URL, "orgId": 1}, {"url": URL.upper()}, True),
        ({"url": URL}, {"url": URL, "orgId": 2}, False),
        ({"url": URL}, {"url": "http://grafana.example.com"}, False),
        ({"url": URL}, {"url": "https://alias.example.com"}, False),
    ],
)
def test_the_same_grafana_spelled_differently_is_the_same_target(
    old_target: dict[str, Any], new_target: dict[str, Any], same: bool
) -> None:
    assert same_target(old_target, new_target) is same
    expected = [] if same else ["grafanaTarget"]
    assert replacement(
        {"uid": "u", "grafanaTarget": old_target}, {"uid": "u", "grafanaTarget": new_target}
    ) == (expected)


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
    assert replacement(old(), old()) == []
    assert replacement(old(), old(uid="dawg-b")) == ["uid"]
    assert replacement(old(), old(url="https://new.example.com")) == ["grafanaTarget"]
    assert replacement(old(), {"uid": "dawg-a", "grafanaTarget": UNKNOWN}) == ["grafanaTarget"]
    assert replacement(old(), {"uid": UNKNOWN, "grafanaTarget": {"url": URL}}) == ["uid"]
    assert replacement(old(url=None), old()) == []  # state from before grafanaTarget


def test_the_stamp_decides_who_owns_a_dashboard() -> None:
    board = {"title": "x", "uid": "dawg-a"}
    mine = stamped(board, "aaaa")
    assert unstamped(mine) == board and mine[STAMP_KEY] == "aaaa" and STAMP_KEY not in board
    assert newer_owner(mine, "aaaa") is None
    assert newer_owner(stamped(board, "bbbb"), "aaaa") == "bbbb"
    assert newer_owner(board, "aaaa") is None  # edited in a UI that dropped the key: ours
    assert newer_owner(board, None) is None  # state and dashboard from before stamps: ours
    # State from before stamps, dashboard stamped: a replacement wrote it after the upgrade.
    assert newer_owner(mine, None) == "aaaa"
    assert newer_owner({**board, STAMP_KEY: 7}, "aaaa") is None  # not a stamp DAWG wrote


def test_a_generator_cannot_emit_the_stamp_key() -> None:
    """Review finding 9: refresh strips it, so emitting it meant a diff on every refresh."""
    problem = reserved_key_problem({"title": "x", STAMP_KEY: "mine"})
    assert problem is not None and STAMP_KEY in problem and "generator" in problem
    assert reserved_key_problem({"title": "x", "panels": [{STAMP_KEY: 1}]}) is None  # only top level


def test_a_v2_dashboard_carries_the_stamp_in_its_tags() -> None:
    """Review finding 1: a v2 spec keeps no unknown top-level key (Grafana's typed DashboardSpec),
    so the stamp of a v2 dashboard is a tag, and a generator may not print that tag itself."""
    from dawg_provider.grafana import v2
    from dawg_provider.pulumi.props import STAMP_TAG_PREFIX

    board = v2.carried({"title": "Dyn", "tags": ["team"], "elements": {}}, "v2beta1")
    mine = stamped(board, "aaaa")
    assert STAMP_KEY not in mine and mine["tags"] == ["team", STAMP_TAG_PREFIX + "aaaa"]
    assert unstamped(mine) == board and board["tags"] == ["team"]
    assert stamped(mine, "bbbb")["tags"] == ["team", STAMP_TAG_PREFIX + "bbbb"]  # one stamp, replaced
    assert newer_owner(mine, "aaaa") is None
    assert newer_owner(stamped(board, "bbbb"), "aaaa") == "bbbb"
    assert newer_owner(board, "aaaa") is None
    problem = reserved_key_problem({**board, "tags": [STAMP_TAG_PREFIX + "x"]})
    assert problem is not None and STAMP_TAG_PREFIX in problem
